"""Regional demand: orders by region, product and ISO week, with spikes against a trailing baseline.

:func:`regional_demand_report` asks the store for demand by destination (country; country and subdivision;
or country and postal-code prefix), sku and ISO week (weeks of UTC days). SQLite and PostgreSQL add it up
themselves through the aggregate-query port (:class:`custdata.storage.aggregates.DemandQueries`); other
stores stream their orders through the reference, :func:`custdata.storage.aggregates.regional_demand`. Orders
count as everywhere else (:mod:`custdata.domain.order_rules`: sold, placed by ``as_of``); orders without a
shipping address are left out.

**Spikes.** For each region and sku, a week is a spike when its quantity is at least ``min_quantity`` and
greater than ``factor`` times the mean quantity of the ``baseline_weeks`` weeks before it (weeks without
orders count as zero). Only weeks with a whole baseline inside the report's window are tested, so the first
``baseline_weeks`` weeks of the window are never flagged. Defaults: ``factor=2.0``, ``baseline_weeks=4``,
``min_quantity=5``.

**Trends** (:meth:`DemandReport.trends`) rank each region and sku by what the last ``baseline_weeks`` weeks
sold: where to place stock before the next peak.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import attrs

from custdata._clock import utc_now
from custdata._errors import MissingExtraError, ValidationError
from custdata.domain import Order
from custdata.domain.personal import NOT_PERSONAL
from custdata.storage.aggregates import (
    RegionalDemandRow,
    check_demand,
    demand_queries_of,
    iso_week,
    regional_demand,
)
from custdata.storage.ports import Store, UnitOfWork, walk

Region = tuple[str, str, str]


def region_label(region: Region) -> str:
    """``DE``, ``DE-BY`` or ``DE 80*``: a region as one short label."""
    country, area, prefix = region
    if area:
        return f"{country}-{area}"
    if prefix:
        return f"{country} {prefix}*"
    return country


@attrs.frozen
class DemandSpike:
    """A week whose quantity of ``sku`` in ``region`` exceeded ``factor`` times its trailing baseline."""

    region: Region = attrs.field(metadata=NOT_PERSONAL)
    sku: str = attrs.field(metadata=NOT_PERSONAL)
    week: str = attrs.field(metadata=NOT_PERSONAL)
    quantity: int = attrs.field(metadata=NOT_PERSONAL)
    baseline: Decimal = attrs.field(metadata=NOT_PERSONAL)  # the mean quantity of the weeks before

    @property
    def label(self) -> str:
        return region_label(self.region)


@attrs.frozen
class DemandTrend:
    """What a region bought of a sku over the last weeks (``recent``) and over the whole window (``total``)."""

    region: Region = attrs.field(metadata=NOT_PERSONAL)
    sku: str = attrs.field(metadata=NOT_PERSONAL)
    recent: int = attrs.field(metadata=NOT_PERSONAL)
    total: int = attrs.field(metadata=NOT_PERSONAL)
    spikes: int = attrs.field(metadata=NOT_PERSONAL)

    @property
    def label(self) -> str:
        return region_label(self.region)


def window(since: date, until: date) -> tuple[str, ...]:
    """The ISO weeks from the one holding ``since`` to the one holding ``until``, in order."""
    monday = since - timedelta(days=since.weekday())
    weeks = []
    while monday <= until:
        weeks.append(iso_week(monday))
        if until - monday < timedelta(days=7):
            break
        monday += timedelta(days=7)
    return tuple(weeks)


def _series(rows: Iterable[RegionalDemandRow]) -> dict[tuple[Region, str], dict[str, int]]:
    out: dict[tuple[Region, str], dict[str, int]] = defaultdict(dict)
    for row in rows:
        key = ((row.country, row.area, row.postal_prefix), row.sku)
        out[key][row.week] = out[key].get(row.week, 0) + row.quantity
    return out


def _check_spike_settings(factor: object, baseline_weeks: object, min_quantity: object) -> None:
    if isinstance(factor, bool) or not isinstance(factor, (int, float, Decimal)) or not 0 < factor < 1000:
        raise ValidationError.single("factor", "must be a number above 0 (such as 2.0)")
    if isinstance(baseline_weeks, bool) or not isinstance(baseline_weeks, int) or not 1 <= baseline_weeks <= 52:
        raise ValidationError.single("baseline_weeks", "must be a whole number from 1 to 52")
    if isinstance(min_quantity, bool) or not isinstance(min_quantity, int) or min_quantity < 1:
        raise ValidationError.single("min_quantity", "must be a whole number of at least 1")


def find_spikes(
    rows: Iterable[RegionalDemandRow],
    weeks: tuple[str, ...],
    *,
    factor: float = 2.0,
    baseline_weeks: int = 4,
    min_quantity: int = 5,
) -> tuple[DemandSpike, ...]:
    """The spikes among ``rows`` over the consecutive ``weeks`` (see the module docstring), by week, then the
    largest quantity first."""
    _check_spike_settings(factor, baseline_weeks, min_quantity)
    exact = Decimal(str(factor))
    spikes = []
    for (region, sku), by_week in _series(rows).items():
        counts = [by_week.get(w, 0) for w in weeks]
        for i in range(baseline_weeks, len(weeks)):
            quantity = counts[i]
            if quantity < min_quantity:
                continue
            baseline = Decimal(sum(counts[i - baseline_weeks : i])) / baseline_weeks
            if quantity > exact * baseline:
                spikes.append(DemandSpike(region, sku, weeks[i], quantity, baseline))
    spikes.sort(key=lambda s: (s.week, -s.quantity, s.region, s.sku))
    return tuple(spikes)


@attrs.frozen
class DemandReport:
    """Demand by region, sku and week over ``weeks`` (consecutive ISO weeks), grouped ``by``."""

    rows: tuple[RegionalDemandRow, ...] = attrs.field(metadata=NOT_PERSONAL)
    weeks: tuple[str, ...] = attrs.field(metadata=NOT_PERSONAL)
    by: str = attrs.field(metadata=NOT_PERSONAL)
    spikes: tuple[DemandSpike, ...] = attrs.field(metadata=NOT_PERSONAL)
    baseline_weeks: int = attrs.field(metadata=NOT_PERSONAL)

    def trends(self, top: int = 10) -> tuple[DemandTrend, ...]:
        """The ``top`` regions and skus by quantity over the last ``baseline_weeks`` weeks (then over the
        window): where demand is now."""
        recent_weeks = set(self.weeks[-self.baseline_weeks :])
        spiked: dict[tuple[Region, str], int] = defaultdict(int)
        for spike in self.spikes:
            spiked[(spike.region, spike.sku)] += 1
        trends = []
        for (region, sku), by_week in _series(self.rows).items():
            recent = sum(q for w, q in by_week.items() if w in recent_weeks)
            trends.append(DemandTrend(region, sku, recent, sum(by_week.values()), spiked[(region, sku)]))
        trends.sort(key=lambda t: (-t.recent, -t.total, t.region, t.sku))
        return tuple(trends[:top])

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row: region (its label), country, area, postal prefix, sku, week, orders, quantity."""
        return [{"region": region_label((r.country, r.area, r.postal_prefix)), **r._asdict()} for r in self.rows]

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (the ``notebook`` extra)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise MissingExtraError("pandas", "notebook") from exc
        columns = ["region", "country", "area", "postal_prefix", "sku", "week", "orders", "quantity"]
        return pd.DataFrame(self.to_records(), columns=columns)

    def plot(self, *, top: int = 5, ax: Any = None) -> Any:
        """Weekly quantity of the ``top`` regions and skus of :meth:`trends`, with their spikes marked, on a
        matplotlib axes (a new figure's when ``ax`` is None); returns the axes (the ``notebook`` extra)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise MissingExtraError("matplotlib", "notebook") from exc
        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4))
        series = _series(self.rows)
        positions = {w: i for i, w in enumerate(self.weeks)}
        for trend in self.trends(top):
            by_week = series[(trend.region, trend.sku)]
            name = f"{trend.label} {trend.sku}"
            ax.plot(range(len(self.weeks)), [by_week.get(w, 0) for w in self.weeks], label=name)
            marks = [s for s in self.spikes if s.region == trend.region and s.sku == trend.sku]
            ax.scatter([positions[s.week] for s in marks], [s.quantity for s in marks], marker="^")
        step = max(1, len(self.weeks) // 8)
        ax.set_xticks(range(0, len(self.weeks), step), self.weeks[::step], rotation=30)
        ax.set_ylabel("items ordered")
        ax.set_title(f"Demand by {self.by}, week by week")
        ax.legend(fontsize="small")
        return ax


def _rows(
    uow: UnitOfWork, pushdown: bool, by: str, prefix_length: int, since: datetime, as_of: datetime
) -> tuple[RegionalDemandRow, ...]:
    queries = demand_queries_of(uow) if pushdown else None
    if queries is not None:
        return queries.regional_demand(by=by, prefix_length=prefix_length, since=since, as_of=as_of)
    orders: Iterator[Order] = walk(lambda cursor: uow.orders.page(limit=1000, cursor=cursor))
    return regional_demand(orders, by=by, prefix_length=prefix_length, since=since, as_of=as_of)


def regional_demand_report(
    source: Store | UnitOfWork,
    *,
    by: str = "country",
    prefix_length: int = 2,
    weeks: int = 12,
    as_of: datetime | None = None,
    factor: float = 2.0,
    baseline_weeks: int = 4,
    min_quantity: int = 5,
    pushdown: bool = True,
) -> DemandReport:
    """Demand in ``source`` over the ``weeks`` ISO weeks up to and including the one holding ``as_of`` (now by
    default), grouped ``by`` region, with spikes (see the module docstring). ``pushdown=False`` streams the
    orders even from a store that aggregates (the same answer, slower)."""
    moment = utc_now() if as_of is None else as_of
    check_demand(by, prefix_length, None, moment)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= 520:
        raise ValidationError.single("weeks", "must be a whole number from 1 to 520")
    _check_spike_settings(factor, baseline_weeks, min_quantity)
    if not isinstance(source, Store | UnitOfWork):
        raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")
    try:
        last = moment.astimezone(UTC).date()
        first = last - timedelta(days=last.weekday()) - timedelta(weeks=weeks - 1)
        span = window(first, last)
    except OverflowError:
        raise ValidationError.single(
            "as_of", f"is too near an end of the calendar (years 1 to 9999) for a report of {weeks} weeks up to it"
        ) from None
    since = datetime.combine(first, time(), UTC)
    if isinstance(source, UnitOfWork):
        rows = _rows(source, pushdown, by, prefix_length, since, moment)
    else:
        with source.unit_of_work() as uow:
            rows = _rows(uow, pushdown, by, prefix_length, since, moment)
    spikes = find_spikes(rows, span, factor=factor, baseline_weeks=baseline_weeks, min_quantity=min_quantity)
    return DemandReport(rows, span, by, spikes, baseline_weeks)


__all__ = ["DemandReport", "DemandSpike", "DemandTrend", "find_spikes", "region_label", "regional_demand_report"]
