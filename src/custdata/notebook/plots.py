"""Plots for notebooks: cohort retention as a heatmap, RFM segment sizes as bars, the CLV distribution as a
histogram. Each function returns a ``matplotlib.figure.Figure`` made without pyplot, so nothing global
(current figure, backend) changes; Jupyter shows it, ``fig.savefig(...)`` writes it.

matplotlib is imported only when a plot is drawn (``pip install 'custdata[notebook]'``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import ModuleType
from typing import Any

from custdata._errors import MissingExtraError, ValidationError
from custdata.analytics import ClvPredictions, CohortRetention, HistoricClv, RfmSegment, RfmTable
from custdata.domain import Money

#: Cohort grids up to this many cells get the percentage written into each cell.
ANNOTATE_CELLS = 400


def _figure_class() -> Any:
    try:
        module: ModuleType = importlib.import_module("matplotlib.figure")
    except ImportError:
        raise MissingExtraError("matplotlib", "notebook") from None
    return module.Figure


def _size(name: str, value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return (float(value[0]), float(value[1]))
    raise ValidationError.single(name, "must be a (width, height) pair of positive numbers in inches")


def cohort_heatmap(retention: CohortRetention, *, figsize: tuple[float, float] | None = None) -> Any:
    """Retention per first-order month (rows) and months since the first order (columns), 0 to 100 %.

    Cells after the last month in the data are left blank. Returns a ``matplotlib.figure.Figure``.
    """
    if not isinstance(retention, CohortRetention):
        raise ValidationError.single("retention", f"must be a CohortRetention, not {type(retention).__name__}")
    size = _size("figsize", figsize)
    matrix = retention.matrix()
    cohorts = list(matrix)
    width = max((len(v) for v in matrix.values()), default=0)
    grid = [[100 * v for v in values] + [float("nan")] * (width - len(values)) for values in matrix.values()]
    figure = _figure_class()(figsize=size or (1.0 + 0.6 * max(width, 4), 1.0 + 0.4 * max(len(cohorts), 4)))
    ax = figure.add_subplot()
    ax.set_title("Cohort retention")
    ax.set_xlabel("Months since first order")
    ax.set_ylabel("First-order month")
    if cohorts:
        image = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=100)
        figure.colorbar(image, ax=ax, label="Retention (%)")
        ax.set_xticks(range(width), [str(p) for p in range(width)])
        ax.set_yticks(range(len(cohorts)), cohorts)
        if width * len(cohorts) <= ANNOTATE_CELLS:
            for y, values in enumerate(matrix.values()):
                for x, value in enumerate(values):
                    colour = "white" if value > 0.6 else "black"
                    ax.text(x, y, f"{100 * value:.0f}", ha="center", va="center", fontsize=8, color=colour)
    else:
        ax.text(0.5, 0.5, "no orders", ha="center", va="center", transform=ax.transAxes)
    figure.tight_layout()
    return figure


def rfm_segment_bars(
    segments: RfmTable | Mapping[RfmSegment | str, int], *, figsize: tuple[float, float] | None = None
) -> Any:
    """One bar per named RFM segment (best first, empty segments included) with the customer count on top.

    ``segments`` is an :class:`~custdata.analytics.RfmTable` or a mapping of segment to count such as
    ``table.segment_sizes()``. Returns a ``matplotlib.figure.Figure``.
    """
    size = _size("figsize", figsize)
    if isinstance(segments, RfmTable):
        counts = segments.segment_sizes()
    elif isinstance(segments, Mapping):
        counts = {s: 0 for s in RfmSegment}
        for key, value in segments.items():
            try:
                segment = RfmSegment(key)
            except ValueError:
                choices = ", ".join(s.value for s in RfmSegment)
                raise ValidationError.single("segments", f"names {key!r}, not one of {choices}") from None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError.single(f"segments[{segment.value!r}]", "must be a non-negative integer")
            counts[segment] = value
    else:
        raise ValidationError.single("segments", f"must be an RfmTable or a mapping, not {type(segments).__name__}")
    figure = _figure_class()(figsize=size or (8.0, 4.0))
    ax = figure.add_subplot()
    names = [s.value for s in counts]
    bars = ax.bar(names, list(counts.values()), color="#4c72b0")
    ax.bar_label(bars, labels=[str(v) for v in counts.values()])
    ax.set_title("Customers per RFM segment")
    ax.set_xlabel("Segment")
    ax.set_ylabel("Customers")
    ax.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    return figure


def _clv_amounts(values: object, currency: str | None) -> tuple[list[float], str | None]:
    if isinstance(values, (ClvPredictions, HistoricClv)):
        values = [row.clv for row in values.rows]
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ValidationError.single("values", "must be ClvPredictions, HistoricClv or an iterable of Money")
    amounts: list[float] = []
    seen: set[str] = set()
    for i, value in enumerate(values):
        if isinstance(value, Money):
            if currency is not None and value.currency != currency:
                continue
            seen.add(value.currency)
            amounts.append(float(value.amount))
        elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            amounts.append(float(value))
        else:
            raise ValidationError.single(f"values[{i}]", f"must be Money or a number, not {type(value).__name__}")
    if currency is None and len(seen) > 1:
        raise ValidationError.single(
            "currency",
            f"the values are in {len(seen)} currencies ({', '.join(sorted(seen))}); choose one with currency=",
        )
    return amounts, currency or (seen.pop() if seen else None)


def clv_distribution(
    values: ClvPredictions | HistoricClv | Iterable[Money | Decimal | float | int],
    *,
    bins: int = 20,
    currency: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Any:
    """A histogram of customer lifetime values: predicted (:class:`~custdata.analytics.ClvPredictions`),
    historic (:class:`~custdata.analytics.HistoricClv`) or any iterable of Money or numbers.

    Values in several currencies need ``currency=`` to pick one (money is never mixed across currencies).
    Returns a ``matplotlib.figure.Figure``.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 1000:
        raise ValidationError.single("bins", "must be an integer from 1 to 1000")
    if currency is not None and not isinstance(currency, str):
        raise ValidationError.single(
            "currency", f"must be a currency code such as 'EUR', not {type(currency).__name__}"
        )
    size = _size("figsize", figsize)
    amounts, unit = _clv_amounts(values, currency)
    figure = _figure_class()(figsize=size or (7.0, 4.0))
    ax = figure.add_subplot()
    if amounts:
        ax.hist(amounts, bins=bins, color="#55a868", edgecolor="white")
    else:
        ax.text(0.5, 0.5, "no customers", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"CLV distribution ({len(amounts)} customers)")
    ax.set_xlabel(f"CLV ({unit})" if unit else "CLV")
    ax.set_ylabel("Customers")
    figure.tight_layout()
    return figure
