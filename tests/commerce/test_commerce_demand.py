"""Regional demand: the store's answer equals the Python reference on SQLite, PostgreSQL and the memory store;
spikes follow their documented rule; the command prints the report and never creates a store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import Address, Customer, Money, Order, OrderLine, OrderStatus, ValidationError
from custdata.commerce import find_spikes, regional_demand_report
from custdata.storage import Store
from custdata.storage.aggregates import RegionalDemandRow, demand_queries_of, iso_week, regional_demand
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CUSTOMERS = ("cus_a", "cus_b", "cus_c")
ADDRESSES = (
    Address(last_name="A", street_address_1="Hauptstr. 1", city="Berlin", postal_code="10115", country_code="DE"),
    Address(last_name="B", street_address_1="Marienplatz 2", city="München", postal_code="80331", country_code="DE"),
    Address(
        last_name="C",
        street_address_1="1 Main St",
        city="Mountain View",
        postal_code="94043",
        country_code="US",
        country_area="CA",
    ),
    Address(
        last_name="D",
        street_address_1="5 Broadway",
        city="New York",
        postal_code="10001",
        country_code="US",
        country_area="NY",
    ),
    Address(last_name="E", street_address_1="10 Downing St", city="London", postal_code="SW1A 2AA", country_code="GB"),
)
SKUS = ("TEA-1", "TEA-2", "Kaffee-ü", "x")
OFFSETS = st.integers(-14 * 3600, 14 * 3600).map(lambda s: timezone(timedelta(seconds=s)))
#: Times near the epoch (days before 1970 round down), in a few recent months (weeks that share orders), anywhere.
MOMENTS = st.one_of(
    st.datetimes(min_value=datetime(1969, 12, 20), max_value=datetime(1970, 1, 10), timezones=OFFSETS),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2024, 6, 1), timezones=OFFSETS),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=OFFSETS),
)


@st.composite
def orders(draw: st.DrawFn) -> list[Order]:
    out = []
    for i in range(draw(st.integers(0, 20))):
        lines = tuple(
            OrderLine(f"l{j}", draw(st.sampled_from(SKUS)), "Product", draw(st.integers(1, 5)), Money("2.50", "EUR"))
            for j in range(draw(st.integers(1, 3)))
        )
        out.append(
            Order(
                f"o{i}",
                draw(st.sampled_from(CUSTOMERS)),
                "EUR",
                lines,
                draw(MOMENTS),
                status=draw(st.sampled_from(OrderStatus)),
                shipping_address=draw(st.none() | st.sampled_from(ADDRESSES)),
            )
        )
    return out


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def store_of(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    opened: list[Store] = []

    def make() -> Store:
        store: Store
        if request.param == "postgresql":
            store = request.getfixturevalue("new_store")(pool_max_size=2)
        elif request.param == "sqlite":
            store = SQLiteStore(tmp_path / f"shop{len(opened)}.db")
        else:
            store = MemoryStore()
        opened.append(store)
        return store

    make.pushes_down = request.param != "memory"  # type: ignore[attr-defined]
    yield make
    for store in opened:
        store.close()


def _fill(store: Store, found: list[Order]) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add_many(Customer(c, T0) for c in CUSTOMERS)
        uow.orders.add_many(found)
        uow.commit()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    found=orders(),
    by=st.sampled_from(["country", "area", "postal-prefix"]),
    prefix=st.integers(1, 6),
    since=st.none() | MOMENTS,
    as_of=st.none() | MOMENTS,
)
def test_the_store_computes_what_the_reference_computes(
    store_of: Callable[[], Store],
    found: list[Order],
    by: str,
    prefix: int,
    since: datetime | None,
    as_of: datetime | None,
) -> None:
    store = store_of()
    try:
        _fill(store, found)
        expected = regional_demand(found, by=by, prefix_length=prefix, since=since, as_of=as_of)
        with store.unit_of_work() as uow:
            queries = demand_queries_of(uow)
            assert (queries is not None) == store_of.pushes_down  # type: ignore[attr-defined]
            if queries is not None:
                assert queries.regional_demand(by=by, prefix_length=prefix, since=since, as_of=as_of) == expected
        moment = as_of or datetime(2024, 6, 1, tzinfo=UTC)
        pushed = regional_demand_report(store, by=by, prefix_length=prefix, weeks=30, as_of=moment)
        streamed = regional_demand_report(store, by=by, prefix_length=prefix, weeks=30, as_of=moment, pushdown=False)
        assert pushed == streamed
    finally:
        store.close()


def test_the_reference_counts_what_the_order_rules_count() -> None:
    berlin, munich, ca = ADDRESSES[0], ADDRESSES[1], ADDRESSES[2]

    def line(sku: str, q: int) -> OrderLine:
        return OrderLine(f"l{sku}{q}", sku, "P", q, Money("1.00", "EUR"))

    monday = datetime(2024, 3, 4, 10, tzinfo=UTC)
    found = [
        Order("o1", "cus_a", "EUR", (line("T", 2), line("T", 1)), monday, shipping_address=berlin),
        Order("o2", "cus_b", "EUR", (line("T", 4),), monday + timedelta(days=6), shipping_address=munich),
        Order("o3", "cus_b", "EUR", (line("T", 9),), monday, status=OrderStatus.CANCELLED, shipping_address=berlin),
        Order("o4", "cus_c", "EUR", (line("T", 7),), monday),  # no destination
        Order("o5", "cus_c", "EUR", (line("T", 1),), monday + timedelta(days=7), shipping_address=ca),
    ]
    assert regional_demand(found) == (
        RegionalDemandRow("DE", "", "", "T", "2024-W10", 2, 7),
        RegionalDemandRow("US", "", "", "T", "2024-W11", 1, 1),
    )
    assert regional_demand(found, by="postal-prefix", prefix_length=1) == (
        RegionalDemandRow("DE", "", "1", "T", "2024-W10", 1, 3),
        RegionalDemandRow("DE", "", "8", "T", "2024-W10", 1, 4),
        RegionalDemandRow("US", "", "9", "T", "2024-W11", 1, 1),
    )
    assert regional_demand(found, by="area")[-1] == RegionalDemandRow("US", "CA", "", "T", "2024-W11", 1, 1)
    assert regional_demand(found, as_of=monday + timedelta(days=1)) == (
        RegionalDemandRow("DE", "", "", "T", "2024-W10", 1, 3),
    )


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"by": "city"}, "by"),
        ({"prefix_length": 0}, "prefix_length"),
        ({"prefix_length": True}, "prefix_length"),
        ({"since": datetime(2024, 1, 1)}, "since"),
        ({"as_of": "2024-01-01"}, "as_of"),
    ],
)
def test_bad_arguments_are_named(arguments: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        regional_demand([], **arguments)  # type: ignore[arg-type]
    assert caught.value.problems[0].path == path


WEEKS = tuple(iso_week(datetime(2024, 1, 1).date() + timedelta(weeks=i)) for i in range(10))


def _row(week: int, quantity: int, sku: str = "T") -> RegionalDemandRow:
    return RegionalDemandRow("DE", "", "", sku, WEEKS[week], 1, quantity)


@settings(max_examples=60)
@given(
    quantities=st.lists(st.integers(0, 30), min_size=10, max_size=10),
    factor=st.sampled_from([1.5, 2.0, 3.0]),
    baseline=st.integers(1, 5),
    minimum=st.integers(1, 10),
)
def test_a_spike_is_exactly_a_week_above_factor_times_its_trailing_mean(
    quantities: list[int], factor: float, baseline: int, minimum: int
) -> None:
    rows = [_row(i, q) for i, q in enumerate(quantities) if q]
    spikes = find_spikes(rows, WEEKS, factor=factor, baseline_weeks=baseline, min_quantity=minimum)
    expected = {
        WEEKS[i]
        for i in range(baseline, 10)
        if quantities[i] >= minimum and quantities[i] * baseline > factor * sum(quantities[i - baseline : i])
    }
    assert {s.week for s in spikes} == expected


def test_report_window_trends_and_frame(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "shop.db")
    found = []
    for week in range(8):
        count = 12 if week == 6 else 1
        placed = datetime(2024, 1, 2, tzinfo=UTC) + timedelta(weeks=week)
        found += [
            Order(
                f"o{week}_{i}",
                "cus_a",
                "EUR",
                (OrderLine("l", "TEA", "Tea", 1, Money("3.00", "EUR")),),
                placed,
                shipping_address=ADDRESSES[0],
            )
            for i in range(count)
        ]
    _fill(store, found)
    report = regional_demand_report(store, weeks=8, as_of=datetime(2024, 2, 25, tzinfo=UTC))
    store.close()
    assert report.weeks == tuple(f"2024-W{w:02d}" for w in range(1, 9))
    assert [(s.week, s.quantity, s.baseline) for s in report.spikes] == [("2024-W07", 12, Decimal(1))]
    top = report.trends(1)[0]
    assert (top.label, top.sku, top.recent, top.total, top.spikes) == ("DE", "TEA", 1 + 12 + 1 + 1, 19, 1)
    frame = report.to_pandas()
    assert list(frame["quantity"]) == [r.quantity for r in report.rows]
    import matplotlib

    matplotlib.use("Agg")
    assert report.plot().get_title() == "Demand by country, week by week"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custdata", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_command_prints_the_report_and_never_creates_a_store(tmp_path: Path) -> None:
    missing = _cli("demand", "--store", "shpo.db", cwd=tmp_path)
    assert missing.returncode == 3, missing.stderr
    assert not (tmp_path / "shpo.db").exists()
    store = SQLiteStore(tmp_path / "shop.db")
    placed = datetime(2024, 2, 20, tzinfo=UTC)
    _fill(
        store,
        [
            Order(
                "o1",
                "cus_a",
                "EUR",
                (OrderLine("l", "TEA", "Tea", 3, Money("3.00", "EUR")),),
                placed,
                shipping_address=ADDRESSES[2],
            )
        ],
    )
    store.close()
    shown = _cli("demand", "--store", "shop.db", "--by", "area", "--weeks", "4", "--as-of", "2024-02-25", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Where to place stock before the next peak" in shown.stdout
    assert "US-CA" in shown.stdout and "TEA" in shown.stdout
    bad = _cli("demand", "--store", "shop.db", "--weeks", "0", cwd=tmp_path)
    assert bad.returncode == 3 and "weeks" in bad.stderr
