"""Orders, their lines and totals, shipments with tracking events, and returns."""

from __future__ import annotations

import re
import warnings
from collections import Counter, deque
from collections.abc import Collection, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from custdata._errors import ErrorCode, InvalidTransitionError, ValidationError
from custdata.domain.address import Address
from custdata.domain.checks import Checker, trusted
from custdata.domain.enums import OrderStatus, ReturnReason, ReturnStatus, TrackingStatus
from custdata.domain.ids import CustomerId, OrderId, to_customer_id, to_order_id
from custdata.domain.money import Money
from custdata.domain.order_events import (
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
from custdata.domain.order_rules import COUNTED_RETURNS
from custdata.domain.personal import IDENTIFIER, LINKED, NESTED, NOT_PERSONAL, PERSONAL, masked_repr

_S = OrderStatus

#: Which status may follow which. Anything else raises :class:`custdata.InvalidTransitionError`.
ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = MappingProxyType(
    {
        _S.PLACED: frozenset({_S.PAID, _S.CANCELLED}),
        _S.PAID: frozenset({_S.PACKED, _S.SHIPPED, _S.CANCELLED}),
        _S.PACKED: frozenset({_S.SHIPPED, _S.CANCELLED}),
        _S.SHIPPED: frozenset({_S.OUT_FOR_DELIVERY, _S.DELIVERED}),
        _S.OUT_FOR_DELIVERY: frozenset({_S.DELIVERED}),
        _S.DELIVERED: frozenset(),
        _S.CANCELLED: frozenset(),
    }
)

_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,63}")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
_OPEN_RETURNS = COUNTED_RETURNS  # returns whose items are on their way back or back


@attrs.frozen
class ExternalRef:
    """Where a record came from: the source platform (``shopify``, ``woocommerce``, ...) and its id there."""

    platform: str = attrs.field(metadata=NOT_PERSONAL)
    id: str = attrs.field(metadata=IDENTIFIER)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        if check.text("platform", self.platform, max_length=64) and not _PLATFORM.fullmatch(self.platform):
            check.add("platform", "must be a lower-case name such as 'shopify'")
        check.text("id", self.id, max_length=256)
        check.done()

    def __str__(self) -> str:
        return f"{self.platform}:{self.id}"


@attrs.frozen
class OrderLine:
    """One line of an order: what, which variant (size, colour, ...), how many, at what unit price."""

    id: str = attrs.field(metadata=IDENTIFIER)
    sku: str = attrs.field(metadata=NOT_PERSONAL)
    product_name: str = attrs.field(metadata=NOT_PERSONAL)
    quantity: int = attrs.field(metadata=NOT_PERSONAL)
    unit_price: Money = attrs.field(metadata=NOT_PERSONAL)
    variant: dict[str, str] = attrs.field(factory=dict, hash=False, metadata=LINKED)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.identifier("id", self.id)
        check.text("sku", self.sku, max_length=128)
        check.text("product_name", self.product_name, max_length=512)
        quantity_ok = check.integer("quantity", self.quantity, minimum=1)
        if check.instance("unit_price", self.unit_price, Money) and self.unit_price.amount < 0:
            check.add("unit_price", "must not be negative", ErrorCode.OUT_OF_RANGE)
        elif quantity_ok and isinstance(self.unit_price, Money):
            try:
                self.total  # noqa: B018 - computed for its check
            except ValidationError as exc:
                check.add("quantity", f"times the unit price {exc.problems[0].message}")
        if check.instance("variant", self.variant, dict):
            for key, value in self.variant.items():
                if not (isinstance(key, str) and key.strip() and len(key) <= 64):
                    check.add("variant", "keys must be non-empty strings of at most 64 characters")
                elif not isinstance(value, str) or len(value) > 256:
                    check.add(f"variant[{key!r}]", "must be a string of at most 256 characters")
        check.done()

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


@attrs.frozen
class TrackingEvent:
    """A carrier's report about a shipment, with Shopify's statuses."""

    status: TrackingStatus = attrs.field(metadata=NOT_PERSONAL)
    happened_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    estimated_delivery_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    message: str | None = attrs.field(default=None, metadata=PERSONAL)
    location: str | None = attrs.field(default=None, metadata=PERSONAL)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.enum("status", self.status, TrackingStatus)
        check.timestamp("happened_at", self.happened_at)
        check.timestamp("estimated_delivery_at", self.estimated_delivery_at, optional=True)
        check.text("message", self.message, optional=True, max_length=2000, multiline=True)
        check.text("location", self.location, optional=True, max_length=256)
        check.done()


