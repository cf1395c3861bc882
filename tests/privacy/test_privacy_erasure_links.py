"""Erasure reaches records linked to the customer by nothing but ``merged_into``, and merge records written by
earlier versions (undone merges that kept whole snapshots of the customers), on every store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest
from erasure_checks import found, found_bytes, outbox_text, person, store_bytes, views_of_others
from privacy_builders import T0, activity, message, order

from custdata import Customer, Topic, to_json
from custdata.merge import MergeRecord, merge, merges_of, preview, undo
from custdata.outbox import Timer, TimerState
from custdata.privacy.erasure import erase_customer
from custdata.storage import Store

NOW = T0 + timedelta(days=40)


def add_people(store: Store, *people: Customer, orders: bool = True) -> None:
    with store.unit_of_work() as uow:
        for c in people:
            uow.customers.add(c)
        for c in people if orders else ():
            uow.orders.add(order(f"ord_{c.id}", c.id, address=c.addresses[0]))
            uow.communications.add(message(f"msg_{c.id}", c.id, f"Dear {c.given_name} {c.family_name}"))
            uow.activity.add(activity(f"act_{c.id}", c.id, query=str(c.email)))
        uow.commit()


def cart_timer(key: str, customer_id: str, person: Customer) -> Timer:
    return Timer(
        key=key,
        rule="cart_reminder",
        topic=Topic.CART_REMINDER,
        customer_id=customer_id,
        due_at=T0 + timedelta(days=60),
        created_at=T0,
        trigger={"email": str(person.email), "name": f"{person.given_name} {person.family_name}"},
    )


def test_records_absorbed_with_nothing_but_a_cart_timer_lose_it(backend: tuple[Store, Any]) -> None:
    """Guest records absorbed into the customer (and one absorbed into such a guest) keep no order, message or
    contact point: only ``merged_into`` leads to them, and to the cart reminders filed under their ids."""
    store, server = backend
    a, a_needles = person("cus_a", "Alderney")
    k, k_needles = person("cus_k", "Kettering")
    guest = Customer(id="cus_guest", created_at=T0, is_guest=True, merged_into=a.id)
    older = Customer(id="cus_older_guest", created_at=T0, is_guest=True, merged_into=guest.id)
    theirs = Customer(id="cus_k_guest", created_at=T0, is_guest=True, merged_into=k.id)
    add_people(store, a, k)
    add_people(store, guest, older, theirs, orders=False)
    with store.unit_of_work() as uow:
        for timer in (
            cart_timer("cart-guest", "cus_guest", a),
            cart_timer("cart-older", "cus_older_guest", a),
            cart_timer("cart-k", "cus_k_guest", k),
        ):
            uow.timers.schedule(timer)  # type: ignore[attr-defined]
        uow.commit()
    report = erase_customer(store, "cus_a", clock=lambda: NOW)
    assert report.timers == 2
    assert set(report.customers) == {"cus_a", "cus_guest", "cus_older_guest"}
    with store.unit_of_work() as uow:
        for key in ("cart-guest", "cart-older"):
            timer = uow.timers.get(key)  # type: ignore[attr-defined]
            assert (timer.state, timer.trigger) == (TimerState.CANCELLED, {})
        kept = uow.timers.get("cart-k")  # type: ignore[attr-defined]
        assert kept.state == TimerState.PENDING and kept.trigger == cart_timer("cart-k", "cus_k_guest", k).trigger
        assert uow.customers.get("cus_k_guest").redacted_at is None
    assert found(outbox_text(store), a_needles) == set()
    assert found(outbox_text(store), k_needles) == {"GivenKettering", "FamilyKettering", "mail.kettering"}
    data = store_bytes(store, server)
    if data:
        assert found_bytes(data, a_needles) == set()


def _merge_and_undo_the_old_way(store: Store, survivor: str, merged: str) -> str:
    """Merge and undo, then write the merge record back as earlier versions left it: with the snapshots."""
    with store.unit_of_work() as uow:
        record = merge(uow, preview(uow, survivor, [merged], at=T0), at=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        done = undo(uow, record.id, at=T0 + timedelta(days=1))
        uow.activity.update(attrs.evolve(done, before=record.before).to_event())
        uow.commit()
    return str(record.id)


@pytest.mark.parametrize("erased", ["cus_b", "cus_a"])
def test_undone_merge_records_of_earlier_versions_lose_the_snapshots_on_erasure(
    backend: tuple[Store, Any], erased: str
) -> None:
    store, server = backend
    a, a_needles = person("cus_a", "Alderney")
    b, b_needles = person("cus_b", "Brixworth")
    add_people(store, a, b)
    merge_id = _merge_and_undo_the_old_way(store, "cus_a", "cus_b")
    needles = b_needles if erased == "cus_b" else a_needles
    kept = a_needles if erased == "cus_b" else b_needles
    with store.unit_of_work() as uow:
        (record,) = merges_of(uow, "cus_a")
        assert found(to_json(record), b_needles) == set(b_needles)  # the old form, as planted
    erase_customer(store, erased, clock=lambda: NOW)
    assert found(views_of_others(store, erased), needles) == set()
    with store.unit_of_work() as uow:
        event = uow.activity.get(merge_id)
        if erased == "cus_b":  # the record stays on the survivor's timeline, with ids and times only
            stripped = MergeRecord.from_event(event)
            assert [c.id for c in stripped.before] == ["cus_a", "cus_b"]
            assert all(c.email is None and c.given_name is None for c in stripped.before)
        else:
            assert event.properties == {}  # on the erased customer's own timeline: nothing stays
    data = store_bytes(store, server)
    if data:
        assert found_bytes(data, needles) == set()
        assert found_bytes(data, kept) == set(kept)
