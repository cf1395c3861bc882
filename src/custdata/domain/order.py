"""Orders, their lines and totals, shipments with tracking events, and returns."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from custdata._errors import InvalidTransitionError, ValidationError
from custdata.domain._checks import Checker, trusted
from custdata.domain.address import Address
from custdata.domain.enums import OrderStatus, ReturnReason, ReturnStatus, TrackingStatus
from custdata.domain.ids import CustomerId, OrderId, to_customer_id, to_order_id
from custdata.domain.money import Money
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
_OPEN_RETURNS = frozenset({ReturnStatus.REQUESTED, ReturnStatus.OPEN, ReturnStatus.RECEIVED, ReturnStatus.CLOSED})


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
            check.add("unit_price", "must not be negative")
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
            check.add("refund", "must not be negative")
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
    Change the status with :meth:`transition`, which enforces :data:`ORDER_TRANSITIONS`.
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
                check.add(f"{name}.currency", f"must be the order currency {self.currency}")
                money_ok = False
            elif value.amount < 0:
                check.add(name, "must not be negative")
        if lines_ok and currency_ok:
            for i, line in enumerate(self.lines):
                if line.unit_price.currency != self.currency:
                    check.add(f"lines[{i}].unit_price.currency", f"must be the order currency {self.currency}")
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
                check.add(f"returns[{i}].refund.currency", f"must be the order currency {self.currency}")
        for line_id, qty in returned.items():
            if qty > ordered[line_id]:
                check.add("returns", f"return {qty} of line {line_id!r}, but only {ordered[line_id]} were ordered")

    # -- behaviour --------------------------------------------------------------------------------

    def can_transition(self, status: OrderStatus) -> bool:
        return status in ORDER_TRANSITIONS[self.status]

    def transition(self, status: OrderStatus | str, at: datetime) -> None:
        """Move to ``status`` at time ``at``, recording it in ``history``.

        Raises :class:`custdata.InvalidTransitionError` when the table does not allow it.
        """
        target = OrderStatus(status)
        if target not in ORDER_TRANSITIONS[self.status]:
            raise InvalidTransitionError(
                self.status.value, target.value, (s.value for s in ORDER_TRANSITIONS[self.status])
            )
        check = Checker()
        if not check.timestamp("at", at):
            check.done()
        self.status = target
        self.history = (*self.history, StatusChange(target, at))
        self.updated_at = max(self.updated_at, at)

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

    def _repr_html_(self) -> str:
        """HTML for Jupyter, personal data masked (see :mod:`custdata.notebook`)."""
        from custdata.notebook.render import to_html

        return to_html(self)
