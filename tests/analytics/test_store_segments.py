"""Segments evaluated against a store: an Audience snapshot and a live SegmentCheck agree with segments tested
on the same data given as iterables, and a workflow rule takes either as its ``segment``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from analytics_builders import CUSTOMERS, T0, activity, at, order, order_lists
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import ActivityEvent, Customer, EmailAddress, Money, Order, ValidationError
from custdata.analytics import (
    Audience,
    Segment,
    SegmentCheck,
    StoreAnalytics,
    cart_abandoner,
    customer_facts,
    first_time_shopper,
    inactive_for,
    tagged,
    vip,
)
from custdata.storage import Store
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore

SEGMENTS = (
    Segment("Big spenders", vip(Money("50", "EUR"))),
    Segment("Once", first_time_shopper()),
    Segment("Lapsed", inactive_for(90) & ~tagged("vip")),
    Segment("Carts", cart_abandoner(within=timedelta(days=30))),
)
EVENT_NAMES = ("Product Added", "Checkout Started", "Order Completed", "Page Viewed")


def profiles() -> list[Customer]:
    return [Customer(c, T0, tags=frozenset({"vip"}) if i % 3 == 0 else frozenset()) for i, c in enumerate(CUSTOMERS)]


def fill(store: Store, orders: list[Order], events: list[ActivityEvent]) -> Store:
    with store.unit_of_work() as uow:
        uow.customers.add_many(profiles())
        uow.orders.add_many(orders)
        uow.activity.add_many(events)
        uow.commit()
    return store


NewStore = Callable[[list[Order], list[ActivityEvent]], Store]


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest) -> Iterator[NewStore]:
    opened: list[Store] = []

    def make(orders: list[Order], events: list[ActivityEvent]) -> Store:
        store: Store = MemoryStore() if request.param == "memory" else SQLiteStore()
        opened.append(store)
        return fill(store, orders, events)

    yield make
    for store in opened:
        store.close()


ACTIVITY = st.lists(
    st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(EVENT_NAMES), st.integers(0, 420)), max_size=12
).map(lambda specs: [activity(f"act{i}", c, name, day) for i, (c, name, day) in enumerate(specs)])


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=order_lists(max_size=25), events=ACTIVITY, day=st.integers(0, 500))
def test_audience_and_live_check_equal_segments_over_iterables(
    new_store: NewStore, orders: list[Order], events: list[ActivityEvent], day: int
) -> None:
    as_of = at(day)
    store = new_store(orders, events)
    shop = StoreAnalytics(store, page_size=4)
    facts = customer_facts(as_of=as_of, orders=orders, activity=events, customers=profiles())
    assert shop.customer_facts(as_of=as_of) == facts
    for segment in SEGMENTS:
        expected = segment.members(facts)
        audience = shop.audience(segment, as_of=as_of)
        assert list(audience) == expected and len(audience) == len(expected)
        check = shop.segment_check(segment, clock=lambda: as_of)
        with store.unit_of_work() as uow:
            customers = [uow.customers.get(c) for c in CUSTOMERS]
        assert [c.id for c in customers if check(c)] == expected
        assert [c for c in CUSTOMERS if audience(c) and c in audience] == expected


def test_the_live_check_follows_new_orders_and_the_snapshot_does_not() -> None:
    with SQLiteStore() as store:
        fill(store, [order("o1", "cus_a", 1)], [])
        shop = StoreAnalytics(store)
        once = Segment("Once", first_time_shopper())
        snapshot = shop.audience(once, as_of=at(10))
        now = [at(10)]
        live = shop.segment_check(once, clock=lambda: now[0])
        assert snapshot("cus_a") and live("cus_a")
        with store.unit_of_work() as uow:
            uow.orders.add(order("o2", "cus_a", 11))
            uow.commit()
        now[0] = at(12)
        assert snapshot("cus_a") and not live("cus_a")
        assert not live("cus_nobody")  # unknown ids are nobody's members
        assert live.facts("cus_a").orders == 2
        assert repr(live) == "SegmentCheck('Once')"


def test_the_snapshot_defaults_to_now_and_becomes_records() -> None:
    with MemoryStore() as store:
        fill(store, [order("o1", "cus_b", 1), order("o2", "cus_a", 2)], [])
        before = datetime.now(UTC)
        audience = StoreAnalytics(store).audience(Segment("Once", first_time_shopper()))
        assert before <= audience.as_of <= datetime.now(UTC)
        assert audience.to_records() == [
            {"customer_id": "cus_a", "segment": "Once", "as_of": audience.as_of},
            {"customer_id": "cus_b", "segment": "Once", "as_of": audience.as_of},
        ]
        assert repr(audience).endswith("customer_ids=<2 customers>)")
        assert isinstance(audience, Audience)


def test_bad_arguments_name_the_field() -> None:
    with MemoryStore() as store:
        shop = StoreAnalytics(store)
        once = Segment("Once", first_time_shopper())
        call: Callable[[], object]
        for call, path in [
            (lambda: shop.audience(first_time_shopper()), "segment"),  # type: ignore[arg-type]  # a predicate is not a segment
            (lambda: shop.audience(once, as_of=datetime(2024, 1, 1)), "as_of"),
            (lambda: shop.segment_check(once, clock="now"), "clock"),  # type: ignore[arg-type]
            (lambda: shop.segment_check(once, clock=lambda: datetime(2024, 1, 1))("cus_a"), "clock()"),
            (lambda: shop.audience(once, as_of=at(1))(42), "customer"),  # type: ignore[arg-type]
        ]:
            with pytest.raises(ValidationError) as caught:
                call()
            assert caught.value.problems[0].path == path
        assert isinstance(shop.segment_check(once), SegmentCheck)


def test_a_workflow_rule_sends_only_to_the_audience(tmp_path: Path) -> None:
    from custdata import Topic
    from custdata.lifecycle import OrderPlaced
    from custdata.workflows import Rule, Shop, Workflows

    shop = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")
    with SQLiteStore(tmp_path / "shop.db") as store:
        with store.unit_of_work() as uow:
            for c in ("cus_a", "cus_b"):
                uow.customers.add(Customer(c, T0, email=EmailAddress.parse(f"{c.replace('_', '')}@example.com")))
            uow.orders.add(order("o1", "cus_a", 1))
            uow.commit()
        spenders = StoreAnalytics(store).audience(Segment("Spent", vip(Money("5", "EUR"))), as_of=at(5))
        rule = Rule(name="thanks_again", on=OrderPlaced, topic=Topic.ORDER_CONFIRMATION, segment=spenders)
        flows = Workflows(shop=shop, rules=[rule], clock=lambda: at(6))
        placed_a = flows.place(store, order("o2", "cus_a", 6))
        placed_b = flows.place(store, order("o3", "cus_b", 6))
    assert [s.action for s in placed_a] == ["queued"]
    assert [(s.action, s.reason) for s in placed_b] == [("skipped", "the customer is not in the rule's segment")]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_live_check_works_inside_a_workflow_that_is_writing(kind: str, tmp_path: Path) -> None:
    """The engine holds its unit of work (and the write lock) while it asks the check; the check reads beside it."""
    from custdata import Topic
    from custdata.lifecycle import OrderPlaced
    from custdata.storage import open_store
    from custdata.workflows import Rule, Shop, Workflows

    shop = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")
    store: Store = open_store("memory://") if kind == "memory" else SQLiteStore(tmp_path / "shop.db")
    with store:
        with store.unit_of_work() as uow:
            for c in ("cus_a", "cus_b"):
                uow.customers.add(Customer(c, T0, email=EmailAddress.parse(f"{c.replace('_', '')}@example.com")))
            uow.orders.add(order("o1", "cus_a", 1))
            uow.commit()
        spent = StoreAnalytics(store).segment_check(Segment("Spent", vip(Money("5", "EUR"))), clock=lambda: at(6))
        rule = Rule(name="thanks_again", on=OrderPlaced, topic=Topic.ORDER_CONFIRMATION, segment=spent)
        flows = Workflows(shop=shop, rules=[rule], clock=lambda: at(6))
        assert [s.action for s in flows.place(store, order("o2", "cus_a", 6))] == ["queued"]
        assert [s.action for s in flows.place(store, order("o3", "cus_b", 6))] == ["skipped"]
        assert spent("cus_b")  # once committed, cus_b's order counts
