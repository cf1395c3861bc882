"""The reference for the lifecycle rules: the implementation of ``custdata.lifecycle.apply`` from the release
in which the rules lived in the lifecycle package, outside the order, kept unchanged (only renamed to
:func:`reference_apply`). The equivalence tests check that the order's own command methods, and ``apply`` that
dispatches to them, give the same order and the same events for any sequence of changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import attrs

from custdata._errors import InvalidTransitionError, ValidationError
from custdata.domain import (
    ORDER_TRANSITIONS,
    Order,
    OrderStatus,
    Return,
    ReturnStatus,
    Shipment,
    StatusChange,
    TrackingEvent,
    TrackingStatus,
)
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
from custdata.lifecycle.events import (
    DeliveryDelayed,
    DeliveryFailed,
    DeliveryProblem,
    OrderCancelled,
    OrderEvent,
    OrderPacked,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    OutForDelivery,
    RefundIssued,
    ReturnRequested,
    ReturnUpdated,
    ShipmentDelivered,
    ShipmentEvent,
)

E = TypeVar("E", bound=OrderEvent)
_S = OrderStatus
_T = TrackingStatus

#: The forward path of an order; cancelled stands aside.
CHAIN: tuple[OrderStatus, ...] = (_S.PLACED, _S.PAID, _S.PACKED, _S.SHIPPED, _S.OUT_FOR_DELIVERY, _S.DELIVERED)
RANK: dict[OrderStatus, int] = {status: i for i, status in enumerate(CHAIN)}

#: The stage of a parcel that each tracking status shows (None: says nothing about progress).
STAGE: dict[TrackingStatus, OrderStatus | None] = {
    _T.LABEL_PURCHASED: _S.PACKED,
    _T.LABEL_PRINTED: _S.PACKED,
    _T.CONFIRMED: _S.PACKED,
    _T.CARRIER_PICKED_UP: _S.SHIPPED,
    _T.IN_TRANSIT: _S.SHIPPED,
    _T.OUT_FOR_DELIVERY: _S.OUT_FOR_DELIVERY,
    _T.READY_FOR_PICKUP: _S.OUT_FOR_DELIVERY,
    _T.ATTEMPTED_DELIVERY: _S.OUT_FOR_DELIVERY,
    _T.DELIVERED: _S.DELIVERED,
    _T.DELAYED: None,
    _T.FAILURE: None,
}

_PROBLEMS = {_T.ATTEMPTED_DELIVERY: DeliveryProblem.ATTEMPTED, _T.FAILURE: DeliveryProblem.FAILURE}
_SHIPPING = frozenset({_S.PAID, _S.PACKED, _S.SHIPPED, _S.OUT_FOR_DELIVERY, _S.DELIVERED})
_RETURNABLE = frozenset({_S.SHIPPED, _S.OUT_FOR_DELIVERY, _S.DELIVERED})

_R = ReturnStatus
#: Which return status may follow which; moving back along requested -> open -> received -> closed is stale.
RETURN_TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    _R.REQUESTED: frozenset({_R.OPEN, _R.RECEIVED, _R.DECLINED, _R.CANCELLED}),
    _R.OPEN: frozenset({_R.RECEIVED, _R.CLOSED, _R.CANCELLED}),
    _R.RECEIVED: frozenset({_R.CLOSED}),
    _R.CLOSED: frozenset(),
    _R.DECLINED: frozenset(),
    _R.CANCELLED: frozenset(),
}
_RETURN_RANK = {_R.REQUESTED: 0, _R.OPEN: 1, _R.RECEIVED: 2, _R.CLOSED: 3}


def shipment_stage(shipment: Shipment) -> int:
    """The rank (in :data:`CHAIN`) of the furthest stage ``shipment`` reached; 0 when it shows none."""
    best = RANK[_S.SHIPPED] if shipment.shipped_at is not None else 0
    for event in shipment.events:
        stage = STAGE[event.status]
        if stage is not None and RANK[stage] > best:
            best = RANK[stage]
    return best


def _fully_shipped(order: Order, shipments: list[Shipment]) -> bool:
    if any(not s.lines for s in shipments):
        return True  # a parcel that lists no lines carries the whole order
    shipped: dict[str, int] = {}
    for shipment in shipments:
        for line_id, quantity in shipment.lines.items():
            shipped[line_id] = shipped.get(line_id, 0) + quantity
    return all(shipped.get(line.id, 0) >= line.quantity for line in order.lines)


def derived_rank(order: Order, shipments: list[Shipment]) -> int:
    """The rank of the status the parcels show for the whole order (0 without parcels)."""
    if not shipments:
        return 0
    stages = [shipment_stage(s) for s in shipments]
    partly = min(max(stages), RANK[_S.SHIPPED])
    return max(min(stages), partly) if _fully_shipped(order, shipments) else partly


def _path(current: OrderStatus, goal: OrderStatus) -> list[OrderStatus]:
    """The shortest walk along the transition table from ``current`` to ``goal`` through chain statuses."""
    limit = RANK[goal]
    queue: deque[tuple[OrderStatus, list[OrderStatus]]] = deque([(current, [])])
    seen = {current}
    while queue:
        status, walked = queue.popleft()
        if status == goal:
            return walked
        for nxt in sorted(ORDER_TRANSITIONS[status], key=lambda s: RANK.get(s, 99)):
            if nxt in RANK and RANK[nxt] <= limit and nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, [*walked, nxt]))
    return []


class _Draft:
    """The order's changing parts while a change is worked out; nothing touches the order until ``commit``."""

    def __init__(self, order: Order) -> None:
        self.order = order
        self.status = order.status
        self.history = list(order.history)
        self.shipments = list(order.shipments)
        self.returns = list(order.returns)
        self.updated_at = order.updated_at
        self.events: list[OrderEvent] = []

    # -- status ----------------------------------------------------------------------------------------

    def _move(self, status: OrderStatus, at: datetime) -> None:
        self.status = status
        self.history.append(StatusChange(status, at))
        self.touch(at)

    def touch(self, at: datetime) -> None:
        self.updated_at = max(self.updated_at, at)

    def request(self, target: OrderStatus, at: datetime) -> bool:
        """An explicit status change: True when it moved, False when it was already there or is stale."""
        current = self.status
        if current == target:
            return False
        if target in ORDER_TRANSITIONS[current]:
            self._move(target, at)
            return True
        if current in RANK and target in RANK and RANK[target] < RANK[current]:
            return False
        raise InvalidTransitionError(current.value, target.value, (s.value for s in ORDER_TRANSITIONS[current]))

    def follow_parcels(self, at: datetime) -> list[OrderStatus]:
        """Move the status forward to what the parcels show; the statuses passed through, in order."""
        if self.status not in _SHIPPING:
            return []
        goal_rank = derived_rank(self.order, self.shipments)
        if goal_rank <= RANK[self.status]:
            return []
        walked = _path(self.status, CHAIN[goal_rank])
        for status in walked:
            self._move(status, at)
        return walked

    # -- parts -------------------------------------------------------------------------------------------

    def shipment_index(self, shipment_id: str, path: str = "shipment_id") -> int:
        for i, shipment in enumerate(self.shipments):
            if shipment.id == shipment_id:
                return i
        raise ValidationError.single(path, "names no shipment of this order")

    def return_index(self, return_id: str) -> int:
        for i, ret in enumerate(self.returns):
            if ret.id == return_id:
                return i
        raise ValidationError.single("return_id", "names no return of this order")

    def emit(self, event: OrderEvent) -> None:
        self.events.append(event)

    def make(self, cls: type[E], at: datetime, **fields: Any) -> E:
        """An event of this order that happened at ``at``."""
        return cls(order_id=self.order.id, customer_id=self.order.customer_id, occurred_at=at, **fields)

    def commit(self) -> None:
        """Check the result as a whole, then write it to the order (or raise, leaving the order untouched)."""
        order = self.order
        changes: dict[str, Any] = {
            "status": self.status,
            "history": tuple(self.history),
            "shipments": tuple(self.shipments),
            "returns": tuple(self.returns),
            "updated_at": self.updated_at,
        }
        if all(getattr(order, name) == value for name, value in changes.items()):
            return
        attrs.evolve(order, **changes)  # runs every check of the model on the would-be order
        for name, value in changes.items():
            setattr(order, name, value)


