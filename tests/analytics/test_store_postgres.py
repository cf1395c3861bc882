"""StoreAnalytics on a real PostgreSQL server aggregates in SQL and equals the iterable functions.

The server is the session's, from ``tests/conftest.py`` (which fails in CI, rather than skips, when PostgreSQL is
missing).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
from analytics_builders import CUSTOMERS, T0, at, order, order_lists, returned
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import Customer, Money, Order, OrderLine, OrderStatus
from custdata.analytics import historic_clv, order_metrics, rfm
from custdata.analytics.store import StoreAnalytics
from custdata.storage.aggregates import order_figures

ODD = timezone(timedelta(hours=5, minutes=30, seconds=15))


def fill(store: Any, orders: list[Order]) -> StoreAnalytics:
    with store.unit_of_work() as uow:
        uow.customers.add_many(Customer(c, T0) for c in CUSTOMERS)
        uow.orders.add_many(orders)
        uow.commit()
    return StoreAnalytics(store)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=order_lists(max_size=30), day=st.integers(0, 600))
def test_postgres_equals_the_iterable_functions(new_store: Callable[..., Any], orders: list[Order], day: int) -> None:
    analytics = fill(new_store(pool_max_size=2), orders)
    assert analytics.pushes_down
    as_of = at(day).astimezone(ODD)
    assert analytics.order_figures() == order_figures(orders)
    assert analytics.order_figures(as_of=as_of) == order_figures(orders, as_of=as_of)
    assert analytics.historic_clv() == historic_clv(orders)
    assert analytics.historic_clv(as_of=as_of) == historic_clv(orders, as_of=as_of)
    assert analytics.order_metrics() == order_metrics(orders)
    for currency in ("EUR", "BHD"):
        assert analytics.rfm(as_of=as_of, currency=currency) == rfm(orders, as_of=as_of, currency=currency)


def test_postgres_exact_money_and_return_times(new_store: Callable[..., Any]) -> None:
    as_of = datetime(2024, 6, 1, 12, tzinfo=UTC)
    big = Order(
        "o-big", "cus_a", "EUR", (OrderLine("l", "SKU", "Yacht", 1, Money("123456789012345678.91", "EUR")),), at(1)
    )
    gold = Order("o-xau", "cus_b", "XAU", (OrderLine("l", "SKU", "Gold", 1, Money("1.0000005", "XAU")),), at(2))
    orders: list[Order] = [big, gold]
    for i, requested in enumerate((as_of.astimezone(ODD), (as_of + timedelta(microseconds=1)).astimezone(ODD))):
        o = order(f"o{i}", "cus_a", 10, status=OrderStatus.DELIVERED)
        o.returns = (attrs.evolve(returned(f"r{i}", ("X", 1), refund=Money("1.00", "EUR")), requested_at=requested),)
        orders.append(o)
    analytics = fill(new_store(pool_max_size=2), orders)
    values = analytics.historic_clv(as_of=as_of)
    assert values.for_customer("cus_a") == {"EUR": Money("123456789012345697.91", "EUR")}
    assert values == historic_clv(orders, as_of=as_of)
    assert analytics.order_metrics() == order_metrics(orders)


def test_postgres_segments_and_records(new_store: Callable[..., Any]) -> None:
    """Segments, facts and records read from PostgreSQL equal those of the same data given as iterables."""
    from custdata.analytics import Segment, customer_facts, first_time_shopper, inactive_for
    from custdata.analytics.frames import order_line_records, order_record, order_records

    orders = [order("o1", "cus_a", 1), order("o2", "cus_a", 90), order("o3", "cus_b", 2), order("o4", "cus_c", 95)]
    store = new_store(pool_max_size=2)
    analytics = fill(store, orders)
    as_of = at(100)
    profiles = [Customer(c, T0) for c in CUSTOMERS]
    assert analytics.customer_facts(as_of=as_of) == customer_facts(as_of=as_of, orders=orders, customers=profiles)
    segment = Segment("Lapsed first-timers", first_time_shopper() & inactive_for(30))
    assert list(analytics.audience(segment, as_of=as_of)) == ["cus_b"]
    check = analytics.segment_check(segment, clock=lambda: as_of)
    assert [c for c in CUSTOMERS if check(c)] == ["cus_b"]
    assert list(order_records(store)) == [order_record(o) for o in orders]
    assert [r["order_id"] for r in order_line_records(store, customer_id="cus_a")] == ["o1", "o2"]
