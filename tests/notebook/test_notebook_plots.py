"""The notebook plots: a cohort heatmap, RFM segment bars and a CLV histogram, checked by what the figures
hold (labels, cells, bars, counts), rendered with the Agg backend."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import matplotlib
import pytest

from custdata import Money, Order, OrderLine, ValidationError
from custdata.analytics import MissingExtraError, RfmSegment, cohort_retention, historic_clv, rfm
from custdata.notebook import clv_distribution, cohort_heatmap, rfm_segment_bars

matplotlib.use("Agg")

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def order(number: int, customer: str, days: int, price: int = 10, currency: str = "EUR") -> Order:
    line = OrderLine("l1", "SKU", "Product", 1, Money(price, currency))
    return Order(f"ord_{number}", customer, currency, (line,), T0 + timedelta(days=days))


def some_orders() -> list[Order]:
    """Three cohorts (January, February, April) over four months."""
    plan = [("a", 0), ("a", 31), ("a", 62), ("b", 5), ("c", 35), ("c", 95), ("d", 40), ("e", 90)]
    return [order(i, customer, days, 10 * (i + 1)) for i, (customer, days) in enumerate(plan)]


def rendered(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # type: ignore[attr-defined]
    return buffer.getvalue()


def test_the_cohort_heatmap_has_one_cell_per_cohort_and_month() -> None:
    retention = cohort_retention(some_orders())
    figure = cohort_heatmap(retention)
    ax, colorbar = figure.axes
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "Months since first order",
        "First-order month",
        "Cohort retention",
    )
    assert colorbar.get_ylabel() == "Retention (%)"
    (image,) = ax.get_images()
    grid = image.get_array()
    assert grid.shape == (3, 4)  # January, February, April; months 0 to 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01", "2024-02", "2024-04"]
    assert grid[0].tolist() == [100.0, 50.0, 50.0, 0.0]  # a and b started in January; a came back twice
    assert grid.mask[2].tolist() == [False, True, True, True]  # April has no later months yet
    assert len(ax.texts) == len(retention)  # one percentage per cell with data
    assert sorted(t.get_text() for t in ax.texts).count("100") == 3
    assert rendered(figure).startswith(b"\x89PNG")


def test_an_empty_cohort_heatmap_says_so() -> None:
    figure = cohort_heatmap(cohort_retention([]))
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.texts] == ["no orders"] and not ax.get_images()
    rendered(figure)


def test_rfm_segment_bars_have_one_bar_per_segment_best_first() -> None:
    table = rfm(some_orders(), as_of=T0 + timedelta(days=120))
    figure = rfm_segment_bars(table, figsize=(9, 4))
    (ax,) = figure.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Segment", "Customers")
    assert len(ax.patches) == len(RfmSegment) == 7
    assert [t.get_text() for t in ax.get_xticklabels()] == [s.value for s in RfmSegment]
    sizes = table.segment_sizes()
    assert [p.get_height() for p in ax.patches] == [sizes[s] for s in RfmSegment]
    assert sum(p.get_height() for p in ax.patches) == 5
    assert tuple(figure.get_size_inches()) == (9, 4)
    rendered(figure)
    counted = rfm_segment_bars({"Champions": 4, RfmSegment.LOST: 2})
    assert [p.get_height() for p in counted.axes[0].patches] == [4, 0, 0, 0, 0, 0, 2]


def test_the_clv_histogram_counts_every_customer() -> None:
    clv = historic_clv(some_orders())
    figure = clv_distribution(clv, bins=4)
    (ax,) = figure.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("CLV (EUR)", "Customers")
    assert ax.get_title() == "CLV distribution (5 customers)"
    assert len(ax.patches) == 4 and sum(p.get_height() for p in ax.patches) == 5
    rendered(figure)
    plain = clv_distribution([Decimal("1.5"), 2, 3.25], bins=3)
    assert plain.axes[0].get_xlabel() == "CLV" and sum(p.get_height() for p in plain.axes[0].patches) == 3
    empty = clv_distribution([])
    assert [t.get_text() for t in empty.axes[0].texts] == ["no customers"]


def test_money_in_several_currencies_needs_a_choice() -> None:
    mixed = historic_clv([*some_orders(), order(99, "z", 3, 5000, "JPY")])
    with pytest.raises(ValidationError, match="currency: the values are in 2 currencies"):
        clv_distribution(mixed)
    only_yen = clv_distribution(mixed, currency="JPY")
    assert only_yen.axes[0].get_xlabel() == "CLV (JPY)"
    assert sum(p.get_height() for p in only_yen.axes[0].patches) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cohort_heatmap([]), "retention: must be a CohortRetention"),  # type: ignore[arg-type]
        (lambda: cohort_heatmap(cohort_retention([]), figsize=(0, 3)), "figsize"),
        (lambda: rfm_segment_bars({"Best": 1}), "segments: names 'Best'"),
        (lambda: rfm_segment_bars({"Lost": -1}), "must be a non-negative integer"),
        (lambda: rfm_segment_bars([1, 2]), "segments: must be an RfmTable or a mapping"),  # type: ignore[arg-type]
        (lambda: clv_distribution([1], bins=0), "bins"),
        (lambda: clv_distribution(["1"]), r"values\[0\]: must be Money or a number"),  # type: ignore[list-item]
        (lambda: clv_distribution("12"), "values: must be"),  # type: ignore[arg-type]
        (lambda: clv_distribution([1], currency=5), "currency"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_validation_errors(call: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call()  # type: ignore[operator]


def test_without_matplotlib_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'custdata\[notebook\]'"):
        rfm_segment_bars({"Lost": 1})


def test_importing_the_notebook_helpers_imports_no_plotting_library() -> None:
    code = "import sys, custdata.notebook; print(sorted({'matplotlib', 'numpy', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