def reference_apply(order: Order, change: Change) -> tuple[OrderEvent, ...]:
    """Apply ``change`` to ``order`` in place and return the domain events it caused (often none).

    Raises :class:`custdata.ValidationError` (a change naming a missing shipment or return, a result that
    would not validate) or :class:`custdata.InvalidTransitionError`; the order is then unchanged.
    """
    if not isinstance(order, Order):
        raise ValidationError.single("order", f"must be an Order, not {type(order).__name__}")
    if not isinstance(change, CHANGE_TYPES):
        names = ", ".join(t.__name__ for t in CHANGE_TYPES)
        raise ValidationError.single("change", f"must be one of {names}, not {type(change).__name__}")
    draft = _Draft(order)
    _HANDLERS[type(change)](draft, change)
    draft.commit()
    return tuple(draft.events)


# -- status changes ---------------------------------------------------------------------------------------


def _place(draft: _Draft, change: Place) -> None:
    if any(entry.status == _S.PLACED for entry in draft.history):
        return
    order = draft.order
    draft.history.insert(0, StatusChange(_S.PLACED, order.placed_at))
    draft.emit(draft.make(OrderPlaced, order.placed_at, total=order.total, item_count=order.item_count))


def _pay(draft: _Draft, change: Pay) -> None:
    if draft.request(_S.PAID, change.at):
        draft.emit(draft.make(OrderPaid, change.at))