@attrs.frozen
class Shipment:
    """A parcel: carrier, tracking, which lines (and how many of each) it holds, and its tracking events."""

    id: str = attrs.field(metadata=IDENTIFIER)
    carrier: str = attrs.field(metadata=NOT_PERSONAL)
    lines: dict[str, int] = attrs.field(factory=dict, hash=False, metadata=NOT_PERSONAL)
    service_level: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    tracking_number: str | None = attrs.field(default=None, metadata=PERSONAL)
    tracking_url: str | None = attrs.field(default=None, metadata=PERSONAL)
    shipped_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    events: tuple[TrackingEvent, ...] = attrs.field(default=(), metadata=NESTED)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.identifier("id", self.id)
        check.text("carrier", self.carrier, max_length=128)
        if check.instance("lines", self.lines, dict):
            for line_id, qty in self.lines.items():
                if check.identifier("lines", line_id):
                    check.integer(f"lines[{line_id!r}]", qty, minimum=1)
        check.text("service_level", self.service_level, optional=True, max_length=128)
        check.text("tracking_number", self.tracking_number, optional=True, max_length=128)
        if check.text("tracking_url", self.tracking_url, optional=True, max_length=2048) and self.tracking_url:
            if not _URL.fullmatch(self.tracking_url):
                check.add("tracking_url", "must be an http or https URL")
        check.timestamp("shipped_at", self.shipped_at, optional=True)
        check.instances("events", self.events, TrackingEvent)
        check.done()

    @property
    def latest_event(self) -> TrackingEvent | None:
        """The event that happened last (carriers report out of order)."""
        return max(self.events, key=lambda e: e.happened_at, default=None)

    @property
    def estimated_delivery_at(self) -> datetime | None:
        for event in sorted(self.events, key=lambda e: e.happened_at, reverse=True):
            if event.estimated_delivery_at is not None:
                return event.estimated_delivery_at
        return None


@attrs.frozen
class ReturnLine:
    """How many of one order line come back, and why."""

    line_id: str = attrs.field(metadata=IDENTIFIER)
    quantity: int = attrs.field(metadata=NOT_PERSONAL)
    reason: ReturnReason = attrs.field(metadata=NOT_PERSONAL)
    note: str | None = attrs.field(default=None, metadata=PERSONAL)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.identifier("line_id", self.line_id)
        check.integer("quantity", self.quantity, minimum=1)
        check.enum("reason", self.reason, ReturnReason)
        check.text("note", self.note, optional=True, max_length=2000, multiline=True)
        check.done()


@attrs.frozen
class Return:
    """A return of some lines of an order, with reasons per line and the amount refunded."""

    id: str = attrs.field(metadata=IDENTIFIER)
    requested_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    lines: tuple[ReturnLine, ...] = attrs.field(metadata=NESTED)
    status: ReturnStatus = attrs.field(default=ReturnStatus.REQUESTED, metadata=NOT_PERSONAL)
    refund: Money | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    updated_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.identifier("id", self.id)
        check.timestamp("requested_at", self.requested_at)
        if check.instances("lines", self.lines, ReturnLine):
            if not self.lines:
                check.add("lines", "must name at least one line")
        check.enum("status", self.status, ReturnStatus)
        if check.instance("refund", self.refund, Money, optional=True) and self.refund and self.refund.amount < 0:
            check.add("refund", "must not be negative", ErrorCode.OUT_OF_RANGE)
        check.timestamp("updated_at", self.updated_at, optional=True)
        check.done()


@attrs.frozen
class StatusChange:
    """An entry in an order's status history."""

    status: OrderStatus = attrs.field(metadata=NOT_PERSONAL)
    at: datetime = attrs.field(metadata=NOT_PERSONAL)

    __repr__ = masked_repr


def _zero(self: Any) -> Money:
    try:
        return Money.zero(self.currency)
    except ValidationError:
        return Money.zero("XXX")  # the currency problem is reported by the checks


def _line_sum(lines: tuple[OrderLine, ...], currency: str) -> Money:
    return sum((line.total for line in lines), Money.zero(currency))


def _sum_total(subtotal: Money, shipping: Money, tax: Money, discount: Money, taxes_included: bool) -> Money:
    total = subtotal + shipping - discount
    return total if taxes_included else total + tax


# The defaults of subtotal and total: a problem computing them (a bad line, a sum out of range) is left for
# validate(), which computes them again and reports it with its path; the placeholder never passes for a total.
def _subtotal(self: Any) -> Money:
    try:
        return _line_sum(self.lines, self.currency)
    except (ValidationError, AttributeError, TypeError):
        return _zero(self)


def _total(self: Any) -> Money:
    try:
        return _sum_total(self.subtotal, self.shipping, self.tax, self.discount, self.taxes_included)
    except (ValidationError, AttributeError, TypeError):
        return _zero(self)


def _placed(self: Any) -> Any:
    return self.placed_at


