"""Return rates per customer, per product and variant, and per variant attribute."""

from __future__ import annotations

import random

import pytest
from analytics_builders import line, order, order_lists, returned
from hypothesis import given
from hypothesis import strategies as st

from custdata import Order, OrderStatus, ReturnReason, ReturnStatus, ValidationError
from custdata.analytics import return_rates_by_attribute, return_rates_by_customer, return_rates_by_product


def shop() -> list[Order]:
    """Size 42 of SHOE-1 keeps coming back."""
    return [
        order(
            "o1",
            "ann",
            0,
            line("SHOE-1", "80", 1, line_id="a", size="42"),
            line("TEE", "20", 2, line_id="b"),
            returns=(returned("r1", ("a", 1)),),
        ),
        order("o2", "bob", 1, line("SHOE-1", "80", 2, line_id="a", size="42"), returns=(returned("r1", ("a", 2)),)),
        order("o3", "bob", 2, line("SHOE-1", "80", 1, line_id="a", size="43")),
        order(
            "o4",
            "cat",
            3,
            line("SHOE-2", "90", 1, line_id="a", size="42"),
            returns=(returned("r1", ("a", 1), reason=ReturnReason.DAMAGED),),
        ),
        order(
            "o5",
            "cat",
            4,
            line("TEE", "20", 1, line_id="a"),
            returns=(returned("r1", ("a", 1), status=ReturnStatus.DECLINED),),  # declined: not counted
        ),
        order(
            "o6",
            "dan",
            5,
            line("SHOE-1", "80", 5, line_id="a", size="42"),
            status=OrderStatus.CANCELLED,  # cancelled: nothing sold
            returns=(returned("r1", ("a", 5)),),
        ),
    ]


def test_per_variant_by_hand() -> None:
    rows = return_rates_by_product(shop())
    top = rows[0]
    assert (top.sku, dict(top.variant), top.sold, top.returned, top.return_rate) == ("SHOE-1", {"size": "42"}, 3, 3, 1)
    assert top.reasons == {"wrong_size": 3}
    assert top.label == "SHOE-1 (size=42)"
    assert [(r.label, r.sold, r.returned) for r in rows] == [
        ("SHOE-1 (size=42)", 3, 3),
        ("SHOE-2 (size=42)", 1, 1),
        ("SHOE-1 (size=43)", 1, 0),
        ("TEE", 3, 0),
    ]


def test_per_product_and_minimum_sold() -> None:
    rows = {r.sku: r for r in return_rates_by_product(shop(), by_variant=False)}
    assert (rows["SHOE-1"].sold, rows["SHOE-1"].returned) == (4, 3)
    assert rows["SHOE-1"].return_rate == pytest.approx(0.75)
    assert rows["SHOE-1"].variant == {} and rows["SHOE-1"].label == "SHOE-1"
    assert [r.sku for r in return_rates_by_product(shop(), by_variant=False, min_sold=2)] == ["SHOE-1", "TEE"]
    with pytest.raises(ValidationError, match="min_sold"):
        return_rates_by_product(shop(), min_sold=0)


def test_per_attribute_by_hand() -> None:
    rows = return_rates_by_attribute(shop(), "size")
    assert [(r.value, r.sold, r.returned, r.return_rate) for r in rows] == [("42", 4, 4, 1.0), ("43", 1, 0, 0.0)]
    assert rows[0].reasons == {"wrong_size": 3, "damaged": 1}
    assert len(return_rates_by_attribute(shop(), "colour")) == 0
    with pytest.raises(ValidationError, match="attribute"):
        return_rates_by_attribute(shop(), " ")


def test_per_customer_by_hand() -> None:
    rows = {str(r.customer_id): r for r in return_rates_by_customer(shop())}
    assert set(rows) == {"ann", "bob", "cat"}  # dan's only order was cancelled
    ann = rows["ann"]
    assert (ann.orders, ann.orders_with_returns, ann.items, ann.items_returned) == (1, 1, 3, 1)
    assert ann.return_rate == pytest.approx(1 / 3)
    assert (rows["bob"].items, rows["bob"].items_returned, rows["bob"].orders_with_returns) == (3, 2, 1)
    assert (rows["cat"].items_returned, rows["cat"].orders_with_returns) == (1, 1)


def test_records_carry_plain_values() -> None:
    record = return_rates_by_product(shop()).to_records()[0]
    assert record == {
        "sku": "SHOE-1",
        "variant": {"size": "42"},
        "product_name": "Product SHOE-1",
        "sold": 3,
        "returned": 3,
        "return_rate": 1.0,
        "reasons": {"wrong_size": 3},
    }


@given(order_lists(), st.randoms(use_true_random=False))
def test_return_rates_are_rates_and_ignore_input_order(orders: list[Order], rnd: random.Random) -> None:
    shuffled = orders[:]
    rnd.shuffle(shuffled)
    for fn in (return_rates_by_customer, return_rates_by_product, lambda o: return_rates_by_attribute(o, "size")):
        result = fn(orders)
        assert fn(shuffled) == result
        for row in result:
            assert 0 <= row.return_rate <= 1
    sold = sum(line.quantity for o in orders if o.status is not OrderStatus.CANCELLED for line in o.lines)
    assert sum(r.sold for r in return_rates_by_product(orders, by_variant=False)) == sold
    assert sum(r.sold for r in return_rates_by_product(orders)) == sold
    assert sum(r.items for r in return_rates_by_customer(orders)) == sold
