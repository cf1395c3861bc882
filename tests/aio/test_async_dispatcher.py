"""The async dispatcher: the sync dispatcher's decisions, on memory, SQLite files and PostgreSQL, with erasure
meeting messages in flight, crashed tasks, concurrent dispatchers, and SMTP through a thread."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_support import Backend, SMTPRecorder
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Channel, CommunicationStatus, ConsentPurpose, ConsentRecord, ConsentState, Customer, Topic
from custdata._errors import ValidationError
from custdata.aio import AsyncDispatcher, AsyncRecordingNotifier, AsyncStore, ThreadedAsyncStore, ThreadedNotifier
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.notify.smtp import SMTPNotifier
from custdata.outbox import OutboxState
from custdata.outbox.dispatcher import Dispatcher, RetryPolicy
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.outbox.service import enqueue, forget
from custdata.privacy import erase_customer
from custdata.storage import Store
from custdata.storage.memory import MemoryStore

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def message(key: str, *, channel: Channel = Channel.EMAIL, topic: Topic = Topic.ORDER_SHIPPED) -> Message:
    recipient = "jane@example.com" if channel == Channel.EMAIL else "+4930123456"
    return Message(
        idempotency_key=key,
        channel=channel,
        topic=topic,
        recipient=recipient,
        subject="Your order is on its way",
        text="Hello",
        order_id=None if topic.is_marketing else "ord_1",
        marketing=topic.is_marketing,
        unsubscribe_url="https://shop.example/unsubscribe/x" if topic.is_marketing else None,
    )


def setup(store: Store, *messages: Message, customer: Customer | None = None) -> None:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        uow.customers.add(customer or Customer(id="cus_1", created_at=T0 - timedelta(days=30)))
        for m in messages:
            enqueue(uow, m, customer_id="cus_1", now=T0)
        uow.commit()


def outcome(store: Store) -> dict[str, tuple[Any, ...]]:
    """Every entry's state and its communication event, by idempotency key."""
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        entries = uow.outbox.for_customer("cus_1")
        events = uow.communications.get_many([str(e.id) for e in entries])
        return {
            e.idempotency_key: (
                e.state,
                e.attempts,
                e.available_at,
                e.provider_id,
                e.last_error,
                e.reason,
                events[e.id].status,
                events[e.id].provider_id,
                events[e.id].error,
                events[e.id].suppression_reason,
            )
            for e in entries
        }


# -- the same decisions as the sync dispatcher --------------------------------------------------------------------

RESULTS = st.sampled_from(["sent", "transient", "later", "permanent", "skipped", "raise", "junk"])


class Script:
    """The result of each send, by idempotency key and attempt, whatever order the sends come in."""

    def __init__(self, plan: dict[str, list[str]]) -> None:
        self.plan = plan
        self.calls: Counter[str] = Counter()

    def result(self, message: Message) -> Any:
        key = message.idempotency_key
        steps = self.plan[key]
        step = steps[min(self.calls[key], len(steps) - 1)]
        self.calls[key] += 1
        if step == "raise":
            raise RuntimeError(f"notifier bug for {message.recipient}")
        return {
            "sent": SendResult.sent(f"id-{key}"),
            "transient": SendResult.transient(f"busy, {message.recipient} later"),
            "later": SendResult.transient("greylisted", retry_after=3600.0),
            "permanent": SendResult.permanent(f"no such user {message.recipient}"),
            "skipped": SendResult.skipped(f"{message.recipient} opted out at the provider"),
            "junk": "not a result",
        }[step]


class SyncScripted:
    def __init__(self, script: Script) -> None:
        self.script = script

    def send(self, message: Message, /) -> SendResult:
        result: SendResult = self.script.result(message)
        return result


class AsyncScripted:
    def __init__(self, script: Script) -> None:
        self.script = script

    async def send(self, message: Message, /) -> SendResult:
        await asyncio.sleep(0)
        result: SendResult = self.script.result(message)
        return result


