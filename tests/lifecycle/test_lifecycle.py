"""The order lifecycle: status changes, carrier events in any order, returns and refunds, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import (
    InvalidTransitionError,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
    Shipment,
    TrackingEvent,
    TrackingStatus,
    ValidationError,
)
from custdata.lifecycle import (
    CHAIN,
    AddShipment,
    Cancel,
    CarrierUpdate,
    Deliver,
    DeliveryDelayed,
    DeliveryFailed,
    DeliveryProblem,
    FlagAddressInvalid,
    OrderCancelled,
    OrderEvent,
    OrderPacked,
    OrderShipped,
    OutForDelivery,
    Pack,
    Pay,
    Place,
    Refund,
    RefundIssued,
    RequestReturn,
    ReturnRequested,
    ReturnUpdated,
    Ship,
    ShipmentDelivered,
    UpdateReturn,
    apply,
    event_from_dict,
    event_to_dict,
)

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
S = TrackingStatus


def make_order(quantity: int = 2, *, lines: int = 1) -> Order:
    return Order(
        id="ord_1",
        customer_id="cus_1",
        currency="EUR",
        lines=tuple(OrderLine(f"l{i}", f"SKU-{i}", "Trail shoe", quantity, Money("40", "EUR")) for i in range(lines)),
        placed_at=T0,
    )


def paid_order(**kwargs: Any) -> Order:
    order = make_order(**kwargs)
    apply(order, Place())
    apply(order, Pay(T0 + timedelta(minutes=5)))
    return order


def track(status: TrackingStatus, hours: float, shipment: str = "shp_1", **kwargs: Any) -> CarrierUpdate:
    return CarrierUpdate(shipment, TrackingEvent(status, T0 + timedelta(hours=hours), **kwargs))


def kinds(events: tuple[OrderEvent, ...]) -> list[str]:
    return [e.name for e in events]


def test_the_happy_path_emits_one_event_per_step() -> None:
    order = make_order()
    assert kinds(apply(order, Place())) == ["placed"]
    assert kinds(apply(order, Pay(T0))) == ["paid"]
    assert kinds(apply(order, Pack(T0 + timedelta(hours=1)))) == ["packed"]
    shipment = Shipment("shp_1", "DHL", tracking_number="00340", tracking_url="https://track.example/00340")
    (shipped,) = apply(order, Ship(shipment, T0 + timedelta(hours=2)))
    assert isinstance(shipped, OrderShipped)
    assert shipped.tracking_url == "https://track.example/00340"
    assert shipped.key == "ord_1:shipped:shp_1"
    assert kinds(apply(order, track(S.OUT_FOR_DELIVERY, 20))) == ["out_for_delivery"]
    (delivered,) = apply(order, track(S.DELIVERED, 22))
    assert isinstance(delivered, ShipmentDelivered) and delivered.order_delivered
    assert order.status == OrderStatus.DELIVERED
    assert [h.status for h in order.history] == list(CHAIN)
    assert order.updated_at == T0 + timedelta(hours=22)


def test_repeated_changes_emit_nothing_the_second_time() -> None:
    order = make_order()
    for change in (Place(), Pay(T0), Pack(T0)):
        assert apply(order, change)
        assert apply(order, change) == ()
    update = track(S.IN_TRANSIT, 3)
    apply(order, AddShipment(Shipment("shp_1", "UPS")))
    assert kinds(apply(order, update)) == ["shipped"]
    before = (order.history, order.shipments, order.updated_at)
    assert apply(order, update) == ()
    assert (order.history, order.shipments, order.updated_at) == before


def test_a_late_label_event_after_shipping_is_recorded_but_emits_no_packed() -> None:
    order = paid_order()
    apply(order, AddShipment(Shipment("shp_1", "UPS")))
    assert kinds(apply(order, track(S.IN_TRANSIT, 3))) == ["shipped"]
    assert apply(order, track(S.LABEL_PRINTED, 1)) == ()
    assert apply(order, Pack(T0 + timedelta(hours=4))) == ()  # stale manual step
    assert order.status == OrderStatus.SHIPPED
    assert len(order.shipments[0].events) == 2


def test_label_events_pack_a_paid_order() -> None:
    order = paid_order()
    apply(order, AddShipment(Shipment("shp_1", "UPS")))
    (packed,) = apply(order, track(S.LABEL_PURCHASED, 1))
    assert isinstance(packed, OrderPacked)
    assert order.status == OrderStatus.PACKED


def test_jumping_ahead_walks_the_table_and_emits_only_the_newest_step() -> None:
    order = paid_order()
    apply(order, AddShipment(Shipment("shp_1", "UPS")))
    (event,) = apply(order, track(S.READY_FOR_PICKUP, 30))
    assert isinstance(event, OutForDelivery) and event.pickup
    assert [h.status for h in order.history][-2:] == [OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY]


def test_delays_and_failures_are_proactive_but_never_stale() -> None:
    order = paid_order()
    apply(order, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
    estimate = T0 + timedelta(days=4)
    (delay,) = apply(order, track(S.DELAYED, 10, estimated_delivery_at=estimate))
    assert isinstance(delay, DeliveryDelayed) and delay.estimated_delivery_at == estimate
    (failed,) = apply(order, track(S.ATTEMPTED_DELIVERY, 50, message="nobody home"))
    assert isinstance(failed, DeliveryFailed) and failed.problem == DeliveryProblem.ATTEMPTED
    assert order.status == OrderStatus.OUT_FOR_DELIVERY
    # an older delay report arriving late is superseded by the attempt
    assert apply(order, track(S.DELAYED, 20)) == ()
    apply(order, track(S.DELIVERED, 70))
    # after delivery nothing about delays or failures is news
    assert apply(order, track(S.DELAYED, 80)) == ()
    assert apply(order, track(S.FAILURE, 90)) == ()
    assert apply(order, FlagAddressInvalid(T0 + timedelta(hours=95), "shp_1")) == ()


def test_an_invalid_address_is_flagged_once_per_parcel() -> None:
    order = paid_order()
    (event,) = apply(order, FlagAddressInvalid(T0 + timedelta(hours=1), detail="street number missing"))
    assert event.key == "ord_1:delivery_failed:order:address_invalid"
    apply(order, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
    (flag,) = apply(order, FlagAddressInvalid(T0 + timedelta(hours=5), "shp_1"))
    assert isinstance(flag, DeliveryFailed) and flag.shipment_id == "shp_1"
    assert apply(order, FlagAddressInvalid(T0 + timedelta(hours=5), "shp_1")) == ()


def test_partial_shipments_deliver_the_order_when_the_last_parcel_arrives() -> None:
    order = paid_order(quantity=2, lines=2)
    apply(order, Ship(Shipment("shp_1", "DHL", lines={"l0": 2}), T0 + timedelta(hours=1)))
    assert order.status == OrderStatus.SHIPPED
    (first,) = apply(order, Deliver(T0 + timedelta(days=1), "shp_1"))
    assert isinstance(first, ShipmentDelivered) and not first.order_delivered
    assert order.status == OrderStatus.SHIPPED  # line l1 has not even left
    (second,) = apply(order, Ship(Shipment("shp_2", "DHL", lines={"l1": 2}), T0 + timedelta(days=1, hours=2)))
    assert isinstance(second, OrderShipped) and second.shipment_id == "shp_2"
    (last,) = apply(order, Deliver(T0 + timedelta(days=2)))
    assert isinstance(last, ShipmentDelivered) and last.order_delivered and last.shipment_id == "shp_2"
    status: OrderStatus = order.status  # read afresh: apply() changed it since the assertions above
    assert status == OrderStatus.DELIVERED


def test_cancel_before_shipping_only() -> None:
    order = paid_order()
    (cancelled,) = apply(order, Cancel(T0 + timedelta(hours=1), reason="changed mind"))
    assert isinstance(cancelled, OrderCancelled) and cancelled.reason == "changed mind"
    assert apply(order, Cancel(T0 + timedelta(hours=2))) == ()
    with pytest.raises(InvalidTransitionError):
        apply(order, Pay(T0 + timedelta(hours=3)))
    with pytest.raises(ValidationError, match="status"):
        apply(order, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=3)))
    shipped = paid_order()
    apply(shipped, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
    with pytest.raises(InvalidTransitionError, match="cannot go from shipped to cancelled"):
        apply(shipped, Cancel(T0 + timedelta(hours=3)))


def test_an_unpaid_order_cannot_ship_or_pack() -> None:
    order = make_order()
    with pytest.raises(InvalidTransitionError):
        apply(order, Pack(T0))
    with pytest.raises(ValidationError, match="only a paid order"):
        apply(order, AddShipment(Shipment("shp_1", "DHL")))
    assert order.status == OrderStatus.PLACED and order.shipments == ()


def test_returns_and_refunds() -> None:
    order = paid_order()
    apply(order, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
    ret = Return("ret_1", T0 + timedelta(days=3), (ReturnLine("l0", 1, ReturnReason.WRONG_SIZE),))
    (requested,) = apply(order, RequestReturn(ret))
    assert isinstance(requested, ReturnRequested) and requested.item_count == 1
    assert apply(order, RequestReturn(ret)) == ()
    (received,) = apply(order, UpdateReturn("ret_1", ReturnStatus.RECEIVED, T0 + timedelta(days=5)))
    assert isinstance(received, ReturnUpdated) and received.key == "ord_1:return:ret_1:received"
    assert apply(order, UpdateReturn("ret_1", ReturnStatus.OPEN, T0 + timedelta(days=6))) == ()  # stale
    with pytest.raises(InvalidTransitionError):
        apply(order, UpdateReturn("ret_1", ReturnStatus.DECLINED, T0 + timedelta(days=6)))
    (refund,) = apply(order, Refund("ret_1", Money("40", "EUR"), T0 + timedelta(days=6)))
    assert isinstance(refund, RefundIssued) and order.returns[0].refund == Money("40", "EUR")
    assert apply(order, Refund("ret_1", Money("40", "EUR"), T0 + timedelta(days=7))) == ()
    with pytest.raises(ValidationError, match="amount"):
        apply(order, Refund("ret_1", Money("10", "EUR"), T0 + timedelta(days=7)))


def test_a_change_that_would_not_validate_leaves_the_order_untouched() -> None:
    order = paid_order(quantity=1)
    apply(order, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
    before = (order.status, order.returns, order.history, order.updated_at)
    too_many = Return("ret_1", T0 + timedelta(days=3), (ReturnLine("l0", 5, ReturnReason.DAMAGED),))
    with pytest.raises(ValidationError, match="returns"):
        apply(order, RequestReturn(too_many))
    with pytest.raises(ValidationError, match="shipment"):
        apply(order, Ship(Shipment("shp_2", "DHL", lines={"nope": 1}), T0 + timedelta(hours=3)))
    with pytest.raises(ValidationError, match="return_id"):
        apply(order, Refund("ret_1", Money("1", "EUR"), T0))
    ok = Return("ret_1", T0 + timedelta(days=3), (ReturnLine("l0", 1, ReturnReason.DAMAGED),))
    apply(order, RequestReturn(ok))
    before = (order.status, order.returns, order.history, order.updated_at)
    with pytest.raises(ValidationError, match="amount"):
        apply(order, Refund("ret_1", Money("99", "EUR"), T0 + timedelta(days=4)))
    with pytest.raises(ValidationError, match=r"amount\.currency"):
        apply(order, Refund("ret_1", Money("1", "USD"), T0 + timedelta(days=4)))
    assert (order.status, order.returns, order.history, order.updated_at) == before
    assert len(order.shipments) == 1


def test_events_round_trip_through_dicts() -> None:
    order = paid_order()
    events = [*apply(order, Ship(Shipment("shp_1", "DHL", tracking_url="https://t.example/1"), T0))]
    events += apply(order, track(S.DELAYED, 5, estimated_delivery_at=T0 + timedelta(days=3)))
    events += apply(paid_order(), Cancel(T0))
    for event in events:
        assert event_from_dict(event_to_dict(event)) == event
    with pytest.raises(ValidationError, match="event"):
        event_from_dict({"event": "exploded"})
    with pytest.raises(ValidationError):
        event_from_dict({**event_to_dict(events[0]), "occurred_at": "yesterday"})


# -- carrier events in any order ------------------------------------------------------------------------------

CARRIER_STATUSES = [s for s in TrackingStatus]


@st.composite
def carrier_histories(draw: st.DrawFn) -> tuple[list[CarrierUpdate], list[CarrierUpdate]]:
    """A set of carrier events for one parcel (distinct times) and a permutation of it."""
    statuses = draw(st.lists(st.sampled_from(CARRIER_STATUSES), min_size=1, max_size=8))
    hours = draw(st.lists(st.integers(0, 200), min_size=len(statuses), max_size=len(statuses), unique=True))
    updates = [track(s, h, estimated_delivery_at=T0 + timedelta(days=9)) for s, h in zip(statuses, hours, strict=True)]
    return updates, draw(st.permutations(updates))


def _forward_only(events: list[OrderEvent]) -> None:
    rank = {OrderPacked: 2, OrderShipped: 3, OutForDelivery: 4, ShipmentDelivered: 5}
    highest = 1
    delivered = False
    for event in events:
        if type(event) in rank:
            assert rank[type(event)] > highest, f"{event.name} after a later stage"
            highest = rank[type(event)]
            delivered = delivered or isinstance(event, ShipmentDelivered)
        elif isinstance(event, DeliveryDelayed | DeliveryFailed):
            assert not delivered, "a delivery problem after the delivery"


@settings(max_examples=150)
@given(carrier_histories(), st.booleans())
def test_any_order_of_carrier_events_ends_in_the_same_status_and_never_goes_back(
    histories: tuple[list[CarrierUpdate], list[CarrierUpdate]], label_first: bool
) -> None:
    updates, shuffled = histories
    finals = []
    for sequence in (updates, shuffled, sorted(updates, key=lambda u: u.event.happened_at)):
        order = paid_order()
        apply(order, AddShipment(Shipment("shp_1", "DHL")))
        emitted: list[OrderEvent] = []
        statuses = [order.status]
        for update in sequence:
            emitted += apply(order, update)
            assert CHAIN.index(order.status) >= CHAIN.index(statuses[-1])
            statuses.append(order.status)
        _forward_only(emitted)
        finals.append(order.status)
        assert {e.status for e in order.shipments[0].events} == {u.event.status for u in updates}
    assert finals[0] == finals[1] == finals[2]


# -- bad input ------------------------------------------------------------------------------------------------

not_a_timestamp = st.one_of(
    st.none(), st.integers(), st.text(max_size=5), st.datetimes(timezones=st.none()), st.just(Decimal(1))
)
not_an_id = st.one_of(st.none(), st.integers(), st.just(""), st.just(" x"), st.text(min_size=129, max_size=140))


@given(not_a_timestamp)
def test_changes_name_a_bad_timestamp(value: Any) -> None:
    for build in (Pay, Pack, lambda v: Cancel(v), lambda v: Deliver(v)):
        with pytest.raises(ValidationError) as info:
            build(value)
        assert [p.path for p in info.value.problems] == ["at"]


@given(not_an_id)
def test_changes_name_a_bad_id(value: Any) -> None:
    event = TrackingEvent(S.IN_TRANSIT, T0)
    with pytest.raises(ValidationError) as info:
        CarrierUpdate(value, event)
    assert [p.path for p in info.value.problems] == ["shipment_id"]
    with pytest.raises(ValidationError) as info:
        UpdateReturn(value, ReturnStatus.OPEN, T0)
    assert [p.path for p in info.value.problems] == ["return_id"]


@given(
    st.one_of(st.none(), st.integers(), st.text(max_size=3), st.just(Money("-1", "EUR")), st.just(Money("0", "EUR")))
)
def test_refund_needs_a_positive_amount(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Refund("ret_1", value, T0)
    assert [p.path for p in info.value.problems] == ["amount"]


def test_apply_refuses_what_is_not_an_order_or_a_change() -> None:
    with pytest.raises(ValidationError, match="order: must be an Order"):
        apply("ord_1", Pay(T0))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="change: must be one of"):
        apply(make_order(), "pay")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="shipment_id: names no shipment"):
        apply(paid_order(), track(S.IN_TRANSIT, 1, shipment="shp_9"))
    with pytest.raises(ValidationError, match="return_id: names no return"):
        apply(paid_order(), UpdateReturn("ret_9", ReturnStatus.OPEN, T0))
