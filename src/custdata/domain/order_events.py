"""Domain events: what happened to an order, as immutable facts that workflows turn into messages.

The :class:`custdata.Order` raises them from its command methods (``order.pay(at)``, ``order.ship(parcel, at)``,
...); :func:`custdata.lifecycle.apply` returns the same events for the matching change.

Every event names its order and customer, when it happened, and a deterministic :attr:`OrderEvent.key` that
identifies the happening itself (``ord_1:shipped:shp_1``). Applying the same change twice, or replaying a
carrier's webhook, yields the same key, so whatever is built on it (an idempotency key) repeats too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import ClassVar

import attrs

from custdata.domain.enums import OrderStatus, ReturnStatus
from custdata.domain.ids import CustomerId, OrderId, to_customer_id, to_order_id
from custdata.domain.money import Money
from custdata.domain.personal import IDENTIFIER, NOT_PERSONAL, PERSONAL, masked_repr


def stamp(moment: datetime) -> str:
    """A compact, offset-independent form of ``moment`` for keys: ``20240105T120000.000000Z``.

    A moment whose UTC time falls outside the years 1 to 9999 (late on 9999-12-31 at a negative offset, say)
    keeps its own offset instead: ``99991231T230000.000000-1200``.
    """
    try:
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    except OverflowError:
        return moment.strftime("%Y%m%dT%H%M%S.%f%z")


class DeliveryProblem(StrEnum):
    """Why a delivery did not happen: a failed attempt, a carrier failure, or an unusable address."""

    ATTEMPTED = "attempted"
    FAILURE = "failure"
    ADDRESS_INVALID = "address_invalid"


@attrs.frozen(kw_only=True, repr=False)
class OrderEvent:
    """Base of the order events: which order, whose, and when."""

    name: ClassVar[str] = "order_event"
    __repr__ = masked_repr

    order_id: OrderId = attrs.field(converter=to_order_id, metadata=IDENTIFIER)
    customer_id: CustomerId = attrs.field(converter=to_customer_id, metadata=IDENTIFIER)
    occurred_at: datetime = attrs.field(metadata=NOT_PERSONAL)

    @property
    def key(self) -> str:
        """Identifies the happening: the same change applied twice has the same key."""
        return f"{self.order_id}:{self.name}"


@attrs.frozen(kw_only=True, repr=False)
class OrderPlaced(OrderEvent):
    """A new order was recorded."""

    name: ClassVar[str] = "placed"

    total: Money = attrs.field(metadata=NOT_PERSONAL)
    item_count: int = attrs.field(metadata=NOT_PERSONAL)


@attrs.frozen(kw_only=True, repr=False)
class OrderPaid(OrderEvent):
    """The order was paid."""

    name: ClassVar[str] = "paid"


@attrs.frozen(kw_only=True, repr=False)
class OrderPacked(OrderEvent):
    """The warehouse packed the order (or bought its shipping label)."""

    name: ClassVar[str] = "packed"


@attrs.frozen(kw_only=True, repr=False)
class ShipmentEvent(OrderEvent):
    """Base of the events about one parcel, with its carrier and tracking."""

    shipment_id: str = attrs.field(metadata=IDENTIFIER)
    carrier: str = attrs.field(metadata=NOT_PERSONAL)
    tracking_number: str | None = attrs.field(default=None, metadata=PERSONAL)
    tracking_url: str | None = attrs.field(default=None, metadata=PERSONAL)
    estimated_delivery_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    @property
    def key(self) -> str:
        return f"{self.order_id}:{self.name}:{self.shipment_id}"


@attrs.frozen(kw_only=True, repr=False)
class OrderShipped(ShipmentEvent):
    """A parcel left the warehouse with the carrier."""

    name: ClassVar[str] = "shipped"


@attrs.frozen(kw_only=True, repr=False)
class OutForDelivery(ShipmentEvent):
    """A parcel is on the van today, or waiting at a pick-up point (``pickup``)."""

    name: ClassVar[str] = "out_for_delivery"

    pickup: bool = attrs.field(default=False, metadata=NOT_PERSONAL)


@attrs.frozen(kw_only=True, repr=False)
class ShipmentDelivered(ShipmentEvent):
    """A parcel arrived; ``order_delivered`` when it was the last one and the whole order is now delivered."""

    name: ClassVar[str] = "delivered"

    order_delivered: bool = attrs.field(default=True, metadata=NOT_PERSONAL)


@attrs.frozen(kw_only=True, repr=False)
class DeliveryDelayed(ShipmentEvent):
    """The carrier reported a delay; ``estimated_delivery_at`` is the new estimate when one was given."""

    name: ClassVar[str] = "delayed"

    reported_at: datetime = attrs.field(metadata=NOT_PERSONAL)

    @property
    def key(self) -> str:
        moment = self.estimated_delivery_at or self.reported_at
        return f"{self.order_id}:{self.name}:{self.shipment_id}:{stamp(moment)}"


@attrs.frozen(kw_only=True, repr=False)
class DeliveryFailed(OrderEvent):
    """A delivery failed: an attempt nobody answered, a carrier failure, or an invalid address.

    ``shipment_id`` is None when the address was found invalid before any parcel left.
    """

    name: ClassVar[str] = "delivery_failed"

    problem: DeliveryProblem = attrs.field(metadata=NOT_PERSONAL)
    shipment_id: str | None = attrs.field(default=None, metadata=IDENTIFIER)
    carrier: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    tracking_url: str | None = attrs.field(default=None, metadata=PERSONAL)
    detail: str | None = attrs.field(default=None, metadata=PERSONAL)

    @property
    def key(self) -> str:
        where = self.shipment_id or "order"
        if self.problem == DeliveryProblem.ADDRESS_INVALID:
            return f"{self.order_id}:{self.name}:{where}:{self.problem.value}"
        return f"{self.order_id}:{self.name}:{where}:{self.problem.value}:{stamp(self.occurred_at)}"


@attrs.frozen(kw_only=True, repr=False)
class OrderCancelled(OrderEvent):
    """The order was cancelled before it shipped."""

    name: ClassVar[str] = "cancelled"

    reason: str | None = attrs.field(default=None, metadata=PERSONAL)


@attrs.frozen(kw_only=True, repr=False)
class ReturnEvent(OrderEvent):
    """Base of the events about one return."""

    return_id: str = attrs.field(metadata=IDENTIFIER)
    status: ReturnStatus = attrs.field(metadata=NOT_PERSONAL)

    @property
    def key(self) -> str:
        return f"{self.order_id}:return:{self.return_id}:{self.status.value}"


@attrs.frozen(kw_only=True, repr=False)
class ReturnRequested(ReturnEvent):
    """The customer asked to send lines back."""

    name: ClassVar[str] = "return_requested"

    item_count: int = attrs.field(metadata=NOT_PERSONAL)


@attrs.frozen(kw_only=True, repr=False)
class ReturnUpdated(ReturnEvent):
    """A return moved on: opened, received at the warehouse, closed, declined or cancelled."""

    name: ClassVar[str] = "return_updated"


@attrs.frozen(kw_only=True, repr=False)
class RefundIssued(OrderEvent):
    """Money went back to the customer for a return."""

    name: ClassVar[str] = "refund_issued"

    return_id: str = attrs.field(metadata=IDENTIFIER)
    amount: Money = attrs.field(metadata=NOT_PERSONAL)

    @property
    def key(self) -> str:
        return f"{self.order_id}:refund:{self.return_id}"


#: Every event class by its ``name``, for loading stored events.
EVENT_TYPES: dict[str, type[OrderEvent]] = {
    cls.name: cls
    for cls in (
        OrderPlaced,
        OrderPaid,
        OrderPacked,
        OrderShipped,
        OutForDelivery,
        ShipmentDelivered,
        DeliveryDelayed,
        DeliveryFailed,
        OrderCancelled,
        ReturnRequested,
        ReturnUpdated,
        RefundIssued,
    )
}

#: The order status each status-carrying event stands for, used to tell stale events from new ones.
EVENT_STATUS: dict[type[OrderEvent], OrderStatus] = {
    OrderPaid: OrderStatus.PAID,
    OrderPacked: OrderStatus.PACKED,
    OrderShipped: OrderStatus.SHIPPED,
    OutForDelivery: OrderStatus.OUT_FOR_DELIVERY,
    ShipmentDelivered: OrderStatus.DELIVERED,
}
