"""The aggregate-query port: per-customer order figures that a store computes itself, as plain rows.

Analytics over a whole store (:class:`custdata.analytics.StoreAnalytics`: historic CLV, order metrics, RFM)
needs, per customer and currency, how many orders counted, their revenue, the refunds subtracted from it
and the first and last order; plus how many orders were cancelled. A store that can add these up where its
data lives (an SQL ``GROUP BY``) offers the port on its units of work, as ``uow.aggregates``:

.. code-block:: python

    with store.unit_of_work() as uow:
        queries = aggregates_of(uow)  # None when the store does not offer the port
        if queries is not None:
            figures = queries.order_figures(as_of=as_of)

Reading happens inside the unit of work, so its own uncommitted writes count. The SQLite and PostgreSQL
stores offer the port (:mod:`custdata.storage.sql.aggregates`); the memory store does not, and analytics then
streams the orders page by page through :func:`order_figures`, the reference: whatever a store returns from
the port must equal ``order_figures`` over all its orders. The rules (which orders count, what a refund
subtracts) are those of :mod:`custdata.domain.order_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, runtime_checkable

import attrs

from custdata._errors import ValidationError
from custdata.domain import CustomerId, Order
from custdata.domain import order_rules as rules
from custdata.domain.money import EXACT
from custdata.domain.personal import IDENTIFIER, NOT_PERSONAL
from custdata.storage.ports import UnitOfWork


class CustomerOrderFigures(NamedTuple):
    """One customer's figures in one currency: the orders that count (sold, placed by ``as_of``), the exact sum
    of their totals, the exact sum of the refunds subtracted from them, and when the first and last was placed.
    """

    customer_id: CustomerId
    currency: str
    orders: int
    revenue: Decimal
    refunds: Decimal
    first_order_at: datetime
    last_order_at: datetime


@attrs.frozen
class OrderAggregates:
    """What :meth:`AggregateQueries.order_figures` returns.

    ``customers`` holds one row per customer and currency with at least one order that counts, sorted by
    customer id then currency (code point order); ``cancelled_orders`` is how many orders placed by ``as_of``
    were not sold.
    """

    customers: tuple[CustomerOrderFigures, ...] = attrs.field(metadata=IDENTIFIER)  # ids and sums
    cancelled_orders: int = attrs.field(metadata=NOT_PERSONAL)


@runtime_checkable
class AggregateQueries(Protocol):
    """Aggregates a store computes over its own data, inside a unit of work (see the module docstring)."""

    def order_figures(self, *, as_of: datetime | None = None) -> OrderAggregates:
        """Per-customer, per-currency order figures as of ``as_of`` (everything when None), equal to
        :func:`order_figures` over every order the unit of work sees."""


@runtime_checkable
class AggregatingUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that offers the aggregate-query port (None when it cannot aggregate after all, such as an
    SQL backend whose dialect has no aggregation statements)."""

    @property
    def aggregates(self) -> AggregateQueries | None: ...


