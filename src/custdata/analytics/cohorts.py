"""Cohort retention: customers grouped by the month of their first order, and the share of each cohort
that ordered again in each following month.

Months are calendar months in ``tz`` (UTC unless given), so a shop reports in its own time zone.
Cancelled orders are left out. Memory holds the set of active months per customer, not the orders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, tzinfo

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import each
from custdata.analytics._results import Table
from custdata.domain import CustomerId, Order
from custdata.domain.order_rules import is_sold


def month_label(index: int) -> str:
    """``24289`` -> ``'2024-02'``: a month number (year * 12 + month - 1) as ``YYYY-MM``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@attrs.frozen
class CohortCell:
    """How many of the ``customers`` whose first order fell in ``cohort`` ordered ``period`` months later."""

    cohort: str
    period: int
    customers: int
    active: int
    retention: float


@attrs.frozen(repr=False)
class CohortRetention(Table[CohortCell]):
    """One row per cohort and month offset (0 = the first-order month, always 100 %), oldest cohort first.

    Every cohort has a row for each month from its first up to the last month in the data, so months in
    which nobody came back appear with ``active`` 0.
    """

    row_type = CohortCell

    def matrix(self) -> dict[str, list[float]]:
        """Retention per cohort as a list indexed by period: the shape a heatmap wants."""
        result: dict[str, list[float]] = {}
        for cell in self.rows:
            result.setdefault(cell.cohort, []).append(cell.retention)
        return result


def cohort_retention(orders: Iterable[Order], *, tz: tzinfo = UTC, periods: int | None = None) -> CohortRetention:
    """Monthly retention by first-order month; ``periods`` caps how many months after the first are shown."""
    if not isinstance(tz, tzinfo):
        raise ValidationError.single(
            "tz", f"must be a tzinfo such as ZoneInfo('Europe/Berlin'), not {type(tz).__name__}"
        )
    if periods is not None and (isinstance(periods, bool) or not isinstance(periods, int) or periods < 0):
        raise ValidationError.single("periods", "must be a non-negative integer or None")
    months: dict[CustomerId, set[int]] = {}
    last = None
    for order in each(orders, Order, "orders"):
        if not is_sold(order):
            continue
        local = order.placed_at.astimezone(tz)
        index = local.year * 12 + local.month - 1
        months.setdefault(order.customer_id, set()).add(index)
        last = index if last is None else max(last, index)
    sizes: Counter[int] = Counter()
    active: Counter[tuple[int, int]] = Counter()
    for active_months in months.values():
        first = min(active_months)
        sizes[first] += 1
        for month in active_months:
            active[first, month - first] += 1
    rows = []
    for first in sorted(sizes):
        assert last is not None
        span = last - first if periods is None else min(last - first, periods)
        for period in range(span + 1):
            count = active[first, period]
            rows.append(CohortCell(month_label(first), period, sizes[first], count, count / sizes[first]))
    return CohortRetention(tuple(rows))
