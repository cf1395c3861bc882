"""The order owns its lifecycle: ``apply`` and the order's command methods behave exactly as the reference rules
for any sequence of changes, and ``Order.transition()`` cannot disagree with them."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_apply import reference_apply

from custdata import (
    ORDER_TRANSITIONS,
    CustdataError,
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
)
from custdata.lifecycle import (
    CHAIN,
    AddShipment,
    Cancel,
    CarrierUpdate,
    Change,
    Deliver,
    FlagAddressInvalid,
    OrderCancelled,
    OrderEvent,
    OrderPacked,
    OrderPaid,
    Pack,
    Pay,
    Place,
    Refund,
    RequestReturn,
    Ship,
    UpdateReturn,
    apply,
)

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
SHIPMENT_IDS = ("shp_1", "shp_2")
RETURN_IDS = ("ret_1", "ret_2")


@st.composite
def orders(draw: st.DrawFn) -> Order:
    quantities = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    return Order(
        id="ord_1",
        customer_id="cus_1",
        currency="EUR",
        lines=tuple(OrderLine(f"l{i}", f"SKU-{i}", "Shoe", q, Money("40", "EUR")) for i, q in enumerate(quantities)),
        placed_at=T0,
    )


moments = st.integers(0, 300).map(lambda hours: T0 + timedelta(hours=hours))
texts = st.none() | st.sampled_from(("street number missing", "nobody home"))

PROBLEMS = (TrackingStatus.DELAYED, TrackingStatus.ATTEMPTED_DELIVERY, TrackingStatus.FAILURE)
tracking_events = st.builds(
    TrackingEvent,
    status=st.sampled_from(TrackingStatus) | st.sampled_from(PROBLEMS),
    happened_at=moments,
    estimated_delivery_at=st.none() | moments,
    message=texts,
)


def change_strategy(order: Order) -> st.SearchStrategy[Change]:
    """Changes for ``order``: mostly about its own lines, parcels and returns, some naming what it lacks."""
    ids = [line.id for line in order.lines]
    line_ids = st.sampled_from([*ids, *ids, *ids, "l9"])
    shipment_ids = st.sampled_from(SHIPMENT_IDS[:1] * 3 + SHIPMENT_IDS)  # mostly the parcel that exists
    return_ids = st.sampled_from(RETURN_IDS[:1] * 3 + RETURN_IDS)
    shipments = st.builds(
        Shipment,
        id=shipment_ids,
        carrier=st.sampled_from(("DHL", "UPS")),
        lines=st.just({}) | st.dictionaries(line_ids, st.integers(1, 2), max_size=2),
        tracking_url=st.none() | st.just("https://track.example/1"),
        shipped_at=st.none() | moments,
        events=st.lists(tracking_events, max_size=2).map(tuple),
    )
    returns = st.builds(
        Return,
        id=return_ids,
        requested_at=moments,
        lines=st.lists(
            st.builds(ReturnLine, line_id=line_ids, quantity=st.integers(1, 2), reason=st.sampled_from(ReturnReason)),
            min_size=1,
            max_size=2,
        ).map(tuple),
        status=st.just(ReturnStatus.REQUESTED) | st.sampled_from(ReturnStatus),
        refund=st.none() | st.just(Money("10", "EUR")),
    )
    amounts = st.sampled_from(("10", "40", "80", "200")).map(lambda a: Money(a, "EUR"))
    kinds: list[st.SearchStrategy[Change]] = [
        st.just(Place()),
        st.builds(Pay, moments),
        st.builds(Pack, moments),
        st.builds(Cancel, moments, texts),
        st.builds(AddShipment, shipments),
        st.builds(Ship, shipments, moments),
        st.builds(CarrierUpdate, shipment_ids, tracking_events),
        st.builds(Deliver, moments, st.none() | shipment_ids),
        st.builds(FlagAddressInvalid, moments, st.none() | shipment_ids, texts),
        st.builds(RequestReturn, returns),
        st.builds(UpdateReturn, return_ids, st.sampled_from(ReturnStatus), moments),
        st.builds(Refund, return_ids, amounts, moments),
    ]
    weights = (1, 1, 1, 1, 2, 2, 6, 1, 1, 2, 2, 1)  # carrier reports are what arrives most, in any order
    return st.sampled_from([i for i, weight in enumerate(weights) for _ in range(weight)]).flatmap(lambda i: kinds[i])


@st.composite
def histories(draw: st.DrawFn) -> tuple[Order, list[Change]]:
    """An order and changes for it; most sequences start as a shop's would (placed, paid, shipped, a return)."""
    order = draw(orders())
    start: list[Change] = []
    if draw(st.integers(0, 3)):
        start = [Place(), Pay(draw(moments))]
        if draw(st.booleans()):
            start.append(Ship(Shipment("shp_1", "DHL"), draw(moments)))
            if draw(st.booleans()):
                line = ReturnLine(order.lines[0].id, 1, ReturnReason.WRONG_SIZE)
                start.append(RequestReturn(Return("ret_1", draw(moments), (line,))))
    return order, [*start, *draw(st.lists(change_strategy(order), min_size=1, max_size=20))]


def outcome(run: Callable[[], tuple[OrderEvent, ...]]) -> tuple[str, Any]:
    try:
        return "events", run()
    except Exception as error:  # noqa: BLE001 - whatever the reference raises, the new path must raise too
        return type(error).__name__, str(error)


