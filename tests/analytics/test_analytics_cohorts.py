"""Cohort retention by first-order month."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from analytics_builders import order, order_lists
from hypothesis import given
from hypothesis import strategies as st

from custdata import Money, Order, OrderLine, OrderStatus, ValidationError
from custdata.analytics import cohort_retention


def placed(order_id: str, customer: str, when: datetime, status: OrderStatus = OrderStatus.PAID) -> Order:
    item = OrderLine("1", "X", "X", 1, Money("1", "EUR"))
    return Order(order_id, customer, "EUR", (item,), when, status=status)


def test_retention_by_hand() -> None:
    orders = [
        placed("o1", "ann", datetime(2024, 1, 5, tzinfo=UTC)),
        placed("o2", "ann", datetime(2024, 2, 5, tzinfo=UTC)),
        placed("o3", "ann", datetime(2024, 2, 20, tzinfo=UTC)),  # same month twice: counted once
        placed("o4", "bob", datetime(2024, 1, 9, tzinfo=UTC)),
        placed("o5", "bob", datetime(2024, 3, 9, tzinfo=UTC)),
        placed("o6", "cat", datetime(2024, 2, 1, tzinfo=UTC)),
        placed("o7", "cat", datetime(2024, 3, 1, tzinfo=UTC), OrderStatus.CANCELLED),
    ]
    cells = [(c.cohort, c.period, c.customers, c.active) for c in cohort_retention(orders)]
    assert cells == [
        ("2024-01", 0, 2, 2),
        ("2024-01", 1, 2, 1),
        ("2024-01", 2, 2, 1),
        ("2024-02", 0, 1, 1),
        ("2024-02", 1, 1, 0),
    ]
    assert cohort_retention(orders).matrix() == {"2024-01": [1.0, 0.5, 0.5], "2024-02": [1.0, 0.0]}
    assert cohort_retention(orders, periods=1).matrix() == {"2024-01": [1.0, 0.5], "2024-02": [1.0, 0.0]}


def test_months_are_taken_in_the_given_time_zone() -> None:
    # 23:30 UTC on 31 January is already February in Berlin
    orders = [placed("o1", "ann", datetime(2024, 1, 31, 23, 30, tzinfo=UTC))]
    assert cohort_retention(orders)[0].cohort == "2024-01"
    assert cohort_retention(orders, tz=ZoneInfo("Europe/Berlin"))[0].cohort == "2024-02"


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="tz"):
        cohort_retention([], tz="Europe/Berlin")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="periods"):
        cohort_retention([], periods=-1)
    assert len(cohort_retention([order("o1", "ann", 0, status=OrderStatus.CANCELLED)])) == 0


@given(order_lists(), st.randoms(use_true_random=False))
def test_retention_properties(orders: list[Order], rnd: random.Random) -> None:
    result = cohort_retention(orders)
    shuffled = orders[:]
    rnd.shuffle(shuffled)
    assert cohort_retention(shuffled) == result
    customers = {o.customer_id for o in orders if o.status is not OrderStatus.CANCELLED}
    assert sum(c.customers for c in result if c.period == 0) == len(customers)
    for cell in result:
        assert 0 <= cell.active <= cell.customers
        assert cell.retention == cell.active / cell.customers
        if cell.period == 0:
            assert cell.retention == 1.0
