"""Retention sweeps: per-kind ages, an injected clock, a report of what was done, idempotent re-runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from erasure_checks import found_bytes
from hypothesis import given, settings
from hypothesis import strategies as st
from privacy_builders import T0, activity, customer, message, order

from custdata import ValidationError
from custdata.privacy.retention import RetentionPolicy, sweep
from custdata.storage import Store, open_store

NOW = T0 + timedelta(days=1000)
DAY = timedelta(days=1)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/shop.db"
    with open_store(url) as s:
        yield s


def _seed(store: Store) -> None:
    """Records of every kind, one old (day 0) and one recent (day 990) each; guests old and new, with and
    without orders, and one merged away."""
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.customers.add(customer("cus_guest_old", guest=True, email="g1@example.org", phone="+4930901831"))
        uow.customers.add(customer("cus_guest_buyer", guest=True, email="g2@example.org", phone="+4930901832"))
        uow.customers.add(
            customer("cus_guest_new", guest=True, email="g3@example.org", phone="+4930901833", created=NOW - DAY)
        )
        merged = customer("cus_guest_merged", guest=True, email="g4@example.org", phone="+4930901834")
        merged.merged_into = "cus_ada"  # type: ignore[assignment]
        uow.customers.add(merged)
        for day, suffix in ((0, "old"), (990, "new")):
            at = T0 + day * DAY
            uow.orders.add(order(f"ord_{suffix}", "cus_ada", placed=at, address=customer().addresses[0]))
            uow.communications.add(message(f"msg_{suffix}", "cus_ada", "Dear Adelheid", created=at))
            uow.activity.add(activity(f"act_{suffix}", "cus_ada", occurred=at))
        uow.orders.add(order("ord_guest", "cus_guest_buyer"))
        uow.communications.add(message("msg_guest", "cus_guest_old", "Dear guest"))
        uow.activity.add(activity("act_guest", "cus_guest_old"))
        uow.commit()


POLICY = RetentionPolicy(
    activity=timedelta(days=365),
    communications=timedelta(days=365),
    order_details=timedelta(days=730),
    guests_without_orders=timedelta(days=90),
)


def test_sweep_applies_each_age_and_reports(store: Store) -> None:
    _seed(store)
    report = sweep(store, POLICY, clock=lambda: NOW, page_size=2)
    assert report.ran_at == NOW and report.purged
    assert (report.activity_deleted, report.communications_scrubbed, report.orders_pseudonymised) == (2, 2, 2)
    assert (report.guests_deleted, report.communications_deleted) == (1, 0)  # its events went with it
    with store.unit_of_work() as uow:
        assert [a.id for a in uow.activity.page()] == ["act_new"]
        assert uow.communications.get("msg_old").body is None
        assert uow.communications.get("msg_new").body == "Dear Adelheid"
        assert uow.orders.get("ord_old").shipping_address is None
        assert str(uow.orders.get("ord_old").total) == "108.35 EUR"
        assert uow.orders.get("ord_new").shipping_address is not None
        ids = {c.id for c in uow.customers.search()}
        assert ids == {"cus_ada", "cus_guest_buyer", "cus_guest_new", "cus_guest_merged"}
    again = sweep(store, POLICY, clock=lambda: NOW)
    assert again.changed == 0 and not again.purged


def test_deleting_communications_and_keeping_kinds_without_an_age(store: Store) -> None:
    _seed(store)
    report = sweep(
        store, RetentionPolicy(communications=timedelta(days=365), delete_communications=True), clock=lambda: NOW
    )
    assert (report.communications_deleted, report.activity_deleted, report.guests_deleted) == (2, 0, 0)
    with store.unit_of_work() as uow:
        assert uow.communications.count() == 1 and uow.activity.count() == 3 and uow.customers.count() == 5


def test_swept_text_is_gone_from_the_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with open_store(f"sqlite:///{path}") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(customer())
            uow.communications.add(message("msg_1", "cus_ada", "Zyxwvut secret words"))
            uow.activity.add(activity("act_1", "cus_ada", query="qwertzuiop search"))
            uow.commit()
        sweep(store, RetentionPolicy(activity=DAY, communications=DAY), clock=lambda: NOW)
        data = b"".join(p.read_bytes() for p in tmp_path.glob("shop.db*"))
    assert found_bytes(data, ("Zyxwvut", "qwertzuiop")) == set()


def test_bad_policies_and_arguments() -> None:
    with pytest.raises(ValidationError) as exc:
        RetentionPolicy(activity=timedelta(0), communications=30, delete_communications="yes")  # type: ignore[arg-type]
    assert {p.path for p in exc.value.problems} == {"activity", "communications", "delete_communications"}
    with open_store("memory://") as store:
        with pytest.raises(ValidationError, match="page_size"):
            sweep(store, POLICY, page_size=0)
        with pytest.raises(ValidationError, match="policy"):
            sweep(store, {"activity": 30}, clock=lambda: NOW)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="clock"):
            sweep(store, POLICY, clock=lambda: NOW.replace(tzinfo=None))


@settings(max_examples=20)
@given(st.lists(st.integers(min_value=0, max_value=60), max_size=12), st.integers(min_value=1, max_value=60))
def test_exactly_the_events_older_than_the_age_go(days: list[int], age: int) -> None:
    with open_store("memory://") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(customer())
            for i, d in enumerate(days):
                uow.activity.add(activity(f"act_{i:02}", "cus_ada", occurred=T0 + d * DAY))
            uow.commit()
        now = T0 + 60 * DAY
        report = sweep(store, RetentionPolicy(activity=age * DAY), clock=lambda: now, page_size=3)
        with store.unit_of_work() as uow:
            left = sorted(a.id for a in uow.activity.page(limit=100))
    kept = sorted(f"act_{i:02}" for i, d in enumerate(days) if T0 + d * DAY >= now - age * DAY)
    assert left == kept and report.activity_deleted == len(days) - len(kept)


def test_a_deleted_guest_takes_the_records_merged_into_it_along(store: Store) -> None:
    """No record is left whose ``merged_into`` names a customer that is gone: its id could no longer be resolved,
    nor erased."""
    first = customer("cus_g1", guest=True, email="g1@example.org")
    second = customer("cus_g2", guest=True, email="g2@example.org")
    third = customer("cus_g3", guest=True, email="g3@example.org")
    kept = customer("cus_g4", guest=True, email="g4@example.org")
    with_order = customer("cus_g5", guest=True, email="g5@example.org")
    for record, survivor in ((second, first), (third, second), (with_order, kept)):
        record.merged_into = survivor.id
    with store.unit_of_work() as uow:
        for record in (first, second, third, kept, with_order):
            uow.customers.add(record)
        uow.orders.add(order("ord_g5", with_order.id, placed=T0, address=with_order.addresses[0]))
        uow.commit()
    report = sweep(
        store, RetentionPolicy(guests_without_orders=timedelta(days=30)), clock=lambda: T0 + timedelta(days=90)
    )
    assert report.guests_deleted == 1
    with store.unit_of_work() as uow:
        left = uow.customers.get_many(["cus_g1", "cus_g2", "cus_g3", "cus_g4", "cus_g5"])
    assert sorted(left) == ["cus_g4", "cus_g5"]  # the group with an order (under its merged id) stays whole
