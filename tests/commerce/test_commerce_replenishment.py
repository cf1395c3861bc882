"""Replenishment reminders: intervals learned from repeat purchases, reminders through the workflows with
consent, caps and quiet hours, decided once per purchase, never for an erased or merged-away customer."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import (
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Preferences,
    Topic,
    ValidationError,
)
from custdata.commerce import due_reminders, queue_replenishment_reminders, repurchase_intervals
from custdata.merge import merge, preview
from custdata.outbox import OutboxState
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.privacy import erase_customer
from custdata.storage import Store
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore
from custdata.workflows import FrequencyCap, Policy, Shop, Workflows

T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")
OPT_IN = ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, T0 - timedelta(days=100))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store
    if request.param == "postgresql":
        opened = request.getfixturevalue("new_store")(pool_max_size=2)
    elif request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "shop.db")
    else:
        opened = MemoryStore()
    try:
        yield opened
    finally:
        opened.close()


def customer(customer_id: str, *, consent: bool = True, **fields: Any) -> Customer:
    return Customer(
        customer_id,
        T0 - timedelta(days=365),
        given_name="Jo",
        email=EmailAddress.parse(f"{customer_id}@example.com"),
        consents=(OPT_IN,) if consent else (),
        **fields,
    )


def bought(order_id: str, customer_id: str, day: float, *skus: str) -> Order:
    lines = tuple(OrderLine(f"l{i}", sku, f"Product {sku}", 1, Money("9.00", "EUR")) for i, sku in enumerate(skus))
    return Order(order_id, customer_id, "EUR", lines, T0 + timedelta(days=day), status=OrderStatus.DELIVERED)


def every_30_days(customer_id: str, *skus: str, times: int = 4) -> list[Order]:
    return [bought(f"{customer_id}_{i}", customer_id, 30 * i, *skus) for i in range(times)]


def fill(store: Store, customers: list[Customer], orders: list[Order]) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add_many(customers)
        uow.orders.add_many(orders)
        uow.commit()


def outbox(store: Store, customer_id: str) -> list[Any]:
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        return [e for e in uow.outbox.for_customer(customer_id) if e.topic == Topic.REPLENISHMENT]


NOW = T0 + timedelta(days=125)  # the last purchase (day 90) is 35 days old; the usual interval is 30 days


def test_intervals_are_medians_of_repeat_purchases_with_a_minimum_sample() -> None:
    orders = [
        *every_30_days("cus_a", "TEA"),
        bought("b0", "cus_b", 0, "TEA", "TEA", "MUG"),  # two lines of one sku: one purchase
        bought("b1", "cus_b", 10, "TEA", "MUG"),
        bought("b2", "cus_b", 11, "TEA"),
        Order("b3", "cus_b", "EUR", bought("x", "cus_b", 12, "TEA").lines, T0, status=OrderStatus.CANCELLED),
    ]
    intervals = repurchase_intervals(orders, min_samples=3)
    assert set(intervals) == {"TEA"}  # MUG has one gap only
    assert intervals["TEA"].samples == 5  # 30, 30, 30 and 10, 1
    assert intervals["TEA"].interval == timedelta(days=30)
    assert repurchase_intervals(orders, min_samples=1)["MUG"].interval == timedelta(days=10)
    with pytest.raises(ValidationError) as caught:
        repurchase_intervals(orders, min_samples=0)
    assert caught.value.problems[0].path == "min_samples"


@given(days=st.lists(st.lists(st.integers(0, 400), min_size=1, max_size=6), min_size=1, max_size=5))
def test_due_exactly_when_the_last_purchase_is_the_median_gap_old(days: list[list[int]]) -> None:
    orders = [bought(f"o{c}_{i}", f"cus_{c}", d, "TEA") for c, ds in enumerate(days) for i, d in enumerate(ds)]
    gaps = [b - a for ds in days for a, b in zip(sorted(set(ds)), sorted(set(ds))[1:], strict=False)]
    intervals = repurchase_intervals(orders, min_samples=1)
    if not gaps:
        assert intervals == {}
        return
    usual = timedelta(days=statistics.median_low(gaps))
    assert intervals["TEA"].interval == usual
    now = T0 + timedelta(days=200)
    due = {str(d.customer_id) for d in due_reminders(orders, intervals, now=now)}
    expected = set()
    for c, ds in enumerate(days):
        known = [d for d in ds if d <= 200]  # purchases by now
        if known and T0 + timedelta(days=max(known)) + usual <= now < T0 + timedelta(days=max(known)) + 2 * usual:
            expected.add(f"cus_{c}")
    assert due == expected


def test_reminders_need_marketing_consent_and_are_decided_once(store: Store) -> None:
    fill(
        store,
        [customer("cus_yes"), customer("cus_no", consent=False)],
        [*every_30_days("cus_yes", "TEA"), *every_30_days("cus_no", "TEA")],
    )
    flows = Workflows(shop=SHOP)
    steps = queue_replenishment_reminders(store, flows, now=NOW)
    assert sorted(s.action for s in steps) == ["queued", "suppressed"]
    assert [e.state for e in outbox(store, "cus_yes")] == [OutboxState.PENDING]
    refused = outbox(store, "cus_no")
    assert [e.state for e in refused] == [OutboxState.SUPPRESSED]
    assert "consent" in (refused[0].reason or "")
    message = outbox(store, "cus_yes")[0].message
    assert message is not None and "Product TEA" in message.text and "35 days" in message.text
    assert queue_replenishment_reminders(store, flows, now=NOW) == []  # decided once
    assert queue_replenishment_reminders(store, flows, now=NOW + timedelta(days=20)) == []
    with store.unit_of_work() as uow:
        uow.orders.add(bought("again", "cus_yes", 130, "TEA"))
        uow.commit()
    assert queue_replenishment_reminders(store, flows, now=NOW + timedelta(days=20)) == []  # a new interval
    later = queue_replenishment_reminders(store, flows, now=NOW + timedelta(days=36))
    assert [(s.action, s.rule) for s in later if "cus_yes" in s.key] == [("queued", "replenishment_reminder")]
    assert len(outbox(store, "cus_yes")) == 2


def test_caps_and_quiet_hours_apply(store: Store) -> None:
    fill(
        store,
        [
            customer(
                "cus_a", timezone="UTC", preferences=Preferences(quiet_hours_start=time(22), quiet_hours_end=time(8))
            )
        ],
        every_30_days("cus_a", "TEA", "MUG"),
    )
    flows = Workflows(shop=SHOP, policy=Policy(caps=(FrequencyCap(1, timedelta(days=7)),)))
    late = NOW.replace(hour=23)
    steps = queue_replenishment_reminders(store, flows, now=late)
    assert sorted(s.action for s in steps) == ["queued", "suppressed"]
    assert any("cap" in (s.reason or "") or "limit" in (s.reason or "") for s in steps if s.action == "suppressed")
    queued = [e for e in outbox(store, "cus_a") if e.state == OutboxState.PENDING]
    assert queued[0].available_at == (late + timedelta(days=1)).replace(hour=8)


def test_an_erased_or_merged_away_customer_is_never_reminded(store: Store) -> None:
    fill(
        store,
        [customer("cus_gone"), customer("cus_keep"), customer("cus_dup")],
        [*every_30_days("cus_gone", "TEA"), *every_30_days("cus_dup", "TEA")],
    )
    erase_customer(store, "cus_gone", clock=lambda: NOW - timedelta(days=1))
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, "cus_keep", ["cus_dup"], at=NOW), at=NOW)
        uow.commit()
    steps = queue_replenishment_reminders(store, Workflows(shop=SHOP), now=NOW)
    assert outbox(store, "cus_gone") == []
    assert outbox(store, "cus_dup") == []
    assert [e.customer_id for e in outbox(store, "cus_keep")] == ["cus_keep"]
    assert [s.action for s in steps] == ["queued"]


def test_a_reminder_recorded_before_an_erasure_is_not_sent(store: Store) -> None:
    fill(store, [customer("cus_a")], every_30_days("cus_a", "TEA"))
    queue_replenishment_reminders(store, Workflows(shop=SHOP), now=NOW)
    erase_customer(store, "cus_a", clock=lambda: NOW + timedelta(minutes=1))
    assert all(e.state != OutboxState.PENDING for e in outbox(store, "cus_a"))
    assert queue_replenishment_reminders(store, Workflows(shop=SHOP), now=NOW + timedelta(days=40)) == []