@runtime_checkable
class CustomerDocuments(Protocol):
    """Customers as a store holds them, read without building :class:`~custdata.Customer` objects: what reading
    a large store for duplicate detection needs (see :func:`custdata.matching.store_records`)."""

    def customer_documents(self, *, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every customer's stored document (the JSON of :func:`custdata.to_json`, parsed into plain dicts,
        lists and strings), in id order, read ``page_size`` at a time inside the unit of work."""


def customer_documents_of(uow: object) -> CustomerDocuments | None:
    """The customer-document reader ``uow`` offers with its aggregate queries, or None (then page through
    ``uow.customers``)."""
    queries = getattr(uow, "aggregates", None)
    return queries if isinstance(queries, CustomerDocuments) else None


def aggregates_of(uow: object) -> AggregateQueries | None:
    """The aggregate queries that ``uow`` offers, or None when it offers none (then stream the orders)."""
    queries = getattr(uow, "aggregates", None)
    return queries if isinstance(queries, AggregateQueries) else None


def check_as_of(as_of: object) -> datetime | None:
    """``as_of`` if it is None or a timezone-aware datetime, else a :class:`~custdata.ValidationError`."""
    if as_of is None:
        return None
    if not isinstance(as_of, datetime):
        raise ValidationError.single("as_of", f"must be a datetime, not {type(as_of).__name__}")
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValidationError.single("as_of", "must be timezone-aware (include an offset such as +00:00)")
    return as_of


class _Tally:
    """Running figures of one customer in one currency."""

    __slots__ = ("first", "last", "orders", "refunds", "revenue")

    def __init__(self, order: Order, as_of: datetime | None) -> None:
        self.orders = 1
        self.revenue = order.total.amount
        self.refunds = rules.refunded(order, as_of)
        self.first = self.last = order.placed_at

    def add(self, order: Order, as_of: datetime | None) -> None:
        self.orders += 1
        self.revenue = EXACT.add(self.revenue, order.total.amount)  # exact sums: never rounded
        if order.returns:
            self.refunds = EXACT.add(self.refunds, rules.refunded(order, as_of))
        at = order.placed_at
        if at < self.first:
            self.first = at
        elif at > self.last:
            self.last = at


def order_figures(orders: Iterable[Order], *, as_of: datetime | None = None) -> OrderAggregates:
    """The reference implementation of the port: the figures of ``orders``, added up in Python one order at a
    time (memory holds one tally per customer and currency, never the orders).

    A store without a faster way can implement :meth:`AggregateQueries.order_figures` by calling this on its
    orders page by page; every implementation must give what this gives.
    """
    check_as_of(as_of)
    if isinstance(orders, Order | str | bytes) or not isinstance(orders, Iterable):
        raise ValidationError.single("orders", f"must be an iterable of Order, not {type(orders).__name__}")
    tallies: dict[tuple[CustomerId, str], _Tally] = {}
    cancelled = 0
    counts = rules.counts_by
    for i, order in enumerate(orders):
        if not isinstance(order, Order):
            raise ValidationError.single(f"orders[{i}]", f"must be Order, not {type(order).__name__}")
        if not counts(order, as_of):
            if as_of is None or order.placed_at <= as_of:
                cancelled += 1
            continue
        key = (order.customer_id, order.currency)
        tally = tallies.get(key)
        if tally is None:
            tallies[key] = _Tally(order, as_of)
        else:
            tally.add(order, as_of)
    rows = tuple(
        CustomerOrderFigures(customer_id, currency, t.orders, t.revenue, t.refunds, t.first, t.last)
        for (customer_id, currency), t in sorted(tallies.items(), key=lambda item: item[0])
    )
    return OrderAggregates(rows, cancelled)


# -- regional demand ------------------------------------------------------------------------------------------

#: How :func:`regional_demand` groups the shipping destination: by country, by country and subdivision
#: (``country_area``), or by country and the first characters of the postal code.
DEMAND_LEVELS = ("country", "area", "postal-prefix")
#: The longest postal-code prefix :func:`regional_demand` groups by.
MAX_PREFIX = 10
_EPOCH_DAY = date(1970, 1, 1)


class RegionalDemandRow(NamedTuple):
    """Demand for one product in one region in one ISO week (weeks of UTC days, written ``2026-W05``): how many
    orders that count held the sku, and how many items of it they held. ``area`` is empty unless grouping by
    area, ``postal_prefix`` unless grouping by postal prefix."""

    country: str
    area: str
    postal_prefix: str
    sku: str
    week: str
    orders: int
    quantity: int


@runtime_checkable
class DemandQueries(Protocol):
    """Regional demand a store computes over its own orders, inside a unit of work (``uow.aggregates``)."""

    def regional_demand(
        self,
        *,
        by: str = "country",
        prefix_length: int = 2,
        since: datetime | None = None,
        as_of: datetime | None = None,
    ) -> tuple[RegionalDemandRow, ...]:
        """Equal to :func:`regional_demand` over every order the unit of work sees."""


def demand_queries_of(uow: object) -> DemandQueries | None:
    """The regional-demand queries that ``uow`` offers, or None (then stream the orders into
    :func:`regional_demand`)."""
    queries = getattr(uow, "aggregates", None)
    return queries if isinstance(queries, DemandQueries) else None


def check_demand(by: object, prefix_length: object, since: object, as_of: object) -> None:
    """A :class:`~custdata.ValidationError` naming the first argument of :func:`regional_demand` that is wrong."""
    if not isinstance(by, str) or by not in DEMAND_LEVELS:
        raise ValidationError.single("by", f"must be one of {', '.join(DEMAND_LEVELS)}, not {by!r}")
    if isinstance(prefix_length, bool) or not isinstance(prefix_length, int) or not 1 <= prefix_length <= MAX_PREFIX:
        raise ValidationError.single("prefix_length", f"must be a whole number from 1 to {MAX_PREFIX}")
    if since is not None:
        if not isinstance(since, datetime) or since.tzinfo is None or since.utcoffset() is None:
            raise ValidationError.single("since", "must be a timezone-aware datetime")
    check_as_of(as_of)


def iso_week(day: date) -> str:
    """The ISO week of ``day``, written ``2026-W05``."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def week_of_epoch_day(days: int) -> str:
    """The ISO week of the UTC day ``days`` after 1970-01-01 (how the SQL stores group days)."""
    return iso_week(_EPOCH_DAY + timedelta(days=days))