def _pack(draft: _Draft, change: Pack) -> None:
    if draft.request(_S.PACKED, change.at):
        draft.emit(draft.make(OrderPacked, change.at))


def _cancel(draft: _Draft, change: Cancel) -> None:
    if draft.request(_S.CANCELLED, change.at):
        draft.emit(draft.make(OrderCancelled, change.at, reason=change.reason))


# -- parcels ----------------------------------------------------------------------------------------------


def _check_can_ship(draft: _Draft) -> None:
    if draft.status not in _SHIPPING:
        allowed = "a paid order" if draft.status == _S.PLACED else "an order that is not cancelled"
        raise ValidationError.single("status", f"is {draft.status.value}: only {allowed} can get shipments")


def _add_shipment(draft: _Draft, change: AddShipment) -> None:
    _check_can_ship(draft)
    shipment = change.shipment
    for existing in draft.shipments:
        if existing.id == shipment.id:
            if existing == shipment:
                return
            raise ValidationError.single("shipment.id", "is taken by another shipment of this order")
    at = max((e.happened_at for e in shipment.events), default=draft.order.updated_at)
    draft.shipments.append(shipment)
    _progress(draft, at, {shipment.id: 0}, None)


def _ship(draft: _Draft, change: Ship) -> None:
    _check_can_ship(draft)
    new = change.shipment
    if new.shipped_at is None:
        new = attrs.evolve(new, shipped_at=change.at)
    try:
        index = draft.shipment_index(new.id)
    except ValidationError:
        draft.shipments.append(new)
        _progress(draft, change.at, {new.id: 0}, None)
        return
    old = draft.shipments[index]
    events = old.events + tuple(e for e in new.events if e not in old.events)
    merged = attrs.evolve(new, events=events, shipped_at=old.shipped_at or new.shipped_at)
    if merged == old:
        return
    draft.shipments[index] = merged
    _progress(draft, change.at, {new.id: shipment_stage(old)}, None)


