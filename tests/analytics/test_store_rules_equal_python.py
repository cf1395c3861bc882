"""Every figure that SQLite and PostgreSQL aggregate themselves equals what the Python functions give on the same
orders: the Python functions are the reference, the SQL statements the fast path.

One property over generated orders (several currencies, ISO 4217 ones without a minor unit, very large amounts,
refunds written with any number of places, times in offsets with seconds, cancelled and declined returns)
compares each figure of :class:`custdata.analytics.store.StoreAnalytics` with its function, on a SQLite file
and on the session's PostgreSQL server (``tests/conftest.py``), where the figures are pushed down, and on the
memory store, where they stream.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from analytics_builders import CUSTOMERS, T0, at, order_lists
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import (
    Customer,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
    ValidationError,
)
from custdata.analytics import customer_facts, historic_clv, order_metrics, rfm
from custdata.analytics.store import StoreAnalytics
from custdata.storage import Store
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore

ODD_OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
#: Offsets of stored times: whole seconds up to 15:59:59 (larger ones are tested apart below: PostgreSQL does not
#: read them yet).
SECOND_OFFSETS = st.integers(-57599, 57599).map(lambda seconds: timezone(timedelta(seconds=seconds)))
RETURN_TIMES = st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2026, 1, 1), timezones=SECOND_OFFSETS)
AS_OF = st.datetimes(
    min_value=datetime(2023, 12, 1), max_value=datetime(2026, 1, 1), timezones=st.builds(timezone, ODD_OFFSETS)
)

#: Amounts of currencies with 0, 2 and 3 minor units and none (gold), at every size a Money takes.
AWKWARD_PRICES = st.one_of(
    st.tuples(st.just("XAU"), st.decimals(Decimal("0.0000001"), Decimal("99999"), places=7)),
    st.tuples(st.just("EUR"), st.decimals(Decimal("0"), Decimal("123456789012345678.91"), places=2)),
    st.tuples(st.just("JPY"), st.integers(0, 10**17).map(Decimal)),
    st.tuples(st.just("BHD"), st.decimals(Decimal("0"), Decimal("9999999.999"), places=3)),
)


@st.composite
def awkward_orders(draw: st.DrawFn, index: int) -> Order:
    currency, price = draw(AWKWARD_PRICES)
    quantity = draw(st.integers(1, 3))
    line = OrderLine("l", "SKU-1", "Product", quantity, Money(price, currency))
    returns: tuple[Return, ...] = ()
    if draw(st.booleans()):
        places = draw(st.integers(0, {"XAU": 7, "EUR": 2, "JPY": 0, "BHD": 3}[currency]))
        refund = draw(st.none() | st.decimals(Decimal(0), price * quantity, places=places))
        returns = (
            Return(
                "r1",
                draw(RETURN_TIMES),
                (ReturnLine("l", draw(st.integers(1, quantity)), ReturnReason.OTHER),),
                draw(st.sampled_from(ReturnStatus)),
                None if refund is None else Money(refund, currency),
            ),
        )
    placed = at(draw(st.integers(0, 600)), draw(st.integers(0, 23))).astimezone(draw(SECOND_OFFSETS))
    return Order(
        f"odd{index}",
        draw(st.sampled_from(CUSTOMERS)),
        currency,
        (line,),
        placed,
        status=draw(st.sampled_from(OrderStatus)),
        returns=returns,
    )


@st.composite
def all_orders(draw: st.DrawFn) -> list[Order]:
    orders: list[Order] = draw(order_lists(max_size=25))
    times = draw(st.lists(RETURN_TIMES, max_size=3))
    if times:  # the generated returns requested at other times, in any offset
        orders = [
            attrs.evolve(o, returns=tuple(attrs.evolve(r, requested_at=times[i % len(times)]) for r in o.returns))
            for i, o in enumerate(orders)
        ]
    count = draw(st.integers(0, 6))
    return orders + [draw(awkward_orders(i)) for i in range(count)]


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


def _outcome(figure: Callable[[], Any]) -> Any:
    """The figure, or the problems when there is none (rfm over several currencies without ``currency=``)."""
    try:
        return figure()
    except ValidationError as exc:
        return [(p.path, p.message) for p in exc.problems]


def _figures(of: Any, orders: list[Order], as_of: datetime) -> dict[str, Any]:
    """Every figure that stores aggregate, by ``of`` (a StoreAnalytics, or None for the functions on ``orders``)."""
    if of is None:
        clv: Callable[..., Any] = lambda **kw: historic_clv(orders, **kw)  # noqa: E731
        metrics: Callable[[], Any] = lambda: order_metrics(orders)  # noqa: E731
        table: Callable[..., Any] = lambda **kw: rfm(orders, **kw)  # noqa: E731
    else:
        clv, metrics, table = of.historic_clv, of.order_metrics, of.rfm
    figures = {
        "historic_clv": _outcome(clv),
        "historic_clv as of": _outcome(lambda: clv(as_of=as_of)),
        "order_metrics": _outcome(metrics),
    }
    for currency in (None, *sorted({o.currency for o in orders} | {"EUR", "CHF"})):
        figures[f"rfm {currency}"] = _outcome(functools.partial(table, as_of=as_of, currency=currency))
    return figures


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=all_orders(), as_of=AS_OF)
def test_every_store_figure_equals_its_python_function(
    store_of: Callable[[], Store], orders: list[Order], as_of: datetime
) -> None:
    store = store_of()
    try:
        with store.unit_of_work() as uow:
            uow.customers.add_many(Customer(c, T0) for c in CUSTOMERS)
            uow.orders.add_many(orders)
            uow.commit()
        analytics = StoreAnalytics(store)
        assert analytics.pushes_down == store_of.pushes_down  # type: ignore[attr-defined]
        returned_at = sorted({r.requested_at for o in orders for r in o.returns})[:2]
        for moment in (as_of, *returned_at):  # a return requested at as_of itself counts
            expected, found = _figures(None, orders, moment), _figures(analytics, orders, moment)
            for name, figure in expected.items():
                assert found[name] == figure, (name, moment)
        profiles = [Customer(c, T0) for c in CUSTOMERS]
        assert analytics.customer_facts(as_of=as_of) == customer_facts(as_of=as_of, orders=orders, customers=profiles)
    finally:
        store.close()  # one example's connections closed before the next opens its own


@pytest.mark.parametrize("offset", [timedelta(hours=16), timedelta(hours=-23, minutes=-59, seconds=-59)])
def test_a_return_time_in_any_offset_python_allows(
    store_of: Callable[[], Store], request: pytest.FixtureRequest, offset: timedelta
) -> None:
    if request.node.callspec.params["store_of"] == "postgresql" and abs(offset) >= timedelta(hours=16):
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                raises=AssertionError,
                reason="the PostgreSQL aggregate casts return times to timestamptz, which reads no offset beyond 15:59:59",
            )
        )
    line = OrderLine("l", "SKU-1", "Product", 1, Money("10.00", "EUR"))
    refund = Return(
        "r1",
        datetime(2024, 3, 1, tzinfo=timezone(offset)),
        (ReturnLine("l", 1, ReturnReason.OTHER),),
        ReturnStatus.CLOSED,
        Money("4.00", "EUR"),
    )
    orders = [Order("o1", CUSTOMERS[0], "EUR", (line,), at(1), status=OrderStatus.DELIVERED, returns=(refund,))]
    store = store_of()
    try:
        with store.unit_of_work() as uow:
            uow.customers.add(Customer(CUSTOMERS[0], T0))
            uow.orders.add_many(orders)
            uow.commit()
        analytics = StoreAnalytics(store)
        requested = datetime(2024, 3, 1, tzinfo=timezone(offset))
        for as_of in (requested, requested - timedelta(microseconds=1)):
            assert _figures(analytics, orders, as_of) == _figures(None, orders, as_of)
    finally:
        store.close()
