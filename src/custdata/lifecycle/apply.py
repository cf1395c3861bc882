"""Applying a change to an order: the change is dispatched to the :class:`custdata.Order` command it names, and
the domain events the order raised come back.

The rules live in the order (:mod:`custdata.domain.order`), once:

- The status follows :data:`custdata.ORDER_TRANSITIONS`. A change that would move it backwards along
  placed -> paid -> packed -> shipped -> out_for_delivery -> delivered is stale: it is recorded where it
  carries information (a carrier's tracking event stays on its shipment) but changes no status and emits
  nothing. A change the table forbids outright (shipping a cancelled order) raises
  :class:`custdata.InvalidTransitionError`.
- Each parcel's stage is the furthest one its tracking events (or its ``shipped_at``) show; the order's status
  follows its parcels: out for delivery when every parcel is, delivered when every parcel is and nothing is
  left to ship. Stages only grow with new events, so any permutation of the same carrier events ends in the
  same status.
- Events are emitted only when something moved forward: never ``packed`` after ``shipped``, never a delay or
  failed-delivery notice for a parcel already delivered or superseded by a later carrier report.
- A change is all or nothing: if the result would not validate, the order is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from custdata._errors import ValidationError
from custdata.domain import Order
from custdata.domain.order import CHAIN, RANK, RETURN_TRANSITIONS, STAGE, derived_rank, shipment_stage
from custdata.domain.order_events import OrderEvent
from custdata.lifecycle.changes import (
    CHANGE_TYPES,
    AddShipment,
    Cancel,
    CarrierUpdate,
    Change,
    Deliver,
    FlagAddressInvalid,
    Pack,
    Pay,
    Place,
    Refund,
    RequestReturn,
    Ship,
    UpdateReturn,
)

__all__ = ["CHAIN", "RANK", "RETURN_TRANSITIONS", "STAGE", "apply", "derived_rank", "shipment_stage"]

_Command = Callable[[Order, Any], tuple[OrderEvent, ...]]

#: Which :class:`custdata.Order` method carries out each kind of change.
_COMMANDS: dict[type[Any], _Command] = {
    Place: lambda order, change: order.place(),
    Pay: lambda order, change: order.pay(change.at),
    Pack: lambda order, change: order.pack(change.at),
    Cancel: lambda order, change: order.cancel(change.at, change.reason),
    AddShipment: lambda order, change: order.add_shipment(change.shipment),
    Ship: lambda order, change: order.ship(change.shipment, change.at),
    CarrierUpdate: lambda order, change: order.carrier_update(change.shipment_id, change.event),
    Deliver: lambda order, change: order.deliver(change.at, change.shipment_id),
    FlagAddressInvalid: lambda order, change: order.flag_address_invalid(change.at, change.shipment_id, change.detail),
    RequestReturn: lambda order, change: order.request_return(change.ret),
    UpdateReturn: lambda order, change: order.update_return(change.return_id, change.status, change.at),
    Refund: lambda order, change: order.refund(change.return_id, change.amount, change.at),
}


def apply(order: Order, change: Change) -> tuple[OrderEvent, ...]:
    """Apply ``change`` to ``order`` in place and return the domain events it caused (often none).

    Raises :class:`custdata.ValidationError` (a change naming a missing shipment or return, a result that
    would not validate) or :class:`custdata.InvalidTransitionError`; the order is then unchanged.
    """
    if not isinstance(order, Order):
        raise ValidationError.single("order", f"must be an Order, not {type(order).__name__}")
    if not isinstance(change, CHANGE_TYPES):
        names = ", ".join(t.__name__ for t in CHANGE_TYPES)
        raise ValidationError.single("change", f"must be one of {names}, not {type(change).__name__}")
    return _COMMANDS[type(change)](order, change)