def _record(draft: _Draft, index: int, event: TrackingEvent) -> int | None:
    """Add ``event`` to a shipment; the shipment's stage before, or None when the event was known already."""
    shipment = draft.shipments[index]
    if event in shipment.events:
        return None
    draft.shipments[index] = attrs.evolve(shipment, events=(*shipment.events, event))
    return shipment_stage(shipment)


def _carrier_update(draft: _Draft, change: CarrierUpdate) -> None:
    index = draft.shipment_index(change.shipment_id)
    before = _record(draft, index, change.event)
    if before is None:
        return
    draft.touch(change.event.happened_at)
    if draft.status in _SHIPPING:
        _progress(draft, change.event.happened_at, {change.shipment_id: before}, change.event)


def _deliver(draft: _Draft, change: Deliver) -> None:
    if change.shipment_id is not None:
        indexes = [draft.shipment_index(change.shipment_id)]
    elif draft.shipments:
        indexes = [i for i, s in enumerate(draft.shipments) if shipment_stage(s) < RANK[_S.DELIVERED]]
    else:
        raise ValidationError.single("shipment_id", "the order has no shipment to deliver: ship it first")
    before: dict[str, int] = {}
    for index in indexes:
        if shipment_stage(draft.shipments[index]) >= RANK[_S.DELIVERED]:
            continue
        stage = _record(draft, index, TrackingEvent(_T.DELIVERED, change.at))
        if stage is not None:
            before[draft.shipments[index].id] = stage
    if before:
        draft.touch(change.at)
        if draft.status in _SHIPPING:
            _progress(draft, change.at, before, None)


def _flag_address(draft: _Draft, change: FlagAddressInvalid) -> None:
    if draft.status == _S.CANCELLED:
        return
    shipment: Shipment | None = None
    if change.shipment_id is not None:
        index = draft.shipment_index(change.shipment_id)
        if shipment_stage(draft.shipments[index]) >= RANK[_S.DELIVERED]:
            return
        if _record(draft, index, TrackingEvent(_T.FAILURE, change.at, message=change.detail)) is None:
            return
        shipment = draft.shipments[index]
    elif draft.status == _S.DELIVERED:
        return
    draft.touch(change.at)
    draft.emit(
        draft.make(
            DeliveryFailed,
            change.at,
            problem=DeliveryProblem.ADDRESS_INVALID,
            shipment_id=None if shipment is None else shipment.id,
            carrier=None if shipment is None else shipment.carrier,
            tracking_url=None if shipment is None else shipment.tracking_url,
            detail=change.detail,
        )
    )


def _progress(draft: _Draft, at: datetime, before: dict[str, int], trigger: TrackingEvent | None) -> None:
    """Follow the parcels with the order's status and emit what moved forward."""
    walked = draft.follow_parcels(at)
    if walked and walked[-1] == _S.PACKED:
        draft.emit(draft.make(OrderPacked, at))
    for shipment_id, old_rank in before.items():
        shipment = draft.shipments[draft.shipment_index(shipment_id)]
        if trigger is not None and (trigger.status in _PROBLEMS or trigger.status == _T.DELAYED):
            _problem(draft, shipment, trigger)
            continue
        new_rank = shipment_stage(shipment)
        if new_rank > old_rank and new_rank >= RANK[_S.SHIPPED]:
            draft.emit(_stage_event(draft, shipment, new_rank, at))


def _details(shipment: Shipment) -> dict[str, Any]:
    return {
        "shipment_id": shipment.id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "estimated_delivery_at": shipment.estimated_delivery_at,
    }


def _stage_event(draft: _Draft, shipment: Shipment, rank: int, at: datetime) -> ShipmentEvent:
    stage = CHAIN[rank]
    if stage == _S.SHIPPED:
        return draft.make(OrderShipped, at, **_details(shipment))
    if stage == _S.OUT_FOR_DELIVERY:
        latest = shipment.latest_event
        pickup = latest is not None and latest.status == _T.READY_FOR_PICKUP
        return draft.make(OutForDelivery, at, **_details(shipment), pickup=pickup)
    return draft.make(ShipmentDelivered, at, **_details(shipment), order_delivered=draft.status == _S.DELIVERED)


