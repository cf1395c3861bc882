"""Carrier events in any order, with the dispatcher catching up at any moment: what reaches the customer never goes
back a step (no "packed" after "shipped", no delay or failure notice after "delivered") and nothing arrives twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Customer, EmailAddress, Money, Order, OrderLine, Shipment, Topic, TrackingEvent, TrackingStatus
from custdata.lifecycle import AddShipment, CarrierUpdate, Pay
from custdata.notify import RecordingNotifier
from custdata.outbox.dispatcher import Dispatcher
from custdata.storage import open_store
from custdata.workflows import Shop, Workflows

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")
STAGE = {
    Topic.ORDER_CONFIRMATION: 0,
    Topic.ORDER_PACKED: 1,
    Topic.ORDER_SHIPPED: 2,
    Topic.OUT_FOR_DELIVERY: 3,
    Topic.DELIVERED: 4,
}
BEFORE_DELIVERY = {Topic.DELIVERY_DELAYED, Topic.DELIVERY_FAILED, Topic.OUT_FOR_DELIVERY}


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[CarrierUpdate, bool]]:
    """Carrier events for one parcel (distinct times) in any order, each with whether the dispatcher runs after it."""
    statuses = draw(st.lists(st.sampled_from(list(TrackingStatus)), min_size=1, max_size=7))
    hours = draw(st.lists(st.integers(1, 200), min_size=len(statuses), max_size=len(statuses), unique=True))
    updates = [
        CarrierUpdate("shp_1", TrackingEvent(s, T0 + timedelta(hours=h), estimated_delivery_at=T0 + timedelta(days=9)))
        for s, h in zip(statuses, hours, strict=True)
    ]
    return [(u, draw(st.booleans())) for u in draw(st.permutations(updates))]


@settings(max_examples=25, deadline=None)
@given(history=histories(), replay=st.booleans())
def test_what_reaches_the_customer_never_goes_back_a_step(
    history: list[tuple[CarrierUpdate, bool]], replay: bool
) -> None:
    with open_store("memory://") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(
                Customer(id="cus_1", created_at=T0 - timedelta(days=9), email=EmailAddress.parse("jane@example.com"))
            )
            uow.commit()
        later = T0 + timedelta(days=30)
        flows = Workflows(shop=SHOP, clock=lambda: later)
        notifier = RecordingNotifier()
        dispatcher = Dispatcher(store, notifier, clock=lambda: later)
        line = OrderLine("l1", "TRAIL-42", "Trail shoe", 1, Money("89.90", "EUR"))
        flows.place(store, Order(id="ord_1", customer_id="cus_1", currency="EUR", lines=(line,), placed_at=T0))
        flows.change(store, "ord_1", Pay(T0))
        flows.change(store, "ord_1", AddShipment(Shipment("shp_1", "DHL")))
        for update, drain in history + (history if replay else []):
            flows.change(store, "ord_1", update)
            if drain:
                dispatcher.drain()
        dispatcher.drain()
        sent = [m.topic for m in notifier.messages]
        assert notifier.duplicates() == {}
        stages = [STAGE[t] for t in sent if t in STAGE]
        assert stages == sorted(stages), sent
        if Topic.DELIVERED in sent:
            assert not BEFORE_DELIVERY & set(sent[sent.index(Topic.DELIVERED) :]), sent
