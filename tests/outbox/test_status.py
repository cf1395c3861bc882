"""What the outbox holds and why nothing goes out: the status queries of every store against the reference, the
drain reports that say what waits, and a workflow given a ``now`` ahead of the clock."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import Customer, ValidationError
from custdata.domain import Channel, CommunicationId, Topic
from custdata.notify import Message, RecordingNotifier
from custdata.outbox import Dispatcher, OutboxState, OutboxStatus, RetryPolicy, TimerState, enqueue, outbox_status
from custdata.outbox.dispatcher import DrainReport
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.storage import Store, open_store
from custdata.storage.outbox.model import OutboxEntry, Timer
from custdata.storage.outbox.status import (
    PendingAndDeadQuery,
    PendingSummaryQuery,
    read_status,
    summarise,
    summarise_pending,
)
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = open_store(f"{url}{'&' if '?' in url else '?'}schema=status_{uuid.uuid4().hex[:12]}&pool_max_size=4")
    else:
        opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    with opened.unit_of_work() as uow:
        uow.customers.add(Customer(id="cus_1", created_at=T0 - timedelta(days=30)))
        uow.commit()
    try:
        yield opened
    finally:
        opened.close()


def message(key: str) -> Message:
    return Message(
        idempotency_key=key,
        channel=Channel.EMAIL,
        topic=Topic.ORDER_SHIPPED,
        recipient="jane@example.com",
        subject="Your order is on its way",
        text="Hello",
        order_id="ord_1",
    )


_keys = itertools.count()
minutes = st.integers(min_value=-600, max_value=600).map(lambda m: T0 + timedelta(minutes=m))

entries = st.builds(
    lambda state, available, attempts, lease: (state, available, attempts, lease),
    st.sampled_from(list(OutboxState)),
    minutes,
    st.integers(min_value=0, max_value=3),
    st.none() | minutes,
)
timers = st.tuples(st.sampled_from(list(TimerState)), minutes)


def build_entry(state: OutboxState, available: datetime, attempts: int, lease: datetime | None) -> OutboxEntry:
    key = f"status:{next(_keys)}:{uuid.uuid4().hex[:8]}"
    return OutboxEntry(
        id=CommunicationId.new(),
        idempotency_key=key,
        customer_id="cus_1",
        topic=Topic.ORDER_SHIPPED,
        channel=Channel.EMAIL,
        created_at=T0 - timedelta(days=1),
        available_at=available,
        message=message(key),
        state=state,
        attempts=attempts,
        reason="held" if state == OutboxState.SUPPRESSED else None,
        lease_owner=None if lease is None else "someone",
        lease_expires_at=lease,
    )


def build_timer(state: TimerState, due: datetime) -> Timer:
    return Timer(
        key=f"timer:{next(_keys)}:{uuid.uuid4().hex[:8]}",
        rule="review_request",
        topic=Topic.REVIEW_REQUEST,
        customer_id="cus_1",
        due_at=due,
        created_at=T0 - timedelta(days=1),
        state=state,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    added=st.lists(entries, max_size=12),
    added_timers=st.lists(timers, max_size=5),
    now=minutes,
)
def test_the_store_answers_as_the_reference_does(
    store: Store,
    added: list[tuple[OutboxState, datetime, int, datetime | None]],
    added_timers: list[tuple[Any, ...]],
    now: datetime,
) -> None:
    # examples add to the same store: the reference is computed over everything added so far
    seen: dict[str, list[Any]] = store.__dict__.setdefault("_status_test_seen", {"entries": [], "timers": []})
    new_entries = [build_entry(*spec) for spec in added]
    new_timers = [build_timer(*spec) for spec in added_timers]
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        for entry in new_entries:
            assert uow.outbox.add(entry)
        for timer in new_timers:
            assert uow.timers.schedule(timer)
        uow.commit()
    seen["entries"] += new_entries
    seen["timers"] += new_timers
    expected = summarise(seen["entries"], seen["timers"], now)
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert isinstance(uow.outbox, PendingSummaryQuery)
        assert uow.outbox.pending_summary(now) == expected
        assert summarise_pending(uow, now) == expected  # the answer for a store without the query
        assert isinstance(uow.outbox, PendingAndDeadQuery)
        summary_and_dead = uow.outbox.pending_summary_and_dead(now)
        status = read_status(uow, now)
    counts = {state.value: sum(1 for e in seen["entries"] if e.state == state) for state in OutboxState}
    assert summary_and_dead == (expected, counts["dead"])
    assert status.counts == counts
    assert status.dead_letters == counts["dead"]
    assert status.waiting == expected.scheduled + expected.retrying + expected.leased
    assert status.due + status.waiting == counts["pending"]
    if status.next_due_at is not None:
        assert status.next_due_at > now
    assert (status.oldest_due_age is None) == (status.due == 0)


def test_the_reference_tells_each_reason_apart() -> None:
    now = T0
    later, earlier = T0 + timedelta(hours=1), T0 - timedelta(hours=2)
    summary = summarise(
        [
            build_entry(OutboxState.PENDING, earlier, 0, None),  # due
            build_entry(OutboxState.PENDING, earlier, 1, T0 - timedelta(seconds=1)),  # its lease expired: due
            build_entry(OutboxState.PENDING, later, 0, None),  # scheduled
            build_entry(OutboxState.PENDING, later + timedelta(hours=1), 2, None),  # retrying
            build_entry(OutboxState.PENDING, earlier, 1, T0 + timedelta(minutes=5)),  # leased
            build_entry(OutboxState.DEAD, earlier, 8, None),  # not pending: not in the summary
        ],
        [
            build_timer(TimerState.PENDING, earlier),
            build_timer(TimerState.PENDING, later),
            build_timer(TimerState.FIRED, earlier),
        ],
        now,
    )
    assert (summary.due, summary.scheduled, summary.retrying, summary.leased) == (2, 1, 1, 1)
    assert summary.oldest_due_at == earlier and summary.next_due_at == later
    assert (summary.timers, summary.timers_due, summary.next_timer_at) == (2, 1, earlier)


def test_a_message_held_for_later_is_reported_waiting_with_its_due_time(store: Store) -> None:
    clock = Clock()
    held_until = T0 + timedelta(hours=9)
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        enqueue(uow, message("now"), customer_id="cus_1", now=T0)
        enqueue(uow, message("later"), customer_id="cus_1", now=T0, available_at=held_until)
        uow.commit()
    notifier = RecordingNotifier()
    dispatcher = Dispatcher(store, notifier, clock=clock)
    report = dispatcher.drain()
    assert (report.sent, report.waiting, report.next_due_at) == (1, 1, held_until)
    assert report.waiting_by_reason == {"scheduled": 1, "retrying": 0, "leased": 0}
    assert "waiting=1" in repr(report) and "next_due_at=datetime.datetime(2024, 3, 1, 21" in repr(report)

    status = dispatcher.status()
    assert isinstance(status, OutboxStatus)
    assert (status.due, status.scheduled, status.next_due_at) == (0, 1, held_until)
    assert status.counts["sent"] == 1 and status.counts["pending"] == 1
    assert status.to_dict()["next_due_at"] == held_until.isoformat()
    assert outbox_status(store, now=T0) == status

    clock.now = held_until
    assert dispatcher.status().due == 1 and dispatcher.status().oldest_due_age == timedelta(0)
    report = dispatcher.drain()
    assert (report.sent, report.waiting, report.next_due_at) == (1, 0, None)


def test_retries_and_dead_letters_are_reported(store: Store) -> None:
    clock = Clock()
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        enqueue(uow, message("a"), customer_id="cus_1", now=T0)
        uow.commit()
    notifier = RecordingNotifier()
    notifier.fail_next(2)
    retry = RetryPolicy(max_attempts=2, base_delay=timedelta(minutes=1), jitter=0.0)
    dispatcher = Dispatcher(store, notifier, clock=clock, retry=retry)
    report = dispatcher.drain()
    assert (report.retried, report.waiting, report.next_due_at) == (1, 1, T0 + timedelta(minutes=1))
    assert report.waiting_by_reason["retrying"] == 1
    clock.now += timedelta(minutes=1)
    report = dispatcher.drain()
    assert (report.dead, report.waiting, report.dead_letters) == (1, 0, 1)


def test_an_entry_leased_by_another_dispatcher_is_reported_leased(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        enqueue(uow, message("a"), customer_id="cus_1", now=T0)
        assert len(uow.outbox.lease("other", now=T0, limit=10, duration=timedelta(minutes=5))) == 1
        uow.commit()
    report = Dispatcher(store, RecordingNotifier(), clock=Clock()).drain()
    assert (report.leased, report.waiting, report.waiting_by_reason["leased"]) == (0, 1, 1)


def test_adding_reports_keeps_the_last_look_and_sums_the_counters() -> None:
    first = DrainReport(leased=3, sent=3, waiting=2, next_due_at=T0, observed_at=T0)
    total = DrainReport()
    total.add(first)
    total.add(DrainReport(leased=100, sent=100))  # a full batch: no look at what waits
    assert (total.leased, total.sent, total.waiting, total.next_due_at) == (103, 103, 2, T0)
    total.add(DrainReport(observed_at=T0 + timedelta(seconds=1)))
    assert (total.leased, total.waiting, total.next_due_at) == (103, 0, None)


def test_a_full_batch_does_not_look_and_the_last_round_does(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        for i in range(4):
            enqueue(uow, message(f"k{i}"), customer_id="cus_1", now=T0)
        enqueue(uow, message("later"), customer_id="cus_1", now=T0, available_at=T0 + timedelta(days=1))
        uow.commit()
    dispatcher = Dispatcher(store, RecordingNotifier(), clock=Clock(), batch_size=2)
    first = dispatcher.run_once()
    assert first.leased == 2 and first.observed_at is None
    total = dispatcher.drain()
    assert (total.sent, total.waiting, total.next_due_at) == (2, 1, T0 + timedelta(days=1))


def test_a_bad_now_is_a_validation_error(store: Store) -> None:
    with pytest.raises(ValidationError) as caught:
        outbox_status(store, now=datetime(2024, 1, 1))  # naive
    assert caught.value.problems[0].path == "now"


def test_the_async_dispatcher_reports_the_same(store: Store) -> None:
    from custdata.aio import AsyncDispatcher, ThreadedAsyncStore, ThreadedNotifier

    if not isinstance(store, (SQLiteStore,)) and type(store).__name__ != "MemoryStore":
        pytest.skip("the async PostgreSQL store has tests of its own")
    held_until = T0 + timedelta(hours=2)
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        enqueue(uow, message("later"), customer_id="cus_1", now=T0, available_at=held_until)
        uow.commit()

    async def run() -> tuple[DrainReport, OutboxStatus]:
        dispatcher = AsyncDispatcher(ThreadedAsyncStore(store), ThreadedNotifier(RecordingNotifier()), clock=Clock())
        return await dispatcher.drain(), await dispatcher.status()

    report, status = asyncio.run(run())
    assert (report.waiting, report.next_due_at) == (1, held_until)
    assert status == outbox_status(store, now=T0)


def test_a_workflow_given_a_now_ahead_of_the_clock_says_why_its_message_waits(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    from custdata import EmailAddress, Money, Order, OrderLine
    from custdata.workflows import Shop, Workflows

    clock = Clock()
    future = T0 + timedelta(days=2)
    with store.unit_of_work() as uow:
        uow.customers.add(
            Customer(id="cus_2", created_at=T0 - timedelta(days=30), email=EmailAddress.parse("jane@example.com"))
        )
        uow.commit()
    flows = Workflows(shop=Shop(name="Shop", url="https://shop.example", secret=b"0123456789abcdef"), clock=clock)
    line = OrderLine("l1", "TRAIL-42", "Trail shoe", 1, Money("89.90", "EUR"))
    order = Order(id="ord_9", customer_id="cus_2", currency="EUR", lines=(line,), placed_at=future)
    with caplog.at_level(logging.INFO, logger="custdata.workflows"):
        steps = flows.place(store, order, now=future)
    queued = [s for s in steps if s.action == "queued"]
    assert queued, steps
    step = queued[0]
    assert step.due_at == future
    assert step.reason is not None and "ahead of the clock" in step.reason and future.isoformat() in step.reason
    assert "workflow.held" in caplog.text and future.isoformat() in caplog.text

    report = Dispatcher(store, RecordingNotifier(), clock=clock).drain()
    assert (report.sent, report.waiting, report.next_due_at) == (0, len(queued), future)
    assert report.waiting_by_reason["scheduled"] == len(queued)

    # the same call with the clock's own now: nothing held, nothing said
    clock.now = future
    later = Order(id="ord_10", customer_id="cus_2", currency="EUR", lines=(line,), placed_at=future)
    assert all(s.reason is None for s in flows.place(store, later) if s.action == "queued")
