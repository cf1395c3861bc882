"""``OutboxContract``: the behaviour every store with an outbox must show, as a pytest class to subclass.

::

    from custdata.testing.outbox_contract import OutboxContract

    class TestMyStoreOutbox(OutboxContract):
        def make_store(self):
            return MyStore(...)          # a fresh, empty store whose units of work have .outbox and .timers

It covers one entry per idempotency key (also under concurrent writers), atomic leases that two dispatchers
never share, lease expiry, settling only by the lease holder, cancelling, re-queueing, listing and counting,
timers, erasing and forgetting personal data (leased entries included), listing by customer and order, rollback, and bad arguments. Override :meth:`OutboxContract.writer_stores` to give
each concurrent writer its own handle on the same data (as separate processes would have).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata._errors import NotFoundError, ValidationError
from custdata.domain import Channel, CommunicationId, Customer, Topic
from custdata.notify import Message
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.ports import OutboxUnitOfWork
from custdata.storage.ports import Store, walk

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
_ids = itertools.count(1)


def entry(
    key: str | None = None,
    *,
    customer_id: str = "cus_1",
    topic: Topic = Topic.ORDER_SHIPPED,
    order_id: str | None = "ord_1",
    available_at: datetime = T0,
    created_at: datetime = T0,
) -> OutboxEntry:
    """An outbox entry with a one-line SMS message."""
    key = key or f"key-{next(_ids)}"
    message = Message(
        idempotency_key=key,
        channel=Channel.SMS,
        topic=topic,
        recipient="+4930123456",
        text="Your parcel is on its way.",
        marketing=topic.is_marketing,
        order_id=order_id,
    )
    return OutboxEntry(
        id=CommunicationId.new(),
        idempotency_key=key,
        customer_id=customer_id,
        order_id=order_id,
        topic=topic,
        channel=Channel.SMS,
        created_at=created_at,
        available_at=available_at,
        message=message,
    )


class OutboxContract:
    """Subclass and implement :meth:`make_store`; pytest then runs every ``test_`` method."""

    def make_store(self) -> Store:
        raise NotImplementedError("return a fresh, empty store whose units of work have an outbox")

    def writer_stores(self, store: Store, count: int) -> list[Store]:
        """Handles for concurrent writers on the same data (the same store by default)."""
        return [store] * count

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    @contextmanager
    def uow(self, store: Store) -> Iterator[OutboxUnitOfWork]:
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork), "the store's units of work have no outbox"
            yield uow

    def add(self, store: Store, *entries: OutboxEntry) -> list[bool]:
        with self.uow(store) as uow:
            written = [uow.outbox.add(e) for e in entries]
            uow.commit()
        return written

    # -- one entry per key ------------------------------------------------------------------------------------

    def test_add_get_find(self, store: Store) -> None:
        """An added entry comes back equal by id and by idempotency key; an unknown id raises NotFoundError."""
        first = entry("k1")
        assert self.add(store, first) == [True]
        with self.uow(store) as uow:
            assert uow.outbox.get(first.id) == first
            assert uow.outbox.find("k1") == first
            assert uow.outbox.find("k2") is None
            with pytest.raises(NotFoundError):
                uow.outbox.get("msg_missing")

    def test_a_taken_key_writes_nothing(self, store: Store) -> None:
        """Adding an entry whose idempotency key is taken returns False and writes nothing."""
        first, again = entry("k1"), entry("k1")
        assert self.add(store, first, again) == [True, False]
        with self.uow(store) as uow:
            assert uow.outbox.count() == 1
            assert uow.outbox.get(first.id) == first
            with pytest.raises(NotFoundError):
                uow.outbox.get(again.id)

    def test_rollback_forgets_added_entries_and_timers(self, store: Store) -> None:
        """Entries and timers added in a unit of work left without commit are gone."""
        with self.uow(store) as uow:
            assert uow.outbox.add(entry("k1"))
            assert uow.timers.schedule(self.timer("t1"))
            assert uow.outbox.find("k1") is not None  # a unit of work sees its own writes
        with self.uow(store) as uow:
            assert uow.outbox.find("k1") is None
            assert uow.timers.get("t1") is None

    def test_concurrent_writers_store_a_key_once(self, store: Store) -> None:
        """Concurrent writers adding the same idempotency key store it once: one gets True, the others False."""
        stores = self.writer_stores(store, 4)
        barrier = threading.Barrier(len(stores))
        results: list[bool] = []
        lock = threading.Lock()

        def write(handle: Store) -> None:
            barrier.wait()
            written = self.add(handle, entry("same-key"))
            with lock:
                results.extend(written)

        self._run(write, stores, store)
        assert sorted(results) == [False, False, False, True], "exactly one concurrent add of a key may succeed"
        with self.uow(store) as uow:
            assert uow.outbox.count() == 1, "concurrent writers stored one key more than once"

    # -- leases ------------------------------------------------------------------------------------------------

    def test_lease_takes_ready_entries_oldest_first_and_counts_attempts(self, store: Store) -> None:
        """lease() takes ready entries oldest first and counts the attempt; entries under an unexpired lease stay with
        their holder.
        """
        late, early, future = (
            entry(available_at=T0 + timedelta(minutes=5)),
            entry(),
            entry(available_at=T0 + timedelta(hours=1)),
        )
        self.add(store, late, early, future)
        with self.uow(store) as uow:
            leased = uow.outbox.lease("a", now=T0 + timedelta(minutes=10), limit=10, duration=timedelta(minutes=1))
            uow.commit()
        assert [e.id for e in leased] == [early.id, late.id], "lease() must take the ready entries, oldest first"
        assert [(e.attempts, e.lease_owner) for e in leased] == [(1, "a")] * 2, "a lease counts one attempt"
        expiry = T0 + timedelta(minutes=11)
        assert [e.lease_expires_at for e in leased] == [expiry] * 2, "a lease expires at now + duration"
        with self.uow(store) as uow:
            again = uow.outbox.lease("b", now=T0 + timedelta(minutes=10), limit=10, duration=timedelta(minutes=1))
            assert again == []  # held by a
            taken = uow.outbox.lease("b", now=T0 + timedelta(minutes=12), limit=1, duration=timedelta(minutes=1))
            assert [e.id for e in taken] == [early.id]  # a's lease expired
            assert taken[0].attempts == 2 and taken[0].lease_owner == "b"

    def test_concurrent_leases_never_share_an_entry(self, store: Store) -> None:
        """Dispatchers leasing at the same time never get the same entry."""
        self.add(store, *(entry() for _ in range(40)))
        stores = self.writer_stores(store, 4)
        barrier = threading.Barrier(len(stores))
        taken: dict[str, list[str]] = {}
        lock = threading.Lock()

        def lease(handle: Store) -> None:
            owner = f"d{id(threading.current_thread())}"
            barrier.wait()
            mine: list[str] = []
            while True:
                with self.uow(handle) as uow:
                    got = uow.outbox.lease(owner, now=T0, limit=3, duration=timedelta(minutes=5))
                    uow.commit()
                if not got:
                    break
                mine += [str(e.id) for e in got]
            with lock:
                taken[owner] = mine

        self._run(lease, stores, store)
        every = [i for ids in taken.values() for i in ids]
        assert len(every) == len(set(every)), "two dispatchers leased the same entry"
        assert len(set(every)) == 40, "concurrent leases left entries untaken"

    def test_only_the_lease_holder_settles(self, store: Store) -> None:
        """Only the holder of the lease settles an entry, and only once; settling clears the lease."""
        first = entry()
        self.add(store, first)
        with self.uow(store) as uow:
            (leased,) = uow.outbox.lease("a", now=T0, limit=5, duration=timedelta(minutes=1))
            assert not uow.outbox.settle(leased.id, "b", state=OutboxState.SENT, now=T0)
            assert uow.outbox.settle(leased.id, "a", state=OutboxState.SENT, now=T0, provider_id="p-1")
            assert not uow.outbox.settle(leased.id, "a", state=OutboxState.FAILED, now=T0)  # settled already
            uow.commit()
        with self.uow(store) as uow:
            done = uow.outbox.get(first.id)
        assert (done.state, done.provider_id) == (OutboxState.SENT, "p-1"), "the lease holder's result was not kept"
        assert (done.lease_owner, done.lease_expires_at) == (None, None), "settling must clear the lease"

    def test_settling_as_pending_retries_later(self, store: Store) -> None:
        """An entry settled as pending is leased again only from its new available_at, and keeps its error."""
        first = entry()
        self.add(store, first)
        later = T0 + timedelta(minutes=3)
        with self.uow(store) as uow:
            (leased,) = uow.outbox.lease("a", now=T0, limit=5, duration=timedelta(minutes=1))
            assert uow.outbox.settle(
                leased.id, "a", state=OutboxState.PENDING, now=T0, available_at=later, error="busy"
            )
            uow.commit()
        with self.uow(store) as uow:
            assert uow.outbox.lease("a", now=T0 + timedelta(minutes=2), limit=5, duration=timedelta(minutes=1)) == []
            (again,) = uow.outbox.lease("a", now=later, limit=5, duration=timedelta(minutes=1))
        assert (again.attempts, again.last_error) == (2, "busy"), "a retried entry keeps its count and its error"

    def test_a_lost_lease_cannot_overwrite_the_new_holders_result(self, store: Store) -> None:
        """A dispatcher whose lease expired cannot overwrite the result of the one that took the entry over."""
        self.add(store, entry())
        with self.uow(store) as uow:
            (mine,) = uow.outbox.lease("slow", now=T0, limit=1, duration=timedelta(seconds=10))
            uow.commit()
        with self.uow(store) as uow:
            (theirs,) = uow.outbox.lease(
                "fast", now=T0 + timedelta(seconds=20), limit=1, duration=timedelta(seconds=10)
            )
            assert uow.outbox.settle(theirs.id, "fast", state=OutboxState.SENT, now=T0 + timedelta(seconds=21))
            uow.commit()
        with self.uow(store) as uow:
            assert not uow.outbox.settle(mine.id, "slow", state=OutboxState.FAILED, now=T0 + timedelta(seconds=22))
            assert uow.outbox.get(mine.id).state == OutboxState.SENT

    # -- cancelling, re-queueing, listing ---------------------------------------------------------------------

    def test_cancel_drops_pending_unleased_entries_of_the_scope(self, store: Store) -> None:
        """cancel() cancels only the pending, unleased entries of the customer, order and topics given."""
        delay = entry(topic=Topic.DELIVERY_DELAYED)
        other_order = entry(topic=Topic.DELIVERY_DELAYED, order_id="ord_2")
        cart = entry(topic=Topic.CART_REMINDER, order_id=None)
        other_customer = entry(topic=Topic.DELIVERY_DELAYED, customer_id="cus_2")
        busy = entry(topic=Topic.DELIVERY_DELAYED, available_at=T0 - timedelta(minutes=1))
        self.add(store, delay, other_order, cart, other_customer, busy)
        with self.uow(store) as uow:
            uow.outbox.lease("a", now=T0 - timedelta(seconds=30), limit=1, duration=timedelta(minutes=5))
            dropped = uow.outbox.cancel(
                customer_id="cus_1",
                topics=[Topic.DELIVERY_DELAYED, Topic.CART_REMINDER],
                now=T0,
                reason="delivered",
                order_id="ord_1",
            )
            uow.commit()
        assert {e.id for e in dropped} == {delay.id, cart.id}, (
            "cancel() must drop exactly the pending, unleased entries"
        )
        with self.uow(store) as uow:
            assert uow.outbox.get(delay.id).state == OutboxState.CANCELLED
            assert uow.outbox.get(delay.id).reason == "delivered"
            for kept in (other_order, other_customer, busy):
                assert uow.outbox.get(kept.id).state == OutboxState.PENDING

    def test_dead_entries_are_listed_and_requeued(self, store: Store) -> None:
        """Dead entries are listed in id order across pages, and a re-queued one is pending again with a fresh count."""
        entries = [entry() for _ in range(5)]
        self.add(store, *entries)
        with self.uow(store) as uow:
            for leased in uow.outbox.lease("a", now=T0, limit=5, duration=timedelta(minutes=1)):
                assert uow.outbox.settle(leased.id, "a", state=OutboxState.DEAD, now=T0, error="gave up")
            uow.commit()
        with self.uow(store) as uow:
            dead = list(walk(lambda c: uow.outbox.with_state(OutboxState.DEAD, limit=2, cursor=c)))
            assert sorted(str(e.id) for e in dead) == sorted(str(e.id) for e in entries)
            assert [str(e.id) for e in dead] == sorted(str(e.id) for e in dead)
            again = uow.outbox.requeue(entries[0].id, now=T0 + timedelta(hours=1))
            assert again.state == OutboxState.PENDING and again.attempts == 0 and again.last_error is None
            with pytest.raises(ValidationError, match="entry_id"):
                uow.outbox.requeue(entries[0].id, now=T0)  # pending now
            uow.commit()
        with self.uow(store) as uow:
            assert uow.outbox.count(OutboxState.DEAD) == 4
            assert uow.outbox.count(OutboxState.PENDING) == 1
            assert uow.outbox.count() == 5

    def test_count_recent_counts_pending_and_sent_messages_of_a_customer(self, store: Store) -> None:
        """count_recent() counts a customer's entries of the given topics since a time, cancelled ones left out."""
        old = entry(topic=Topic.CART_REMINDER, created_at=T0 - timedelta(days=10), order_id=None)
        new = entry(topic=Topic.CART_REMINDER, order_id=None)
        review = entry(topic=Topic.REVIEW_REQUEST)
        shipped = entry()
        theirs = entry(topic=Topic.CART_REMINDER, customer_id="cus_2", order_id=None)
        self.add(store, old, new, review, shipped, theirs)
        marketing = [Topic.CART_REMINDER, Topic.REVIEW_REQUEST]
        with self.uow(store) as uow:
            assert uow.outbox.count_recent("cus_1", since=T0 - timedelta(days=7), topics=marketing) == 2
            uow.outbox.cancel(customer_id="cus_1", topics=[Topic.REVIEW_REQUEST], now=T0, reason="r", order_id="ord_1")
            assert uow.outbox.count_recent("cus_1", since=T0 - timedelta(days=7), topics=marketing) == 1

    # -- timers ----------------------------------------------------------------------------------------------

    def timer(
        self, key: str, *, due: datetime = T0, customer_id: str = "cus_1", topic: Topic = Topic.REVIEW_REQUEST
    ) -> Timer:
        return Timer(
            key=key,
            rule="review_request",
            topic=topic,
            customer_id=customer_id,
            order_id="ord_1" if topic != Topic.CART_REMINDER else None,
            due_at=due,
            created_at=T0 - timedelta(days=7),
            trigger={"order_event": {"event": "delivered", "note": "ünïcode"}},
        )

    def test_timers_schedule_once_unless_replaced(self, store: Store) -> None:
        """A timer key is scheduled once; a second schedule is refused unless it replaces the first."""
        with self.uow(store) as uow:
            assert uow.timers.schedule(self.timer("t1"))
            assert not uow.timers.schedule(self.timer("t1", due=T0 + timedelta(days=1)))
            assert uow.timers.schedule(self.timer("t1", due=T0 + timedelta(days=2)), replace=True)
            uow.commit()
        with self.uow(store) as uow:
            stored = uow.timers.get("t1")
        assert stored is not None and stored.due_at == T0 + timedelta(days=2)
        assert stored.trigger == {"order_event": {"event": "delivered", "note": "ünïcode"}}

    def test_due_timers_fire_once(self, store: Store) -> None:
        """due() lists the pending timers that are due, in due order, and a timer is finished only once."""
        with self.uow(store) as uow:
            for key, hours in (("b", 2), ("a", 1), ("c", 30)):
                uow.timers.schedule(self.timer(key, due=T0 + timedelta(hours=hours)))
            uow.commit()
        with self.uow(store) as uow:
            due = uow.timers.due(T0 + timedelta(hours=3))
            assert [t.key for t in due] == ["a", "b"]
            assert uow.timers.finish("a", TimerState.FIRED)
            assert not uow.timers.finish("a", TimerState.CANCELLED)
            uow.commit()
        with self.uow(store) as uow:
            assert [t.key for t in uow.timers.due(T0 + timedelta(hours=3))] == ["b"]
            assert [t.key for t in uow.timers.pending("cus_1")] == ["b", "c"]
            fired = uow.timers.get("a")
            assert fired is not None and fired.state == TimerState.FIRED

    def test_cancel_timers_of_the_scope(self, store: Store) -> None:
        """Cancelling timers cancels only those of the customer, order and topics given."""
        with self.uow(store) as uow:
            uow.timers.schedule(self.timer("mine"))
            uow.timers.schedule(self.timer("cart", topic=Topic.CART_REMINDER))
            uow.timers.schedule(self.timer("theirs", customer_id="cus_2"))
            count = uow.timers.cancel(
                customer_id="cus_1",
                topics=[Topic.REVIEW_REQUEST, Topic.CART_REMINDER],
                reason="cancelled",
                order_id="ord_1",
            )
            uow.commit()
        assert count == 2
        with self.uow(store) as uow:
            assert [t.key for t in uow.timers.due(T0)] == ["theirs"]
            cancelled = uow.timers.get("mine")
            assert cancelled is not None and cancelled.reason == "cancelled"

    # -- erasure ----------------------------------------------------------------------------------------------

    def test_erase_drops_the_personal_data_of_settled_entries_and_finished_timers(self, store: Store) -> None:
        """erase() drops the message, errors and provider id of a customer's settled entries and the triggers of
        finished timers; keys stay taken.
        """
        sent, failed, waiting = entry("sent"), entry("failed"), entry("waiting")
        theirs = entry("theirs", customer_id="cus_2")
        self.add(store, sent, failed, waiting, theirs)
        with self.uow(store) as uow:
            leased = uow.outbox.lease("a", now=T0, limit=10, duration=timedelta(minutes=5))
            assert len(leased) == 4
            for e, state in ((sent, OutboxState.SENT), (failed, OutboxState.FAILED), (theirs, OutboxState.SENT)):
                assert uow.outbox.settle(str(e.id), "a", state=state, now=T0, provider_id="p-1", error="550 jane")
            assert uow.outbox.settle(str(waiting.id), "a", state=OutboxState.PENDING, now=T0, error="later")
            uow.timers.schedule(self.timer("fired"))
            uow.timers.schedule(self.timer("waiting", due=T0 + timedelta(days=1)))
            uow.timers.schedule(self.timer("their-timer", customer_id="cus_2"))
            assert uow.timers.finish("fired", TimerState.FIRED)
            assert uow.timers.finish("their-timer", TimerState.FIRED)
            uow.commit()
        later = T0 + timedelta(minutes=1)
        with self.uow(store) as uow:
            assert uow.outbox.erase("cus_1", now=later) == 2
            assert uow.timers.erase("cus_1") == 1
            uow.commit()
        with self.uow(store) as uow:
            for e, state in ((sent, OutboxState.SENT), (failed, OutboxState.FAILED)):
                erased = uow.outbox.get(e.id)
                assert (erased.state, erased.message, erased.last_error, erased.provider_id) == (
                    state,
                    None,
                    None,
                    None,
                )
                assert erased.idempotency_key == e.idempotency_key and erased.updated_at == later
                assert uow.outbox.find(e.idempotency_key) == erased
            assert uow.outbox.get(waiting.id).message == waiting.message  # pending: cancel it first
            assert uow.outbox.get(theirs.id).message == theirs.message
            with pytest.raises(ValidationError):
                uow.outbox.requeue(failed.id, now=later)  # nothing left to send
            assert not uow.outbox.add(entry("sent"))  # the key stays taken
            fired, waiting_timer, their_timer = (uow.timers.get(k) for k in ("fired", "waiting", "their-timer"))
            assert fired is not None and fired.trigger == {} and fired.state == TimerState.FIRED
            assert waiting_timer is not None and waiting_timer.trigger == self.timer("waiting").trigger
            assert their_timer is not None and their_timer.trigger == self.timer("their-timer").trigger
            assert uow.outbox.erase("cus_1", now=later) == 0 and uow.timers.erase("cus_1") == 0

    def test_entries_and_timers_are_listed_by_customer_and_by_order(self, store: Store) -> None:
        """Entries and timers are listed by customer and by order, whatever their state, in id (timers: key) order."""
        mine, other_order, no_order = entry(), entry(order_id="ord_2"), entry(order_id=None)
        theirs = entry(customer_id="cus_2")  # about ord_1 too, filed under another customer
        self.add(store, mine, other_order, no_order, theirs)
        with self.uow(store) as uow:
            uow.outbox.lease("a", now=T0, limit=1, duration=timedelta(minutes=5))
            uow.timers.schedule(self.timer("t-mine"))
            uow.timers.schedule(self.timer("t-cart", topic=Topic.CART_REMINDER))
            uow.timers.schedule(self.timer("t-theirs", customer_id="cus_2"))
            assert uow.timers.finish("t-mine", TimerState.FIRED)
            uow.commit()
        with self.uow(store) as uow:
            assert [e.id for e in uow.outbox.for_customer("cus_1")] == sorted(
                (mine.id, other_order.id, no_order.id), key=str
            )
            assert [e.id for e in uow.outbox.for_orders(["ord_1", "ord_9"])] == sorted((mine.id, theirs.id), key=str)
            assert uow.outbox.for_orders([]) == [] and uow.outbox.for_customer("cus_9") == []
            assert [t.key for t in uow.timers.for_customer("cus_1")] == ["t-cart", "t-mine"]
            assert [t.key for t in uow.timers.for_orders(["ord_1"])] == ["t-mine", "t-theirs"]
            assert [t.key for t in walk(lambda c: uow.timers.page(limit=2, cursor=c))] == [
                "t-cart",
                "t-mine",
                "t-theirs",
            ]

    def test_reassign_files_entries_and_timers_under_the_new_id_and_drops_the_old_one(self, store: Store) -> None:
        """reassign() files a customer's entries and timers under the new id, rewriting keys and triggers, and keeps no
        trace of the old id.
        """
        old, new = "cus_shop_0123456789abcdef01234567", "cus_fresh"
        keyed, plain = entry(f"welcome:{old}:signup", customer_id=old), entry(customer_id=old)
        theirs = entry(f"welcome:{old}x:signup", customer_id="cus_2")
        self.add(store, keyed, plain, theirs)
        later = T0 + timedelta(hours=1)
        with self.uow(store) as uow:
            [leased] = uow.outbox.lease("a", now=T0, limit=1, duration=timedelta(minutes=5))
            cart = self.timer(f"cart:{old}", customer_id=old, topic=Topic.CART_REMINDER)
            uow.timers.schedule(attrs.evolve(cart, trigger={"customer_id": old, "key": f"{old}:viewed"}))
            uow.timers.schedule(self.timer("t-theirs", customer_id="cus_2"))
            uow.commit()
        with self.uow(store) as uow:
            assert uow.outbox.reassign(old, new, now=later) == 2
            assert uow.timers.reassign(old, new) == 1
            uow.commit()
        with self.uow(store) as uow:
            assert uow.outbox.for_customer(old) == [] and uow.timers.for_customer(old) == []
            moved = {str(e.id): e for e in uow.outbox.for_customer(new)}
            assert set(moved) == {str(keyed.id), str(plain.id)}
            assert moved[str(keyed.id)].idempotency_key == f"welcome:{new}:signup"
            assert moved[str(plain.id)].idempotency_key == plain.idempotency_key
            for item in moved.values():
                assert item.message is not None and item.message.idempotency_key == item.idempotency_key
                assert old not in repr(attrs.asdict(item))
            assert uow.outbox.find(f"welcome:{old}:signup") is None
            assert uow.outbox.find(f"welcome:{new}:signup") == moved[str(keyed.id)]
            held = uow.outbox.get(leased.id)
            assert held.lease_owner == "a" and held.attempts == 1  # the delivery state stays as it was
            other = uow.outbox.get(theirs.id)
            assert (other.customer_id, other.idempotency_key) == ("cus_2", theirs.idempotency_key)
            assert uow.timers.get(f"cart:{old}") is None
            timer = uow.timers.get(f"cart:{new}")
            assert timer is not None and timer.customer_id == new and timer.state == TimerState.PENDING
            assert timer.trigger == {"customer_id": new, "key": f"{new}:viewed"}
            assert [t.key for t in uow.timers.for_customer("cus_2")] == ["t-theirs"]
            # the old key is free again, the new one is taken
            assert uow.outbox.add(entry(f"welcome:{old}:signup", customer_id="cus_3"))
            assert not uow.outbox.add(entry(f"welcome:{new}:signup", customer_id="cus_3"))
            assert uow.outbox.reassign("cus_9", "cus_10", now=later) == 0 and uow.timers.reassign("cus_9", "cus_x") == 0
            with pytest.raises(ValidationError):
                uow.outbox.reassign(new, new, now=later)

    def test_forget_cancels_even_a_leased_entry_and_drops_the_personal_data_of_any(self, store: Store) -> None:
        """forget() cancels even a leased entry and drops the personal data of any entry or timer; the lease holder can
        no longer settle it.
        """
        leased, waiting, sent = entry("leased"), entry("waiting", available_at=T0 + timedelta(hours=1)), entry("sent")
        self.add(store, leased, waiting, sent)
        with self.uow(store) as uow:
            taken = uow.outbox.lease("a", now=T0, limit=10, duration=timedelta(minutes=5))
            assert {e.id for e in taken} == {leased.id, sent.id}
            assert uow.outbox.settle(str(sent.id), "a", state=OutboxState.SENT, now=T0, provider_id="p-1")
            uow.timers.schedule(self.timer("pending"))
            uow.timers.schedule(self.timer("fired"))
            assert uow.timers.finish("fired", TimerState.FIRED)
            uow.commit()
        later = T0 + timedelta(minutes=1)
        with self.uow(store) as uow:
            for e in (leased, waiting, sent):
                before = uow.outbox.forget(str(e.id), now=later, reason="erased")
                assert (
                    before is not None
                    and before.id == e.id
                    and before.state == (OutboxState.SENT if e is sent else OutboxState.PENDING)
                )
            assert uow.outbox.forget(str(sent.id), now=later, reason="erased") is None  # nothing left to drop
            assert uow.timers.forget("pending", reason="erased") and uow.timers.forget("fired", reason="erased")
            assert not uow.timers.forget("fired", reason="erased")
            with pytest.raises(NotFoundError):
                uow.outbox.forget("msg_missing", now=later, reason="erased")
            with pytest.raises(NotFoundError):
                uow.timers.forget("missing", reason="erased")
            uow.commit()
        with self.uow(store) as uow:
            # the dispatcher that held the lease can no longer record anything over it
            assert not uow.outbox.settle(str(leased.id), "a", state=OutboxState.SENT, now=later, provider_id="p-2")
            for e, state in (
                (leased, OutboxState.CANCELLED),
                (waiting, OutboxState.CANCELLED),
                (sent, OutboxState.SENT),
            ):
                done = uow.outbox.get(e.id)
                assert (done.state, done.message, done.provider_id, done.last_error) == (state, None, None, None)
                assert done.lease_owner is None and done.lease_expires_at is None and done.updated_at == later
                assert not uow.outbox.add(entry(e.idempotency_key))  # the key stays taken
            assert uow.outbox.get(leased.id).reason == "erased"
            assert uow.outbox.lease("b", now=T0 + timedelta(days=1), limit=10, duration=timedelta(minutes=5)) == []
            pending, fired = uow.timers.get("pending"), uow.timers.get("fired")
            assert pending is not None and (pending.state, pending.trigger, pending.reason) == (
                TimerState.CANCELLED,
                {},
                "erased",
            )
            assert fired is not None and (fired.state, fired.trigger) == (TimerState.FIRED, {})
            assert uow.timers.due(T0 + timedelta(days=30)) == []

    # -- bad input --------------------------------------------------------------------------------------------

    def test_bad_arguments_are_validation_errors_with_a_path(self, store: Store) -> None:
        """Bad arguments to the outbox and the timers raise ValidationError with a path (or NotFoundError), never a
        driver error.
        """
        calls: dict[str, Callable[[OutboxUnitOfWork, Any], object]] = {
            "lease": lambda uow, bad: uow.outbox.lease("a", now=bad, limit=1, duration=timedelta(seconds=1)),
            "settle": lambda uow, bad: uow.outbox.settle("msg_1", "a", state=bad, now=T0),
            "cancel": lambda uow, bad: uow.outbox.cancel(customer_id="cus_1", topics=[bad], now=T0, reason="r"),
            "count_recent": lambda uow, bad: uow.outbox.count_recent("cus_1", since=bad, topics=[]),
            "with_state": lambda uow, bad: uow.outbox.with_state(bad),
            "requeue": lambda uow, bad: uow.outbox.requeue("msg_1", now=bad),
            "erase": lambda uow, bad: uow.outbox.erase("cus_1", now=bad),
            "due": lambda uow, bad: uow.timers.due(bad),
            "finish": lambda uow, bad: uow.timers.finish("t", bad),
            "add": lambda uow, bad: uow.outbox.add(bad),
            "schedule": lambda uow, bad: uow.timers.schedule(bad),
            "forget": lambda uow, bad: uow.outbox.forget("msg_1", now=bad, reason="r"),
            "for_orders": lambda uow, bad: uow.outbox.for_orders(bad),
            "timer_for_orders": lambda uow, bad: uow.timers.for_orders(bad),
            "timer_forget": lambda uow, bad: uow.timers.forget("t", reason=bad),
        }

        @settings(max_examples=30, deadline=None)
        @given(
            call=st.sampled_from(sorted(calls)),
            bad=st.one_of(st.none(), st.integers(), st.just(""), st.just("nope"), st.just(datetime(2024, 1, 1))),
        )
        def check(call: str, bad: Any) -> None:
            with self.uow(store) as uow:
                with pytest.raises((ValidationError, NotFoundError)) as info:
                    calls[call](uow, bad)
                if isinstance(info.value, ValidationError):
                    assert all(p.path for p in info.value.problems)

        check()

    # -- helpers ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _run(work: Callable[[Store], None], stores: list[Store], main: Store) -> None:
        """Run ``work`` on every handle in its own thread; close the extra handles afterwards."""
        errors: list[BaseException] = []

        def guarded(handle: Store) -> None:
            try:
                work(handle)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=guarded, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for handle in {id(s): s for s in stores if s is not main}.values():
            handle.close()
        if errors:
            raise errors[0]


def add_customer(store: Store, customer_id: str = "cus_1") -> Customer:
    """Add a minimal customer (communication events need one); returns it."""
    customer = Customer(id=customer_id, created_at=T0 - timedelta(days=30))
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    return customer
