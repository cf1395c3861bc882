"""The Order aggregate: its command methods change it (all or nothing) and return the domain events it raised;
bad arguments are refused with the field named; the domain knows nothing of the layers above it."""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import custdata.domain
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
from custdata.domain import order_events
from custdata.domain.order import check_command_arguments

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def new_order() -> Order:
    return Order("ord_1", "cus_1", "EUR", (OrderLine("l1", "SHOE-42", "Trail shoe", 2, Money("40", "EUR")),), T0)


def shipped_order() -> Order:
    order = new_order()
    order.place()
    order.pay(T0)
    order.ship(Shipment("shp_1", "DHL", tracking_url="https://track.example/1"), T0 + timedelta(hours=2))
    order.request_return(Return("ret_1", T0 + timedelta(days=3), (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE),)))
    return order


def names(events: tuple[order_events.OrderEvent, ...]) -> list[str]:
    return [event.name for event in events]


def test_the_order_changes_itself_and_returns_the_events_it_raised() -> None:
    order = new_order()
    (placed,) = order.place()
    assert isinstance(placed, order_events.OrderPlaced) and placed.total == Money("80", "EUR")
    assert order.place() == ()  # once
    assert names(order.pay(T0 + timedelta(minutes=5))) == ["paid"]
    assert names(order.pack(T0 + timedelta(hours=1))) == ["packed"]
    (shipped,) = order.ship(Shipment("shp_1", "DHL", tracking_number="00340"), T0 + timedelta(hours=2))
    assert isinstance(shipped, order_events.OrderShipped) and shipped.key == "ord_1:shipped:shp_1"
    assert order.pack(T0 + timedelta(hours=3)) == ()  # stale once shipped
    late_label = TrackingEvent(TrackingStatus.LABEL_PRINTED, T0 + timedelta(hours=1))
    assert order.carrier_update("shp_1", late_label) == ()  # kept on the parcel, not news
    assert late_label in order.shipments[0].events
    delay = TrackingEvent(
        TrackingStatus.DELAYED, T0 + timedelta(hours=10), estimated_delivery_at=T0 + timedelta(days=3)
    )
    assert names(order.carrier_update("shp_1", delay)) == ["delayed"]
    (delivered,) = order.deliver(T0 + timedelta(days=1))
    assert isinstance(delivered, order_events.ShipmentDelivered) and delivered.order_delivered
    assert order.flag_address_invalid(T0 + timedelta(days=1, hours=1), "shp_1") == ()  # it arrived
    ret = Return("ret_1", T0 + timedelta(days=3), (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE),))
    assert names(order.request_return(ret)) == ["return_requested"]
    assert names(order.update_return("ret_1", ReturnStatus.RECEIVED, T0 + timedelta(days=5))) == ["return_updated"]
    assert order.update_return("ret_1", ReturnStatus.OPEN, T0 + timedelta(days=6)) == ()  # stale
    assert names(order.refund("ret_1", Money("40", "EUR"), T0 + timedelta(days=5))) == ["refund_issued"]
    assert order.status == OrderStatus.DELIVERED
    assert [entry.status for entry in order.history] == [
        OrderStatus.PLACED,
        OrderStatus.PAID,
        OrderStatus.PACKED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    ]


def test_a_cancelled_order_refuses_what_the_table_forbids_and_stays_as_it_was() -> None:
    order = new_order()
    order.pay(T0)
    (cancelled,) = order.cancel(T0 + timedelta(hours=1), reason="changed mind")
    assert isinstance(cancelled, order_events.OrderCancelled) and cancelled.reason == "changed mind"
    before = copy.deepcopy(order)
    with pytest.raises(InvalidTransitionError, match="cannot go from cancelled to packed"):
        order.pack(T0 + timedelta(hours=2))
    with pytest.raises(ValidationError, match="status: is cancelled"):
        order.add_shipment(Shipment("shp_1", "DHL"))
    assert order == before
    assert order.flag_address_invalid(T0 + timedelta(hours=3)) == ()


def test_a_command_whose_result_would_not_validate_leaves_the_order_untouched() -> None:
    order = shipped_order()
    before = copy.deepcopy(order)
    too_many = Return("ret_2", T0 + timedelta(days=3), (ReturnLine("l1", 5, ReturnReason.DAMAGED),))
    with pytest.raises(ValidationError, match="returns"):
        order.request_return(too_many)
    with pytest.raises(ValidationError, match="amount"):
        order.refund("ret_1", Money("99", "EUR"), T0 + timedelta(days=4))
    assert order == before


# -- bad arguments ------------------------------------------------------------------------------------------

not_a_timestamp = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.datetimes(timezones=st.none()))
not_an_id = st.one_of(st.integers(), st.just(""), st.just(" x"), st.text(min_size=129, max_size=140))
not_a_model = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.just(Money("1", "EUR")))
not_text = st.one_of(st.integers(), st.just(Decimal(1)), st.text(min_size=2001, max_size=2005))
not_an_amount = st.one_of(st.none(), st.integers(), st.just(Money("0", "EUR")), st.just(Money("-1", "EUR")))

