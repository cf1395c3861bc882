"""Result tables as records and DataFrames, lazy optional imports, and the missing-extra error."""

from __future__ import annotations

import pickle
import subprocess
import sys
from decimal import Decimal

import pytest
from analytics_builders import at, line, order
from required_extras import require

from custdata import CustdataError, Order
from custdata.analytics import (
    BetaGeo,
    MissingExtraError,
    cohort_retention,
    customer_facts,
    historic_clv,
    nps,
    order_metrics,
    rfm,
)


def orders() -> list[Order]:
    return [order("o1", "ann", 0, line("X", "12.50")), order("o2", "ann", 31), order("o3", "bob", 2)]


def test_records_are_plain_values() -> None:
    records = historic_clv(orders()).to_records()
    assert records[0] == {
        "customer_id": "ann",
        "currency": "EUR",
        "orders": 2,
        "revenue": Decimal("22.50"),
        "refunds": Decimal("0.00"),
        "clv": Decimal("22.50"),
        "first_order_at": at(0),
        "last_order_at": at(31),
    }
    assert type(records[0]["customer_id"]) is str
    ann = rfm(orders(), as_of=at(40)).to_records()[0]
    # ann: more recent, more orders, more money than bob, who is the only other customer
    assert (ann["r"], ann["f"], ann["m"], ann["code"]) == (5, 5, 5, "555")
    assert type(ann["segment"]) is str and ann["segment"] == "Champions"
    assert ann["monetary"] == Decimal("22.50") and ann["recency_days"] == 9.0


def test_tables_behave_like_sequences() -> None:
    table = historic_clv(orders())
    assert len(table) == 2 and table[0].customer_id == "ann" and table[-1].customer_id == "bob"
    assert [row.customer_id for row in table[:1]] == ["ann"]
    assert repr(table) == "HistoricClv(2 rows)"
    assert pickle.loads(pickle.dumps(table)) == table
    assert "ann" not in repr(customer_facts(as_of=at(40), orders=orders()))


def test_to_pandas() -> None:
    pd = require("pandas", "notebook")
    frame = historic_clv(orders()).to_pandas()
    assert list(frame.columns) == [
        "customer_id",
        "currency",
        "orders",
        "revenue",
        "refunds",
        "clv",
        "first_order_at",
        "last_order_at",
    ]
    assert frame["clv"].tolist() == [Decimal("22.50"), Decimal("10.00")]
    empty = cohort_retention([]).to_pandas()
    assert list(empty.columns) == ["cohort", "period", "customers", "active", "retention"] and len(empty) == 0
    one = nps([10, 0]).to_pandas()
    assert one.loc[0, "score"] == 0.0 and isinstance(one, pd.DataFrame)
    assert order_metrics(orders()).to_pandas().loc[0, "average_order_value"] == Decimal("10.83")


def test_importing_analytics_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, custdata, custdata.analytics, custdata.analytics.predictive, custdata.analytics.frames;"
        "print(sorted(m for m in ('numpy', 'scipy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # what Python does for a module that cannot be imported
    with pytest.raises(MissingExtraError, match=r"pip install 'custdata\[notebook\]'") as info:
        historic_clv(orders()).to_pandas()
    assert isinstance(info.value, ImportError) and isinstance(info.value, CustdataError)
    assert info.value.name == "pandas"
    assert pickle.loads(pickle.dumps(info.value)).extra == "notebook"
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'custdata\[analytics\]'"):
        BetaGeo().fit([1], [1], [2])
