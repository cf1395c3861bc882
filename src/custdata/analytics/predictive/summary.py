"""Turn orders into the (frequency, recency, T, monetary) summary that BG/NBD and Gamma-Gamma are fitted on.

Pure Python and streaming: a few numbers per customer are kept, not the orders (unless
``merge_same_day`` asks for the set of purchase days). It needs neither numpy nor scipy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import currency_code, duration, each, moment, one_currency
from custdata.analytics._results import Table
from custdata.analytics.metrics import money
from custdata.domain import CustomerId, Money, Order
from custdata.domain.order_rules import counts_by


@attrs.frozen
class ClvInput:
    """One customer's summary: ``frequency`` repeat purchases, ``recency`` from the first to the last
    purchase and ``T`` from the first purchase to ``as_of`` (both in the summary's unit), and
    ``monetary`` the mean value of the repeat purchases (zero without any)."""

    customer_id: CustomerId
    currency: str
    frequency: int
    recency: float
    T: float
    monetary: Money


@attrs.frozen(repr=False)
class ClvSummary(Table[ClvInput]):
    """The model input per customer, sorted by customer id; ``unit`` is the time unit of recency and T.

    The columns are also available as lists of floats, ready for ``BetaGeo.fit`` and ``GammaGamma.fit``.
    """

    row_type = ClvInput
    as_of: datetime
    unit: timedelta
    currency: str | None

    @property
    def frequency(self) -> list[float]:
        return [float(row.frequency) for row in self.rows]

    @property
    def recency(self) -> list[float]:
        return [row.recency for row in self.rows]

    @property
    def T(self) -> list[float]:
        return [row.T for row in self.rows]

    @property
    def monetary(self) -> list[float]:
        return [float(row.monetary.amount) for row in self.rows]

    def __repr__(self) -> str:
        return f"ClvSummary({len(self.rows)} customers, as_of={self.as_of.isoformat()}, unit={self.unit})"


class _Purchases:
    """A customer's purchases so far: count, total, the first (its time and value) and the last time."""

    __slots__ = ("count", "first", "first_value", "last", "total")

    def __init__(self, at: datetime, key: str, value: Decimal) -> None:
        self.count, self.total = 1, value
        self.first, self.first_value, self.last = (at, key), value, at

    def add(self, at: datetime, key: str, value: Decimal) -> None:
        self.count += 1
        self.total += value
        if (at, key) < self.first:
            self.first, self.first_value = (at, key), value
        self.last = max(self.last, at)


def clv_summary(
    orders: Iterable[Order],
    *,
    as_of: datetime,
    unit: timedelta = timedelta(days=1),
    currency: str | None = None,
    merge_same_day: bool = False,
    tz: tzinfo = UTC,
) -> ClvSummary:
    """The (frequency, recency, T, monetary) summary of each customer's orders up to ``as_of``.

    Each order that was not cancelled is a purchase worth its total. With ``merge_same_day`` all orders
    of one calendar day (in ``tz``) form one purchase, times are whole days, and memory holds each
    customer's purchase days. The first purchase starts the clock and is not a repeat; ties at the
    same moment are broken by order id. Money is never mixed: with several currencies pass ``currency``.
    """
    moment("as_of", as_of)
    duration("unit", unit)
    chosen = currency_code("currency", currency)
    if not isinstance(merge_same_day, bool):
        raise ValidationError.single("merge_same_day", "must be true or false")
    if not isinstance(tz, tzinfo):
        raise ValidationError.single("tz", f"must be a tzinfo, not {type(tz).__name__}")
    purchases: dict[tuple[CustomerId, str], _Purchases] = {}
    days: dict[tuple[CustomerId, str], dict[date, Decimal]] = {}
    for order in each(orders, Order, "orders"):
        if not counts_by(order, as_of):
            continue
        if chosen is not None and order.currency != chosen:
            continue
        key = (order.customer_id, order.currency)
        value = order.total.amount
        if merge_same_day:
            day = order.placed_at.astimezone(tz).date()
            per_day = days.setdefault(key, {})
            per_day[day] = per_day.get(day, Decimal(0)) + value
        elif (seen := purchases.get(key)) is None:
            purchases[key] = _Purchases(order.placed_at, str(order.id), value)
        else:
            seen.add(order.placed_at, str(order.id), value)
    keys = days if merge_same_day else purchases
    chosen = one_currency((c for _, c in keys), chosen)
    rows = []
    end_day = as_of.astimezone(tz).date()
    for key in sorted(keys):
        customer_id, code = key
        if merge_same_day:
            per_day = days[key]
            first, last = min(per_day), max(per_day)
            count, total, first_value = len(per_day), sum(per_day.values(), Decimal(0)), per_day[first]
            recency = (last - first) / unit
            age = (end_day - first) / unit
        else:
            p = purchases[key]
            count, total, first_value = p.count, p.total, p.first_value
            recency = (p.last - p.first[0]) / unit
            age = (as_of - p.first[0]) / unit
        repeat = count - 1
        mean = (total - first_value) / repeat if repeat else Decimal(0)
        rows.append(ClvInput(customer_id, code, repeat, recency, age, money(mean, code)))
    return ClvSummary(tuple(rows), as_of=as_of, unit=unit, currency=chosen)
