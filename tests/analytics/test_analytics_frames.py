"""Records and DataFrames: stored customers, orders, lines and communication events streamed from a store, and
every analytics result type; with pandas importable and with its import refused."""

from __future__ import annotations

import importlib.abc
import inspect
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from analytics_builders import CUSTOMERS, T0, at, line, order, order_lists, returned, support
from hypothesis import HealthCheck, given, settings
from required_extras import require

import custdata.analytics
from custdata import (
    Address,
    Customer,
    EmailAddress,
    ExternalRef,
    Money,
    Order,
    PhoneNumber,
    ValidationError,
)
from custdata.analytics import (
    BetaGeo,
    GammaGamma,
    MissingExtraError,
    Segment,
    StoreAnalytics,
    churn_rate,
    clv_summary,
    cohort_retention,
    customer_facts,
    estimate_impact,
    first_time_shopper,
    historic_clv,
    lifetime_totals,
    nps,
    order_metrics,
    predict_clv,
    return_rates_by_attribute,
    return_rates_by_customer,
    return_rates_by_product,
    rfm,
    support_contacts_per_order,
)
from custdata.analytics.frames import (
    COMMUNICATION_COLUMNS,
    CUSTOMER_COLUMNS,
    ORDER_COLUMNS,
    ORDER_LINE_COLUMNS,
    communication_records,
    communications_frame,
    customer_records,
    customers_frame,
    order_line_records,
    order_lines_frame,
    order_record,
    order_records,
    orders_frame,
)
from custdata.analytics.metrics import refunded
from custdata.storage import CustomerQuery, Store
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore

BERLIN = Address(
    first_name="Ann", last_name="Example", street_address_1="Hauptstr. 1", city="Berlin", postal_code="10115",
    country_code="DE",
)  # fmt: skip


def people() -> list[Customer]:
    ann = Customer(
        "cus_a",
        T0,
        given_name="Ann",
        family_name="Example",
        email=EmailAddress.parse("ann@example.com"),
        phone=PhoneNumber.parse("+4930123456"),
        addresses=(BERLIN,),
        default_shipping_address=0,
        tags=frozenset({"vip", "newsletter"}),
    )
    return [ann, *(Customer(c, T0 + timedelta(days=1)) for c in CUSTOMERS[1:])]


def shop_orders() -> list[Order]:
    first = order("o1", "cus_a", 1, line("SHOE-1", "80.00", 2, size="42"), line("TEE-1", "20.00"), country="DE")
    first.returns = (returned("r1", ("SHOE-1", 1), refund=Money("80.00", "EUR")),)
    first.external_ref = ExternalRef("shopify", "1001")
    return [first, order("o2", "cus_b", 2, currency="USD")]


def fill(store: Store, orders: list[Order]) -> Store:
    with store.unit_of_work() as uow:
        uow.customers.add_many(people())
        uow.orders.add_many(orders)
        uow.communications.add_many([support("m1", "cus_a", 3, ticket="T-1"), support("m2", "cus_b", 4)])
        uow.commit()
    return store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SQLiteStore()
    with opened:
        yield fill(opened, shop_orders())


def test_customer_records_leave_personal_data_out_unless_asked(store: Store) -> None:
    records = list(customer_records(store, page_size=3))
    assert [r["customer_id"] for r in records] == list(CUSTOMERS)
    ann = records[0]
    assert list(ann) == list(CUSTOMER_COLUMNS)
    assert (ann["country"], ann["tags"], ann["has_email"], ann["has_phone"]) == (
        "DE",
        ["newsletter", "vip"],
        True,
        True,
    )
    assert not any(text in repr(records) for text in ("Ann", "ann@", "30123456", "Hauptstr"))
    personal = next(customer_records(store, personal="reveal"))
    assert (personal["given_name"], personal["email"], personal["phone"]) == ("Ann", "ann@example.com", "+4930123456")
    assert [r["customer_id"] for r in customer_records(store, CustomerQuery(tag="vip"))] == ["cus_a"]