@settings(max_examples=30)
@given(
    plan=st.lists(st.lists(RESULTS, min_size=1, max_size=4), min_size=1, max_size=5),
    marketing=st.lists(st.booleans(), min_size=5, max_size=5),
    batch_size=st.integers(1, 3),
)
def test_the_async_dispatcher_decides_exactly_as_the_sync_one(
    plan: list[list[str]], marketing: list[bool], batch_size: int
) -> None:
    keys = {f"k{i}": steps for i, steps in enumerate(plan)}
    # a customer consenting to marketing email but not SMS: the consent checks run too
    customer = Customer(
        id="cus_1",
        created_at=T0 - timedelta(days=30),
        consents=(
            ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, T0 - timedelta(days=9)),
        ),
    )
    messages = [
        message(
            key,
            channel=Channel.SMS if i % 2 else Channel.EMAIL,
            topic=Topic.RE_ENGAGEMENT if marketing[i] else Topic.ORDER_SHIPPED,
        )
        for i, key in enumerate(keys)
    ]
    retry = RetryPolicy(max_attempts=3, base_delay=timedelta(minutes=1), jitter=0.0)
    sync_store, async_sync = MemoryStore(), MemoryStore()
    setup(sync_store, *messages, customer=customer)
    setup(async_sync, *messages, customer=customer)
    sync_clock, async_clock = Clock(), Clock()
    sync_dispatcher = Dispatcher(
        sync_store, SyncScripted(Script(keys)), owner="d", batch_size=batch_size, retry=retry, clock=sync_clock,
        rng=random.Random(1),
    )  # fmt: skip
    async_store = ThreadedAsyncStore(async_sync)
    async_dispatcher = AsyncDispatcher(
        async_store, AsyncScripted(Script(keys)), owner="d", batch_size=batch_size, retry=retry, clock=async_clock,
        rng=random.Random(1),
    )  # fmt: skip

    async def rounds() -> list[Any]:
        reports = []
        for _ in range(6):
            reports.append(await async_dispatcher.drain())
            async_clock.now += timedelta(hours=2)
        return reports

    sync_reports = []
    for _ in range(6):
        sync_reports.append(sync_dispatcher.drain())
        sync_clock.now += timedelta(hours=2)
    assert asyncio.run(rounds()) == sync_reports
    assert outcome(async_sync) == outcome(sync_store)


# -- on every backend ---------------------------------------------------------------------------------------------


def run(backend: Backend, test: Any) -> Any:
    with asyncio.Runner() as runner:
        backend.open_sync()
        store = runner.run(backend.open_async())
        try:
            return runner.run(test(store, backend.sync))
        finally:
            runner.run(store.close())


def test_drain_sends_everything_once_and_records_it(backend: Backend) -> None:
    async def test(store: AsyncStore, sync: Store) -> None:
        setup(sync, *(message(f"k{i}") for i in range(12)))
        notifier = AsyncRecordingNotifier()
        report = await AsyncDispatcher(store, notifier, batch_size=5, clock=Clock()).drain()
        assert (report.leased, report.sent, report.lost) == (12, 12, 0)
        assert len(notifier) == 12 and notifier.duplicates() == {}
        assert (await AsyncDispatcher(store, notifier, clock=Clock()).drain()).leased == 0
        done = outcome(sync)
        assert {v[0] for v in done.values()} == {OutboxState.SENT}
        assert {v[6] for v in done.values()} == {CommunicationStatus.SENT}
        assert done["k3"][7] == RecordingNotifier.provider_id(message("k3"))

    run(backend, test)


def test_concurrent_dispatchers_never_send_one_message_twice(backend: Backend) -> None:
    async def test(store: AsyncStore, sync: Store) -> None:
        setup(sync, *(message(f"k{i}") for i in range(24)))
        notifier = AsyncRecordingNotifier(delay=0.001)
        dispatchers = [AsyncDispatcher(store, notifier, owner=f"d{n}", batch_size=3, clock=Clock()) for n in range(4)]
        reports = await asyncio.gather(*(d.drain() for d in dispatchers))
        assert sum(r.sent for r in reports) == 24
        assert len(notifier) == 24 and notifier.duplicates() == {}

    run(backend, test)


def test_an_erasure_during_a_send_keeps_the_result_out_and_stops_the_rest(backend: Backend) -> None:
    async def test(store: AsyncStore, sync: Store) -> None:
        setup(sync, *(message(f"k{i}") for i in range(4)))
        erased = False

        async def erase_once(sent: Message) -> None:
            nonlocal erased
            if not erased:  # the first message is handed over; the erasure commits before its result is recorded
                erased = True
                await asyncio.to_thread(erase_customer, sync, "cus_1", purge=False)

        notifier = AsyncRecordingNotifier(during_send=erase_once)
        report = await AsyncDispatcher(store, notifier, batch_size=10, clock=Clock()).drain()
        assert len(notifier.attempts) == 1, "nothing goes out after the erasure"
        assert report.lost == 4 and report.sent == 0
        after = outcome(sync)
        assert all(v[0] == OutboxState.CANCELLED for v in after.values())
        assert all(v[3] is None and v[7] is None for v in after.values()), "the provider's id came back in"

    run(backend, test)


