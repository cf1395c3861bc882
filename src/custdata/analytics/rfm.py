"""RFM scoring: recency, frequency and monetary value as quintile scores 1-5, and named segments.

Scores rank customers against each other, with a fixed rule for ties so that the same data always gives
the same scores in whatever order it arrives. With ``n`` customers scored, a customer with ``k`` customers
strictly worse on a measure (longer ago for recency, fewer orders for frequency, less money for monetary)
scores ``min(5, 1 + floor(5 * k / (n - 1)))``. So equal values always share a score (every customer of a
tie gets the score of the tie's lowest rank), a better value never scores lower, the worst score 1 and the
best 5 when nobody ties with them, and without ties the five scores split the customers into fifths. A
lone customer has nothing to be ranked against and scores 3.

Named segments come from the recency score ``R`` and ``FM``, the mean of the frequency and monetary scores
rounded half up (``(F + M + 1) // 2``). The first matching rule wins:

==================== ==============================================
Champions            R >= 4 and FM >= 4
New                  R >= 4 and F == 1
Loyal                R >= 3 and FM >= 3
Potential Loyalists  R >= 3
At Risk              R <= 2 and FM >= 3
Hibernating          R == 2 (and FM <= 2)
Lost                 R == 1 (and FM <= 2)
==================== ==============================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import currency_code, each, moment, one_currency
from custdata.analytics._results import Table
from custdata.analytics.metrics import CustomerValue, historic_clv
from custdata.domain import CustomerId, Money, Order


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


V = TypeVar("V", bound=_Ordered)


def quintile_scores(values: Sequence[V], *, lower_is_better: bool = False) -> list[int]:
    """Scores 1-5 for ``values`` by the tie rule in this module's docstring; same order as ``values``.

    >>> quintile_scores([10, 20, 20, 30, 40])
    [1, 2, 2, 4, 5]
    >>> quintile_scores([3, 1, 2], lower_is_better=True)
    [1, 5, 3]
    """
    n = len(values)
    if n == 1:
        return [3]
    order = sorted(range(n), key=values.__getitem__)  # one sort; ties are then runs of equal neighbours
    scores = [0] * n
    if lower_is_better:  # worse = how many values are strictly greater
        end = n
        for pos in range(n - 1, -1, -1):
            if pos < n - 1 and values[order[pos]] < values[order[pos + 1]]:
                end = pos + 1
            scores[order[pos]] = min(5, 1 + 5 * (n - end) // (n - 1))
    else:  # worse = how many values are strictly smaller
        start = 0
        for pos in range(n):
            if pos and values[order[pos - 1]] < values[order[pos]]:
                start = pos
            scores[order[pos]] = min(5, 1 + 5 * start // (n - 1))
    return scores


class RfmSegment(StrEnum):
    """The named RFM segments, best first."""

    CHAMPIONS = "Champions"
    LOYAL = "Loyal"
    POTENTIAL_LOYALISTS = "Potential Loyalists"
    NEW = "New"
    AT_RISK = "At Risk"
    HIBERNATING = "Hibernating"
    LOST = "Lost"


def rfm_segment(r: int, f: int, m: int) -> RfmSegment:
    """The named segment of an R, F, M score triple (each 1-5), by the table in this module's docstring.

    >>> rfm_segment(5, 1, 2).value
    'New'
    """
    for name, value in (("r", r), ("f", f), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ValidationError.single(name, "must be a score from 1 to 5")
    fm = (f + m + 1) // 2
    if r >= 4 and fm >= 4:
        return RfmSegment.CHAMPIONS
    if r >= 4 and f == 1:
        return RfmSegment.NEW
    if r >= 3:
        return RfmSegment.LOYAL if fm >= 3 else RfmSegment.POTENTIAL_LOYALISTS
    if fm >= 3:
        return RfmSegment.AT_RISK
    return RfmSegment.HIBERNATING if r == 2 else RfmSegment.LOST


#: The code and named segment of every score triple, worked out once.
_NAMED = {
    (r, f, m): (f"{r}{f}{m}", rfm_segment(r, f, m)) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)
}


@attrs.frozen
class RfmScore:
    """One customer's measures, their scores, the three-digit ``code`` (``"545"``) and named segment."""

    customer_id: CustomerId
    currency: str
    recency_days: float
    frequency: int
    monetary: Money
    r: int
    f: int
    m: int
    code: str
    segment: RfmSegment