#: The order method each change names, spelled out here independently of ``apply``.
def call_method(order: Order, change: Change) -> tuple[OrderEvent, ...]:
    match change:
        case Place():
            return order.place()
        case Pay(at):
            return order.pay(at)
        case Pack(at):
            return order.pack(at)
        case Cancel(at, reason):
            return order.cancel(at, reason=reason)
        case AddShipment(shipment):
            return order.add_shipment(shipment)
        case Ship(shipment, at):
            return order.ship(shipment, at)
        case CarrierUpdate(shipment_id, event):
            return order.carrier_update(shipment_id, event)
        case Deliver(at, shipment_id):
            return order.deliver(at, shipment_id=shipment_id)
        case FlagAddressInvalid(at, shipment_id, detail):
            return order.flag_address_invalid(at, shipment_id=shipment_id, detail=detail)
        case RequestReturn(ret):
            return order.request_return(ret)
        case UpdateReturn(return_id, status, at):
            return order.update_return(return_id, status, at)
        case Refund(return_id, amount, at):
            return order.refund(return_id, amount, at)
    raise AssertionError(change)


@settings(max_examples=200)
@given(histories())
def test_apply_and_the_order_methods_give_the_reference_order_and_events(history: tuple[Order, list[Change]]) -> None:
    start, sequence = history
    reference, dispatched, direct = copy.deepcopy(start), copy.deepcopy(start), copy.deepcopy(start)
    for change in sequence:
        expected = outcome(lambda: reference_apply(reference, change))  # noqa: B023 - called at once
        assert outcome(lambda: apply(dispatched, change)) == expected, change  # noqa: B023
        assert outcome(lambda: call_method(direct, change)) == expected, change  # noqa: B023
        assert dispatched == reference and direct == reference, change


def test_the_equivalence_sees_real_progress() -> None:
    # the strategy reaches deliveries, returns and refunds, so the comparison above covers their rules
    order = Order("ord_1", "cus_1", "EUR", (OrderLine("l0", "S", "Shoe", 1, Money("40", "EUR")),), T0)
    ret = Return("ret_1", T0 + timedelta(days=3), (ReturnLine("l0", 1, ReturnReason.DAMAGED),))
    sequence: list[Change] = [
        Place(),
        Pay(T0),
        Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)),
        CarrierUpdate("shp_1", TrackingEvent(TrackingStatus.DELAYED, T0 + timedelta(hours=5))),
        Deliver(T0 + timedelta(days=1)),
        RequestReturn(ret),
        UpdateReturn("ret_1", ReturnStatus.RECEIVED, T0 + timedelta(days=4)),
        Refund("ret_1", Money("40", "EUR"), T0 + timedelta(days=4)),
    ]
    reference = copy.deepcopy(order)
    for change in sequence:
        assert apply(order, change) == reference_apply(reference, change)
    assert order == reference and order.status == OrderStatus.DELIVERED and order.returns[0].refund


# -- Order.transition() and apply agree ------------------------------------------------------------------------

COMMANDS: dict[OrderStatus, tuple[Callable[[datetime], Change], type[OrderEvent]]] = {
    OrderStatus.PAID: (Pay, OrderPaid),
    OrderStatus.PACKED: (Pack, OrderPacked),
    OrderStatus.CANCELLED: (Cancel, OrderCancelled),
}


def reach(start: Order, sequence: list[Change]) -> Order:
    order = copy.deepcopy(start)
    for change in sequence:
        try:
            apply(order, change)
        except CustdataError:  # a refused change leaves the order as it was
            continue
    return order


def transition(order: Order, target: OrderStatus, at: datetime) -> str | None:
    """``order.transition(target, at)``; the error message when it refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            order.transition(target, at)
        except InvalidTransitionError as error:
            return str(error)
    return None


@settings(max_examples=100)
@given(histories(), st.sampled_from(OrderStatus), moments)
def test_transition_and_apply_cannot_disagree(
    history: tuple[Order, list[Change]], target: OrderStatus, at: datetime
) -> None:
    order = reach(*history)
    moved = copy.deepcopy(order)
    refused = transition(moved, target, at)
    # transition() follows the one table, strictly: a repeated or stale move is refused too
    assert (refused is None) == (target in ORDER_TRANSITIONS[order.status])
    if refused is not None:
        assert moved == order
    if target not in COMMANDS:
        return
    build, event_type = COMMANDS[target]
    applied = copy.deepcopy(order)
    result = outcome(lambda: apply(applied, build(at)))
    if refused is None:
        # the same move: the same status, history entry and time, and apply raises the event on top
        assert result[0] == "events" and [type(e) for e in result[1]] == [event_type]
        assert (applied.status, applied.history, applied.updated_at) == (moved.status, moved.history, moved.updated_at)
        assert applied == moved
    elif result[0] == "events":
        # apply treats a repeated or backward move as stale: nothing changes, nothing is raised
        assert result[1] == () and applied == order
        assert order.status == target or CHAIN.index(target) < CHAIN.index(order.status)
    else:
        # a move the table forbids outright is refused by both, with the same message
        assert result == ("InvalidTransitionError", refused) and applied == order


def test_transition_is_deprecated_and_names_the_command_methods() -> None:
    order = Order("ord_1", "cus_1", "EUR", (OrderLine("l0", "S", "Shoe", 1, Money("40", "EUR")),), T0)
    with pytest.warns(DeprecationWarning, match=r"Order\.pay\(\).*custdata\.lifecycle\.apply\(\)") as caught:
        order.transition(OrderStatus.PAID, T0 + timedelta(hours=1))
    assert caught[0].filename == __file__  # the warning points at the caller
    assert order.status == OrderStatus.PAID and order.history[-1].status == OrderStatus.PAID
    with pytest.warns(DeprecationWarning), pytest.raises(InvalidTransitionError, match="from paid to placed"):
        order.transition(OrderStatus.PLACED, T0)
