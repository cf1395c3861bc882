"""The default rules beyond the happy path: packed, failed deliveries, returns, refunds and cancellations, and
obsolete news (a "packed" never goes out after "shipped")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custdata import (
    CommunicationStatus,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
    Shipment,
    Topic,
    TrackingEvent,
    TrackingStatus,
)
from custdata.lifecycle import (
    Cancel,
    CarrierUpdate,
    Deliver,
    FlagAddressInvalid,
    Pack,
    Pay,
    Refund,
    RequestReturn,
    Ship,
    UpdateReturn,
)
from custdata.notify import RecordingNotifier
from custdata.outbox.dispatcher import Dispatcher
from custdata.storage import Store, open_store, walk
from custdata.storage.sqlite import SQLiteStore
from custdata.workflows import Shop, Workflows

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    with opened.unit_of_work() as uow:
        uow.customers.add(
            Customer(
                id="cus_1",
                created_at=T0 - timedelta(days=365),
                given_name="Jane",
                email=EmailAddress.parse("jane@example.com"),
                timezone="UTC",
            )
        )
        uow.commit()
    try:
        yield opened
    finally:
        opened.close()


def new_order(order_id: str = "ord_1") -> Order:
    lines = (OrderLine("l1", "TRAIL-42", "Trail shoe", 2, Money("89.90", "EUR")),)
    return Order(id=order_id, customer_id="cus_1", currency="EUR", lines=lines, placed_at=T0)


def statuses(store: Store) -> list[tuple[str, str, str | None]]:
    with store.unit_of_work() as uow:
        found = walk(lambda cursor: uow.communications.for_customer("cus_1", cursor=cursor))
        return [(e.topic.value, e.status.value, e.suppression_reason) for e in found]


def test_packed_failed_deliveries_returns_and_refunds_each_reach_the_customer(store: Store) -> None:
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    notifier = RecordingNotifier()
    dispatcher = Dispatcher(store, notifier, clock=clock)

    def step(change: object, hours: float) -> None:
        clock.now = T0 + timedelta(hours=hours)
        flows.change(store, "ord_1", change)  # type: ignore[arg-type]
        dispatcher.drain()

    flows.place(store, new_order())
    step(Pay(T0), 0)
    step(Pack(T0 + timedelta(hours=3)), 3)
    step(Ship(Shipment("shp_1", "DHL", tracking_url="https://track.example/1"), T0 + timedelta(hours=5)), 5)
    step(CarrierUpdate("shp_1", TrackingEvent(TrackingStatus.ATTEMPTED_DELIVERY, T0 + timedelta(hours=30))), 30)
    step(FlagAddressInvalid(T0 + timedelta(hours=31), shipment_id="shp_1", detail="no such house number"), 31)
    step(Deliver(T0 + timedelta(hours=60)), 60)
    ret = Return("ret_1", T0 + timedelta(days=4), (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE),))
    step(RequestReturn(ret), 96)
    step(UpdateReturn("ret_1", ReturnStatus.RECEIVED, T0 + timedelta(days=6)), 144)
    step(Refund("ret_1", Money("89.90", "EUR"), T0 + timedelta(days=6, hours=1)), 145)
    assert [m.topic for m in notifier.messages] == [
        Topic.ORDER_CONFIRMATION,
        Topic.ORDER_PACKED,
        Topic.ORDER_SHIPPED,
        Topic.DELIVERY_FAILED,
        Topic.DELIVERY_FAILED,
        Topic.DELIVERED,
        Topic.RETURN_UPDATE,
        Topic.RETURN_UPDATE,
        Topic.REFUND_ISSUED,
    ]
    assert notifier.duplicates() == {}
    assert all(status == "sent" for _, status, _ in statuses(store))
    refund = notifier.messages[-1]
    assert refund.order_id == "ord_1" and refund.recipient == "jane@example.com"


def test_a_packed_notice_not_yet_sent_is_dropped_once_the_parcel_ships(store: Store) -> None:
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    flows.place(store, new_order())
    flows.change(store, "ord_1", Pay(T0))
    flows.change(store, "ord_1", Pack(T0 + timedelta(hours=1)))  # the dispatcher is behind: nothing sent yet
    flows.change(store, "ord_1", Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=lambda: T0 + timedelta(hours=3)).drain()
    assert [m.topic for m in notifier.messages] == [Topic.ORDER_CONFIRMATION, Topic.ORDER_SHIPPED]
    assert ("order_packed", "suppressed", "made obsolete by shipped (order_shipped)") in statuses(store)


def test_cancelling_an_order_drops_its_pending_news_and_tells_the_customer(store: Store) -> None:
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    flows.place(store, new_order())
    flows.change(store, "ord_1", Pay(T0))
    flows.change(store, "ord_1", Pack(T0 + timedelta(hours=1)))
    _, steps = flows.change(store, "ord_1", Cancel(T0 + timedelta(hours=2), reason="out of stock"))
    cancelled = sorted(s.key for s in steps if s.action == "cancelled")
    assert cancelled == ["ord_1:packed:order_packed", "ord_1:placed:order_confirmation"]
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=lambda: T0 + timedelta(hours=3)).drain()
    assert [m.topic for m in notifier.messages] == [Topic.ORDER_CANCELLED]
    with store.unit_of_work() as uow:
        events = list(walk(lambda cursor: uow.communications.for_customer("cus_1", cursor=cursor)))
    suppressed = {e.topic for e in events if e.status == CommunicationStatus.SUPPRESSED}
    assert suppressed == {Topic.ORDER_CONFIRMATION, Topic.ORDER_PACKED}
