"""Changes to an order, as data: what a checkout, the warehouse, a carrier webhook or support asks for.

Each change checks its own fields when built (a :class:`custdata.ValidationError` naming the field) and is
applied with :func:`custdata.lifecycle.apply`, which returns the domain events it caused.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from custdata.domain import Money, ReturnStatus, Shipment, TrackingEvent
from custdata.domain import Return as OrderReturn
from custdata.domain._checks import Checker


def _check_at(check: Checker, at: object) -> None:
    check.timestamp("at", at)


@attrs.frozen
class Place:
    """Announce a new order (after adding it to the store): records ``placed`` in its history."""


@attrs.frozen
class Pay:
    """The payment went through."""

    at: datetime

    def __attrs_post_init__(self) -> None:
        check = Checker()
        _check_at(check, self.at)
        check.done()


@attrs.frozen
class Pack:
    """The warehouse packed the order."""

    at: datetime

    def __attrs_post_init__(self) -> None:
        check = Checker()
        _check_at(check, self.at)
        check.done()


@attrs.frozen
class AddShipment:
    """A parcel exists (a label was bought) but has not left yet; carrier updates may follow."""

    shipment: Shipment

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.instance("shipment", self.shipment, Shipment)
        check.done()


@attrs.frozen
class Ship:
    """A parcel left with the carrier at ``at`` (its ``shipped_at`` is set to ``at`` unless it has one).

    A shipment with the id of one added earlier replaces its carrier and tracking details and keeps its events.
    """

    shipment: Shipment
    at: datetime

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.instance("shipment", self.shipment, Shipment)
        _check_at(check, self.at)
        check.done()


@attrs.frozen
class CarrierUpdate:
    """A carrier's tracking event for one of the order's shipments (from a webhook or a poll)."""

    shipment_id: str
    event: TrackingEvent

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.identifier("shipment_id", self.shipment_id)
        check.instance("event", self.event, TrackingEvent)
        check.done()


@attrs.frozen
class Deliver:
    """The parcel (``shipment_id``), or every parcel not yet delivered, arrived at ``at``."""

    at: datetime
    shipment_id: str | None = None

    def __attrs_post_init__(self) -> None:
        check = Checker()
        _check_at(check, self.at)
        check.identifier("shipment_id", self.shipment_id, optional=True)
        check.done()


@attrs.frozen
class FlagAddressInvalid:
    """The shipping address turned out unusable (found by the carrier, or before shipping when no
    ``shipment_id`` is given). ``detail`` is for the customer, so keep personal data out of it."""

    at: datetime
    shipment_id: str | None = None
    detail: str | None = None

    def __attrs_post_init__(self) -> None:
        check = Checker()
        _check_at(check, self.at)
        check.identifier("shipment_id", self.shipment_id, optional=True)
        check.text("detail", self.detail, optional=True, max_length=2000, multiline=True)
        check.done()


@attrs.frozen
class Cancel:
    """Cancel the order (allowed until it ships)."""

    at: datetime
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        check = Checker()
        _check_at(check, self.at)
        check.text("reason", self.reason, optional=True, max_length=2000, multiline=True)
        check.done()


@attrs.frozen
class RequestReturn:
    """The customer asks to send lines back (allowed once the order has shipped)."""

    ret: OrderReturn

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.instance("ret", self.ret, OrderReturn)
        check.done()


@attrs.frozen
class UpdateReturn:
    """A return moves on: ``open``, ``received``, ``closed``, ``declined`` or ``cancelled``."""

    return_id: str
    status: ReturnStatus
    at: datetime

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.identifier("return_id", self.return_id)
        check.enum("status", self.status, ReturnStatus)
        _check_at(check, self.at)
        check.done()


@attrs.frozen
class Refund:
    """Money goes back to the customer for a return."""

    return_id: str
    amount: Money
    at: datetime

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.identifier("return_id", self.return_id)
        if check.instance("amount", self.amount, Money) and self.amount.amount <= 0:
            check.add("amount", "must be more than zero")
        _check_at(check, self.at)
        check.done()


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
