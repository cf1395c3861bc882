"""The dispatcher against real stores (memory, SQLite file, PostgreSQL) and the recording notifier."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import (
    Channel,
    CommunicationStatus,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    Topic,
    ValidationError,
)
from custdata.merge import merge, preview
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.outbox import OutboxState
from custdata.outbox.dispatcher import Dispatcher, RetryPolicy
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.outbox.service import dead_letters, enqueue, requeue
from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = open_store(f"{url}{'&' if '?' in url else '?'}schema=dispatch_{uuid.uuid4().hex[:12]}&pool_max_size=4")
    else:
        opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    with opened.unit_of_work() as uow:
        uow.customers.add(Customer(id="cus_1", created_at=T0 - timedelta(days=30)))
        uow.commit()
    try:
        yield opened
    finally:
        opened.close()


def message(key: str, channel: Channel = Channel.EMAIL) -> Message:
    recipient = "jane@example.com" if channel == Channel.EMAIL else "+4930123456"
    return Message(
        idempotency_key=key,
        channel=channel,
        topic=Topic.ORDER_SHIPPED,
        recipient=recipient,
        subject="Your order is on its way",
        text="Hello",
        order_id="ord_1",
    )


def put(store: Store, *messages: Message, now: datetime = T0) -> None:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        for m in messages:
            enqueue(uow, m, customer_id="cus_1", now=now, template="order_shipped.email.en")
        uow.commit()


def state(store: Store, key: str) -> tuple[OutboxState, Any]:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        entry = uow.outbox.find(key)
        assert entry is not None
        return entry.state, uow.communications.get(entry.id)


def test_drain_sends_everything_and_records_the_provider_id(store: Store) -> None:
    put(store, *(message(f"k{i}") for i in range(25)))
    notifier = RecordingNotifier()
    report = Dispatcher(store, notifier, batch_size=10, clock=Clock()).drain()
    assert (report.leased, report.sent) == (25, 25)
    assert len(notifier) == 25 and notifier.duplicates() == {}
    done, event = state(store, "k3")
    assert done == OutboxState.SENT
    assert event.status == CommunicationStatus.SENT
    assert event.provider_id == RecordingNotifier.provider_id(notifier.get("k3"))
    assert event.sent_at == T0 and event.template == "order_shipped.email.en"
    assert Dispatcher(store, notifier, clock=Clock()).drain().leased == 0


def test_the_same_message_enqueued_twice_is_delivered_once(store: Store) -> None:
    put(store, message("k1"))
    put(store, message("k1"), message("k1"))
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=Clock()).drain()
    put(store, message("k1"))  # a replay after sending
    Dispatcher(store, notifier, clock=Clock()).drain()
    assert len(notifier.deliveries("k1")) == 1


def test_transient_failures_back_off_exponentially_then_go_through(store: Store) -> None:
    put(store, message("k1"))
    clock = Clock()
    notifier = RecordingNotifier()
    notifier.fail_next(3)
    policy = RetryPolicy(base_delay=timedelta(seconds=10), jitter=0.0)
    dispatcher = Dispatcher(store, notifier, clock=clock, retry=policy)
    waits = []
    for _ in range(3):
        assert dispatcher.drain().retried == 1
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            entry = uow.outbox.find("k1")
        assert entry is not None and entry.state == OutboxState.PENDING
        waits.append((entry.available_at - clock.now).total_seconds())
        assert dispatcher.drain().leased == 0  # not yet
        clock.now = entry.available_at
    assert waits == [10.0, 20.0, 40.0]
    assert dispatcher.drain().sent == 1
    done, event = state(store, "k1")
    assert done == OutboxState.SENT and event.status == CommunicationStatus.SENT and event.error is None


def test_jitter_stays_within_its_share_and_retry_after_is_honoured() -> None:
    policy = RetryPolicy(base_delay=timedelta(seconds=8), max_delay=timedelta(seconds=60), jitter=0.5)
    rng = random.Random(7)
    for attempt in range(1, 10):
        raw = min(60.0, 8.0 * 2 ** (attempt - 1))
        wait = policy.delay(attempt, rng).total_seconds()
        assert raw * 0.5 <= wait <= raw
    assert policy.delay(1, rng, retry_after=300).total_seconds() == 300


def test_retries_run_out_into_dead_letters_that_can_be_requeued(store: Store) -> None:
    put(store, message("k1"), message("k2"))
    clock = Clock()
    notifier = RecordingNotifier()
    notifier.fail_when(lambda m: SendResult.transient("mailbox busy", code=451) if m.idempotency_key == "k1" else None)
    dispatcher = Dispatcher(store, notifier, clock=clock, retry=RetryPolicy(max_attempts=3, base_delay=timedelta(0)))
    for _ in range(5):
        dispatcher.drain()
        clock.advance(seconds=1)
    dead, event = state(store, "k1")
    assert dead == OutboxState.DEAD
    assert event.status == CommunicationStatus.FAILED
    assert event.error == "gave up after 3 attempts: transient failure: mailbox busy (code 451)"
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        letters = dead_letters(uow)
        assert [e.idempotency_key for e in letters] == ["k1"]
        requeue(uow, letters.items[0].id, now=clock.now)
        uow.commit()
    assert state(store, "k1")[1].status == CommunicationStatus.QUEUED
    notifier.fail_when(None)
    assert dispatcher.drain().sent == 1
    assert state(store, "k1")[0] == OutboxState.SENT


def test_a_permanent_failure_stops_at_once(store: Store) -> None:
    put(store, message("k1"))
    notifier = RecordingNotifier()
    notifier.inject(SendResult.permanent("550 no such mailbox", code=550))
    report = Dispatcher(store, notifier, clock=Clock()).drain()
    assert (report.failed, report.retried) == (1, 0)
    failed, event = state(store, "k1")
    assert failed == OutboxState.FAILED and event.status == CommunicationStatus.FAILED
    assert "550" in (event.error or "")


def test_a_reply_echoing_the_address_is_stored_without_it_and_never_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    put(store, message("k1"), message("k2"))
    notifier = RecordingNotifier()
    replies = {
        "k1": SendResult.permanent("550 5.1.1 <JANE@example.com>: mailbox jane unknown", code=550),
        "k2": SendResult.transient("451 try again later for jane@example.com"),
    }
    notifier.fail_when(lambda m: replies[m.idempotency_key])
    with caplog.at_level(logging.DEBUG, logger="custdata.outbox"):
        Dispatcher(store, notifier, clock=Clock()).drain()
    failed, event = state(store, "k1")
    assert failed == OutboxState.FAILED
    assert event.error == "permanent failure: 550 5.1.1 <<redacted>>: mailbox <redacted> unknown (code 550)"
    retried, event = state(store, "k2")
    assert retried == OutboxState.PENDING and event.error == "transient failure: 451 try again later for <redacted>"
    # the provider's reply stays in the store; the log names the entry and its outcome only
    assert "jane" not in caplog.text.lower() and "redacted" not in caplog.text
    assert "outbox.failed" in caplog.text and "outbox.retry" in caplog.text


def test_a_skipped_send_is_recorded_as_suppressed(store: Store) -> None:
    put(store, message("k1", Channel.SMS))
    report = Dispatcher(store, RecordingNotifier(channels=["email"]), clock=Clock()).drain()
    assert report.skipped == 1
    skipped, event = state(store, "k1")
    assert skipped == OutboxState.SKIPPED
    assert event.status == CommunicationStatus.SUPPRESSED
    assert event.suppression_reason == "not sent: RecordingNotifier does not deliver the sms channel"


def test_a_notifier_that_raises_is_a_transient_failure(store: Store) -> None:
    put(store, message("k1"))

    class Broken:
        def send(self, message: Message) -> SendResult:
            raise RuntimeError("boom")

    report = Dispatcher(store, Broken(), clock=Clock()).drain()
    assert report.retried == 1
    assert state(store, "k1")[1].error == "transient failure: the notifier raised RuntimeError"


def test_a_dead_dispatchers_lease_expires_and_its_late_result_is_refused(store: Store) -> None:
    put(store, message("k1"))
    clock = Clock()
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        (taken,) = uow.outbox.lease("crashed", now=clock.now, limit=1, duration=timedelta(minutes=5))
        uow.commit()
    notifier = RecordingNotifier()
    assert Dispatcher(store, notifier, clock=clock).drain().leased == 0
    clock.advance(minutes=6)
    assert Dispatcher(store, notifier, clock=clock).drain().sent == 1
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert not uow.outbox.settle(taken.id, "crashed", state=OutboxState.FAILED, now=clock.now)


def test_an_entry_that_keeps_killing_dispatchers_goes_dead(store: Store) -> None:
    put(store, message("k1"))
    clock = Clock()
    for _ in range(3):  # three dispatchers die holding it
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            uow.outbox.lease("crashed", now=clock.now, limit=1, duration=timedelta(minutes=1))
            uow.commit()
        clock.advance(minutes=2)
    notifier = RecordingNotifier()
    report = Dispatcher(store, notifier, clock=clock, retry=RetryPolicy(max_attempts=3)).drain()
    assert report.dead == 1 and len(notifier) == 0


def test_a_batch_stops_before_its_lease_runs_out(store: Store) -> None:
    put(store, *(message(f"k{i}") for i in range(5)))
    clock = Clock()
    notifier = RecordingNotifier()

    def slow(m: Message) -> None:
        clock.advance(seconds=40)
        return None

    notifier.fail_when(slow)
    dispatcher = Dispatcher(
        store, notifier, clock=clock, lease=timedelta(minutes=2), lease_margin=timedelta(seconds=30)
    )
    report = dispatcher.run_once()
    assert report.leased == 5 and report.sent == 3  # the fourth would start with 20 s of lease left
    clock.advance(minutes=5)
    assert dispatcher.drain().sent == 2
    assert notifier.duplicates() == {}


def test_two_dispatchers_at_once_never_deliver_twice(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path) as store:
        with store.unit_of_work() as uow:
            uow.customers.add(Customer(id="cus_1", created_at=T0))
            uow.commit()
        put(store, *(message(f"k{i}") for i in range(120)))
    notifier = RecordingNotifier()
    stores = [SQLiteStore(path) for _ in range(3)]
    threads = [threading.Thread(target=Dispatcher(s, notifier, batch_size=7, clock=Clock()).drain) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for s in stores:
        s.close()
    assert len(notifier) == 120 and notifier.duplicates() == {}


@settings(max_examples=30)
@given(
    field=st.sampled_from(["batch_size", "lease", "lease_margin", "owner", "retry"]),
    bad=st.one_of(st.none(), st.integers(-5, 0), st.just(""), st.just(timedelta(0)), st.just(10**6)),
)
def test_dispatcher_settings_are_checked(field: str, bad: Any) -> None:
    if (field in ("owner", "retry") and bad is None) or (field, bad) == ("lease_margin", timedelta(0)):
        return  # None means "the default"; no margin is a valid choice
    with pytest.raises(ValidationError) as info:
        Dispatcher(open_store("memory://"), RecordingNotifier(), **{field: bad})
    assert [p.path for p in info.value.problems] == [field]


@given(
    field=st.sampled_from(["max_attempts", "base_delay", "max_delay", "jitter"]),
    bad=st.one_of(st.none(), st.just(-1), st.just(1.5), st.just(timedelta(seconds=-1)), st.just("x")),
)
def test_retry_policies_are_checked(field: str, bad: Any) -> None:
    with pytest.raises(ValidationError) as info:
        RetryPolicy(**{field: bad})
    assert [p.path for p in info.value.problems] == [field]


def test_run_keeps_sending_what_arrives_until_stopped(store: Store) -> None:
    notifier = RecordingNotifier()
    stop = threading.Event()
    totals = []
    worker = threading.Thread(target=lambda: totals.append(Dispatcher(store, notifier).run(stop, idle=0.01)))
    worker.start()
    try:
        for i in range(3):
            put(store, message(f"k{i}"))
            deadline = time.monotonic() + 10
            while len(notifier) <= i and time.monotonic() < deadline:
                time.sleep(0.005)
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()
    assert [m.idempotency_key for m in notifier.messages] == ["k0", "k1", "k2"]
    assert totals[0].sent == 3 and totals[0].leased == 3


def test_run_waits_out_a_locked_store(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path, timeout=0.05) as store:
        with store.unit_of_work() as uow:
            uow.customers.add(Customer(id="cus_1", created_at=T0))
            uow.commit()
        put(store, message("k1"))
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # a long writer elsewhere holds the write lock
        notifier = RecordingNotifier()
        stop = threading.Event()
        with caplog.at_level(logging.WARNING, logger="custdata.outbox"):
            worker = threading.Thread(
                target=Dispatcher(store, notifier, clock=Clock()).run, args=(stop,), kwargs={"idle": 0.01}
            )
            worker.start()
            try:
                deadline = time.monotonic() + 10
                while "outbox.store_unavailable" not in caplog.text and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert "outbox.store_unavailable" in caplog.text
                assert worker.is_alive() and len(notifier) == 0
                blocker.execute("COMMIT")
                deadline = time.monotonic() + 10
                while len(notifier) == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
            finally:
                stop.set()
                worker.join(10)
                blocker.close()
        assert [m.idempotency_key for m in notifier.messages] == ["k1"]
        assert "OperationalError" in caplog.text


def test_a_merged_customers_waiting_messages_answer_to_the_survivor(store: Store) -> None:
    def marketing(key: str) -> Message:
        return Message(
            idempotency_key=key,
            channel=Channel.EMAIL,
            topic=Topic.RE_ENGAGEMENT,
            recipient="jane@example.com",
            subject="We miss you",
            text="Hello",
            unsubscribe_url="https://shop.example/unsubscribe",
        )

    def queue(key: str) -> None:
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            enqueue(uow, marketing(key), customer_id="cus_a", now=T0, template="we_miss_you.email.en")
            uow.commit()

    opted_in = ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, T0 - timedelta(days=9))
    with store.unit_of_work() as uow:
        uow.customers.add(Customer(id="cus_a", created_at=T0 - timedelta(days=9), consents=(opted_in,)))
        uow.customers.add(Customer(id="cus_b", created_at=T0 - timedelta(days=5)))
        uow.commit()
    queue("m1")
    with store.unit_of_work() as uow:  # the merged record keeps only its id; its consent moves to the survivor
        merge(uow, preview(uow, "cus_b", ["cus_a"]), at=T0)
        uow.commit()
    notifier = RecordingNotifier()
    assert Dispatcher(store, notifier, clock=Clock()).drain().sent == 1
    queue("m2")
    with store.unit_of_work() as uow:  # the survivor unsubscribes: what still waits for the merged id stops
        survivor = uow.customers.get("cus_b")
        withdrawn = attrs.evolve(opted_in, state=ConsentState.UNSUBSCRIBED, recorded_at=T0 + timedelta(hours=1))
        uow.customers.update(attrs.evolve(survivor, consents=(*survivor.consents, withdrawn)))
        uow.commit()
    report = Dispatcher(store, notifier, clock=Clock(T0 + timedelta(hours=2))).drain()
    assert (report.sent, report.skipped, len(notifier)) == (0, 1, 1)
    entry_state, event = state(store, "m2")
    assert entry_state == OutboxState.SKIPPED
    assert event.suppression_reason == "not sent: no marketing consent on email any more (consent unsubscribed)"


@pytest.mark.parametrize("meanwhile", ["changed", "deleted"])
def test_an_event_changed_or_deleted_while_its_message_is_sent_is_recorded_over_what_it_is_now(
    store: Store, meanwhile: str
) -> None:
    """The dispatcher reads the event before the send and records from that read: a change made to the event
    during the send is kept (the event is read again), a deleted event is not written back."""
    put(store, message("k1"))

    class Meddling(RecordingNotifier):
        def send(self, message: Message) -> SendResult:
            with store.unit_of_work() as uow:
                assert isinstance(uow, OutboxUnitOfWork)
                entry = uow.outbox.find(message.idempotency_key)
                assert entry is not None
                if meanwhile == "changed":
                    event = uow.communications.get(str(entry.id))
                    event.metadata = {"campaign": "spring"}
                    uow.communications.update(event)
                else:
                    uow.communications.delete(str(entry.id))
                uow.commit()
            return super().send(message)

    notifier = Meddling()
    report = Dispatcher(store, notifier, clock=Clock()).drain()
    assert (report.leased, report.sent) == (1, 1)
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        entry = uow.outbox.find("k1")
        assert entry is not None and entry.state == OutboxState.SENT
        events = uow.communications.get_many([str(entry.id)])
    if meanwhile == "deleted":
        assert events == {}
    else:
        event = events[entry.id]
        assert event.status == CommunicationStatus.SENT
        assert event.metadata == {"campaign": "spring"}
        assert event.provider_id == RecordingNotifier.provider_id(notifier.get("k1"))
