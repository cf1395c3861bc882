"""The outbox and timer operations the SQL stores answer in one statement, each against its reference built from
the port's plain operations, on the memory store, a SQLite file and PostgreSQL:

- ``cancellable`` (what a cancel of some topics would take: the pending timers and how many outbox entries) against
  ``timers.pending`` filtered the way ``timers.cancel`` filters, and the entries ``outbox.cancel`` returns;
- ``reschedule`` (a timer moved forward only) against ``get`` and ``schedule(replace=True)``;
- ``read_before_sending`` (an entry with its customer and its event, read by a dispatcher before a send) against
  ``outbox.get``, ``customers.get`` and ``communications.get``;
- ``settle_with_event`` (a send's result and its event written at once) against ``settle`` and ``update``;
- ``add_with_event`` (an entry and its event added at once) against the two ``add``;
- a lease that returns its rows against the update and the read it replaces;
- ``lease_and_commit`` (a lease committed at once, on its own when nothing was written before it) against
  ``lease`` and ``commit``.
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

from custdata._errors import ConflictError, IntegrityError, NotFoundError
from custdata.domain import Channel, CommunicationStatus, Customer, CustomerId, Topic
from custdata.notify import Message
from custdata.outbox.service import change_event, enqueue, update_event
from custdata.storage import open_store
from custdata.storage.memory import MemoryStore
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.ports import (
    FindsCancellable,
    ReadsBeforeSending,
    ReschedulesTimers,
    add_with_event,
    cancellable,
    lease_and_commit,
    outbox_unit_of_work,
    read_before_sending,
    reschedule,
    settle_with_event,
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


def reference_read(uow: Any, entry_id: str) -> tuple[Any, ...]:
    entry = uow.outbox.get(entry_id)
    try:
        customer = uow.customers.get(str(entry.customer_id))
    except NotFoundError:
        customer = None
    try:
        event = uow.communications.get(str(entry.id))
    except NotFoundError:
        event = None
    return entry, customer, event


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(
        st.tuples(
            st.sampled_from(["none", "plain", "changed", "merged"]),  # the customer filed under the entry's id
            st.sampled_from(["kept", "updated", "deleted"]),  # the entry's event
            st.sampled_from(["pending", "leased", "settled", "forgotten"]),  # the entry
        ),
        min_size=1,
        max_size=4,
    )
)
def test_read_before_sending_is_the_entry_its_customer_and_its_event_as_get_reads_them(
    store: Store, specs: list[Any]
) -> None:
    run = uuid.uuid4().hex[:8]
    ids = []
    with outbox_unit_of_work(store) as uow:
        for i, (customer_kind, event_kind, entry_kind) in enumerate(specs):
            customer_id = f"cus_{run}{i}"
            uow.customers.add(Customer(id=customer_id, created_at=T0, given_name="Ada"))
            if customer_kind == "changed":
                changed = uow.customers.get(customer_id)
                changed.family_name = "Lovelace"
                uow.customers.update(changed)
            if customer_kind == "merged":
                uow.customers.add(Customer(id=f"cus_{run}{i}s", created_at=T0))
                merged = uow.customers.get(customer_id)
                merged.merged_into = CustomerId(f"cus_{run}{i}s")
                uow.customers.update(merged)
            entry = enqueue(uow, message(f"{run}:read:{i}", Topic.ORDER_PACKED), customer_id=customer_id, now=T0)
            assert entry is not None
            ids.append(str(entry.id))
            if customer_kind == "none":  # the entry moved to an id no customer has
                assert uow.outbox.reassign(customer_id, f"cus_{run}{i}gone", now=T0) == 1
            if event_kind == "updated":
                assert update_event(uow, str(entry.id), now=T0 + timedelta(minutes=1), error="first try failed")
            elif event_kind == "deleted":
                uow.communications.delete(str(entry.id))
            if entry_kind != "pending":
                uow.outbox.lease(f"{run}:{i}", now=T0, limit=100, duration=timedelta(hours=1))
            if entry_kind == "settled":
                assert uow.outbox.settle(str(entry.id), f"{run}:{i}", state=OutboxState.SENT, now=T0, provider_id="p")
            elif entry_kind == "forgotten":
                uow.outbox.forget(str(entry.id), now=T0, reason="erased")
        uow.commit()
    with outbox_unit_of_work(store) as uow:
        for entry_id in ids:
            assert read_before_sending(uow, entry_id) == reference_read(uow, entry_id)
        with pytest.raises(NotFoundError):
            read_before_sending(uow, f"com_{run}unknown")
        assert isinstance(uow.outbox, ReadsBeforeSending) == (not isinstance(store, MemoryStore))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(available=st.lists(st.integers(-3, 3), min_size=1, max_size=8), hours=st.integers(0, 2))
def test_a_lease_returning_its_rows_leases_what_an_update_and_a_read_lease(
    store: Store, available: list[int], hours: int
) -> None:
    """The SQL stores lease with one ``UPDATE ... RETURNING``; a session without ``execute_returning`` (one written
    before it) leases with the update and a read of the leased rows: the same entries, stored the same way."""
    if isinstance(store, MemoryStore):
        return
    run = uuid.uuid4().hex[:8]
    shapes: dict[str, list[Any]] = {}
    for side in ("returning", "plain"):
        customer = f"cus_{run}{side}"
        with outbox_unit_of_work(store) as uow:
            for i, hours_ahead in enumerate(available):
                uow.outbox.add(
                    OutboxEntry(
                        id=f"com_{run}{side[0]}{i:04d}",
                        idempotency_key=f"{run}:{side}:{i}",
                        customer_id=customer,
                        topic=Topic.ORDER_PACKED,
                        channel=Channel.EMAIL,
                        created_at=T0 - timedelta(hours=5),
                        available_at=T0 + timedelta(hours=hours_ahead),
                        message=message(f"{run}:{side}:{i}", Topic.ORDER_PACKED),
                    )
                )
            uow.commit()
        with outbox_unit_of_work(store) as uow:
            if side == "plain":  # hide the method, as a session written without it has none
                uow._active().execute_returning = None  # type: ignore[attr-defined]
            now = T0 + timedelta(hours=hours)
            # earlier examples' entries are leased for good or cancelled, so only this example's are ready
            leased = uow.outbox.lease(f"{run}:{side}", now=now, limit=100, duration=timedelta(days=30))
            uow.commit()
        assert [str(e.customer_id) for e in leased] == [customer] * len(leased)
        assert [(e.available_at, str(e.id)) for e in leased] == sorted((e.available_at, str(e.id)) for e in leased)
        with outbox_unit_of_work(store) as uow:
            assert [e for e in uow.outbox.for_customer(customer) if e.lease_owner] == sorted(
                leased, key=lambda e: str(e.id)
            )
            # what was not leased must not be ready in a later example
            uow.outbox.cancel(customer_id=customer, topics=[Topic.ORDER_PACKED], now=T0, reason="example over")
            uow.commit()
        shapes[side] = [(e.available_at, e.attempts, e.lease_expires_at, e.message) for e in leased]
    assert len(shapes["returning"]) == sum(1 for a in available if a <= hours)
    assert [s[:3] for s in shapes["returning"]] == [s[:3] for s in shapes["plain"]]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    available=st.lists(st.integers(-3, 3), min_size=1, max_size=6),
    hours=st.integers(0, 2),
    written_before=st.booleans(),
)
def test_lease_and_commit_leases_and_commits_what_lease_and_commit_do(
    store: Store, available: list[int], hours: int, written_before: bool
) -> None:
    """The same entries leased and stored the same way, and committed: with a write before the lease (committed
    with it) and without one (the lease alone, on PostgreSQL one statement outside a transaction); a rollback
    afterwards undoes nothing."""
    run = uuid.uuid4().hex[:8]
    shapes: dict[str, list[Any]] = {}
    for side in ("together", "apart"):
        customer = f"cus_{run}{side}"
        with outbox_unit_of_work(store) as uow:
            for i, hours_ahead in enumerate(available):
                uow.outbox.add(
                    OutboxEntry(
                        id=f"com_{run}{side[0]}{i:04d}",
                        idempotency_key=f"{run}:{side}:{i}",
                        customer_id=customer,
                        topic=Topic.ORDER_PACKED,
                        channel=Channel.EMAIL,
                        created_at=T0 - timedelta(hours=5),
                        available_at=T0 + timedelta(hours=hours_ahead),
                        message=message(f"{run}:{side}:{i}", Topic.ORDER_PACKED),
                    )
                )
            uow.commit()
        with outbox_unit_of_work(store) as uow:
            if written_before:
                uow.customers.add(Customer(id=CustomerId(customer), created_at=T0))
            now = T0 + timedelta(hours=hours)
            owner, duration = f"{run}:{side}", timedelta(days=30)
            if side == "together":
                leased = lease_and_commit(uow, owner, now=now, limit=100, duration=duration)
            else:
                leased = uow.outbox.lease(owner, now=now, limit=100, duration=duration)
                uow.commit()
            uow.rollback()  # committed already: nothing to undo
        assert [(e.available_at, str(e.id)) for e in leased] == sorted((e.available_at, str(e.id)) for e in leased)
        with outbox_unit_of_work(store) as uow:
            assert [e for e in uow.outbox.for_customer(customer) if e.lease_owner] == sorted(
                leased, key=lambda e: str(e.id)
            )
            assert (customer in uow.customers.get_many([customer])) == written_before
            # what was not leased must not be ready in a later example
            uow.outbox.cancel(customer_id=customer, topics=[Topic.ORDER_PACKED], now=T0, reason="example over")
            uow.commit()
        shapes[side] = [(e.available_at, e.attempts, e.lease_expires_at, str(e.id)[-4:]) for e in leased]
    assert len(shapes["together"]) == sum(1 for a in available if a <= hours)
    assert shapes["together"] == shapes["apart"]


def reference_settle_with_event(uow: Any, entry_id: str, owner: str, event: Any, **options: Any) -> tuple[bool, bool]:
    if not uow.outbox.settle(entry_id, owner, **options):
        return False, False
    try:
        uow.communications.update(event)
    except (ConflictError, NotFoundError):
        return True, False
    return True, True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    holder=st.sampled_from(["us", "another", "nobody"]),
    meanwhile=st.sampled_from(["nothing", "changed", "deleted"]),
    state=st.sampled_from([OutboxState.SENT, OutboxState.FAILED, OutboxState.SKIPPED, OutboxState.PENDING]),
)
def test_settle_with_event_writes_what_settle_and_update_write(
    store: Store, holder: str, meanwhile: str, state: OutboxState
) -> None:
    """The SQL stores settle an entry and write its event in one round trip; the same answers and the same stored
    entry and event as ``settle`` and then ``communications.update``, on twin entries."""
    run = uuid.uuid4().hex[:8]
    stored: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for side in ("fast", "slow"):
        customer = f"cus_{run}{side}"
        with outbox_unit_of_work(store) as uow:
            uow.customers.add(Customer(id=customer, created_at=T0))
            entry = enqueue(uow, message(f"{run}:{side}", Topic.ORDER_PACKED), customer_id=customer, now=T0)
            assert entry is not None
            if holder != "nobody":
                who = f"{run}:{side}" if holder == "us" else f"{run}:{side}:other"
                leased = uow.outbox.lease(who, now=T0 + timedelta(days=400), limit=1000, duration=timedelta(days=1))
                assert entry.id in {e.id for e in leased}
            uow.commit()
        entry_id = str(entry.id)
        with outbox_unit_of_work(store) as uow:
            event = uow.communications.get(entry_id)
        if meanwhile != "nothing":
            with outbox_unit_of_work(store) as uow:
                if meanwhile == "changed":
                    assert update_event(uow, entry_id, now=T0, metadata={"n": 1})
                else:
                    uow.communications.delete(entry_id)
                uow.commit()
        change_event(event, now=T0 + timedelta(days=400), status=CommunicationStatus.SENT, provider_id="p-1")
        options: dict[str, Any] = {
            "state": state,
            "now": T0 + timedelta(days=400),
            "provider_id": "p-1",
            "error": "e",
            "reason": "r",
        }
        with outbox_unit_of_work(store) as uow:
            if side == "fast":
                answer = settle_with_event(uow, entry_id, f"{run}:{side}", event=event, **options)
            else:
                answer = reference_settle_with_event(uow, entry_id, f"{run}:{side}", event, **options)
            answers[side] = (answer, event.version)
            uow.commit()  # even after a settle that did not happen: nothing of it may then be written
        with outbox_unit_of_work(store) as uow:
            kept = uow.outbox.get(entry_id)
            events = uow.communications.get_many([entry_id])
        stored[side] = (
            kept.state,
            kept.provider_id,
            kept.last_error,
            kept.lease_owner is not None,
            [(v.status, v.provider_id, v.sent_at, v.updated_at, v.version, v.metadata) for v in events.values()],
        )
    assert answers["fast"] == answers["slow"]
    assert stored["fast"] == stored["slow"]
    assert answers["fast"][0] == (holder == "us", holder == "us" and meanwhile == "nothing")


@pytest.mark.parametrize("first_write", [True, False])
def test_a_session_runs_several_statements_all_or_none(store: Store, first_write: bool) -> None:
    """``execute_each`` of the SQL sessions: when one statement fails, the others of the call are undone, the unit
    of work's earlier writes stay, and it goes on."""
    if isinstance(store, MemoryStore):
        return
    run = uuid.uuid4().hex[:8]
    finish = "UPDATE timers SET state = 'fired' WHERE key = ?"
    with outbox_unit_of_work(store) as uow:
        uow.timers.schedule(timer(f"{run}:a", Topic.REVIEW_REQUEST, f"cus_{run}", T0, {}))
        uow.commit()
    with outbox_unit_of_work(store) as uow:
        session = uow._active()  # type: ignore[attr-defined]
        if first_write:  # an earlier write of the unit of work, which must stay
            uow.timers.schedule(timer(f"{run}:b", Topic.REVIEW_REQUEST, f"cus_{run}", T0, {}))
        duplicate = session.dialect.render(
            "INSERT INTO timers (key, rule, topic, customer_id, state, due_us, created_us, trigger) "
            "VALUES (?, 'r', 'review_request', 'c', 'pending', 0, 0, {doc_in})"
        )
        with pytest.raises(IntegrityError):
            session.execute_each([(session.dialect.render(finish), (f"{run}:a",)), (duplicate, (f"{run}:a", "{}"))])
        assert session.execute_each([(session.dialect.render(finish), (f"{run}:zzz",))]) == [0]
        uow.commit()
    with outbox_unit_of_work(store) as uow:
        kept = uow.timers.get(f"{run}:a")
        assert kept is not None and kept.state == TimerState.PENDING
        assert (uow.timers.get(f"{run}:b") is not None) == first_write


