"""Historic CLV, order metrics and churn: hand-checked cases and properties over random orders."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from analytics_builders import at, line, order, order_lists, returned, tally
from hypothesis import given
from hypothesis import strategies as st

from custdata import CurrencyMismatchError, Money, Order, OrderStatus, ReturnStatus, ValidationError
from custdata.analytics import (
    average_order_value,
    churn_rate,
    historic_clv,
    order_metrics,
    purchase_frequency,
    repeat_purchase_rate,
)


def shop() -> list[Order]:
    """ann: 2 EUR orders (one with a 15 EUR refund) + 1 JPY; bob: 1 EUR and 1 cancelled; cat: 1 USD."""
    return [
        order(
            "o1", "ann", 0, line("SHOE", "100", 1), returns=(returned("r1", ("SHOE", 1), refund=Money("15", "EUR")),)
        ),
        order("o2", "ann", 40, line("TEE", "20", 2)),
        order("o3", "ann", 50, line("TEE", "1500", 1, currency="JPY"), currency="JPY"),
        order("o4", "bob", 10, line("TEE", "30", 1)),
        order("o5", "bob", 20, line("SHOE", "999", 1), status=OrderStatus.CANCELLED),
        order("o6", "cat", 5, line("CAP", "12.50", 1, currency="USD"), currency="USD"),
    ]


def test_historic_clv_by_hand() -> None:
    rows = {(str(r.customer_id), r.currency): r for r in historic_clv(shop())}
    assert sorted(rows) == [("ann", "EUR"), ("ann", "JPY"), ("bob", "EUR"), ("cat", "USD")]
    ann = rows["ann", "EUR"]
    assert (ann.orders, ann.revenue, ann.refunds, ann.clv) == (
        2,
        Money("140", "EUR"),
        Money("15", "EUR"),
        Money("125", "EUR"),
    )
    assert (ann.first_order_at, ann.last_order_at) == (at(0), at(40))
    assert rows["ann", "JPY"].clv == Money("1500", "JPY")
    assert rows["bob", "EUR"].orders == 1  # the cancelled order is not counted
    assert historic_clv(shop()).for_customer("ann") == {"EUR": Money("125", "EUR"), "JPY": Money("1500", "JPY")}


def test_as_of_leaves_out_later_orders_and_refunds() -> None:
    orders = [
        order(
            "o1", "ann", 0, line("X", "50", 2), returns=(returned("r1", ("X", 1), refund=Money("50", "EUR"), day=30),)
        ),
        order("o2", "ann", 20),
    ]
    assert historic_clv(orders, as_of=at(10))[0].clv == Money("100", "EUR")
    assert historic_clv(orders, as_of=at(25))[0].clv == Money("110", "EUR")
    assert historic_clv(orders, as_of=at(30))[0].clv == Money("60", "EUR")
    assert historic_clv(orders)[0].clv == Money("60", "EUR")
    with pytest.raises(ValidationError, match="as_of"):
        historic_clv(orders, as_of=at(0).replace(tzinfo=None))


def test_declined_and_cancelled_returns_refund_nothing() -> None:
    rets = (
        returned("r1", ("X", 1), status=ReturnStatus.DECLINED, refund=Money("5", "EUR")),
        returned("r2", ("X", 1), status=ReturnStatus.CANCELLED, refund=Money("5", "EUR")),
    )
    (row,) = historic_clv([order("o1", "ann", 0, line("X", "10", 2), returns=rets)])
    assert row.refunds == Money("0", "EUR") and row.clv == Money("20", "EUR")


def test_order_metrics_by_hand() -> None:
    metrics = order_metrics(shop())
    assert (metrics.orders, metrics.cancelled_orders, metrics.customers, metrics.repeat_customers) == (5, 1, 3, 1)
    assert metrics.purchase_frequency == pytest.approx(5 / 3)
    assert metrics.repeat_purchase_rate == pytest.approx(1 / 3)
    by_currency = {row.currency: row for row in metrics}
    assert by_currency["EUR"].orders == 3 and by_currency["EUR"].customers == 2
    assert by_currency["EUR"].revenue == Money("170", "EUR")
    assert by_currency["EUR"].average_order_value == Money("56.67", "EUR")  # 170 / 3, half-even to cents
    assert average_order_value(shop()) == {
        "EUR": Money("56.67", "EUR"),
        "JPY": Money("1500", "JPY"),
        "USD": Money("12.50", "USD"),
    }
    assert purchase_frequency(shop()) == pytest.approx(5 / 3)
    assert repeat_purchase_rate(shop()) == pytest.approx(1 / 3)


def test_no_orders_gives_undefined_ratios() -> None:
    metrics = order_metrics([])
    assert metrics.purchase_frequency is None and metrics.repeat_purchase_rate is None and len(metrics) == 0
    assert average_order_value([]) == {}


def test_churn_by_hand() -> None:
    orders = [
        order("o1", "ann", 0),
        order("o2", "ann", 35),  # ann stays
        order("o3", "bob", 5),  # bob churns
        order("o4", "cat", 1),
        order("o5", "cat", 31, status=OrderStatus.CANCELLED),  # cancelled: cat churns too
        order("o6", "dan", 40),  # new in the period
        order("o7", "eve", 70),  # after the period: ignored
        order("o8", "fay", -400),  # long ago: outside a 365-day lookback
        order("o9", "fay", 45),
    ]
    churn = churn_rate(orders, start=at(30), end=at(60))
    assert (churn.customers_at_start, churn.churned, churn.retained, churn.new_customers) == (4, 2, 2, 1)
    assert churn.rate == pytest.approx(0.5)
    windowed = churn_rate(orders, start=at(30), end=at(60), lookback=timedelta(days=365))
    # fay ordered before the lookback only: not active at the start, and not new either
    assert (windowed.customers_at_start, windowed.churned, windowed.new_customers) == (3, 2, 1)
    assert churn.to_records()[0]["rate"] == pytest.approx(0.5)


def test_churn_rejects_bad_periods() -> None:
    with pytest.raises(ValidationError, match="end: must be later than start"):
        churn_rate([], start=at(5), end=at(5))
    with pytest.raises(ValidationError, match="start: must be timezone-aware"):
        churn_rate([], start=at(0).replace(tzinfo=None), end=at(5))
    with pytest.raises(ValidationError, match="lookback: must be positive"):
        churn_rate([], start=at(0), end=at(5), lookback=timedelta(0))
    assert churn_rate([], start=at(0), end=at(5)).rate is None


def test_wrong_items_are_reported_with_their_position() -> None:
    with pytest.raises(ValidationError, match=r"orders\[1\]: must be Order, not dict"):
        historic_clv([order("o1", "ann", 0), {"id": "o2"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="orders: must be an iterable of Order, not Order"):
        order_metrics(order("o1", "ann", 0))  # type: ignore[arg-type]


@given(order_lists())
def test_historic_clv_matches_a_direct_sum_and_never_mixes_currencies(orders: list[Order]) -> None:
    result = historic_clv(orders)
    assert {(str(r.customer_id), r.currency): r.clv.amount for r in result} == tally(orders)
    for row in result:
        assert row.revenue.currency == row.refunds.currency == row.clv.currency == row.currency
        assert row.clv == row.revenue - row.refunds
        assert row.first_order_at <= row.last_order_at
    assert sum(r.orders for r in result) == sum(o.status is not OrderStatus.CANCELLED for o in orders)


@given(order_lists(), st.randoms(use_true_random=False))
def test_metrics_do_not_depend_on_input_order(orders: list[Order], rnd: random.Random) -> None:
    shuffled = orders[:]
    rnd.shuffle(shuffled)
    assert historic_clv(shuffled) == historic_clv(orders)
    assert order_metrics(shuffled) == order_metrics(orders)
    assert churn_rate(shuffled, start=at(100), end=at(200)) == churn_rate(orders, start=at(100), end=at(200))


@given(order_lists())
def test_order_metrics_invariants(orders: list[Order]) -> None:
    metrics = order_metrics(orders)
    assert metrics.orders == sum(row.orders for row in metrics)
    assert metrics.repeat_customers <= metrics.customers <= metrics.orders
    for row in metrics:
        assert row.revenue.currency == row.average_order_value.currency == row.currency
        assert row.average_order_value.amount * row.orders == pytest.approx(row.revenue.amount, abs=Decimal(row.orders))
    if metrics.orders:
        assert metrics.purchase_frequency is not None and metrics.purchase_frequency >= 1
        assert metrics.repeat_purchase_rate is not None and 0 <= metrics.repeat_purchase_rate <= 1


def test_money_of_two_currencies_is_never_added() -> None:
    # the model itself refuses; analytics keeps currencies apart instead of tripping over it
    with pytest.raises(CurrencyMismatchError):
        Money("1", "EUR") + Money("1", "USD")
    rows = historic_clv([order("o1", "ann", 0), order("o2", "ann", 1, line("X", "10", currency="USD"), currency="USD")])
    assert [(r.currency, r.clv) for r in rows] == [("EUR", Money("10", "EUR")), ("USD", Money("10", "USD"))]
