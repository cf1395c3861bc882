"""The outbox and timer operations the SQL stores answer in one statement, each against its reference built from
the port's plain operations, on the memory store, a SQLite file and PostgreSQL:

- ``cancellable`` (what a cancel of some topics would take: the pending timers and how many outbox entries) against
  ``timers.pending`` filtered the way ``timers.cancel`` filters, and the entries ``outbox.cancel`` returns;
- ``reschedule`` (a timer moved forward only) against ``get`` and ``schedule(replace=True)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata.domain import Channel, Topic
from custdata.notify import Message
from custdata.storage import open_store
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.ports import (
    FindsCancellable,
    ReschedulesTimers,
    cancellable,
    outbox_unit_of_work,
    reschedule,
)
from custdata.storage.ports import Store
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
TOPICS = (Topic.CART_REMINDER, Topic.ORDER_PACKED, Topic.REVIEW_REQUEST)
ORDERS = (None, "ord_1", "ord_2")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = open_store(f"{url}{'&' if '?' in url else '?'}schema=fast_{uuid.uuid4().hex[:12]}&pool_max_size=4")
    else:
        opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


def timer(
    key: str, topic: Topic, customer: str, due: datetime, trigger: dict[str, Any], order: str | None = None
) -> Timer:
    return Timer(
        key=key,
        rule="rule",
        topic=topic,
        customer_id=customer,
        due_at=due,
        created_at=T0,
        trigger=trigger,
        order_id=order,
    )


def message(key: str, topic: Topic) -> Message:
    return Message(
        idempotency_key=key,
        channel=Channel.EMAIL,
        topic=topic,
        recipient="ada@example.com",
        subject="Hi",
        text="Hi",
        unsubscribe_url="https://shop.example/unsubscribe" if topic.is_marketing else None,
    )


timers = st.lists(
    st.tuples(
        st.integers(0, 1),  # customer
        st.sampled_from(TOPICS),
        st.sampled_from(ORDERS),
        st.booleans(),  # finished
        st.integers(0, 5),  # due, in days
    ),
    max_size=6,
)
entries = st.lists(
    st.tuples(
        st.integers(0, 1),  # customer
        st.sampled_from(TOPICS),
        st.sampled_from(ORDERS),
        st.sampled_from([OutboxState.PENDING, OutboxState.SUPPRESSED]),
        st.integers(-2, 2),  # available, in hours
    ),
    max_size=6,
)
query = st.tuples(
    st.integers(0, 1),
    st.sets(st.sampled_from(TOPICS), min_size=1),
    st.sampled_from(ORDERS),
    st.integers(-1, 3),  # now, in hours
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timers=timers, entries=entries, leased=st.integers(0, 3), query=query)
def test_cancellable_is_what_a_cancel_takes(
    store: Store, timers: list[Any], entries: list[Any], leased: int, query: Any
) -> None:
    run = uuid.uuid4().hex[:8]
    customers = [f"cus_{run}a", f"cus_{run}b"]
    with outbox_unit_of_work(store) as uow:
        for i, (who, topic, order, finished, due) in enumerate(timers):
            key = f"{run}:timer:{i}"
            uow.timers.schedule(timer(key, topic, customers[who], T0 + timedelta(days=due), {"n": i}, order))
            if finished:
                uow.timers.finish(key, TimerState.FIRED)
        for i, (who, topic, order, state, available) in enumerate(entries):
            uow.outbox.add(
                OutboxEntry(
                    id=f"com_{run}{i:04d}",
                    idempotency_key=f"{run}:entry:{i}",
                    customer_id=customers[who],
                    topic=topic,
                    channel=Channel.EMAIL,
                    created_at=T0 - timedelta(hours=3),
                    available_at=T0 + timedelta(hours=available),
                    order_id=order,
                    state=state,
                    reason=None if state == OutboxState.PENDING else "suppressed",
                    message=message(f"{run}:entry:{i}", topic) if state == OutboxState.PENDING else None,
                )
            )
        uow.outbox.lease("someone", now=T0, limit=leased, duration=timedelta(hours=1)) if leased else None
        uow.commit()
    who, topics, order, hours = query
    customer, now = customers[who], T0 + timedelta(hours=hours)
    with outbox_unit_of_work(store) as uow:
        found, count = cancellable(uow, customer_id=customer, topics=topics, now=now, order_id=order)
        expected = [
            t
            for t in uow.timers.pending(customer)
            if t.topic in topics and (t.order_id is None or (order is not None and t.order_id == order))
        ]
        assert found == expected
        taken = uow.outbox.cancel(customer_id=customer, topics=topics, now=now, reason="test", order_id=order)
        if isinstance(uow.timers, FindsCancellable):
            assert count == len(taken)
        else:
            assert count is None
        assert uow.timers.cancel(customer_id=customer, topics=topics, reason="test", order_id=order) == len(found)
        uow.rollback()


def reference_reschedule(repository: Any, timer: Timer) -> bool:
    known = repository.get(timer.key)
    if known is not None and known.due_at >= timer.due_at:
        return False
    return bool(repository.schedule(timer, replace=True))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.integers(-3, 3), st.sampled_from(["reschedule", "finish", "cancel"])),
        max_size=10,
    )
)
def test_reschedule_moves_a_timer_forward_only_as_get_and_replace_do(store: Store, steps: list[Any]) -> None:
    run = uuid.uuid4().hex[:8]
    fast: list[Any] = []
    slow: list[Any] = []
    with outbox_unit_of_work(store) as uow:
        for n, (key, days, action) in enumerate(steps):
            for side, answers in (("fast", fast), ("slow", slow)):
                name = f"{run}:{side}:{key}"
                if action == "reschedule":
                    moved = timer(name, Topic.RE_ENGAGEMENT, f"cus_{run}", T0 + timedelta(days=days), {"n": n})
                    act = reschedule if side == "fast" else reference_reschedule
                    answers.append(act(uow.timers, moved))
                else:
                    state = TimerState.FIRED if action == "finish" else TimerState.CANCELLED
                    answers.append(uow.timers.finish(name, state))
        uow.commit()
    with outbox_unit_of_work(store) as uow:
        stored = {side: {} for side in ("fast", "slow")}  # type: dict[str, dict[str, Timer]]
        for kept in uow.timers.for_customer(f"cus_{run}"):
            _, side, key = kept.key.split(":")
            stored[side][key] = attrs.evolve(kept, key=key)
        reschedules = isinstance(uow.timers, ReschedulesTimers)
    assert fast == slow
    assert stored["fast"] == stored["slow"]
    assert reschedules == (not isinstance(store, type(open_store("memory://"))))
