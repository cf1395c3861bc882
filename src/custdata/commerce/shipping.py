"""Shipping options by customer: which ways to ship a cart to offer at checkout, each with the reason for it.

:meth:`ShippingPolicy.options` is a pure function of a :class:`ShippingCustomer` (the customer's segment and
value, worked out beforehand: :class:`ShippingLookup` reads them from a store) and a :class:`Cart` (lines,
destination, and whether that address was flagged invalid). The rules, in order:

1. **An address flagged invalid gets no option** (``FlagAddressInvalid`` raised ``DeliveryFailed`` with
   problem ``address_invalid`` for an order shipped there; :class:`InvalidAddresses` collects those): the
   checkout asks for a corrected address instead, and :attr:`ShippingOffer.reason` says so.
2. **Standard shipping is always offered** otherwise: free when the cart's subtotal reaches
   ``free_standard_from`` in the cart's currency, else at the ``standard`` price.
3. **Express** is offered where ``express_countries`` allows (every country when None): free for a customer in
   one of ``free_express_segments`` or whose value reaches ``free_express_from`` (in the value's currency),
   else at the ``express`` price when the policy has one in the cart's currency.

Prices are :class:`~custdata.Money` per currency; every option is priced in the cart's currency, and a cart in
a currency with no standard price is a :class:`~custdata.ValidationError` (a gap in the configuration, never
a silent free delivery). Options come in a fixed order (standard, express), so the same input gives the same
offer. Reasons are fixed sentences that quote only the policy's own settings (segment names, thresholds),
never the customer's data: a reason can be logged or shown on any screen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from custdata._errors import NotFoundError, ValidationError
from custdata.analytics import RfmTable, StoreAnalytics
from custdata.domain import Address, CustomerId, Money
from custdata.domain.checks import Checker
from custdata.domain.order import Order
from custdata.domain.order_events import DeliveryFailed, DeliveryProblem, OrderEvent
from custdata.domain.personal import LINKED, NOT_PERSONAL, PERSONAL, masked_repr
from custdata.storage.merges import resolve
from custdata.storage.ports import Store

#: The codes of the options, in the order they are offered.
STANDARD = "standard"
EXPRESS = "express"


def _money_map(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Money)):
        items = list(value)
        if all(isinstance(v, Money) for v in items):
            return {v.currency: v for v in items}
    return value


def _check_prices(check: Checker, path: str, value: object) -> None:
    if not isinstance(value, dict):
        check.add(path, "must map currency codes to Money")
        return
    for currency, money in value.items():
        if not isinstance(money, Money) or money.currency != currency:
            check.add(f"{path}[{currency!r}]", "must be Money in that currency")
        elif money.amount < 0:
            check.add(f"{path}[{currency!r}]", "must not be negative")


def _lines(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return value


@attrs.frozen
class CartLine:
    """One line of a cart: a product, how many, and the unit price."""

    sku: str = attrs.field(metadata=NOT_PERSONAL)
    quantity: int = attrs.field(metadata=NOT_PERSONAL)
    unit_price: Money = attrs.field(metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.text("sku", self.sku, max_length=255)
        check.integer("quantity", self.quantity, minimum=1)
        check.instance("unit_price", self.unit_price, Money)
        if isinstance(self.unit_price, Money) and self.unit_price.amount < 0:
            check.add("unit_price", "must not be negative")
        check.done()

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


@attrs.frozen(repr=False)
class Cart:
    """What the customer is about to order: lines in one currency, where it goes, and whether that address was
    flagged invalid (see :class:`InvalidAddresses`)."""

    lines: tuple[CartLine, ...] = attrs.field(converter=_lines, metadata=NOT_PERSONAL)
    destination: Address = attrs.field(metadata=PERSONAL)
    address_flagged_invalid: bool = attrs.field(default=False, metadata=NOT_PERSONAL)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        check = Checker()
        if not isinstance(self.lines, tuple) or not self.lines:
            check.add("lines", "must be a non-empty list of CartLine")
        else:
            currencies = {line.unit_price.currency for line in self.lines if isinstance(line, CartLine)}
            for i, line in enumerate(self.lines):
                if not isinstance(line, CartLine):
                    check.add(f"lines[{i}]", f"must be a CartLine, not {type(line).__name__}")
                elif len(currencies) > 1:
                    check.add(f"lines[{i}].unit_price", "must be in the cart's one currency")
        check.instance("destination", self.destination, Address)
        check.boolean("address_flagged_invalid", self.address_flagged_invalid)
        check.done()

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency

    @property
    def subtotal(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.total
        return total


@attrs.frozen
class ShippingCustomer:
    """What the policy knows of the customer: an RFM or rule-based segment name, and a value (predicted or
    historic lifetime value). Both may be unknown (a guest, a first order)."""

    segment: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    value: Money | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        check = Checker()
        if self.segment is not None:
            check.text("segment", self.segment, max_length=100)
        check.instance("value", self.value, Money, optional=True)
        check.done()


@attrs.frozen
class ShippingOption:
    """One way to ship: its code (``standard``, ``express``), price in the cart's currency, and why."""

    code: str = attrs.field(metadata=NOT_PERSONAL)
    price: Money = attrs.field(metadata=NOT_PERSONAL)
    reason: str = attrs.field(metadata=NOT_PERSONAL)


