"""Customer facts and rule-based segments composed from predicates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from analytics_builders import activity, at, line, order, order_lists, returned
from hypothesis import given

from custdata import ActivityEvent, Address, Customer, CustomerId, Money, Order, OrderStatus, ValidationError
from custdata.analytics import (
    AllOf,
    AnyOf,
    CustomerFacts,
    CustomerFactsTable,
    Not,
    Predicate,
    Segment,
    cart_abandoner,
    customer_facts,
    first_time_shopper,
    high_returner,
    in_rfm_segment,
    inactive_for,
    international,
    member_of,
    rfm,
    tagged,
    vip,
    where,
)

AS_OF = at(100)


def data() -> tuple[list[Order], list[ActivityEvent], list[Customer]]:
    orders = [
        order("o1", "ann", 10, line("X", "400", 2, line_id="a"), country="DE"),
        order(
            "o2",
            "ann",
            90,
            line("X", "300", 1, line_id="a"),
            country="FR",
            returns=(returned("r1", ("a", 1), refund=Money("300", "EUR"), day=95),),
        ),
        order("o3", "bob", 20, line("X", "50", 4, line_id="a"), returns=(returned("r1", ("a", 3), day=25),)),
        order("o4", "cat", 95, line("X", "2000", 1, currency="USD"), currency="USD"),
        order("o5", "dan", 99, status=OrderStatus.CANCELLED),
        order("o6", "eve", 150),  # after as_of
    ]
    events = [
        activity("e1", "bob", "Product Added", 30),  # bob abandoned a cart after his order
        activity("e2", "cat", "Checkout Started", 94),
        activity("e3", "cat", "Order Completed", 94.01),  # ...and completed it
        activity("e4", "dan", "Cart Abandoned", 99.99),  # too recent to call (min_age 1 hour)
        activity("e5", "fay", "Product Added", 50),  # never ordered
        activity("e6", "fay", "Product Viewed", 60),  # not a cart event
        activity("e7", "gus", "Product Added", 120),  # after as_of
    ]
    home = Address(
        first_name="A",
        last_name="B",
        street_address_1="1 Main St",
        city="Springfield",
        country_area="IL",
        postal_code="62701",
        country_code="US",
    )
    customers = [
        Customer("fay", at(0), addresses=(home,), default_shipping_address=0, tags=frozenset({"press"})),
        Customer("hal", at(200)),  # created after as_of
    ]
    return orders, events, customers


def facts() -> CustomerFactsTable:
    orders, events, customers = data()
    return customer_facts(as_of=AS_OF, orders=orders, activity=events, customers=customers)


def test_facts_by_hand() -> None:
    table = facts()
    assert [f.customer_id for f in table] == ["ann", "bob", "cat", "dan", "fay"]
    ann = table.get("ann")
    assert ann is not None
    assert (ann.orders, ann.items, ann.items_returned, ann.countries) == (2, 3, 1, frozenset({"DE", "FR"}))
    assert ann.revenue == {"EUR": Money("1100", "EUR")} and ann.spent("EUR") == Money("800", "EUR")
    assert ann.spent("USD") == Money("0", "USD")
    assert ann.days_since_last_order == pytest.approx(10)
    bob, dan, fay = table.get("bob"), table.get("dan"), table.get("fay")
    assert bob is not None and dan is not None and fay is not None
    assert bob.return_rate == pytest.approx(0.75)
    assert (dan.orders, dan.cancelled_orders, dan.last_order_at, dan.return_rate) == (0, 1, None, None)
    assert fay.customer is not None and fay.countries == frozenset({"US"}) and fay.last_cart_at == at(50)
    assert table.get("eve") is None and table.get("nobody") is None
    record = table.to_records()[0]
    assert "customer" not in record and record["revenue"] == {"EUR": Decimal("1100.00")}
    assert "Main St" not in repr(fay)


def test_facts_ignore_returns_requested_after_as_of() -> None:
    orders, _, _ = data()
    before = customer_facts(as_of=at(94), orders=orders).get("ann")
    assert before is not None and (before.items_returned, before.spent("EUR")) == (0, Money("1100", "EUR"))


def members(rule: Predicate) -> list[CustomerId]:
    return Segment("s", rule).members(facts())


def test_builtin_predicates() -> None:
    assert members(vip(Money("500", "EUR"))) == ["ann"]
    assert members(vip(Money("1000", "USD"))) == ["cat"]  # EUR spend never counts towards a USD threshold
    assert members(vip(Money("500", "EUR"), min_orders=3)) == []
    assert members(first_time_shopper()) == ["bob", "cat"]
    assert members(cart_abandoner()) == ["bob", "fay"]
    assert members(cart_abandoner(min_age=timedelta(0))) == ["bob", "dan", "fay"]
    assert members(cart_abandoner(within=timedelta(days=60))) == ["fay"]
    assert members(international("de")) == ["ann", "fay"]
    assert members(international("US")) == ["ann"]
    assert members(high_returner(Decimal("0.5"))) == ["bob"]
    assert members(high_returner("0.3", min_items=4)) == ["bob"]
    assert members(high_returner(0.3, min_items=5)) == []
    assert members(inactive_for(30)) == ["bob"]
    assert members(inactive_for(6)) == ["ann", "bob"]
    assert members(inactive_for(5)) == ["ann", "bob", "cat"]
    assert members(tagged("press")) == ["fay"]
    assert members(member_of(["cat", "zed"], "imported list")) == ["cat"]
    assert members(where("many items", lambda f: f.items >= 3)) == ["ann", "bob"]


def test_composition() -> None:
    rule = (first_time_shopper() | vip(Money("500", "EUR"))) & ~inactive_for(30)
    assert members(rule) == ["ann", "cat"]
    assert isinstance(rule, AllOf) and isinstance(rule.parts[0], AnyOf) and isinstance(rule.parts[1], Not)
    assert str(rule) == "(first_time_shopper() or vip(min_spent=500.00 EUR)) and not inactive_for(days=30)"
    assert ~~first_time_shopper() == first_time_shopper()
    flat = first_time_shopper() & tagged("x") & inactive_for(3)
    assert isinstance(flat, AllOf) and len(flat.parts) == 3
    with pytest.raises(TypeError, match="combine predicates with &"):
        first_time_shopper() and tagged("x")


def test_segment_tests_one_customer() -> None:
    segment = Segment("Win back", inactive_for(30) & ~high_returner(), "lapsed, and not because of returns")
    table = facts()
    bob, ann = table.get("bob"), table.get("ann")
    assert bob is not None and ann is not None
    assert segment.contains(ann) is False and ann not in segment
    assert (bob in segment) is False  # bob returns too much
    assert str(segment) == "Win back: inactive_for(days=30) and not high_returner(min_rate=0.3, min_items=3)"
    with pytest.raises(ValidationError, match="facts: must be CustomerFacts, not Customer"):
        Customer("x", at(0)) in segment  # noqa: B015
    with pytest.raises(ValidationError, match="name"):
        Segment(" ", first_time_shopper())
    with pytest.raises(ValidationError, match="rule: must be a Predicate"):
        Segment("x", lambda f: True)  # type: ignore[arg-type]


def test_rfm_segments_become_predicates() -> None:
    orders, _, _ = data()
    scores = rfm(orders, as_of=AS_OF, currency="EUR")
    champions = scores.members("Champions")
    assert champions
    assert members(in_rfm_segment(scores, "Champions")) == champions
    assert str(in_rfm_segment(scores, "Champions", "Loyal")) == "in_rfm_segment('Champions', 'Loyal')"
    with pytest.raises(ValidationError, match="segments"):
        in_rfm_segment(scores)


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda: vip(500), "min_spent"),  # type: ignore[arg-type]
        (lambda: vip(Money("1", "EUR"), min_orders=0), "min_orders"),
        (lambda: international("XX"), "home_country"),
        (lambda: high_returner("1.5"), "min_rate"),
        (lambda: high_returner("lots"), "min_rate"),
        (lambda: inactive_for(0), "days"),
        (lambda: cart_abandoner(within=timedelta(0)), "within"),
        (lambda: tagged(""), "tag"),
        (lambda: member_of("cat", "x"), "customer_ids"),
        (lambda: where("", bool), "name"),
        (lambda: where("x", 3), "check"),  # type: ignore[arg-type]
        (lambda: customer_facts(as_of=AS_OF, cart_events="Product Added"), "cart_events"),
        (lambda: customer_facts(as_of=AS_OF, purchase_events=[]), "purchase_events"),
    ],
)
def test_bad_arguments_name_the_field(build: Callable[[], object], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.problems[0].path == path


@given(order_lists())
def test_facts_agree_with_the_other_metrics(orders: list[Order]) -> None:
    table = customer_facts(as_of=at(1000), orders=orders)
    assert all(isinstance(f, CustomerFacts) for f in table)
    from custdata.analytics import historic_clv, return_rates_by_customer

    clv = {(r.customer_id, r.currency): r.clv for r in historic_clv(orders)}
    assert {(f.customer_id, c): f.spent(c) for f in table for c in f.revenue} == clv
    returns = {r.customer_id: (r.items, r.items_returned) for r in return_rates_by_customer(orders)}
    assert {f.customer_id: (f.items, f.items_returned) for f in table if f.orders} == returns
    everyone = Segment("all", first_time_shopper() | ~first_time_shopper())
    assert everyone.members(table) == [f.customer_id for f in table]