def demand_region(country: str, area: str, postal_code: str, by: str, prefix_length: int) -> tuple[str, str, str]:
    """The region key of a destination: (country, area or "", postal prefix or "")."""
    return (
        country,
        area if by == "area" else "",
        postal_code[:prefix_length] if by == "postal-prefix" else "",
    )


def demand_rows(tallies: dict[tuple[str, str, str, str, str], list[int]]) -> tuple[RegionalDemandRow, ...]:
    """The rows of ``tallies`` ((country, area, prefix, sku, week) -> [orders, quantity]), in key order."""
    return tuple(RegionalDemandRow(*key, orders, quantity) for key, (orders, quantity) in sorted(tallies.items()))


def regional_demand(
    orders: Iterable[Order],
    *,
    by: str = "country",
    prefix_length: int = 2,
    since: datetime | None = None,
    as_of: datetime | None = None,
) -> tuple[RegionalDemandRow, ...]:
    """The reference of :meth:`DemandQueries.regional_demand`: orders that count (sold, placed by ``as_of`` and
    at or after ``since``) and have a shipping address, by region (see :data:`DEMAND_LEVELS`), sku and ISO
    week of the UTC day they were placed. An order holding a sku on several lines counts once, its items all."""
    check_demand(by, prefix_length, since, as_of)
    if isinstance(orders, Order | str | bytes) or not isinstance(orders, Iterable):
        raise ValidationError.single("orders", f"must be an iterable of Order, not {type(orders).__name__}")
    tallies: dict[tuple[str, str, str, str, str], list[int]] = {}
    for i, order in enumerate(orders):
        if not isinstance(order, Order):
            raise ValidationError.single(f"orders[{i}]", f"must be Order, not {type(order).__name__}")
        address = order.shipping_address
        if address is None or not rules.counts_by(order, as_of) or (since is not None and order.placed_at < since):
            continue
        region = demand_region(address.country_code, address.country_area, address.postal_code, by, prefix_length)
        week = iso_week(order.placed_at.astimezone(UTC).date())
        seen: set[str] = set()
        for line in order.lines:
            tally = tallies.setdefault((*region, line.sku, week), [0, 0])
            if line.sku not in seen:
                seen.add(line.sku)
                tally[0] += 1
            tally[1] += line.quantity
    return demand_rows(tallies)


__all__ = [
    "DEMAND_LEVELS",
    "MAX_PREFIX",
    "AggregateQueries",
    "AggregatingUnitOfWork",
    "CustomerDocuments",
    "CustomerOrderFigures",
    "DemandQueries",
    "OrderAggregates",
    "RegionalDemandRow",
    "aggregates_of",
    "check_as_of",
    "check_demand",
    "customer_documents_of",
    "demand_queries_of",
    "iso_week",
    "order_figures",
    "regional_demand",
]
