"""Messages live and die with the change that caused them, replays stay silent, and concurrent sweeps fire each
timer once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import (
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)
from custdata.lifecycle import CarrierUpdate, Deliver, OrderEvent, Pay, Place, Ship, apply
from custdata.notify import RecordingNotifier
from custdata.outbox import OutboxState
from custdata.outbox.dispatcher import Dispatcher
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore
from custdata.workflows import Shop, Workflows

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")


class Boom(Exception):
    pass


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


def add_customer(store: Store, customer_id: str = "cus_1") -> None:
    consent = ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, T0 - timedelta(days=9))
    customer = Customer(
        id=customer_id,
        created_at=T0 - timedelta(days=365),
        email=EmailAddress.parse(f"{customer_id}@example.com"),
        timezone="UTC",
        consents=(consent,),
    )
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()


def new_order(order_id: str = "ord_1", customer_id: str = "cus_1", placed_at: datetime = T0) -> Order:
    line = OrderLine("l1", "TRAIL-42", "Trail shoe", 1, Money("89.90", "EUR"))
    return Order(id=order_id, customer_id=customer_id, currency="EUR", lines=(line,), placed_at=placed_at)


def outbox_counts(store: Store) -> tuple[int, int]:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        return uow.outbox.count(), len(uow.timers.pending("cus_1"))


def test_a_change_rolled_back_leaves_no_message_and_no_timer(store: Store) -> None:
    add_customer(store)
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    with pytest.raises(Boom), store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        order = new_order()
        events = apply(order, Place())
        uow.orders.add(order)
        steps = flows.handle(uow, events)
        assert {s.action for s in steps} == {"queued", "scheduled"}
        raise Boom  # the order is not saved, so neither are its messages
    assert outbox_counts(store) == (0, 0)
    with store.unit_of_work() as uow:
        assert uow.communications.count() == 0 and uow.orders.count() == 0
    flows.place(store, new_order())
    assert outbox_counts(store) == (1, 1)  # confirmation, and the re-engagement timer


def test_concurrent_sweeps_fire_each_timer_once(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path) as store:
        flows = Workflows(shop=SHOP, clock=lambda: T0)
        for i in range(12):
            add_customer(store, f"cus_{i}")
            flows.place(store, new_order(f"ord_{i}", f"cus_{i}"))
        stores = [SQLiteStore(path) for _ in range(3)]
        results: list[list[Any]] = [[] for _ in stores]
        later = T0 + timedelta(days=91)
        threads = [
            threading.Thread(target=lambda s=s, r=r: r.extend(flows.run_due(s, now=later, limit=4)))
            for s, r in zip(stores, results, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for s in stores:
            s.close()
        fired = [step.key for steps in results for step in steps]
        assert sorted(fired) == sorted(f"ord_{i}:placed:re_engagement" for i in range(12))
        notifier = RecordingNotifier()
        Dispatcher(store, notifier, clock=lambda: later).drain()
        assert len(notifier) == 24 and notifier.duplicates() == {}


def _history() -> list[OrderEvent]:
    order = new_order()
    parcel = Shipment("shp_1", "DHL", tracking_url="https://track.example/1")
    events: list[OrderEvent] = []
    for change in (
        Place(),
        Pay(T0),
        Ship(parcel, T0 + timedelta(hours=5)),
        CarrierUpdate("shp_1", TrackingEvent(TrackingStatus.DELAYED, T0 + timedelta(hours=9))),
        CarrierUpdate("shp_1", TrackingEvent(TrackingStatus.OUT_FOR_DELIVERY, T0 + timedelta(days=1))),
        Deliver(T0 + timedelta(days=1, hours=3)),
    ):
        events += apply(order, change)
    return events


HISTORY = _history()


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replays=st.lists(st.lists(st.sampled_from(range(len(HISTORY))), max_size=8), min_size=1, max_size=4))
def test_replaying_any_events_any_number_of_times_never_sends_a_message_twice(replays: list[list[int]]) -> None:
    with open_store("memory://") as store:
        add_customer(store)
        flows = Workflows(shop=SHOP, clock=lambda: T0 + timedelta(days=2))
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            flows.handle(uow, HISTORY)
            uow.commit()
            first = uow.outbox.count()
        for batch in replays:
            with store.unit_of_work() as uow:
                assert isinstance(uow, OutboxUnitOfWork)
                steps = flows.handle(uow, [HISTORY[i] for i in batch])
                uow.commit()
            assert {s.action for s in steps} <= {"duplicate", "cancelled", "skipped"}
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            assert uow.outbox.count() == first
        notifier = RecordingNotifier()
        Dispatcher(store, notifier, clock=lambda: T0 + timedelta(days=2)).drain()
        assert notifier.duplicates() == {}
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            assert uow.outbox.count(OutboxState.PENDING) == 0


def test_a_replayed_older_order_never_brings_re_engagement_forward(store: Store) -> None:
    add_customer(store)
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    first, second = new_order("ord_1"), new_order("ord_2", placed_at=T0 + timedelta(days=40))
    old_events = apply(first, Place())
    for order in (first, second):
        flows.place(store, order)

    def replay() -> list[tuple[str, str]]:
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            steps = flows.handle(uow, old_events)
            uow.commit()
        return [(s.rule, s.action) for s in steps if s.rule == "re_engagement"]

    assert replay() == [("re_engagement", "duplicate")]
    assert flows.run_due(store, now=T0 + timedelta(days=91)) == []
    (step,) = flows.run_due(store, now=T0 + timedelta(days=131))
    assert (step.action, step.key) == ("queued", "ord_2:placed:re_engagement")
    assert replay() == [("re_engagement", "duplicate")]  # after it fired, too
    assert flows.run_due(store, now=T0 + timedelta(days=400)) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_same_event_handled_at_once_by_several_writers_is_queued_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        where = f"{url}{'&' if '?' in url else '?'}schema=race_{uuid.uuid4().hex[:12]}&pool_max_size=2"
    else:
        where = f"sqlite:///{tmp_path / 'shop.db'}"
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    with open_store(where) as store:
        add_customer(store)
        flows.place(store, new_order())
        flows.change(store, "ord_1", Pay(T0))
        order = new_order()
        apply(order, Place())
        apply(order, Pay(T0))
        shipped = apply(order, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
        writers = [open_store(where) for _ in range(4)]
        barrier = threading.Barrier(len(writers))
        actions: list[str] = []
        lock = threading.Lock()

        def handle(handle_store: Store) -> None:
            barrier.wait()
            with handle_store.unit_of_work() as uow:
                assert isinstance(uow, OutboxUnitOfWork)
                steps = flows.handle(uow, shipped)
                uow.commit()
            with lock:
                actions.extend(s.action for s in steps if s.rule == "order_shipped")

        threads = [threading.Thread(target=handle, args=(w,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for w in writers:
            w.close()
        assert sorted(actions) == ["duplicate", "duplicate", "duplicate", "queued"]
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            assert uow.outbox.find("ord_1:shipped:shp_1:order_shipped") is not None
            assert uow.communications.count(customer_id="cus_1") == 2  # the confirmation and one shipping notice