def test_entries_forgotten_while_leased_are_not_sent(backend: Backend) -> None:
    async def test(store: AsyncStore, sync: Store) -> None:
        setup(sync, *(message(f"k{i}") for i in range(4)))
        forgotten = False

        async def forget_the_rest(sent: Message) -> None:
            nonlocal forgotten
            if not forgotten:  # retention forgets the order's messages while the batch is leased
                forgotten = True
                async with store.unit_of_work() as uow:
                    await uow.run_sync(lambda u: forget(u, now=T0, reason="retention", order_ids=["ord_1"]))
                    await uow.commit()

        notifier = AsyncRecordingNotifier(during_send=forget_the_rest)
        report = await AsyncDispatcher(store, notifier, batch_size=10, clock=Clock()).drain()
        assert len(notifier.attempts) == 1 and report.lost == 4
        assert all(v[0] == OutboxState.CANCELLED and v[3] is None for v in outcome(sync).values())

    run(backend, test)


def test_a_cancelled_dispatcher_task_leaves_its_message_to_the_next_lease(backend: Backend) -> None:
    async def test(store: AsyncStore, sync: Store) -> None:
        setup(sync, message("k1"))
        clock = Clock()
        handed_over = asyncio.Event()

        async def hang(sent: Message) -> None:
            handed_over.set()
            await asyncio.sleep(3600)

        crashed = AsyncDispatcher(
            store, AsyncRecordingNotifier(during_send=hang), owner="crashed", lease=timedelta(minutes=5), clock=clock
        )
        task = asyncio.create_task(crashed.run_once())
        await handed_over.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        notifier = AsyncRecordingNotifier()
        survivor = AsyncDispatcher(store, notifier, owner="survivor", clock=clock)
        assert (await survivor.run_once()).leased == 0, "the lease still holds"
        clock.now += timedelta(minutes=6)
        assert (await survivor.run_once()).sent == 1
        assert outcome(sync)["k1"][0] == OutboxState.SENT and len(notifier) == 1

    run(backend, test)


def test_run_forever_drains_until_stopped() -> None:
    async def test() -> None:
        sync = MemoryStore()
        setup(sync, message("k1"))
        store = ThreadedAsyncStore(sync)
        notifier = AsyncRecordingNotifier()
        stop = asyncio.Event()
        task = asyncio.create_task(AsyncDispatcher(store, notifier, clock=Clock()).run_forever(stop, idle=0.01))
        while len(notifier) < 1:
            await asyncio.sleep(0.01)
        with sync.unit_of_work() as uow:
            enqueue(uow, message("k2"), customer_id="cus_1", now=T0)
            uow.commit()
        while len(notifier) < 2:
            await asyncio.sleep(0.01)
        stop.set()
        report = await asyncio.wait_for(task, 5)
        assert report.sent == 2

    asyncio.run(test())


def test_a_sync_notifier_is_refused_with_the_way_to_wrap_it() -> None:
    with pytest.raises(ValidationError, match="ThreadedNotifier"):
        AsyncDispatcher(ThreadedAsyncStore(MemoryStore()), RecordingNotifier())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="store"):
        AsyncDispatcher(MemoryStore(), AsyncRecordingNotifier())  # type: ignore[arg-type]


def test_smtp_through_a_thread_reuses_its_connection(backend: Backend, smtp: SMTPRecorder) -> None:
    async def test(store: AsyncStore, sync: Store) -> None:
        setup(sync, *(message(f"k{i}") for i in range(6)))
        smtp_notifier = SMTPNotifier("127.0.0.1", smtp.port, sender="shop@example.com", security="none", timeout=10)
        notifier = ThreadedNotifier(smtp_notifier)
        dispatcher = AsyncDispatcher(store, notifier, clock=Clock())
        report = await dispatcher.drain()
        await dispatcher.close()
        assert report.sent == 6
        assert len(set(smtp.message_ids)) == 6 == len(smtp.message_ids)
        assert smtp.connections == 1, "each send opened a connection of its own"
        assert {v[7] for v in outcome(sync).values()} == set(smtp.message_ids)

    run(backend, test)
