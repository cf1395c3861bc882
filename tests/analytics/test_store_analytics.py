"""StoreAnalytics gives exactly what the iterable functions give on the same orders, on the memory and SQLite
stores, whether the SQLite store aggregates in SQL or streams; and the SQL pieces hold on awkward data."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest
from analytics_builders import CUSTOMERS, T0, at, order, order_lists, returned
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import Customer, Money, Order, OrderLine, OrderStatus, ReturnStatus, ValidationError
from custdata.analytics import historic_clv, order_metrics, rfm
from custdata.analytics.store import StoreAnalytics
from custdata.storage import Store
from custdata.storage.aggregates import order_figures
from custdata.storage.memory import MemoryStore
from custdata.storage.records import micros
from custdata.storage.sql.aggregates import _SQLITE_ISO, _SQLITE_MICROS
from custdata.storage.sqlite import SQLiteStore

# Offsets of any size, with seconds and microseconds too: isoformat writes those as +HH:MM:SS[.ffffff].
ANY_OFFSET = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
ANY_TIME = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.builds(timezone, ANY_OFFSET)
)
MINUTE_OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


def filled(store: Store, orders: list[Order]) -> Store:
    with store.unit_of_work() as uow:
        uow.customers.add_many(Customer(c, T0) for c in CUSTOMERS)
        uow.orders.add_many(orders)
        uow.commit()
    return store


AnalyticsOf = Callable[[list[Order]], StoreAnalytics]


@pytest.fixture(params=["memory", "sqlite", "sqlite-streaming"])
def analytics_of(request: pytest.FixtureRequest) -> Iterator[AnalyticsOf]:
    opened: list[Store] = []

    def make(orders: list[Order]) -> StoreAnalytics:
        store: Store = MemoryStore() if request.param == "memory" else SQLiteStore()
        opened.append(store)
        return StoreAnalytics(filled(store, orders), pushdown=request.param != "sqlite-streaming", page_size=7)

    yield make
    for store in opened:
        store.close()


def with_return_times(orders: list[Order], times: list[datetime]) -> list[Order]:
    """The orders with their returns requested at the given times (cycled), in every offset."""
    if not times:
        return orders
    out = []
    for i, o in enumerate(orders):
        rets = tuple(attrs.evolve(r, requested_at=times[(i + j) % len(times)]) for j, r in enumerate(o.returns))
        out.append(attrs.evolve(o, returns=rets))
    return out


def assert_same(analytics: StoreAnalytics, orders: list[Order], as_of: datetime) -> None:
    # the rows themselves (exact sums, first and last order), then what is built from them
    assert analytics.order_figures() == order_figures(orders)
    assert analytics.order_figures(as_of=as_of) == order_figures(orders, as_of=as_of)
    assert analytics.historic_clv() == historic_clv(orders)
    assert analytics.historic_clv(as_of=as_of) == historic_clv(orders, as_of=as_of)
    assert analytics.order_metrics() == order_metrics(orders)
    for currency in ("EUR", "JPY", "BHD"):
        assert analytics.rfm(as_of=as_of, currency=currency) == rfm(orders, as_of=as_of, currency=currency)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    orders=order_lists(max_size=30),
    times=st.lists(ANY_TIME, max_size=4),
    as_of=st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2026, 1, 1), timezones=MINUTE_OFFSETS),
)
def test_equals_the_iterable_functions(
    analytics_of: AnalyticsOf, orders: list[Order], times: list[datetime], as_of: datetime
) -> None:
    orders = with_return_times(orders, times)
    assert_same(analytics_of(orders), orders, as_of)


def test_exact_sums_for_large_amounts_and_currencies_without_minor_units(analytics_of: AnalyticsOf) -> None:
    def one(order_id: str, customer: str, amount: str, currency: str, day: int, **kw: object) -> Order:
        line = OrderLine("l", "SKU", "Thing", 1, Money(amount, currency))
        return Order(order_id, customer, currency, (line,), at(day), status=OrderStatus.PAID, **kw)  # type: ignore[arg-type]

    orders = [
        one("o1", "cus_a", "123456789012345678.91", "EUR", 1),  # too long for an SQL integer sum
        one("o2", "cus_a", "0.01", "EUR", 2),
        one("o3", "cus_a", "99999999.99", "EUR", 3),
        one("o4", "cus_b", "1.5", "XAU", 4),  # no minor unit: amounts keep the places they were written with
        one("o5", "cus_b", "0.000001", "XAU", 5),
        one("o6", "cus_b", "7", "XAU", 6),
        one("o7", "cus_c", "1E+3", "XAU", 7),
        one("o8", "cus_c", "12345678901234567890123456", "JPY", 8),
    ]
    orders[1].returns = (returned("r1", ("l", 1), refund=Money("0.01", "EUR")),)
    orders[2].returns = (returned("r2", ("l", 1), refund=Money("99999999.99", "EUR"), status=ReturnStatus.DECLINED),)
    orders[4].returns = (returned("r3", ("l", 1), refund=Money("0.0000005", "XAU")),)
    analytics = analytics_of(orders)
    values = analytics.historic_clv()
    assert values.for_customer("cus_a") == {"EUR": Money("123456789112345678.90", "EUR")}
    assert values.for_customer("cus_b")["XAU"].amount == Decimal("8.5000005")
    assert values == historic_clv(orders)
    assert analytics.order_metrics() == order_metrics(orders)


def test_return_times_with_odd_offsets_against_as_of(analytics_of: AnalyticsOf) -> None:
    """A return requested a microsecond after ``as_of``, in an offset with seconds, is not counted yet."""
    as_of = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    odd = timezone(timedelta(hours=5, minutes=30, seconds=15))
    times = [as_of.astimezone(odd), (as_of + timedelta(microseconds=1)).astimezone(odd)]
    orders = []
    for i, requested in enumerate(times + [t.astimezone(timezone(timedelta(hours=-9, minutes=-45))) for t in times]):
        o = order(f"o{i}", "cus_a", 10)
        o.returns = (attrs.evolve(returned(f"r{i}", ("X", 1), refund=Money("1.00", "EUR")), requested_at=requested),)
        orders.append(o)
    analytics = analytics_of(orders)
    assert analytics.historic_clv(as_of=as_of).for_customer("cus_a") == {"EUR": Money("38.00", "EUR")}
    assert analytics.historic_clv(as_of=as_of) == historic_clv(orders, as_of=as_of)


def test_cancelled_orders_are_counted_apart(analytics_of: AnalyticsOf) -> None:
    orders = [
        order("o1", "cus_a", 1),
        order(
            "o2", "cus_a", 2, status=OrderStatus.CANCELLED, returns=(returned("r", ("X", 1), refund=Money("5", "EUR")),)
        ),
        order("o3", "cus_b", 3, status=OrderStatus.CANCELLED),
    ]
    analytics = analytics_of(orders)
    metrics = analytics.order_metrics()
    assert (metrics.orders, metrics.cancelled_orders, metrics.customers) == (1, 2, 1)
    assert analytics.historic_clv().for_customer("cus_a") == {"EUR": Money("10.00", "EUR")}


def test_an_empty_store(analytics_of: AnalyticsOf) -> None:
    analytics = analytics_of([])
    assert len(analytics.historic_clv()) == 0
    assert analytics.order_metrics() == order_metrics([])
    assert len(analytics.rfm(as_of=at(1))) == 0


def test_streams_every_record_in_pages(analytics_of: AnalyticsOf) -> None:
    orders = [order(f"o{i:02d}", CUSTOMERS[i % 3], i) for i in range(20)]
    analytics = analytics_of(orders)
    assert [o.id for o in analytics.orders()] == sorted(o.id for o in orders)
    assert [c.id for c in analytics.customers()] == list(CUSTOMERS)
    assert list(analytics.communications()) == [] and list(analytics.activity()) == []


def test_pushdown_is_used_on_sqlite_only() -> None:
    with MemoryStore() as memory, SQLiteStore() as sqlite:
        assert not StoreAnalytics(memory).pushes_down
        assert StoreAnalytics(sqlite).pushes_down
        assert not StoreAnalytics(sqlite, pushdown=False).pushes_down
        with sqlite.unit_of_work() as uow:  # inside a unit of work, its own writes count
            uow.customers.add(Customer("cus_a", T0))
            uow.orders.add(order("o1", "cus_a", 1))
            assert StoreAnalytics(uow).order_metrics().orders == 1
        assert StoreAnalytics(sqlite).order_metrics().orders == 0


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [({"source": []}, "source"), ({"pushdown": "yes"}, "pushdown"), ({"page_size": 0}, "page_size")],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, object], path: str) -> None:
    with MemoryStore() as store:
        arguments: dict[str, object] = {"source": store, **kwargs}
        with pytest.raises(ValidationError) as caught:
            StoreAnalytics(**arguments)  # type: ignore[arg-type]
        assert caught.value.problems[0].path == path


def test_bad_times_and_currencies_are_reported() -> None:
    with SQLiteStore() as store:
        analytics = StoreAnalytics(filled(store, [order("o1", "cus_a", 1), order("o2", "cus_b", 1, currency="USD")]))
        with pytest.raises(ValidationError, match="as_of"):
            analytics.historic_clv(as_of=datetime(2024, 1, 1))  # naive
        with pytest.raises(ValidationError, match="currency"):
            analytics.rfm(as_of=at(5), currency="EURO")
        with pytest.raises(ValidationError, match="choose one with currency="):
            analytics.rfm(as_of=at(5))


@settings(max_examples=200)
@given(ANY_TIME)
def test_sqlite_reads_iso_times_to_the_microsecond(moment: datetime) -> None:
    text = moment.isoformat()
    with sqlite3.connect(":memory:") as conn:
        well_formed, value = conn.execute(
            f"SELECT {_SQLITE_ISO}, {_SQLITE_MICROS} FROM (SELECT ? AS ts)", (text,)
        ).fetchone()
    if moment.utcoffset() % timedelta(minutes=1):  # type: ignore[operator]
        assert not well_formed  # left to Python
    else:
        assert well_formed and value == micros(moment)