def test_order_and_line_records(store: Store) -> None:
    first, second = order_records(store)
    assert list(first) == list(ORDER_COLUMNS)
    assert (first["total"], first["refunds"], first["items"], first["items_returned"]) == (
        Decimal("180.00"),
        Decimal("80.00"),
        3,
        1,
    )
    assert (first["country"], first["platform"], first["external_id"], first["status"]) == (
        "DE",
        "shopify",
        "1001",
        "paid",
    )
    assert (second["currency"], second["total"]) == ("USD", Decimal("10.00"))
    lines = list(order_line_records(store, customer_id="cus_a"))
    assert [(r["sku"], r["variant"], r["quantity"], r["amount"], r["returned"]) for r in lines] == [
        ("SHOE-1", {"size": "42"}, 2, Decimal("160.00"), 1),
        ("TEE-1", {}, 1, Decimal("20.00"), 0),
    ]
    assert list(lines[0]) == list(ORDER_LINE_COLUMNS)
    assert list(order_records(store, customer_id="cus_nobody")) == []


def test_communication_records(store: Store) -> None:
    records = list(communication_records(store))
    assert [(r["communication_id"], r["channel"], r["topic"], r["ticket_id"]) for r in records] == [
        ("m1", "email", "support", "T-1"),
        ("m2", "email", "support", None),
    ]
    assert list(records[0]) == list(COMMUNICATION_COLUMNS)
    assert "subject" in next(communication_records(store, customer_id="cus_b", personal="reveal"))


def test_records_read_inside_an_open_unit_of_work() -> None:
    with SQLiteStore() as store, store.unit_of_work() as uow:
        uow.customers.add(Customer("cus_a", T0))
        uow.orders.add(order("o1", "cus_a", 1))
        assert [r["order_id"] for r in order_records(uow)] == ["o1"]  # not committed, yet seen here


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=order_lists(max_size=20))
def test_order_records_from_a_store_describe_each_order(orders: list[Order]) -> None:
    with SQLiteStore() as store:
        fill(store, orders)
        records = list(order_records(store, page_size=3))
        lines = list(order_line_records(store, page_size=3))
    by_id = {str(o.id): o for o in orders}
    assert [r["order_id"] for r in records] == sorted(by_id)
    assert records == [order_record(by_id[r["order_id"]]) for r in records]
    for record in records:
        placed = by_id[record["order_id"]]
        assert record["refunds"] == refunded(placed) and record["total"] == placed.total.amount
        own = [r for r in lines if r["order_id"] == record["order_id"]]
        assert sum(r["amount"] for r in own) == placed.subtotal.amount
        assert sum(r["returned"] for r in own) == record["items_returned"] <= record["items"]


def test_bad_arguments_name_the_field(store: Store) -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: customer_records([], None), "source"),  # type: ignore[arg-type]
        (lambda: customer_records(store, {"tag": "vip"}), "query"),  # type: ignore[arg-type]
        (lambda: customer_records(store, personal="yes"), "personal"),  # type: ignore[arg-type]
        (lambda: order_records(store, page_size=0), "page_size"),
        (lambda: order_records(store, customer_id=""), "customer_id"),
        (lambda: communication_records(store, customer_id=7), "customer_id"),  # type: ignore[arg-type]
    ]
    for call, path in cases:
        with pytest.raises(ValidationError) as caught:
            call()
        assert caught.value.problems[0].path == path


