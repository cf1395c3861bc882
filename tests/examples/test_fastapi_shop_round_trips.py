"""How many times the example service waits on PostgreSQL per request (one registration and one order) and per
round of its dispatcher, counted at psycopg's async connection (each statement outside a pipeline is one wait; a
pipeline, whatever it holds, is one), and how many statements it sends (each statement in a pipeline counts, and
each row of an ``executemany``).

The bounds are what the service reaches; a change that adds a round trip or a statement to any of them fails here.
A request's count holds its own statements only (the dispatcher and the timer sweep run in tasks of their own)."""

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

#: Round trips of one registration: the address's lock (with BEGIN), the customer and its search keys (one statement),
#: the look-up of the address, the sign-in mail's outbox entry and its event (one statement), COMMIT.
REGISTRATION = 5
#: Statements of one registration: BEGIN, the lock; SAVEPOINT, the customer with its keys (one statement); the
#: look-up; RELEASE, SAVEPOINT, the outbox entry with its event; COMMIT.
REGISTRATION_STATEMENTS = 9
#: Round trips of one order: the customer, the order (with BEGIN), what the order makes obsolete (pending cart
#: reminders, in the timers and the outbox at once), the confirmation's outbox entry and its event (together), the
#: re-engagement timer (moved forward in one statement), COMMIT.
ORDER = 6
#: Statements of one order: the customer; BEGIN, the order; the look at what it makes obsolete; SAVEPOINT, the
#: confirmation's outbox entry with its event; RELEASE, SAVEPOINT, the timer; COMMIT.
ORDER_STATEMENTS = 10

_COUNTING: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("round_trips", default=None)
_STATEMENTS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("statements", default=None)
_IN_PIPELINE: contextvars.ContextVar[bool] = contextvars.ContextVar("in_pipeline", default=False)


def _note(what: str, statements: int = 1) -> None:
    log = _COUNTING.get()
    if log is not None and not _IN_PIPELINE.get():
        log.append(what)
    sent = _STATEMENTS.get()
    if sent is not None:
        sent.extend([what] * statements)


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

    async def counted_executemany(self: Any, query: Any, params_seq: Any, *args: Any, **kwargs: Any) -> Any:
        rows = list(params_seq)
        _note(f"executemany {query}", len(rows))  # one statement a row (in a pipeline, as outside one)
        return await executemany(self, query, rows, *args, **kwargs)

    def counted_command(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        _note(f"command {query!r}")
        return (yield from command(self, query, *args, **kwargs))

    @contextlib.asynccontextmanager
    async def counted_pipeline(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        _note("pipeline", 0)
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


class Counted(list[str]):
    """The round trips of a span (one entry each), with the statements sent in it."""

    def __init__(self) -> None:
        super().__init__()
        self.statements: list[str] = []


@contextlib.contextmanager
def counting() -> Iterator[Counted]:
    log = Counted()
    token, sent = _COUNTING.set(log), _STATEMENTS.set(log.statements)
    try:
        yield log
    finally:
        _COUNTING.reset(token)
        _STATEMENTS.reset(sent)


LINE = {"sku": "MUG-1", "product_name": "Mug", "quantity": 2, "unit_price": "9.50"}


def test_a_registration_and_an_order_wait_on_postgresql_no_more_than_pinned(pg_url: str, counted: None) -> None:
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema=t_{uuid.uuid4().hex[:16]}"
    measured: dict[str, list[Counted]] = {"register": [], "order": []}

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
        assert 0 < len(log.statements) <= REGISTRATION_STATEMENTS, log.statements
    for log in measured["order"][1:]:
        assert 0 < len(log) <= ORDER, log
        assert 0 < len(log.statements) <= ORDER_STATEMENTS, log.statements


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


#: Round trips of one round of the service's dispatcher that finds nothing to send: the lease (one statement, its
#: own transaction), and the look at what waits (the pending entries, timers and dead letters in one statement).
IDLE_ROUND = 2
#: Statements of an idle round: the lease, the look at what waits.
IDLE_ROUND_STATEMENTS = 2


def test_an_idle_round_of_the_dispatcher_waits_on_postgresql_no_more_than_pinned(pg_url: str, counted: None) -> None:
    from custdata.aio import AsyncDispatcher, open_async_store

    url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema=t_{uuid.uuid4().hex[:16]}"

    async def main() -> list[Counted]:
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
        assert 0 < len(log.statements) <= IDLE_ROUND_STATEMENTS, log.statements


#: Round trips of one round of the service's dispatcher that sends one mail: the lease (one statement, its own
#: transaction, returning the leased entry); the entry, its customer and its event read again in one statement; the
#: settle and the event's update (one statement, with BEGIN), COMMIT; the look at what waits (the pending entries,
#: timers and dead letters in one statement).
ROUND_WITH_ONE_MAIL = 5
#: Statements of that round: the lease; the read; BEGIN, the settle with the event's update, COMMIT; the look at
#: what waits.
ROUND_WITH_ONE_MAIL_STATEMENTS = 6


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

    async def main() -> list[Counted]:
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
        assert 0 < len(log.statements) <= ROUND_WITH_ONE_MAIL_STATEMENTS, log.statements
