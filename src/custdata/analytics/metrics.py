"""Order metrics from plain iterables of orders: historic CLV, average order value, purchase frequency,
repeat purchase rate and churn over a period.

Every function walks its orders once and keeps a few numbers per customer, never the orders themselves,
so memory stays flat however many orders stream through. Cancelled orders are left out: nothing was
sold. Money is always kept per currency and never added across currencies. Which orders count and what a
refund subtracts is decided by :mod:`custdata.domain.order_rules`; historic CLV and the order metrics are
built from the per-customer figures of :func:`custdata.storage.aggregates.order_figures`, the same rows a
store's aggregate-query port returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import duration, each, moment
from custdata.analytics._results import Summary, Table
from custdata.domain import CustomerId, Money, Order
from custdata.domain.checks import trusting
from custdata.domain.money import EXACT, checked_amount, currency_exponent

# Which orders and refunds count is decided in custdata.domain.order_rules, for every reader; UNREFUNDED_RETURNS
# and refunded stay importable from here.
from custdata.domain.order_rules import UNREFUNDED_RETURNS as UNREFUNDED_RETURNS
from custdata.domain.order_rules import is_sold
from custdata.domain.order_rules import refunded as refunded
from custdata.storage.aggregates import OrderAggregates, order_figures


def money(amount: Decimal, currency: str) -> Money:
    """``amount`` rounded half-even to the minor unit of ``currency``."""
    return Money(Money.zero(currency).rounded(amount), currency)


def ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    """``part / whole`` as a float, or None when ``whole`` is zero (the ratio is undefined)."""
    return float(part) / float(whole) if whole else None


class _Exact:
    """``money(amount, currency)`` for many amounts, equal to it: each currency's zero is looked up once, and
    Money is built without checking again what :func:`checked_amount` just rounded and bounded (callers hold
    ``trusting()``)."""

    __slots__ = ("_zeros",)

    def __init__(self) -> None:
        self._zeros: dict[str, Money] = {}

    def __call__(self, amount: Decimal, currency: str) -> Money:
        zero = self._zeros.get(currency)
        if zero is None:
            zero = self._zeros[currency] = money(Decimal(0), currency)
        if not amount and currency_exponent(currency) is not None:
            return zero
        return Money(checked_amount(amount, currency), currency)  # out of range: a ValidationError, as money() says


# -- historic CLV ---------------------------------------------------------------------------------


@attrs.frozen
class CustomerValue:
    """What one customer has spent in one currency: orders, revenue, refunds and ``clv`` = revenue - refunds."""

    customer_id: CustomerId
    currency: str
    orders: int
    revenue: Money
    refunds: Money
    clv: Money
    first_order_at: datetime
    last_order_at: datetime


@attrs.frozen(repr=False)
class HistoricClv(Table[CustomerValue]):
    """Historic CLV: one row per customer and currency, sorted by customer id then currency."""

    row_type = CustomerValue

    def for_customer(self, customer_id: str) -> dict[str, Money]:
        """The customer's CLV per currency (empty when the customer has no orders)."""
        return {row.currency: row.clv for row in self.rows if row.customer_id == customer_id}


def historic_clv(orders: Iterable[Order], *, as_of: datetime | None = None) -> HistoricClv:
    """The value each customer has brought so far, per currency: the totals of their orders that were not
    cancelled, less the refunds recorded on returns that were not declined or cancelled. With ``as_of``,
    orders placed and returns requested after it are left out.

    >>> from datetime import datetime, timezone
    >>> from custdata import Money, Order, OrderLine
    >>> def order(n, customer, price):
    ...     line = OrderLine("1", "TEE", "T-shirt", 1, Money(price, "EUR"))
    ...     return Order(f"o{n}", customer, "EUR", (line,), datetime(2024, 1, n, tzinfo=timezone.utc))
    >>> [(row.customer_id, str(row.clv)) for row in historic_clv([order(1, "ann", "20"), order(2, "ann", "5")])]
    [(CustomerId('ann'), '25.00 EUR')]
    """
    if as_of is not None:
        moment("as_of", as_of)
    return clv_of(order_figures(each(orders, Order, "orders"), as_of=as_of))


def clv_of(figures: OrderAggregates) -> HistoricClv:
    """Historic CLV from per-customer order figures (of :func:`custdata.storage.aggregates.order_figures`, or
    of a store's aggregate-query port)."""
    rows = []
    exact = _Exact()
    with trusting():
        for row in figures.customers:
            currency = row.currency
            revenue = exact(row.revenue, currency)
            clv = revenue if not row.refunds else exact(EXACT.subtract(row.revenue, row.refunds), currency)
            rows.append(
                CustomerValue(
                    row.customer_id,
                    currency,
                    row.orders,
                    revenue,
                    exact(row.refunds, currency),
                    clv,
                    row.first_order_at,
                    row.last_order_at,
                )
            )
    return HistoricClv(tuple(rows))


# -- order metrics ----------------------------------------------------------------------------------


@attrs.frozen
class CurrencyMetrics:
    """Orders, revenue and average order value in one currency."""

    currency: str
    orders: int
    customers: int
    revenue: Money
    average_order_value: Money