def _problem(draft: _Draft, shipment: Shipment, trigger: TrackingEvent) -> None:
    """Emit a delay or failed-delivery notice, unless the parcel arrived or a later report supersedes it."""
    if shipment_stage(shipment) >= RANK[_S.DELIVERED]:
        return
    if any(e.happened_at > trigger.happened_at for e in shipment.events):
        return
    at = trigger.happened_at
    if trigger.status == _T.DELAYED:
        fields = _details(shipment)
        fields["estimated_delivery_at"] = trigger.estimated_delivery_at
        draft.emit(draft.make(DeliveryDelayed, at, **fields, reported_at=at))
        return
    draft.emit(
        draft.make(
            DeliveryFailed,
            at,
            problem=_PROBLEMS[trigger.status],
            shipment_id=shipment.id,
            carrier=shipment.carrier,
            tracking_url=shipment.tracking_url,
            detail=trigger.message,
        )
    )


# -- returns and refunds ------------------------------------------------------------------------------------


def _request_return(draft: _Draft, change: RequestReturn) -> None:
    ret = change.ret
    for existing in draft.returns:
        if existing.id == ret.id:
            if existing == ret:
                return
            raise ValidationError.single("ret.id", "is taken by another return of this order")
    if draft.status not in _RETURNABLE:
        raise ValidationError.single("status", f"is {draft.status.value}: returns open once the order has shipped")
    draft.returns.append(ret)
    draft.touch(ret.requested_at)
    count = sum(line.quantity for line in ret.lines)
    draft.emit(draft.make(ReturnRequested, ret.requested_at, return_id=ret.id, status=ret.status, item_count=count))


def _update_return(draft: _Draft, change: UpdateReturn) -> None:
    index = draft.return_index(change.return_id)
    ret: Return = draft.returns[index]
    current, target = ret.status, change.status
    if current == target:
        return
    if target not in RETURN_TRANSITIONS[current]:
        if current in _RETURN_RANK and target in _RETURN_RANK and _RETURN_RANK[target] < _RETURN_RANK[current]:
            return
        raise InvalidTransitionError(current.value, target.value, (s.value for s in RETURN_TRANSITIONS[current]))
    draft.returns[index] = attrs.evolve(ret, status=target, updated_at=change.at)
    draft.touch(change.at)
    draft.emit(draft.make(ReturnUpdated, change.at, return_id=ret.id, status=target))


def _refund(draft: _Draft, change: Refund) -> None:
    index = draft.return_index(change.return_id)
    ret = draft.returns[index]
    order = draft.order
    if change.amount.currency != order.currency:
        raise ValidationError.single("amount.currency", f"must be the order currency {order.currency}")
    if ret.refund is not None:
        if ret.refund == change.amount:
            return
        raise ValidationError.single("amount", "differs from the refund already issued for this return")
    refunded = sum((r.refund.amount for r in draft.returns if r.refund is not None), change.amount.amount)
    if refunded > order.total.amount:
        raise ValidationError.single("amount", "would take the refunds of this order past its total")
    draft.returns[index] = attrs.evolve(ret, refund=change.amount, updated_at=change.at)
    draft.touch(change.at)
    draft.emit(draft.make(RefundIssued, change.at, return_id=ret.id, amount=change.amount))


_HANDLERS: dict[type[Any], Callable[[_Draft, Any], None]] = {
    Place: _place,
    Pay: _pay,
    Pack: _pack,
    Cancel: _cancel,
    AddShipment: _add_shipment,
    Ship: _ship,
    CarrierUpdate: _carrier_update,
    Deliver: _deliver,
    FlagAddressInvalid: _flag_address,
    RequestReturn: _request_return,
    UpdateReturn: _update_return,
    Refund: _refund,
}
