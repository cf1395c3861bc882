"""Changes to an order, as data: what a checkout, the warehouse, a carrier webhook or support asks for.

Each change is a command for the :class:`custdata.Order` method of the same name (``Pay`` for
:meth:`custdata.Order.pay`, ``CarrierUpdate`` for :meth:`custdata.Order.carrier_update`, ...). It checks its own
fields when built, with the checks the order's method uses (a :class:`custdata.ValidationError` naming the
field), and is applied with :func:`custdata.lifecycle.apply`, which returns the domain events it caused.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from custdata.domain import Money, ReturnStatus, Shipment, TrackingEvent
from custdata.domain import Return as OrderReturn
from custdata.domain.order import check_command_arguments


@attrs.frozen
class Place:
    """Announce a new order (after adding it to the store): records ``placed`` in its history."""


@attrs.frozen
class Pay:
    """The payment went through."""

    at: datetime

    def __attrs_post_init__(self) -> None:
        check_command_arguments(at=self.at)


@attrs.frozen
class Pack:
    """The warehouse packed the order."""

    at: datetime

    def __attrs_post_init__(self) -> None:
        check_command_arguments(at=self.at)


@attrs.frozen
class AddShipment:
    """A parcel exists (a label was bought) but has not left yet; carrier updates may follow."""

    shipment: Shipment

    def __attrs_post_init__(self) -> None:
        check_command_arguments(shipment=self.shipment)


@attrs.frozen
class Ship:
    """A parcel left with the carrier at ``at`` (its ``shipped_at`` is set to ``at`` unless it has one).

    A shipment with the id of one added earlier replaces its carrier and tracking details and keeps its events.
    """

    shipment: Shipment
    at: datetime

    def __attrs_post_init__(self) -> None:
        check_command_arguments(shipment=self.shipment, at=self.at)


@attrs.frozen
class CarrierUpdate:
    """A carrier's tracking event for one of the order's shipments (from a webhook or a poll)."""

    shipment_id: str
    event: TrackingEvent

    def __attrs_post_init__(self) -> None:
        check_command_arguments(shipment_id=self.shipment_id, event=self.event)


@attrs.frozen
class Deliver:
    """The parcel (``shipment_id``), or every parcel not yet delivered, arrived at ``at``."""

    at: datetime
    shipment_id: str | None = None

    def __attrs_post_init__(self) -> None:
        check_command_arguments(at=self.at, shipment_id=self.shipment_id, optional={"shipment_id"})


@attrs.frozen
class FlagAddressInvalid:
    """The shipping address turned out unusable (found by the carrier, or before shipping when no
    ``shipment_id`` is given). ``detail`` is for the customer, so keep personal data out of it."""

    at: datetime
    shipment_id: str | None = None
    detail: str | None = None

    def __attrs_post_init__(self) -> None:
        check_command_arguments(
            at=self.at, shipment_id=self.shipment_id, detail=self.detail, optional={"shipment_id", "detail"}
        )


@attrs.frozen
class Cancel:
    """Cancel the order (allowed until it ships)."""

    at: datetime
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        check_command_arguments(at=self.at, reason=self.reason, optional={"reason"})


@attrs.frozen
class RequestReturn:
    """The customer asks to send lines back (allowed once the order has shipped)."""

    ret: OrderReturn

    def __attrs_post_init__(self) -> None:
        check_command_arguments(ret=self.ret)


@attrs.frozen
class UpdateReturn:
    """A return moves on: ``open``, ``received``, ``closed``, ``declined`` or ``cancelled``."""

    return_id: str
    status: ReturnStatus
    at: datetime

    def __attrs_post_init__(self) -> None:
        check_command_arguments(return_id=self.return_id, status=self.status, at=self.at)


@attrs.frozen
class Refund:
    """Money goes back to the customer for a return."""

    return_id: str
    amount: Money
    at: datetime

    def __attrs_post_init__(self) -> None:
        check_command_arguments(return_id=self.return_id, amount=self.amount, at=self.at)


Change = (
    Place
    | Pay
    | Pack
    | AddShipment
    | Ship
    | CarrierUpdate
    | Deliver
    | FlagAddressInvalid
    | Cancel
    | RequestReturn
    | UpdateReturn
    | Refund
)

#: Every kind of change :func:`custdata.lifecycle.apply` understands.
CHANGE_TYPES: tuple[type[Change], ...] = (
    Place,
    Pay,
    Pack,
    AddShipment,
    Ship,
    CarrierUpdate,
    Deliver,
    FlagAddressInvalid,
    Cancel,
    RequestReturn,
    UpdateReturn,
    Refund,
)