AT = T0 + timedelta(days=4)
GOOD_EVENT = TrackingEvent(TrackingStatus.IN_TRANSIT, AT)

# (the command, which argument is bad, how to call it with that bad value)
COMMANDS: list[tuple[str, str, st.SearchStrategy[Any], Callable[[Order, Any], object]]] = [
    ("pay", "at", not_a_timestamp, lambda o, v: o.pay(v)),
    ("pack", "at", not_a_timestamp, lambda o, v: o.pack(v)),
    ("cancel", "at", not_a_timestamp, lambda o, v: o.cancel(v)),
    ("cancel", "reason", not_text, lambda o, v: o.cancel(AT, reason=v)),
    ("add_shipment", "shipment", not_a_model, lambda o, v: o.add_shipment(v)),
    ("ship", "shipment", not_a_model, lambda o, v: o.ship(v, AT)),
    ("ship", "at", not_a_timestamp, lambda o, v: o.ship(Shipment("shp_2", "DHL"), v)),
    ("carrier_update", "shipment_id", st.none() | not_an_id, lambda o, v: o.carrier_update(v, GOOD_EVENT)),
    ("carrier_update", "event", not_a_model, lambda o, v: o.carrier_update("shp_1", v)),
    ("deliver", "at", not_a_timestamp, lambda o, v: o.deliver(v)),
    ("deliver", "shipment_id", not_an_id, lambda o, v: o.deliver(AT, shipment_id=v)),
    ("flag_address_invalid", "at", not_a_timestamp, lambda o, v: o.flag_address_invalid(v)),
    ("flag_address_invalid", "detail", not_text, lambda o, v: o.flag_address_invalid(AT, detail=v)),
    ("request_return", "ret", not_a_model, lambda o, v: o.request_return(v)),
    ("update_return", "return_id", st.none() | not_an_id, lambda o, v: o.update_return(v, ReturnStatus.OPEN, AT)),
    ("update_return", "status", st.none() | st.sampled_from(["open", 1]), lambda o, v: o.update_return("ret_1", v, AT)),
    ("update_return", "at", not_a_timestamp, lambda o, v: o.update_return("ret_1", ReturnStatus.OPEN, v)),
    ("refund", "return_id", st.none() | not_an_id, lambda o, v: o.refund(v, Money("1", "EUR"), AT)),
    ("refund", "amount", not_an_amount, lambda o, v: o.refund("ret_1", v, AT)),
    ("refund", "at", not_a_timestamp, lambda o, v: o.refund("ret_1", Money("1", "EUR"), v)),
]


@pytest.mark.parametrize(("command", "argument", "values", "call"), COMMANDS, ids=[f"{c}-{a}" for c, a, *_ in COMMANDS])
@given(data=st.data())
def test_a_bad_argument_is_named_and_changes_nothing(
    command: str, argument: str, values: st.SearchStrategy[Any], call: Callable[[Order, Any], object], data: Any
) -> None:
    order = shipped_order()
    before = copy.deepcopy(order)
    with pytest.raises(ValidationError) as info:
        call(order, data.draw(values))
    assert [problem.path for problem in info.value.problems] == [argument], command
    assert order == before


def test_every_command_method_is_covered_by_the_argument_checks() -> None:
    commands = {"place", "pay", "pack", "cancel", "add_shipment", "ship", "carrier_update", "deliver"}
    commands |= {"flag_address_invalid", "request_return", "update_return", "refund"}
    assert {name for name, *_ in COMMANDS} == commands - {"place"}  # place takes no argument
    with pytest.raises(TypeError, match="no argument 'colour'"):
        check_command_arguments(colour="red")


# -- layers ---------------------------------------------------------------------------------------------------


def _imports(tree: ast.AST, *, top_level_only: bool) -> list[str]:
    nodes = ast.iter_child_nodes(tree) if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_the_domain_imports_no_layer_above_it() -> None:
    above = ("custdata.lifecycle", "custdata.serialization", "custdata.workflows", "custdata.storage")
    for path in Path(custdata.domain.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module in _imports(tree, top_level_only=True):
            if module.startswith("custdata"):
                assert module.split(".")[1] in {"domain", "_errors"}, f"{path.name} imports {module}"
        for module in _imports(tree, top_level_only=False):
            assert not module.startswith(above), f"{path.name} imports {module}"


def test_the_events_are_the_domain_s_and_stay_importable_from_the_lifecycle() -> None:
    import custdata.lifecycle
    import custdata.lifecycle.events

    for name, cls in order_events.EVENT_TYPES.items():
        assert cls.name == name and cls.__module__ == "custdata.domain.order_events"
        assert getattr(custdata.lifecycle, cls.__name__) is cls
        assert getattr(custdata.lifecycle.events, cls.__name__) is cls
    assert custdata.lifecycle.events.stamp is order_events.stamp
    assert custdata.lifecycle.STAGE is custdata.domain.order.STAGE