def reference_add_with_event(uow: Any, entry: OutboxEntry, event: Any) -> bool:
    if not uow.outbox.add(entry):
        return False
    uow.communications.add(event)
    return True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(["new", "key taken", "key taken, event gone", "id taken", "no customer"]))
def test_add_with_event_writes_what_two_adds_write(store: Store, case: str) -> None:
    """The SQL stores add an entry and its event in one round trip (``enqueue`` does): the same answer, the same
    error and the same stored rows as ``outbox.add`` and then ``communications.add``, on twin entries."""
    run = uuid.uuid4().hex[:8]
    seen: dict[str, Any] = {}
    for side in ("fast", "slow"):
        customer = f"cus_{run}{side}"
        key = f"{run}:{side}"
        with outbox_unit_of_work(store) as uow:
            if case != "no customer":
                uow.customers.add(Customer(id=customer, created_at=T0))
            if case.startswith("key taken") or case == "id taken":
                first = enqueue(uow, message(key, Topic.ORDER_PACKED), customer_id=customer, now=T0)
                assert first is not None
                if case == "key taken, event gone":
                    uow.communications.delete(str(first.id))
            uow.commit()
        twin = enqueue_parts(customer, key if case.startswith("key taken") else f"{key}:2")
        if case == "id taken":
            assert first is not None
            twin = tuple(attrs.evolve(part, id=first.id) for part in twin)  # type: ignore[assignment]
        answer: Any
        with outbox_unit_of_work(store) as uow:
            act = add_with_event if side == "fast" else reference_add_with_event
            try:
                answer = act(uow, *twin)
            except IntegrityError:
                answer = "IntegrityError"
                uow.rollback()
            else:
                uow.commit()
        with outbox_unit_of_work(store) as uow:
            entries = uow.outbox.for_customer(customer)
            events = uow.communications.get_many([str(e.id) for e in entries] + [str(twin[0].id)])
            seen[side] = (
                answer,
                [(e.state, e.created_at, e.message is not None) for e in entries],
                sorted((ev.status, ev.created_at, ev.subject) for ev in events.values()),
            )
    assert seen["fast"] == seen["slow"]
    expected = {"new": True, "key taken": False, "key taken, event gone": False}.get(case, "IntegrityError")
    assert seen["fast"][0] == expected


def enqueue_parts(customer: str, key: str) -> tuple[OutboxEntry, Any]:
    """An entry and its event as ``enqueue`` builds them, an hour after the first."""
    from custdata.domain import CommunicationEvent, CommunicationId

    mail = message(key, Topic.ORDER_PACKED)
    now = T0 + timedelta(hours=1)
    entry = OutboxEntry(
        id=CommunicationId.new(),
        idempotency_key=key,
        customer_id=customer,
        topic=mail.topic,
        channel=mail.channel,
        created_at=now,
        available_at=now,
        message=mail,
    )
    event = CommunicationEvent(
        id=entry.id,
        customer_id=customer,
        channel=mail.channel,
        topic=mail.topic,
        created_at=now,
        idempotency_key=key,
        subject=mail.subject,
        body=mail.text,
    )
    return entry, event