@attrs.frozen(repr=False)
class RfmTable(Table[RfmScore]):
    """RFM scores of every customer with an order, as of ``as_of``, sorted by customer id."""

    row_type = RfmScore
    as_of: datetime
    currency: str | None

    def segment_sizes(self) -> dict[RfmSegment, int]:
        """How many customers each named segment holds, best segment first, empty segments included."""
        counts = Counter(row.segment for row in self.rows)
        return {segment: counts[segment] for segment in RfmSegment}

    def members(self, *segments: RfmSegment | str) -> list[CustomerId]:
        """The ids of the customers in any of ``segments``, sorted."""
        wanted = {_segment(s) for s in segments}
        return [row.customer_id for row in self.rows if row.segment in wanted]

    def __repr__(self) -> str:
        return f"RfmTable({len(self.rows)} customers, as_of={self.as_of.isoformat()}, currency={self.currency})"


def _segment(value: RfmSegment | str) -> RfmSegment:
    try:
        return RfmSegment(value)
    except ValueError:
        raise ValidationError.single("segment", f"must be one of {', '.join(s.value for s in RfmSegment)}") from None


def rfm(orders: Iterable[Order], *, as_of: datetime, currency: str | None = None) -> RfmTable:
    """RFM scores from orders: recency = days from the last order to ``as_of``, frequency = number of
    orders, monetary = historic CLV (revenue less refunds). Orders placed and returns requested after
    ``as_of`` are left out, as are cancelled orders.

    Money is never added across currencies: with orders in several currencies, pass ``currency`` and
    only orders in it are scored.
    """
    moment("as_of", as_of)
    chosen = currency_code("currency", currency)
    seen = (o for o in each(orders, Order, "orders") if chosen is None or o.currency == chosen)
    return rfm_from_values(historic_clv(seen, as_of=as_of), as_of=as_of, currency=chosen)


def rfm_from_values(values: Iterable[CustomerValue], *, as_of: datetime, currency: str | None = None) -> RfmTable:
    """RFM scores from per-customer values (the rows of :func:`custdata.analytics.historic_clv`, or the same
    figures aggregated by a store). Rows whose last order is after ``as_of`` are an error.
    """
    moment("as_of", as_of)
    chosen = currency_code("currency", currency)
    rows = []
    for i, value in enumerate(each(values, CustomerValue, "values")):
        if chosen is None or value.currency == chosen:
            if value.last_order_at > as_of:  # the position given counts every row, in whatever currency
                raise ValidationError.single(f"values[{i}].last_order_at", "is later than as_of")
            rows.append(value)
    chosen = one_currency((v.currency for v in rows), chosen)
    ids = [row.customer_id for row in rows]
    if len(set(ids)) != len(ids):
        raise ValidationError.single("values", "hold a customer twice")
    recency = [(as_of - row.last_order_at).total_seconds() / 86400 for row in rows]
    monetary: list[Decimal] = [row.clv.amount for row in rows]
    r_scores = quintile_scores(recency, lower_is_better=True)
    f_scores = quintile_scores([row.orders for row in rows])
    m_scores = quintile_scores(monetary)
    scored = sorted(
        (
            RfmScore(row.customer_id, row.currency, days, row.orders, row.clv, r, f, m, *_NAMED[r, f, m])
            for row, days, r, f, m in zip(rows, recency, r_scores, f_scores, m_scores, strict=True)
        ),
        key=lambda s: s.customer_id,
    )
    return RfmTable(tuple(scored), as_of=as_of, currency=chosen)