@attrs.frozen
class ShippingOffer:
    """The options to offer (none when the address was flagged invalid, with ``reason`` saying why)."""

    options: tuple[ShippingOption, ...] = attrs.field(metadata=NOT_PERSONAL)
    reason: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)


_INVALID = "no shipping: the destination address was flagged invalid on an earlier delivery; ask for a corrected one"


def _name_set(value: Any) -> Any:
    """A frozenset of ``value`` when it is a collection (not text); anything else is left for the checks."""
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return frozenset(value)


def _eur(amount: str) -> dict[str, Money]:
    return {"EUR": Money(amount, "EUR")}


@attrs.frozen(kw_only=True)
class ShippingPolicy:
    """The configurable rules of the module docstring; every price and threshold per currency."""

    standard: dict[str, Money] = attrs.field(metadata=NOT_PERSONAL, factory=lambda: _eur("4.90"), converter=_money_map)
    express: dict[str, Money] = attrs.field(metadata=NOT_PERSONAL, factory=lambda: _eur("9.90"), converter=_money_map)
    free_standard_from: dict[str, Money] = attrs.field(
        metadata=NOT_PERSONAL, factory=lambda: _eur("50.00"), converter=_money_map
    )
    free_express_segments: frozenset[str] = attrs.field(
        default=frozenset({"Champions"}), converter=_name_set, metadata=NOT_PERSONAL
    )
    free_express_from: dict[str, Money] = attrs.field(
        metadata=NOT_PERSONAL, factory=lambda: _eur("1000.00"), converter=_money_map
    )
    express_countries: frozenset[str] | None = attrs.field(default=None, converter=_name_set, metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        check = Checker()
        for name in ("standard", "express", "free_standard_from", "free_express_from"):
            _check_prices(check, name, getattr(self, name))
        if not isinstance(self.free_express_segments, frozenset) or not all(
            isinstance(s, str) and s.strip() for s in self.free_express_segments
        ):
            check.add("free_express_segments", "must be a set of segment names")
        if self.express_countries is not None and not (
            isinstance(self.express_countries, frozenset)
            and all(isinstance(c, str) and len(c) == 2 and c.isupper() for c in self.express_countries)
        ):
            check.add("express_countries", "must be None or a set of upper-case country codes such as 'DE'")
        check.done()

    def options(self, customer: ShippingCustomer, cart: Cart) -> ShippingOffer:
        """The options for ``cart`` and ``customer``, by the rules of the module docstring."""
        if not isinstance(customer, ShippingCustomer):
            raise ValidationError.single("customer", f"must be a ShippingCustomer, not {type(customer).__name__}")
        if not isinstance(cart, Cart):
            raise ValidationError.single("cart", f"must be a Cart, not {type(cart).__name__}")
        if cart.address_flagged_invalid:
            return ShippingOffer((), _INVALID)
        currency = cart.currency
        standard = self.standard.get(currency)
        if standard is None:
            raise ValidationError.single("cart.currency", f"the shipping policy has no standard price in {currency}")
        subtotal = cart.subtotal
        threshold = self.free_standard_from.get(currency)
        if threshold is not None and subtotal >= threshold:
            options = [ShippingOption(STANDARD, Money.zero(currency), f"free standard shipping from {threshold}")]
        else:
            options = [ShippingOption(STANDARD, standard, "standard shipping")]
        express = self._express(customer, cart)
        if express is not None:
            options.append(express)
        return ShippingOffer(tuple(options))

    def _express(self, customer: ShippingCustomer, cart: Cart) -> ShippingOption | None:
        if self.express_countries is not None and cart.destination.country_code not in self.express_countries:
            return None
        currency = cart.currency
        if customer.segment is not None and customer.segment in self.free_express_segments:
            return ShippingOption(EXPRESS, Money.zero(currency), f"free express for the {customer.segment} segment")
        value = customer.value
        if value is not None:
            threshold = self.free_express_from.get(value.currency)
            if threshold is not None and value >= threshold:
                reason = f"free express for customers valued at {threshold} or more"
                return ShippingOption(EXPRESS, Money.zero(currency), reason)
        price = self.express.get(currency)
        return None if price is None else ShippingOption(EXPRESS, price, "express shipping")


# -- addresses flagged invalid ---------------------------------------------------------------------------------


def address_key(address: Address) -> str:
    """A digest of where ``address`` delivers to (street lines, city, postal code, country; not the name): two
    orders to the same place share it. A digest of an address is still personal data: keep it no longer than
    the orders it came from."""
    if not isinstance(address, Address):
        raise ValidationError.single("address", f"must be an Address, not {type(address).__name__}")
    parts = (
        address.street_address_1,
        address.street_address_2,
        address.city,
        address.city_area,
        address.postal_code,
        address.country_code,
        address.country_area,
    )
    text = "\x1f".join(" ".join(p.casefold().split()) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.define
class InvalidAddresses:
    """The destinations flagged invalid: collected from the ``DeliveryFailed`` events with problem
    ``address_invalid`` that ``FlagAddressInvalid`` raises, and the orders they are about."""

    keys: set[str] = attrs.field(factory=set, metadata=LINKED)  # digests of addresses

    def observe(self, events: Iterable[OrderEvent], orders: Mapping[str, Order]) -> None:
        """Note the shipping addresses of the orders (by id) whose address ``events`` flagged invalid."""
        for event in events:
            if isinstance(event, DeliveryFailed) and event.problem == DeliveryProblem.ADDRESS_INVALID:
                order = orders.get(str(event.order_id))
                if order is not None and order.shipping_address is not None:
                    self.keys.add(address_key(order.shipping_address))

    def __contains__(self, address: object) -> bool:
        return isinstance(address, Address) and address_key(address) in self.keys


# -- reading the customer from a store ---------------------------------------------------------------------------


class ShippingLookup:
    """The :class:`ShippingCustomer` of a stored customer: its RFM segment in ``currency`` as of ``as_of``
    (worked out once over the whole store, pushed down where the store can) and its value: ``values`` (such as
    predicted CLV from :func:`custdata.analytics.predict_clv`) when given, else its historic net spend.

    A merged customer is looked up as the survivor it was merged into; a customer whose data was erased, an
    unknown one and a guest without orders get no segment and no value (standard treatment).
    """

    def __init__(
        self,
        store: Store,
        *,
        as_of: datetime,
        currency: str,
        values: Mapping[str, Money] | None = None,
    ) -> None:
        self._store = store
        self._as_of = as_of
        self._currency = currency
        self._values = {str(k): v for k, v in (values or {}).items()}
        self._table: RfmTable | None = None

    def _rfm(self) -> RfmTable:
        if self._table is None:
            self._table = StoreAnalytics(self._store).rfm(as_of=self._as_of, currency=self._currency)
        return self._table

    def customer(self, customer_id: str) -> ShippingCustomer:
        """What the policy should know of ``customer_id``."""
        with self._store.unit_of_work() as uow:
            try:
                found = resolve(uow, customer_id)
            except NotFoundError:
                return ShippingCustomer()
        if found.redacted_at is not None:
            return ShippingCustomer()
        score = next((s for s in self._rfm() if s.customer_id == CustomerId(str(found.id))), None)
        value = self._values.get(str(found.id))
        if value is None and score is not None:
            value = score.monetary
        return ShippingCustomer(segment=None if score is None else score.segment.value, value=value)


__all__ = [
    "EXPRESS",
    "STANDARD",
    "Cart",
    "CartLine",
    "InvalidAddresses",
    "ShippingCustomer",
    "ShippingLookup",
    "ShippingOffer",
    "ShippingOption",
    "ShippingPolicy",
    "address_key",
]