@attrs.frozen(repr=False)
class OrderMetrics(Table[CurrencyMetrics]):
    """Counts over all orders, with one row per currency for the money.

    ``purchase_frequency`` is orders per customer; ``repeat_purchase_rate`` the share of customers with
    two or more orders. Both count orders, not money, so they cover every currency together; they are
    None when there are no orders.
    """

    row_type = CurrencyMetrics
    orders: int
    cancelled_orders: int
    customers: int
    repeat_customers: int
    purchase_frequency: float | None
    repeat_purchase_rate: float | None

    def average_order_value(self) -> dict[str, Money]:
        return {row.currency: row.average_order_value for row in self.rows}

    def __repr__(self) -> str:
        return (
            f"OrderMetrics(orders={self.orders}, customers={self.customers}, "
            f"purchase_frequency={self.purchase_frequency}, repeat_purchase_rate={self.repeat_purchase_rate}, "
            f"currencies={[row.currency for row in self.rows]})"
        )


def order_metrics(orders: Iterable[Order]) -> OrderMetrics:
    """Average order value per currency, purchase frequency and repeat purchase rate in one pass.

    Cancelled orders are counted in ``cancelled_orders`` and left out of everything else. The average
    order value is revenue / orders in each currency, rounded half-even to the currency's minor unit.
    """
    return metrics_of(order_figures(each(orders, Order, "orders")))


def metrics_of(figures: OrderAggregates) -> OrderMetrics:
    """Order metrics from per-customer order figures (of :func:`custdata.storage.aggregates.order_figures`, or
    of a store's aggregate-query port)."""
    per_customer: dict[CustomerId, int] = {}
    count: dict[str, int] = {}
    revenue: dict[str, Decimal] = {}
    buyers: dict[str, int] = {}
    for row in figures.customers:
        if not row.orders:
            continue
        currency = row.currency
        per_customer[row.customer_id] = per_customer.get(row.customer_id, 0) + row.orders
        count[currency] = count.get(currency, 0) + row.orders
        revenue[currency] = EXACT.add(revenue.get(currency, Decimal(0)), row.revenue)
        buyers[currency] = buyers.get(currency, 0) + 1
    rows = tuple(
        CurrencyMetrics(
            currency=currency,
            orders=count[currency],
            customers=buyers[currency],
            revenue=money(revenue[currency], currency),
            average_order_value=money(revenue[currency] / count[currency], currency),
        )
        for currency in sorted(count)
    )
    total = sum(per_customer.values())
    repeaters = sum(1 for n in per_customer.values() if n > 1)
    return OrderMetrics(
        rows,
        orders=total,
        cancelled_orders=figures.cancelled_orders,
        customers=len(per_customer),
        repeat_customers=repeaters,
        purchase_frequency=ratio(total, len(per_customer)),
        repeat_purchase_rate=ratio(repeaters, len(per_customer)),
    )


def average_order_value(orders: Iterable[Order]) -> dict[str, Money]:
    """Revenue / number of orders, per currency, over the orders that were not cancelled."""
    return order_metrics(orders).average_order_value()


def purchase_frequency(orders: Iterable[Order]) -> float | None:
    """Orders per customer (cancelled orders left out); None when there are no orders."""
    return order_metrics(orders).purchase_frequency


def repeat_purchase_rate(orders: Iterable[Order]) -> float | None:
    """The share of customers with at least two orders that were not cancelled; None without orders."""
    return order_metrics(orders).repeat_purchase_rate


# -- churn ----------------------------------------------------------------------------------------


@attrs.frozen
class Churn(Summary):
    """Churn over ``[start, end)``: of the customers active at ``start``, how many did not order again.

    ``customers_at_start`` ordered before ``start`` (within ``lookback`` when one was given);
    ``churned`` of them placed no order in the period, ``retained`` did. ``new_customers`` ordered in the
    period for the first time in the data seen. ``rate`` is churned / customers_at_start, None if no
    one was active at the start.
    """

    start: datetime
    end: datetime
    customers_at_start: int
    churned: int
    retained: int
    new_customers: int
    rate: float | None


def churn_rate(orders: Iterable[Order], *, start: datetime, end: datetime, lookback: timedelta | None = None) -> Churn:
    """The churn of the period ``[start, end)``: customers who had ordered before ``start`` (within
    ``lookback``, if given) and placed no order in the period, as a share of those customers.

    Orders at or after ``end`` are ignored, as are cancelled orders.
    """
    moment("start", start)
    moment("end", end)
    if end <= start:
        raise ValidationError.single("end", "must be later than start")
    since = None if lookback is None else start - duration("lookback", lookback)
    active: set[CustomerId] = set()  # ordered before start, within the lookback
    older: set[CustomerId] = set()  # ordered before the lookback only: returning, not new, if seen again
    during: set[CustomerId] = set()
    for order in each(orders, Order, "orders"):
        if not is_sold(order) or order.placed_at >= end:
            continue
        if order.placed_at >= start:
            during.add(order.customer_id)
        elif since is None or order.placed_at >= since:
            active.add(order.customer_id)
        else:
            older.add(order.customer_id)
    churned = len(active - during)
    return Churn(
        start=start,
        end=end,
        customers_at_start=len(active),
        churned=churned,
        retained=len(active) - churned,
        new_customers=len(during - active - older),
        rate=ratio(churned, len(active)),
    )