def rows_of(frame: Any) -> list[dict[str, object]]:
    """The frame's rows as dicts, with pandas' missing values (NaN, NaT, NA) read back as None."""
    import pandas as pd

    return [
        {k: None if pd.api.types.is_scalar(v) and pd.isna(v) else v for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def test_frames_hold_the_records(store: Store) -> None:
    pd = require("pandas", "notebook")
    customers = customers_frame(store, page_size=2)
    assert isinstance(customers, pd.DataFrame) and list(customers.columns) == list(CUSTOMER_COLUMNS)
    assert customers["customer_id"].tolist() == list(CUSTOMERS)
    assert "email" in customers_frame(store, personal="reveal").columns
    orders = orders_frame(store)
    assert rows_of(orders) == list(order_records(store))
    assert rows_of(customers) == list(customer_records(store))
    assert orders.groupby("currency")["total"].sum().to_dict() == {"EUR": Decimal("180.00"), "USD": Decimal("10.00")}
    assert len(order_lines_frame(store, customer_id="cus_a")) == 2
    assert communications_frame(store)["ticket_id"].tolist()[0] == "T-1"
    empty = orders_frame(store, customer_id="cus_nobody")
    assert len(empty) == 0 and list(empty.columns) == list(ORDER_COLUMNS)


# -- every analytics result type ---------------------------------------------------------------------------


def every_result() -> list[object]:
    orders = [*shop_orders(), order("o3", "cus_b", 40, currency="USD"), order("o4", "cus_c", 90)]
    as_of = at(100)
    summary = clv_summary(orders, as_of=as_of, currency="EUR")
    betageo = BetaGeo.from_params(0.24, 4.4, 0.79, 2.4)
    gammagamma = GammaGamma.from_params(6.25, 3.74, 15.44)
    with MemoryStore() as memory:
        audience = StoreAnalytics(fill(memory, orders)).audience(Segment("Once", first_time_shopper()), as_of=as_of)
    return [
        historic_clv(orders),
        lifetime_totals([], orders),
        order_metrics(orders),
        churn_rate(orders, start=at(30), end=at(100)),
        return_rates_by_customer(orders),
        return_rates_by_product(orders),
        return_rates_by_attribute(orders, "size"),
        cohort_retention(orders),
        nps([10, 9, 3]),
        support_contacts_per_order([support("m1", "cus_a", 3)], orders),
        rfm(orders, as_of=as_of, currency="EUR"),
        customer_facts(as_of=as_of, orders=orders),
        summary,
        predict_clv(summary, betageo, gammagamma),
        estimate_impact(
            customers_per_month=100,
            average_order_value=Money("50", "EUR"),
            churn_rate="0.05",
            gross_margin="0.3",
            support_tickets_per_month=20,
            cost_per_ticket=Money("5", "EUR"),
            churn_reduction="0.1",
        ),
        betageo.params,
        gammagamma.params,
        audience,
    ]


NOT_RESULTS = {  # public classes that are not results: rows, models, predicates, errors, sources
    "AllOf", "AnyOf", "AttributeReturns", "BetaGeo", "ClvInput", "ClvPrediction", "CohortCell", "CurrencyMetrics",
    "CustomerFacts", "CustomerLifetime", "CustomerReturns", "CustomerValue", "FitError", "GammaGamma", "ImpactStep", "MissingExtraError",
    "Not", "Predicate", "ProductReturns", "RfmScore", "RfmSegment", "Rule", "Segment", "SegmentCheck",
    "StoreAnalytics", "Table",
}  # fmt: skip


def test_every_result_type_has_records_and_frames() -> None:
    pd = require("pandas", "notebook")
    results = every_result()
    public = {n for n in custdata.analytics.__all__ if inspect.isclass(getattr(custdata.analytics, n))}
    assert {type(r).__name__ for r in results} == public - NOT_RESULTS
    for result in results:
        records = result.to_records()  # type: ignore[attr-defined]
        frame = result.to_pandas()  # type: ignore[attr-defined]
        assert isinstance(frame, pd.DataFrame) and len(frame) == len(records) > 0, type(result).__name__
        assert list(frame.columns) == list(records[0]), type(result).__name__
        assert rows_of(frame) == records, type(result).__name__


class RefusePandas(importlib.abc.MetaPathFinder):
    """An import hook that refuses pandas, as if it were not installed."""

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError(f"No module named {name!r}")


@pytest.fixture
def without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "pandas" or m.startswith("pandas.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [RefusePandas(), *sys.meta_path])
    with pytest.raises(ImportError):
        import pandas  # noqa: F401


def test_without_pandas_frames_name_the_install_command_and_records_still_work(
    without_pandas: None, store: Store
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: customers_frame(store),
        lambda: orders_frame(store),
        lambda: order_lines_frame(store),
        lambda: communications_frame(store),
        *(lambda result=result: result.to_pandas() for result in every_result()),
    ]
    for call in calls:
        with pytest.raises(MissingExtraError, match=r"pip install 'custdata\[notebook\]'") as caught:
            call()
        assert caught.value.name == "pandas"
    assert len(list(order_records(store))) == 2
    assert historic_clv(shop_orders()).to_records()[0]["customer_id"] == "cus_a"


def test_every_result_type_shows_as_an_html_table_in_notebooks() -> None:
    from IPython.core.formatters import DisplayFormatter

    import custdata.notebook

    shell = SimpleNamespace(display_formatter=DisplayFormatter())
    custdata.notebook.load_ipython_extension(shell)  # what `import custdata.notebook` does in Jupyter
    for result in every_result():
        html = shell.display_formatter.format(result, include={"text/html"})[0]["text/html"]
        assert html.startswith("<") and type(result).__name__ in html, type(result).__name__
        if isinstance(result, custdata.analytics.Table) and len(result) > 0:
            assert html.count("<tr") >= 1 + min(len(result), 2), type(result).__name__
