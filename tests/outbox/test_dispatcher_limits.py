"""Retry delays are bounded, and no clock or provider advice makes the dispatcher overflow near the year 9999."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Channel, Customer, Topic, ValidationError
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.outbox import Dispatcher, OutboxState, OutboxUnitOfWork, RetryPolicy, enqueue
from custdata.outbox.dispatcher import MAX_RETRY_DELAY
from custdata.storage import Store, open_store
from custdata.storage.records import LATEST_MOMENT
from custdata.storage.sqlite import SQLiteStore

LAST_DAY = datetime(9998, 12, 31, 23, 59, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.parametrize("name", ["max_delay", "base_delay"])
def test_retry_delays_longer_than_thirty_days_are_refused_at_their_field(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RetryPolicy(**{name: MAX_RETRY_DELAY + timedelta(microseconds=1)})  # type: ignore[arg-type]
    assert [p.path for p in caught.value.problems] == [name]
    with pytest.raises(ValidationError, match="max_delay"):
        RetryPolicy(max_delay=timedelta.max)
    assert RetryPolicy(max_delay=MAX_RETRY_DELAY, base_delay=MAX_RETRY_DELAY).max_delay == timedelta(days=30)


@settings(max_examples=60, deadline=None)
@given(
    attempt=st.integers(min_value=0, max_value=10**6),
    retry_after=st.none() | st.floats(min_value=0, max_value=10**9, exclude_max=True),
    base=st.timedeltas(min_value=timedelta(0), max_value=MAX_RETRY_DELAY),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_a_delay_never_exceeds_thirty_days(attempt: int, retry_after: float | None, base: timedelta, seed: int) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=MAX_RETRY_DELAY)
    wait = policy.delay(attempt, random.Random(seed), retry_after)
    assert timedelta(0) <= wait <= MAX_RETRY_DELAY


@settings(max_examples=25, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(9998, 11, 1),
        max_value=LATEST_MOMENT.replace(tzinfo=None) - timedelta(microseconds=1),
        timezones=st.just(UTC),
    ),
    retry_after=st.none() | st.floats(min_value=0, max_value=10**9, exclude_max=True),
)
def test_a_transient_failure_near_the_end_of_time_waits_without_overflow(
    now: datetime, retry_after: float | None
) -> None:
    with open_store("memory://") as store:
        _retry_once(store, now, retry_after)


def test_the_longest_waits_at_the_last_supported_moment_on_every_store(store: Store) -> None:
    _retry_once(store, LATEST_MOMENT - timedelta(microseconds=1), 10**9 - 1)
    _retry_once(store, LAST_DAY, None, key="later")


def _retry_once(store: Store, now: datetime, retry_after: float | None, key: str = "k") -> None:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        if not uow.customers.get_many(["cus_1"]):
            uow.customers.add(Customer(id="cus_1", created_at=datetime(2024, 1, 1, tzinfo=UTC)))
        message = Message(
            idempotency_key=key,
            channel=Channel.EMAIL,
            topic=Topic.ORDER_SHIPPED,
            recipient="jane@example.com",
            subject="Shipped",
            text="Hello",
        )
        enqueue(uow, message, customer_id="cus_1", now=now)
        uow.commit()
    notifier = RecordingNotifier()
    notifier.fail_when(lambda m: SendResult.transient("busy", retry_after=retry_after))
    policy = RetryPolicy(base_delay=MAX_RETRY_DELAY, max_delay=MAX_RETRY_DELAY, jitter=0.0)
    report = Dispatcher(store, notifier, clock=lambda: now, retry=policy).run_once()
    assert (report.leased, report.retried) == (1, 1)
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        entry = uow.outbox.find(key)
        assert entry is not None and entry.state == OutboxState.PENDING
        assert now <= entry.available_at < LATEST_MOMENT
        assert entry.available_at == min(now + MAX_RETRY_DELAY, LATEST_MOMENT - timedelta(microseconds=1))