@attrs.define(repr=False, on_setattr=attrs.setters.NO_OP)  # validate() types assigned ids
class Order:
    """An order: lines, totals, shipping address copy, status, shipments and returns.

    Totals left out are computed: ``subtotal`` from the lines, ``total`` as subtotal + shipping +
    tax - discount (tax not added again when ``taxes_included``). Given totals must add up.

    The order owns its lifecycle: the command methods (:meth:`place`, :meth:`pay`, :meth:`pack`,
    :meth:`cancel`, :meth:`add_shipment`, :meth:`ship`, :meth:`carrier_update`, :meth:`deliver`,
    :meth:`flag_address_invalid`, :meth:`request_return`, :meth:`update_return`, :meth:`refund`) change it in
    place, all or nothing, and return the domain events they raised (:mod:`custdata.domain.order_events`).
    The status follows :data:`ORDER_TRANSITIONS` and only moves forward.
    """

    id: OrderId = attrs.field(converter=to_order_id, metadata=IDENTIFIER)
    customer_id: CustomerId = attrs.field(converter=to_customer_id, metadata=IDENTIFIER)
    currency: str = attrs.field(metadata=NOT_PERSONAL)
    lines: tuple[OrderLine, ...] = attrs.field(metadata=NESTED)
    placed_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    status: OrderStatus = attrs.field(default=OrderStatus.PLACED, metadata=NOT_PERSONAL)
    external_ref: ExternalRef | None = attrs.field(default=None, metadata=NESTED)
    shipping_address: Address | None = attrs.field(default=None, metadata=NESTED)
    taxes_included: bool = attrs.field(default=False, metadata=NOT_PERSONAL)
    shipping: Money = attrs.field(default=attrs.Factory(_zero, takes_self=True), metadata=NOT_PERSONAL)
    tax: Money = attrs.field(default=attrs.Factory(_zero, takes_self=True), metadata=NOT_PERSONAL)
    discount: Money = attrs.field(default=attrs.Factory(_zero, takes_self=True), metadata=NOT_PERSONAL)
    subtotal: Money = attrs.field(default=attrs.Factory(_subtotal, takes_self=True), metadata=NOT_PERSONAL)
    total: Money = attrs.field(default=attrs.Factory(_total, takes_self=True), metadata=NOT_PERSONAL)
    shipments: tuple[Shipment, ...] = attrs.field(default=(), metadata=NESTED)
    returns: tuple[Return, ...] = attrs.field(default=(), metadata=NESTED)
    history: tuple[StatusChange, ...] = attrs.field(default=(), metadata=NESTED)
    metadata: dict[str, Any] = attrs.field(default=attrs.Factory(dict), metadata=PERSONAL)
    updated_at: datetime = attrs.field(default=attrs.Factory(_placed, takes_self=True), metadata=NOT_PERSONAL)
    version: int = attrs.field(default=0, metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        if not trusted():
            self.validate()

    def validate(self) -> None:
        """Check every field and that the parts agree; raises :class:`custdata.ValidationError`."""
        check = Checker()
        check.identifier("id", self.id)
        check.identifier("customer_id", self.customer_id)
        currency_ok = check.text("currency", self.currency, max_length=3)
        if currency_ok:
            try:
                Money.zero(self.currency)
            except ValidationError as exc:
                check.nested("", exc)
                currency_ok = False
        lines_ok = check.instances("lines", self.lines, OrderLine)
        if lines_ok and not self.lines:
            check.add("lines", "must hold at least one line")
        ids = [line.id for line in self.lines] if lines_ok else []
        if len(set(ids)) != len(ids):
            check.add("lines", "two lines share an id")
        check.timestamp("placed_at", self.placed_at)
        check.enum("status", self.status, OrderStatus)
        check.instance("external_ref", self.external_ref, ExternalRef, optional=True)
        check.instance("shipping_address", self.shipping_address, Address, optional=True)
        check.boolean("taxes_included", self.taxes_included)
        money_ok = True
        for name in ("shipping", "tax", "discount", "subtotal", "total"):
            value = getattr(self, name)
            if not check.instance(name, value, Money):
                money_ok = False
            elif currency_ok and value.currency != self.currency:
                check.add(
                    f"{name}.currency", f"must be the order currency {self.currency}", ErrorCode.CURRENCY_MISMATCH
                )
                money_ok = False
            elif value.amount < 0:
                check.add(name, "must not be negative", ErrorCode.OUT_OF_RANGE)
        if lines_ok and currency_ok:
            for i, line in enumerate(self.lines):
                if line.unit_price.currency != self.currency:
                    check.add(
                        f"lines[{i}].unit_price.currency",
                        f"must be the order currency {self.currency}",
                        ErrorCode.CURRENCY_MISMATCH,
                    )
                    money_ok = False
                else:
                    try:
                        line.total  # noqa: B018 - computed for its check (a line built trusted skipped it)
                    except ValidationError as exc:
                        check.add(f"lines[{i}].quantity", f"times the unit price {exc.problems[0].message}")
                        money_ok = False
        if money_ok and lines_ok and currency_ok and self.lines:
            self._check_totals(check)
        shipments_ok = check.instances("shipments", self.shipments, Shipment)
        returns_ok = check.instances("returns", self.returns, Return)
        check.instances("history", self.history, StatusChange)
        if lines_ok and shipments_ok and returns_ok:
            self._check_quantities(check, {line.id: line.quantity for line in self.lines})
        check.json_object("metadata", self.metadata)
        if check.timestamp("updated_at", self.updated_at) and isinstance(self.placed_at, datetime):
            if self.placed_at.tzinfo is not None and self.updated_at < self.placed_at:
                check.add("updated_at", "is earlier than placed_at")
        check.integer("version", self.version, minimum=0)
        check.done()
        self.id, self.customer_id = to_order_id(self.id), to_customer_id(self.customer_id)

    def _check_totals(self, check: Checker) -> None:
        try:
            subtotal = _line_sum(self.lines, self.currency)
        except ValidationError as exc:
            check.add("subtotal", f"the sum of the lines {exc.problems[0].message}")
            return
        if self.subtotal != subtotal:
            check.add("subtotal", "does not equal the sum of the lines")
            return
        try:
            total = _sum_total(self.subtotal, self.shipping, self.tax, self.discount, self.taxes_included)
        except ValidationError as exc:
            check.add("total", f"subtotal + shipping + tax - discount {exc.problems[0].message}")
            return
        if self.total != total:
            check.add("total", "does not equal subtotal + shipping + tax - discount")

    def _check_quantities(self, check: Checker, ordered: dict[str, int]) -> None:
        if len({s.id for s in self.shipments}) != len(self.shipments):
            check.add("shipments", "two shipments share an id")
        shipped: Counter[str] = Counter()
        for i, shipment in enumerate(self.shipments):
            for line_id, qty in shipment.lines.items():
                if line_id not in ordered:
                    check.add(f"shipments[{i}].lines", f"names line {line_id!r}, which the order does not have")
                shipped[line_id] += qty
        for line_id, qty in shipped.items():
            if line_id in ordered and qty > ordered[line_id]:
                check.add("shipments", f"ship {qty} of line {line_id!r}, but only {ordered[line_id]} were ordered")
        if len({r.id for r in self.returns}) != len(self.returns):
            check.add("returns", "two returns share an id")
        returned: Counter[str] = Counter()
        for i, ret in enumerate(self.returns):
            for j, line in enumerate(ret.lines):
                if line.line_id not in ordered:
                    check.add(f"returns[{i}].lines[{j}].line_id", "names a line the order does not have")
                elif ret.status in _OPEN_RETURNS:
                    returned[line.line_id] += line.quantity
            if ret.refund is not None and ret.refund.currency != self.currency:
                check.add(
                    f"returns[{i}].refund.currency",
                    f"must be the order currency {self.currency}",
                    ErrorCode.CURRENCY_MISMATCH,
                )
        for line_id, qty in returned.items():
            if qty > ordered[line_id]:
                check.add("returns", f"return {qty} of line {line_id!r}, but only {ordered[line_id]} were ordered")

    # -- behaviour --------------------------------------------------------------------------------

    def can_transition(self, status: OrderStatus) -> bool:
        return status in ORDER_TRANSITIONS[self.status]

    def transition(self, status: OrderStatus | str, at: datetime) -> None:
        """Move to ``status`` at time ``at``, recording it in ``history``, without raising any event.

        Deprecated: use the command methods, which raise the order's events (:meth:`pay`, :meth:`pack`,
        :meth:`cancel`; :meth:`ship`, :meth:`carrier_update` and :meth:`deliver` for the parcels' statuses), or
        :func:`custdata.lifecycle.apply`. Raises :class:`custdata.InvalidTransitionError` when the table does
        not allow the move (a repeated or stale move included).
        """
        warnings.warn(
            "Order.transition() changes the status without raising the order's events; use Order.pay(), "
            "Order.pack(), Order.cancel(), Order.ship(), Order.carrier_update(), Order.deliver() "
            "or custdata.lifecycle.apply() instead",
            DeprecationWarning,
            stacklevel=2,
        )
        target = OrderStatus(status)
        _check_allowed(self.status, target)
        check_command_arguments(at=at)
        draft = _Draft(self)
        draft.move(target, at)
        draft.commit()

    # -- commands: each changes the order in place (all or nothing) and returns the events it raised --------

    def place(self) -> tuple[OrderEvent, ...]:
        """Announce the order (once it is stored): records ``placed`` in the history and raises
        :class:`OrderPlaced`; nothing the second time."""
        draft = _Draft(self)
        if not any(entry.status == _S.PLACED for entry in draft.history):
            draft.history.insert(0, StatusChange(_S.PLACED, self.placed_at))
            draft.emit(OrderPlaced, self.placed_at, total=self.total, item_count=self.item_count)
        return draft.commit()

    def pay(self, at: datetime) -> tuple[OrderEvent, ...]:
        """The payment went through at ``at``: raises :class:`OrderPaid` (nothing when already paid or further on)."""
        check_command_arguments(at=at)
        draft = _Draft(self)
        if draft.request(_S.PAID, at):
            draft.emit(OrderPaid, at)
        return draft.commit()

    def pack(self, at: datetime) -> tuple[OrderEvent, ...]:
        """The warehouse packed the order: raises :class:`OrderPacked` (nothing once the order has shipped)."""
        check_command_arguments(at=at)
        draft = _Draft(self)
        if draft.request(_S.PACKED, at):
            draft.emit(OrderPacked, at)
        return draft.commit()

    def cancel(self, at: datetime, reason: str | None = None) -> tuple[OrderEvent, ...]:
        """Cancel the order (until it ships): raises :class:`OrderCancelled`; nothing when already cancelled."""
        check_command_arguments(at=at, reason=reason, optional={"reason"})
        draft = _Draft(self)
        if draft.request(_S.CANCELLED, at):
            draft.emit(OrderCancelled, at, reason=reason)
        return draft.commit()

    def add_shipment(self, shipment: Shipment) -> tuple[OrderEvent, ...]:
        """A parcel exists (a label was bought) but has not left yet; raises :class:`OrderPacked` when its
        tracking events show a label on a paid order."""
        check_command_arguments(shipment=shipment)
        draft = _Draft(self)
        draft.check_can_ship()
        for existing in draft.shipments:
            if existing.id == shipment.id:
                if existing == shipment:
                    return draft.commit()
                raise ValidationError.single("shipment.id", "is taken by another shipment of this order")
        at = max((e.happened_at for e in shipment.events), default=self.updated_at)
        draft.shipments.append(shipment)
        draft.progress(at, {shipment.id: 0}, None)
        return draft.commit()

    def ship(self, shipment: Shipment, at: datetime) -> tuple[OrderEvent, ...]:
        """A parcel left with the carrier at ``at`` (its ``shipped_at`` is set to ``at`` unless it has one):
        raises :class:`OrderShipped`. A parcel with the id of one added earlier replaces its carrier and tracking
        details and keeps its events."""
        check_command_arguments(shipment=shipment, at=at)
        draft = _Draft(self)
        draft.check_can_ship()
        new = shipment if shipment.shipped_at is not None else attrs.evolve(shipment, shipped_at=at)
        index = draft.find_shipment(new.id)
        if index is None:
            draft.shipments.append(new)
            draft.progress(at, {new.id: 0}, None)
            return draft.commit()
        old = draft.shipments[index]
        events = old.events + tuple(e for e in new.events if e not in old.events)
        merged = attrs.evolve(new, events=events, shipped_at=old.shipped_at or new.shipped_at)
        if merged != old:
            draft.shipments[index] = merged
            draft.progress(at, {new.id: shipment_stage(old)}, None)
        return draft.commit()

    def carrier_update(self, shipment_id: str, event: TrackingEvent) -> tuple[OrderEvent, ...]:
        """A carrier's tracking event for one of the parcels: kept on the parcel, and the status follows the
        parcels forward. Raises :class:`OrderShipped`, :class:`OutForDelivery`, :class:`ShipmentDelivered`,
        :class:`DeliveryDelayed` or :class:`DeliveryFailed` when it is news; a late or repeated report raises
        nothing."""
        check_command_arguments(shipment_id=shipment_id, event=event)
        draft = _Draft(self)
        index = draft.shipment_index(shipment_id)
        before = draft.record(index, event)
        if before is not None:
            draft.touch(event.happened_at)
            if draft.status in _SHIPPING:
                draft.progress(event.happened_at, {shipment_id: before}, event)
        return draft.commit()

    def deliver(self, at: datetime, shipment_id: str | None = None) -> tuple[OrderEvent, ...]:
        """The parcel ``shipment_id``, or every parcel not yet delivered, arrived at ``at``: raises
        :class:`ShipmentDelivered` per parcel."""
        check_command_arguments(at=at, shipment_id=shipment_id, optional={"shipment_id"})
        draft = _Draft(self)
        if shipment_id is not None:
            indexes = [draft.shipment_index(shipment_id)]
        elif draft.shipments:
            indexes = [i for i, s in enumerate(draft.shipments) if shipment_stage(s) < RANK[_S.DELIVERED]]
        else:
            raise ValidationError.single("shipment_id", "the order has no shipment to deliver: ship it first")
        before: dict[str, int] = {}
        for index in indexes:
            if shipment_stage(draft.shipments[index]) >= RANK[_S.DELIVERED]:
                continue
            stage = draft.record(index, TrackingEvent(TrackingStatus.DELIVERED, at))
            if stage is not None:
                before[draft.shipments[index].id] = stage
        if before:
            draft.touch(at)
            if draft.status in _SHIPPING:
                draft.progress(at, before, None)
        return draft.commit()

    def flag_address_invalid(
        self, at: datetime, shipment_id: str | None = None, detail: str | None = None
    ) -> tuple[OrderEvent, ...]:
        """The shipping address is unusable (found by the carrier for ``shipment_id``, or before shipping):
        raises :class:`DeliveryFailed` with ``problem`` ``address_invalid``, once per parcel (or per order)."""
        check_command_arguments(at=at, shipment_id=shipment_id, detail=detail, optional={"shipment_id", "detail"})
        draft = _Draft(self)
        if draft.status == _S.CANCELLED:
            return draft.commit()
        shipment: Shipment | None = None
        if shipment_id is not None:
            index = draft.shipment_index(shipment_id)
            if shipment_stage(draft.shipments[index]) >= RANK[_S.DELIVERED]:
                return draft.commit()
            if draft.record(index, TrackingEvent(TrackingStatus.FAILURE, at, message=detail)) is None:
                return draft.commit()
            shipment = draft.shipments[index]
        elif draft.status == _S.DELIVERED:
            return draft.commit()
        draft.touch(at)
        draft.emit(
            DeliveryFailed,
            at,
            problem=DeliveryProblem.ADDRESS_INVALID,
            shipment_id=None if shipment is None else shipment.id,
            carrier=None if shipment is None else shipment.carrier,
            tracking_url=None if shipment is None else shipment.tracking_url,
            detail=detail,
        )
        return draft.commit()

    def request_return(self, ret: Return) -> tuple[OrderEvent, ...]:
        """The customer asks to send lines back (once the order has shipped): raises :class:`ReturnRequested`."""
        check_command_arguments(ret=ret)
        draft = _Draft(self)
        for existing in draft.returns:
            if existing.id == ret.id:
                if existing == ret:
                    return draft.commit()
                raise ValidationError.single("ret.id", "is taken by another return of this order")
        if draft.status not in _RETURNABLE:
            raise ValidationError.single("status", f"is {draft.status.value}: returns open once the order has shipped")
        draft.returns.append(ret)
        draft.touch(ret.requested_at)
        count = sum(line.quantity for line in ret.lines)
        draft.emit(ReturnRequested, ret.requested_at, return_id=ret.id, status=ret.status, item_count=count)
        return draft.commit()

    def update_return(self, return_id: str, status: ReturnStatus, at: datetime) -> tuple[OrderEvent, ...]:
        """A return moves on, following :data:`RETURN_TRANSITIONS`: raises :class:`ReturnUpdated`; a stale
        move (back along requested, open, received, closed) raises nothing."""
        check_command_arguments(return_id=return_id, status=status, at=at)
        draft = _Draft(self)
        index = draft.return_index(return_id)
        ret = draft.returns[index]
        current, target = ret.status, status
        if current == target:
            return draft.commit()
        if target not in RETURN_TRANSITIONS[current]:
            if current in _RETURN_RANK and target in _RETURN_RANK and _RETURN_RANK[target] < _RETURN_RANK[current]:
                return draft.commit()
            raise InvalidTransitionError(current.value, target.value, (s.value for s in RETURN_TRANSITIONS[current]))
        draft.returns[index] = attrs.evolve(ret, status=target, updated_at=at)
        draft.touch(at)
        draft.emit(ReturnUpdated, at, return_id=ret.id, status=target)
        return draft.commit()

    def refund(self, return_id: str, amount: Money, at: datetime) -> tuple[OrderEvent, ...]:
        """Money goes back for a return (once, never past the order total): raises :class:`RefundIssued`."""
        check_command_arguments(return_id=return_id, amount=amount, at=at)
        draft = _Draft(self)
        index = draft.return_index(return_id)
        ret = draft.returns[index]
        if amount.currency != self.currency:
            raise ValidationError.single(
                "amount.currency", f"must be the order currency {self.currency}", ErrorCode.CURRENCY_MISMATCH
            )
        if ret.refund is not None:
            if ret.refund == amount:
                return draft.commit()
            raise ValidationError.single("amount", "differs from the refund already issued for this return")
        refunded = sum((r.refund.amount for r in draft.returns if r.refund is not None), amount.amount)
        if refunded > self.total.amount:
            raise ValidationError.single("amount", "would take the refunds of this order past its total")
        draft.returns[index] = attrs.evolve(ret, refund=amount, updated_at=at)
        draft.touch(at)
        draft.emit(RefundIssued, at, return_id=ret.id, amount=amount)
        return draft.commit()

    # -- queries ------------------------------------------------------------------------------------------

    def line(self, line_id: str) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise KeyError(line_id)

    def returned_quantities(self) -> dict[str, int]:
        """Quantities returned (or on their way back) per line id."""
        counts: Counter[str] = Counter()
        for ret in self.returns:
            if ret.status in _OPEN_RETURNS:
                for line in ret.lines:
                    counts[line.line_id] += line.quantity
        return dict(counts)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def __repr__(self) -> str:
        return f"Order(id={self.id!r}, status={self.status.value}, total={self.total}, version={self.version})"


# -- the lifecycle rules: one place for the status table, stale changes and what the parcels show -------------

_T = TrackingStatus
_E = TypeVar("_E", bound=OrderEvent)

#: The forward path of an order; cancelled stands aside.
CHAIN: tuple[OrderStatus, ...] = (_S.PLACED, _S.PAID, _S.PACKED, _S.SHIPPED, _S.OUT_FOR_DELIVERY, _S.DELIVERED)
RANK: Mapping[OrderStatus, int] = MappingProxyType({status: i for i, status in enumerate(CHAIN)})

#: The stage of a parcel that each tracking status shows (None: says nothing about progress).
STAGE: Mapping[TrackingStatus, OrderStatus | None] = MappingProxyType(
    {
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
)

_R = ReturnStatus
#: Which return status may follow which; moving back along requested -> open -> received -> closed is stale.
RETURN_TRANSITIONS: Mapping[ReturnStatus, frozenset[ReturnStatus]] = MappingProxyType(
    {
        _R.REQUESTED: frozenset({_R.OPEN, _R.RECEIVED, _R.DECLINED, _R.CANCELLED}),
        _R.OPEN: frozenset({_R.RECEIVED, _R.CLOSED, _R.CANCELLED}),
        _R.RECEIVED: frozenset({_R.CLOSED}),
        _R.CLOSED: frozenset(),
        _R.DECLINED: frozenset(),
        _R.CANCELLED: frozenset(),
    }
)
_RETURN_RANK = {_R.REQUESTED: 0, _R.OPEN: 1, _R.RECEIVED: 2, _R.CLOSED: 3}

_PROBLEMS = {_T.ATTEMPTED_DELIVERY: DeliveryProblem.ATTEMPTED, _T.FAILURE: DeliveryProblem.FAILURE}
_SHIPPING = frozenset({_S.PAID, _S.PACKED, _S.SHIPPED, _S.OUT_FOR_DELIVERY, _S.DELIVERED})
_RETURNABLE = frozenset({_S.SHIPPED, _S.OUT_FOR_DELIVERY, _S.DELIVERED})


def check_command_arguments(*, optional: Collection[str] = (), **arguments: object) -> None:
    """Check the arguments of an order command by their names (``at``, ``shipment_id``, ``amount``, ...), the
    ones in ``optional`` may be None; raises :class:`custdata.ValidationError` naming each bad one.

    The order's command methods and the changes of :mod:`custdata.lifecycle` share these checks.
    """
    check = Checker()
    for name, value in arguments.items():
        may_be_none = name in optional
        if name == "at":
            check.timestamp(name, value, optional=may_be_none)
        elif name in ("shipment_id", "return_id"):
            check.identifier(name, value, optional=may_be_none)
        elif name in ("reason", "detail"):
            check.text(name, value, optional=may_be_none, max_length=2000, multiline=True)
        elif name == "status":
            check.enum(name, value, ReturnStatus, optional=may_be_none)
        elif name == "amount":
            if check.instance(name, value, Money, optional=may_be_none) and isinstance(value, Money):
                if value.amount <= 0:
                    check.add(name, "must be more than zero", ErrorCode.OUT_OF_RANGE)
        elif name in _ARGUMENT_TYPES:
            check.instance(name, value, _ARGUMENT_TYPES[name], optional=may_be_none)
        else:
            raise TypeError(f"an order command has no argument {name!r}")
    check.done()


_ARGUMENT_TYPES: dict[str, type] = {"shipment": Shipment, "event": TrackingEvent, "ret": Return}


def _check_allowed(current: OrderStatus, target: OrderStatus) -> None:
    """Raise :class:`custdata.InvalidTransitionError` unless :data:`ORDER_TRANSITIONS` allows the move."""
    if target not in ORDER_TRANSITIONS[current]:
        raise InvalidTransitionError(current.value, target.value, (s.value for s in ORDER_TRANSITIONS[current]))


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
    shipped: Counter[str] = Counter()
    for shipment in shipments:
        for line_id, quantity in shipment.lines.items():
            shipped[line_id] += quantity
    return all(shipped[line.id] >= line.quantity for line in order.lines)


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


def _details(shipment: Shipment) -> dict[str, Any]:
    return {
        "shipment_id": shipment.id,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "estimated_delivery_at": shipment.estimated_delivery_at,
    }


class _Draft:
    """An order's changing parts while a command is worked out, and the events it raises; nothing touches the
    order until :meth:`commit`, which checks the result as a whole first."""

    def __init__(self, order: Order) -> None:
        self.order = order
        self.status = order.status
        self.history = list(order.history)
        self.shipments = list(order.shipments)
        self.returns = list(order.returns)
        self.updated_at = order.updated_at
        self.events: list[OrderEvent] = []

    # -- status -----------------------------------------------------------------------------------------

    def move(self, target: OrderStatus, at: datetime) -> None:
        """Move to ``target`` as :data:`ORDER_TRANSITIONS` allows (or raise), recording it in the history."""
        _check_allowed(self.status, target)
        self.status = target
        self.history.append(StatusChange(target, at))
        self.touch(at)

    def touch(self, at: datetime) -> None:
        self.updated_at = max(self.updated_at, at)

    def request(self, target: OrderStatus, at: datetime) -> bool:
        """An explicit status change: True when it moved; False when the order is there already or further
        along the chain (stale); :class:`custdata.InvalidTransitionError` when the table forbids it outright."""
        current = self.status
        if current == target:
            return False
        if target not in ORDER_TRANSITIONS[current] and current in RANK and target in RANK:
            if RANK[target] < RANK[current]:
                return False
        self.move(target, at)
        return True

    def follow_parcels(self, at: datetime) -> list[OrderStatus]:
        """Move the status forward to what the parcels show; the statuses passed through, in order."""
        if self.status not in _SHIPPING:
            return []
        goal_rank = derived_rank(self.order, self.shipments)
        if goal_rank <= RANK[self.status]:
            return []
        walked = _path(self.status, CHAIN[goal_rank])
        for status in walked:
            self.move(status, at)
        return walked

    def check_can_ship(self) -> None:
        if self.status not in _SHIPPING:
            allowed = "a paid order" if self.status == _S.PLACED else "an order that is not cancelled"
            raise ValidationError.single("status", f"is {self.status.value}: only {allowed} can get shipments")

    # -- parts --------------------------------------------------------------------------------------------

    def find_shipment(self, shipment_id: str) -> int | None:
        for i, shipment in enumerate(self.shipments):
            if shipment.id == shipment_id:
                return i
        return None

    def shipment_index(self, shipment_id: str) -> int:
        index = self.find_shipment(shipment_id)
        if index is None:
            raise ValidationError.single("shipment_id", "names no shipment of this order")
        return index

    def return_index(self, return_id: str) -> int:
        for i, ret in enumerate(self.returns):
            if ret.id == return_id:
                return i
        raise ValidationError.single("return_id", "names no return of this order")

    def record(self, index: int, event: TrackingEvent) -> int | None:
        """Add ``event`` to a parcel: the parcel's stage before, or None when the event was known already."""
        shipment = self.shipments[index]
        if event in shipment.events:
            return None
        self.shipments[index] = attrs.evolve(shipment, events=(*shipment.events, event))
        return shipment_stage(shipment)

    # -- events -------------------------------------------------------------------------------------------

    def emit(self, cls: type[_E], at: datetime, **fields: Any) -> _E:
        """Raise an event of this order that happened at ``at``."""
        event = cls(order_id=self.order.id, customer_id=self.order.customer_id, occurred_at=at, **fields)
        self.events.append(event)
        return event

    def progress(self, at: datetime, before: dict[str, int], trigger: TrackingEvent | None) -> None:
        """Follow the parcels with the order's status and raise what moved forward; ``before`` holds the
        stages the changed parcels had, ``trigger`` the carrier report that changed them (if one did)."""
        walked = self.follow_parcels(at)
        if walked and walked[-1] == _S.PACKED:
            self.emit(OrderPacked, at)
        for shipment_id, old_rank in before.items():
            shipment = self.shipments[self.shipment_index(shipment_id)]
            if trigger is not None and (trigger.status in _PROBLEMS or trigger.status == _T.DELAYED):
                self.problem(shipment, trigger)
                continue
            new_rank = shipment_stage(shipment)
            if new_rank > old_rank and new_rank >= RANK[_S.SHIPPED]:
                self.stage_event(shipment, new_rank, at)

    def stage_event(self, shipment: Shipment, rank: int, at: datetime) -> ShipmentEvent:
        stage = CHAIN[rank]
        if stage == _S.SHIPPED:
            return self.emit(OrderShipped, at, **_details(shipment))
        if stage == _S.OUT_FOR_DELIVERY:
            latest = shipment.latest_event
            pickup = latest is not None and latest.status == _T.READY_FOR_PICKUP
            return self.emit(OutForDelivery, at, **_details(shipment), pickup=pickup)
        delivered = self.status == _S.DELIVERED
        return self.emit(ShipmentDelivered, at, **_details(shipment), order_delivered=delivered)

    def problem(self, shipment: Shipment, trigger: TrackingEvent) -> None:
        """Raise a delay or failed-delivery notice, unless the parcel arrived or a later report supersedes it."""
        if shipment_stage(shipment) >= RANK[_S.DELIVERED]:
            return
        if any(e.happened_at > trigger.happened_at for e in shipment.events):
            return
        at = trigger.happened_at
        if trigger.status == _T.DELAYED:
            fields = _details(shipment)
            fields["estimated_delivery_at"] = trigger.estimated_delivery_at
            self.emit(DeliveryDelayed, at, **fields, reported_at=at)
            return
        self.emit(
            DeliveryFailed,
            at,
            problem=_PROBLEMS[trigger.status],
            shipment_id=shipment.id,
            carrier=shipment.carrier,
            tracking_url=shipment.tracking_url,
            detail=trigger.message,
        )

    def commit(self) -> tuple[OrderEvent, ...]:
        """Check the result as a whole, then write it to the order and return the events raised (or raise,
        leaving the order untouched)."""
        order = self.order
        changes: dict[str, Any] = {
            "status": self.status,
            "history": tuple(self.history),
            "shipments": tuple(self.shipments),
            "returns": tuple(self.returns),
            "updated_at": self.updated_at,
        }
        if any(getattr(order, name) != value for name, value in changes.items()):
            attrs.evolve(order, **changes)  # runs every check of the model on the would-be order
            for name, value in changes.items():
                setattr(order, name, value)
        return tuple(self.events)
