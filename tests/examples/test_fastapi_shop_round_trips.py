"""How many times the example service waits on PostgreSQL per request (one registration and one order) and per
round of its dispatcher that finds nothing to send, counted at psycopg's async connection (each statement outside
a pipeline is one wait; a pipeline, whatever it holds, is one).

The bounds are what the service reaches; a change that adds a round trip to any of them fails here. A request's
count holds its own statements only (the dispatcher and the timer sweep run in tasks of their own)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from required_extras import require

require("fastapi", "example")
httpx = require("httpx", "test")
psycopg = require("psycopg", "postgres")

from fastapi_shop.app import Settings, create_app  # noqa: E402

from custdata.aio import AsyncRecordingNotifier  # noqa: E402
from custdata.notify import WebhookNotifier  # noqa: E402

#: Round trips of one registration: the address's lock (with BEGIN), the customer, its search keys, the look-up
#: of the address, the sign-in mail's outbox entry and its event (together), COMMIT.
REGISTRATION = 6
#: Round trips of one order: the customer, the order (with BEGIN), what the order makes obsolete (pending cart
#: reminders, in the timers and the outbox at once), the confirmation's outbox entry and its event (together), the
#: re-engagement timer (moved forward in one statement), COMMIT.
ORDER = 6

_COUNTING: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("round_trips", default=None)
_IN_PIPELINE: contextvars.ContextVar[bool] = contextvars.ContextVar("in_pipeline", default=False)


def _note(what: str) -> None:
    log = _COUNTING.get()
    if log is not None and not _IN_PIPELINE.get():
        log.append(what)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count the waits of psycopg's async cursors, pipelines and commands (``AsyncConnection.execute`` goes
    through a cursor); statements inside a pipeline share its one wait."""
    execute, executemany = psycopg.AsyncCursor.execute, psycopg.AsyncCursor.executemany
    pipeline = psycopg.AsyncConnection.pipeline
    command = psycopg.AsyncConnection._exec_command  # BEGIN and COMMIT of psycopg's own transaction blocks

    async def counted_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        _note(str(query))
        return await execute(self, query, *args, **kwargs)

    async def counted_executemany(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        _note(f"executemany {query}")
        return await executemany(self, query, *args, **kwargs)

    def counted_command(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        _note(f"command {query!r}")
        return (yield from command(self, query, *args, **kwargs))

    @contextlib.asynccontextmanager
    async def counted_pipeline(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        _note("pipeline")
        inside = _IN_PIPELINE.set(True)
        try:
            async with pipeline(self, *args, **kwargs) as opened:
                yield opened
        finally:
            _IN_PIPELINE.reset(inside)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", counted_execute)
    monkeypatch.setattr(psycopg.AsyncCursor, "executemany", counted_executemany)
    monkeypatch.setattr(psycopg.AsyncConnection, "pipeline", counted_pipeline)
    monkeypatch.setattr(psycopg.AsyncConnection, "_exec_command", counted_command)


@contextlib.contextmanager
def counting() -> Iterator[list[str]]:
    log: list[str] = []
    token = _COUNTING.set(log)
    try:
        yield log
    finally:
        _COUNTING.reset(token)


LINE = {"sku": "MUG-1", "product_name": "Mug", "quantity": 2, "unit_price": "9.50"}


def test_a_registration_and_an_order_wait_on_postgresql_no_more_than_pinned(pg_url: str, counted: None) -> None:
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema=t_{uuid.uuid4().hex[:16]}"
    measured: dict[str, list[list[str]]] = {"register": [], "order": []}

    async def main() -> None:
        notifier = AsyncRecordingNotifier()
        settings = Settings(
            secret=b"test shop secret: 32 random bytes..",
            carrier_secret=WebhookNotifier.generate_secret(),
            store_url=url,
            dispatch_idle=0.02,
        )
        app = create_app(settings, notifier=notifier)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client:
                for i in range(3):  # the first request of each kind warms the pool and psycopg's caches
                    email = f"buyer{i}@example.com"
                    with counting() as log:
                        answer = await client.post("/customers", json={"email": email})
                    assert answer.status_code == 202, answer.text
                    measured["register"].append(log)
                    token = await sign_in_token(notifier, email)
                    with counting() as log:
                        answer = await client.post(
                            "/orders",
                            headers={"authorization": f"Bearer {token}"},
                            json={"currency": "EUR", "lines": [LINE]},
                        )
                    assert answer.status_code == 201, answer.text
                    measured["order"].append(log)
                order_id = answer.json()["order_id"]
                await sent(notifier, f"{order_id}:placed:order_confirmation")

    asyncio.run(main())
    for log in measured["register"][1:]:
        assert 0 < len(log) <= REGISTRATION, log
    for log in measured["order"][1:]:
        assert 0 < len(log) <= ORDER, log


async def sign_in_token(notifier: AsyncRecordingNotifier, email: str) -> str:
    for _ in range(500):
        for message in list(notifier.messages):
            if message.recipient == email and ":sign_in:" in message.idempotency_key:
                return message.text.split("#token=")[1].split()[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no sign-in mail for {email}")


async def sent(notifier: AsyncRecordingNotifier, key_part: str) -> None:
    for _ in range(500):
        if any(key_part in m.idempotency_key for m in list(notifier.messages)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no message with {key_part!r} was sent")


#: Round trips of one round of the service's dispatcher that finds nothing to send: the lease (with BEGIN), its
#: COMMIT, and the look at what waits (the pending entries, timers and dead letters in one statement).
IDLE_ROUND = 3


def test_an_idle_round_of_the_dispatcher_waits_on_postgresql_no_more_than_pinned(pg_url: str, counted: None) -> None:
    from custdata.aio import AsyncDispatcher, open_async_store

    url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema=t_{uuid.uuid4().hex[:16]}"

    async def main() -> list[list[str]]:
        store = await open_async_store(url)
        try:
            dispatcher = AsyncDispatcher(store, AsyncRecordingNotifier())
            rounds = []
            for _ in range(3):  # the first round warms the pool and psycopg's caches
                with counting() as log:
                    report = await dispatcher.run_once()
                assert report.leased == 0
                rounds.append(log)
            return rounds
        finally:
            await store.close()

    for log in asyncio.run(main())[1:]:
        assert 0 < len(log) <= IDLE_ROUND, log


#: Round trips of one round of the service's dispatcher that sends one mail: the lease (with BEGIN, returning the
#: leased entry), its COMMIT; the entry, its customer and its event read again in one statement; the settle and the
#: event's update (with BEGIN), COMMIT; the look at what waits (the pending entries, timers and dead letters in one
#: statement).
ROUND_WITH_ONE_MAIL = 6


def test_a_round_that_sends_one_mail_waits_on_postgresql_no_more_than_pinned(pg_url: str, counted: None) -> None:
    from datetime import UTC, datetime, timedelta

    from custdata import Customer, Topic
    from custdata.aio import AsyncDispatcher, open_async_store
    from custdata.notify import Message
    from custdata.outbox.service import enqueue

    url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema=t_{uuid.uuid4().hex[:16]}"
    start = datetime.now(UTC) - timedelta(minutes=1)

    def queue(uow: Any, key: str) -> None:
        if key == "mail-0":
            uow.customers.add(Customer(id="cus_1", created_at=start))
        mail = Message(
            idempotency_key=key,
            channel="email",
            topic=Topic.ORDER_CONFIRMATION,
            recipient="jane@example.com",
            subject="Your order",
            text="Thank you",
            order_id="ord_1",
        )
        assert enqueue(uow, mail, customer_id="cus_1", now=start) is not None
        uow.commit()

    async def main() -> list[list[str]]:
        store = await open_async_store(url)
        notifier = AsyncRecordingNotifier()
        try:
            dispatcher = AsyncDispatcher(store, notifier)
            rounds = []
            for i in range(3):  # the first round warms the pool and psycopg's caches
                async with store.unit_of_work() as uow:
                    await uow.run_sync(functools.partial(queue, key=f"mail-{i}"))
                with counting() as log:
                    report = await dispatcher.run_once()
                assert (report.leased, report.sent) == (1, 1)
                rounds.append(log)
            assert len(notifier.messages) == 3
            return rounds
        finally:
            await store.close()

    for log in asyncio.run(main())[1:]:
        assert 0 < len(log) <= ROUND_WITH_ONE_MAIL, log
