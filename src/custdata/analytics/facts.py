"""What segments test: a few figures per customer, gathered from orders, activity and profiles as of a time.

:func:`customer_facts` walks each iterable once and keeps running figures per customer, so it can be fed
straight from a store's iterators. Everything after ``as_of`` is ignored, so facts describe the customer
as they stood at that moment and results do not change as new data arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import each, moment
from custdata.analytics._results import NOT_IN_RECORDS, Table
from custdata.analytics.metrics import money, ratio
from custdata.domain import ActivityEvent, Customer, CustomerId, Money, Order
from custdata.domain.money import EXACT
from custdata.domain.order_rules import is_sold, refunded, returned_items

#: Segment's e-commerce events that put something in a cart or start a checkout.
CART_EVENTS = frozenset({"Product Added", "Checkout Started", "Cart Abandoned"})
#: Segment's e-commerce events that mean a purchase was made.
PURCHASE_EVENTS = frozenset({"Order Completed"})


@attrs.frozen
class CustomerFacts:
    """One customer's figures as of ``as_of``. ``revenue`` and ``refunds`` are per currency; ``countries``
    holds the shipping countries of their orders and of their default shipping address.

    ``customer`` is the profile when one was given (for predicates on tags, groups, locale and so on); it
    is left out of records and repr, so personal data never shows there.
    """

    customer_id: CustomerId
    as_of: datetime
    orders: int = 0
    cancelled_orders: int = 0
    revenue: Mapping[str, Money] = attrs.field(factory=dict, hash=False)
    refunds: Mapping[str, Money] = attrs.field(factory=dict, hash=False)
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    items: int = 0
    items_returned: int = 0
    countries: frozenset[str] = frozenset()
    last_cart_at: datetime | None = None
    last_purchase_at: datetime | None = None
    customer: Customer | None = attrs.field(default=None, repr=False, eq=False, metadata=NOT_IN_RECORDS)

    def spent(self, currency: str) -> Money:
        """Revenue less refunds in ``currency`` (zero when the customer never paid in it)."""
        zero = Money.zero(currency)
        return self.revenue.get(zero.currency, zero) - self.refunds.get(zero.currency, zero)

    @property
    def days_since_last_order(self) -> float | None:
        if self.last_order_at is None:
            return None
        return (self.as_of - self.last_order_at) / timedelta(days=1)

    @property
    def return_rate(self) -> float | None:
        """Items returned / items bought; None before the first order."""
        return ratio(self.items_returned, self.items)


@attrs.frozen(repr=False)
class CustomerFactsTable(Table[CustomerFacts]):
    """Facts for every customer seen in any input, sorted by customer id."""

    row_type = CustomerFacts

    def get(self, customer_id: str) -> CustomerFacts | None:
        for row in self.rows:
            if row.customer_id == customer_id:
                return row
        return None

    def by_id(self) -> dict[CustomerId, CustomerFacts]:
        return {row.customer_id: row for row in self.rows}


class _Builder:
    __slots__ = (
        "cancelled",
        "cart",
        "countries",
        "customer",
        "first",
        "items",
        "last",
        "orders",
        "purchase",
        "refunds",
        "returned",
        "revenue",
    )

    def __init__(self) -> None:
        self.orders = self.cancelled = self.items = self.returned = 0
        self.revenue: dict[str, Decimal] = {}
        self.refunds: dict[str, Decimal] = {}
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.cart: datetime | None = None
        self.purchase: datetime | None = None
        self.countries: set[str] = set()
        self.customer: Customer | None = None

    def order(self, order: Order, as_of: datetime) -> None:
        if not is_sold(order):
            self.cancelled += 1
            return
        self.orders += 1
        currency = order.currency
        self.revenue[currency] = EXACT.add(self.revenue.get(currency, Decimal(0)), order.total.amount)
        self.refunds[currency] = EXACT.add(self.refunds.get(currency, Decimal(0)), refunded(order, as_of))
        at = order.placed_at
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)
        self.purchase = at if self.purchase is None else max(self.purchase, at)
        self.items += order.item_count
        self.returned += returned_items(order, as_of)
        if order.shipping_address is not None:
            self.countries.add(order.shipping_address.country_code)

    def build(self, customer_id: CustomerId, as_of: datetime) -> CustomerFacts:
        countries = set(self.countries)
        if self.customer is not None and self.customer.shipping_address is not None:
            countries.add(self.customer.shipping_address.country_code)
        return CustomerFacts(
            customer_id=customer_id,
            as_of=as_of,
            orders=self.orders,
            cancelled_orders=self.cancelled,
            revenue={c: money(a, c) for c, a in sorted(self.revenue.items())},
            refunds={c: money(a, c) for c, a in sorted(self.refunds.items())},
            first_order_at=self.first,
            last_order_at=self.last,
            items=self.items,
            items_returned=self.returned,
            countries=frozenset(countries),
            last_cart_at=self.cart,
            last_purchase_at=self.purchase,
            customer=self.customer,
        )


def customer_facts(
    *,
    as_of: datetime,
    orders: Iterable[Order] = (),
    activity: Iterable[ActivityEvent] = (),
    customers: Iterable[Customer] = (),
    cart_events: Iterable[str] = CART_EVENTS,
    purchase_events: Iterable[str] = PURCHASE_EVENTS,
) -> CustomerFactsTable:
    """Facts for every customer that appears in ``orders``, ``activity`` or ``customers``, as of ``as_of``.

    Orders placed, returns requested, events that occurred and customers created after ``as_of`` are
    ignored; so is anonymous activity. An order counts as a purchase for :attr:`CustomerFacts.last_purchase_at`, as does any
    activity event named in ``purchase_events``; events named in ``cart_events`` set ``last_cart_at``.
    """
    moment("as_of", as_of)
    carts, purchases = _names("cart_events", cart_events), _names("purchase_events", purchase_events)
    builders: dict[CustomerId, _Builder] = {}
    for order in each(orders, Order, "orders"):
        if order.placed_at <= as_of:
            builders.setdefault(order.customer_id, _Builder()).order(order, as_of)
    for event in each(activity, ActivityEvent, "activity"):
        if event.customer_id is None or event.occurred_at > as_of:
            continue
        builder = builders.setdefault(event.customer_id, _Builder())
        at = event.occurred_at
        if event.event in carts:
            builder.cart = at if builder.cart is None else max(builder.cart, at)
        elif event.event in purchases:
            builder.purchase = at if builder.purchase is None else max(builder.purchase, at)
    for customer in each(customers, Customer, "customers"):
        if customer.created_at <= as_of:
            builders.setdefault(customer.id, _Builder()).customer = customer
    return CustomerFactsTable(tuple(builders[key].build(key, as_of) for key in sorted(builders)))


def _names(path: str, names: Iterable[str]) -> frozenset[str]:
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValidationError.single(path, "must be a collection of event names")
    result = frozenset(names)
    if not result or not all(isinstance(n, str) and n for n in result):
        raise ValidationError.single(path, "must hold at least one event name, each a non-empty string")
    return result


def iter_facts(facts: Iterable[CustomerFacts]) -> Iterator[CustomerFacts]:
    """The items of ``facts``, checked to be :class:`CustomerFacts` (a table passes through as its rows)."""
    if isinstance(facts, CustomerFactsTable):
        return iter(facts.rows)
    return each(facts, CustomerFacts, "facts")
