"""Properties of merging, on any customers: nothing is lost, and undo gives back exactly what was there."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import ActivityEvent, Channel, CommunicationEvent, Customer, Money, Order, OrderLine, Topic
from custdata.merge import MERGE_EVENT, MergeRules, Rule, merge, preview, undo
from custdata.storage import Store, open_store
from custdata.testing import strategies as cst

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LINE = OrderLine("l1", "SKU-1", "Mug", 1, Money(Decimal("9.50"), "EUR"))


@st.composite
def customers(draw: st.DrawFn, customer_id: str) -> Customer:
    """Customers with what a merge combines: names, contact points (some verified), addresses, tags,
    consents, metadata; lighter than the full strategy so that many examples run quickly."""
    emails = draw(st.lists(cst.email_addresses(), max_size=2, unique_by=lambda e: e.canonical))
    phones = draw(st.lists(cst.phone_numbers(), max_size=2, unique_by=lambda p: p.e164))
    book = draw(st.lists(cst.addresses(countries=("DE", "US")), max_size=2))
    created = T0 + timedelta(days=draw(st.integers(0, 50)))
    updated = created + timedelta(days=draw(st.integers(0, 50)))
    index = st.none() | st.integers(0, len(book) - 1) if book else st.none()
    return Customer(
        id=customer_id,
        created_at=created,
        updated_at=updated,
        given_name=draw(st.none() | st.sampled_from(("Ana", "Anabel", "Jo"))),
        family_name=draw(st.none() | st.sampled_from(("Ruiz", "Ruiz Garcia"))),
        email=emails[0] if emails else None,
        other_emails=tuple(emails[1:]),
        phone=phones[0] if phones else None,
        other_phones=tuple(phones[1:]),
        addresses=tuple(book),
        default_shipping_address=draw(index),
        default_billing_address=draw(index),
        is_guest=draw(st.booleans()),
        tags=draw(st.frozensets(st.sampled_from(("vip", "b2b", "late")), max_size=2)),
        birthday=draw(st.none() | st.just(date(1990, 5, 17))),
        consents=tuple(draw(st.lists(cst.consent_records(), max_size=2))),
        metadata=draw(st.dictionaries(st.sampled_from("abc"), st.integers(0, 9), max_size=2)),
        email_verified_at=draw(st.none() | st.just(updated)) if emails else None,
        phone_verified_at=draw(st.none() | st.just(updated)) if phones else None,
        version=draw(st.integers(0, 5)),
    )


@st.composite
def households(draw: st.DrawFn) -> dict[str, Any]:
    """Two to three customers with a few orders, communications and activity events each, and merge rules."""
    count = draw(st.integers(2, 3))
    ids = [f"cus_{i}" for i in range(count)]
    owner = st.sampled_from(ids)
    day = st.integers(0, 60).map(lambda d: T0 + timedelta(days=d))
    orders = [
        Order(f"ord_{n}", draw(owner), "EUR", (LINE,), draw(day), version=draw(st.integers(0, 3)))
        for n in range(draw(st.integers(0, 3)))
    ]
    communications = [
        CommunicationEvent(f"msg_{n}", draw(owner), Channel.EMAIL, Topic.ORDER_SHIPPED, draw(day))
        for n in range(draw(st.integers(0, 2)))
    ]
    activity = [
        ActivityEvent(f"act_{n}", "Product Viewed", draw(day), customer_id=draw(owner))
        for n in range(draw(st.integers(0, 2)))
    ]
    rules = MergeRules(
        fields={
            name: draw(st.sampled_from(allowed))
            for name, allowed in (
                ("given_name", (Rule.MOST_COMPLETE, Rule.MOST_RECENT, Rule.SURVIVOR)),
                ("email", (Rule.PREFER_VERIFIED, Rule.MOST_RECENT, Rule.SURVIVOR)),
                ("phone", (Rule.PREFER_VERIFIED, Rule.MOST_RECENT, Rule.SURVIVOR)),
                ("metadata", (Rule.KEEP_ALL, Rule.SURVIVOR)),
            )
        }
    )
    return {
        "customers": [draw(customers(i)) for i in ids],
        "rules": rules,
        "orders": orders,
        "communications": communications,
        "activity": activity,
    }


@contextmanager
def _store(kind: str) -> Iterator[Store]:
    if kind == "memory":
        with open_store("memory://") as store:
            yield store
        return
    with tempfile.TemporaryDirectory() as folder, open_store(f"sqlite:///{folder}/shop.db") as store:
        yield store


def _load(store: Store, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    with store.unit_of_work() as uow:
        uow.customers.add_many(data["customers"])
        uow.orders.add_many(data["orders"])
        uow.communications.add_many(data["communications"])
        uow.activity.add_many(data["activity"])
        uow.commit()
    return _snapshot(store, data)


def _snapshot(store: Store, data: dict[str, Any]) -> dict[str, dict[Any, Any]]:
    with store.unit_of_work() as uow:
        return {
            "customers": dict(uow.customers.get_many([c.id for c in data["customers"]])),
            "orders": dict(uow.orders.get_many([o.id for o in data["orders"]])),
            "communications": dict(uow.communications.get_many([e.id for e in data["communications"]])),
            "activity": dict(uow.activity.get_many([e.id for e in data["activity"]])),
        }


def _without_versions(snapshot: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        kind: {k: attrs.evolve(v, version=0) if hasattr(v, "version") else v for k, v in items.items()}
        for kind, items in snapshot.items()
    }


def _check_merge_then_undo(kind: str, data: dict[str, Any]) -> None:
    with _store(kind) as store:
        original = _load(store, data)
        survivor, *others = [c.id for c in data["customers"]]
        with store.unit_of_work() as uow:
            record = merge(uow, preview(uow, survivor, others, rules=data["rules"]))
            uow.commit()
        merged = _snapshot(store, data)
        kept: Customer = merged["customers"][survivor]
        everyone = original["customers"].values()
        assert {e.canonical for c in everyone for e in c.emails} == {e.canonical for e in kept.emails}
        assert {p.e164 for c in everyone for p in c.phones} == {p.e164 for p in kept.phones}
        assert all(a in kept.addresses for c in everyone for a in c.addresses)
        assert all(r in kept.consents for c in everyone for r in c.consents)
        assert all(c.tags <= kept.tags for c in everyone)
        for what in ("orders", "communications", "activity"):
            assert merged[what].keys() == original[what].keys()
            assert {item.customer_id for item in merged[what].values()} <= {survivor}
        assert all(merged["customers"][c].merged_into == survivor for c in others)
        with store.unit_of_work() as uow:
            undo(uow, record.id)
            uow.commit()
        assert _without_versions(_snapshot(store, data)) == _without_versions(original)
        with store.unit_of_work() as uow:
            events = list(uow.activity.for_customer(survivor, limit=100))
            assert [e.event for e in events if e.id not in original["activity"]] == [MERGE_EVENT]


@settings(max_examples=40)
@given(households())
def test_merge_loses_nothing_and_undo_restores_everything_in_memory(data: dict[str, Any]) -> None:
    _check_merge_then_undo("memory", data)


@settings(max_examples=10)
@given(households())
def test_merge_loses_nothing_and_undo_restores_everything_in_sqlite(data: dict[str, Any]) -> None:
    _check_merge_then_undo("sqlite", data)
