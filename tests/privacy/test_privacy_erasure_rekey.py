"""Customers whose id earlier versions derived from their email address get a fresh random id when erased (or
re-keyed beforehand), so that knowing the address no longer leads to the record; on every store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from erasure_checks import outbox_text, person, shipped_message, store_bytes, views_of_others
from privacy_builders import T0, activity, message, order

from custdata import Customer, EmailAddress, NotFoundError, Topic
from custdata.importing import rekey_email_ids
from custdata.importing.convert import has_email_derived_id, legacy_email_id
from custdata.merge import merge, merges_of, preview, undo
from custdata.outbox import Timer, TimerState, enqueue
from custdata.outbox.ports import has_outbox
from custdata.privacy.erasure import erase_customer
from custdata.privacy.export import export_customer_json
from custdata.storage import Store, walk

NOW = T0 + timedelta(days=40)
OLD = str(legacy_email_id("shop", EmailAddress.parse("mail.alderney@example.org")))


def seed(store: Store) -> None:
    """A (id derived from its address) with an order, a message, activity, a queued message and a cart timer keyed
    by its id, a guest record absorbed into it, B merged into it, and an undone merge on X's timeline naming it."""
    a, _ = person(OLD, "Alderney")
    b, _ = person("cus_b", "Brixworth")
    x, _ = person("cus_x", "Xanthorpe")
    assert has_email_derived_id(a)
    guest = Customer(id="cus_guest", created_at=T0, is_guest=True, merged_into=OLD)
    with store.unit_of_work() as uow:
        for c in (a, b, x):
            uow.customers.add(c)
            uow.orders.add(order(f"ord_{c.id[-4:]}", c.id, address=c.addresses[0]))
            uow.communications.add(message(f"msg_{c.id[-4:]}", c.id, f"Dear {c.given_name} {c.family_name}"))
            uow.activity.add(activity(f"act_{c.id[-4:]}", c.id, query=str(c.email)))
        uow.customers.add(guest)
        assert has_outbox(uow)
        enqueue(uow, shipped_message(f"welcome:{OLD}:signup", str(a.email), "Alderney"), customer_id=OLD, now=T0)
        uow.timers.schedule(
            Timer(
                key=f"cart_reminder:{OLD}",
                rule="cart_reminder",
                topic=Topic.CART_REMINDER,
                customer_id=OLD,
                due_at=T0 + timedelta(days=60),
                created_at=T0,
                trigger={"customer_id": OLD, "email": str(a.email)},
            )
        )
        uow.timers.schedule(
            Timer(
                key="cart_reminder:cus_guest",
                rule="cart_reminder",
                topic=Topic.CART_REMINDER,
                customer_id="cus_guest",
                due_at=T0 + timedelta(days=60),
                created_at=T0,
                trigger={"customer_id": "cus_guest", "email": str(a.email)},
            )
        )
        uow.commit()
    with store.unit_of_work() as uow:
        undone = merge(uow, preview(uow, "cus_x", [OLD], at=T0), at=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        undo(uow, undone.id, at=T0 + timedelta(hours=1))
        merge(uow, preview(uow, OLD, ["cus_b"], at=T0 + timedelta(hours=2)), at=T0 + timedelta(hours=2))
        uow.commit()


def test_erasure_moves_an_email_derived_id_to_a_random_one(backend: tuple[Store, Any]) -> None:
    store, server = backend
    seed(store)
    report = erase_customer(store, OLD, clock=lambda: NOW)
    (new,) = report.rekeyed
    assert report.customer_id == new != OLD and new.startswith("cus_") and report.changed
    assert OLD not in outbox_text(store)
    assert OLD not in views_of_others(store, new)
    assert OLD not in export_customer_json(store, new)
    data = store_bytes(store, server)
    if data:
        assert OLD.encode() not in data
    with store.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            uow.customers.get(OLD)
        erased = uow.customers.get(new)
        assert erased.redacted_at == NOW and erased.email is None
        # everything that was the person's is there under the new id, erased
        assert {str(o.id) for o in walk(lambda c: uow.orders.for_customer(new, cursor=c))} == {
            f"ord_{OLD[-4:]}",
            "ord_us_b",
        }
        assert uow.customers.get("cus_guest").merged_into == new
        assert uow.customers.get("cus_b").merged_into == new
        assert all(c.redacted_at == NOW for c in uow.customers.get_many(["cus_guest", "cus_b"]).values())
        timers = {t.key: t for t in walk(lambda c: uow.timers.page(cursor=c))}  # type: ignore[attr-defined]
        assert set(timers) == {f"cart_reminder:{new}", "cart_reminder:cus_guest"}
        assert all(t.state == TimerState.CANCELLED and t.trigger == {} for t in timers.values())
        (entry,) = uow.outbox.for_customer(new)  # type: ignore[attr-defined]
        assert entry.idempotency_key == f"welcome:{new}:signup" and entry.message is None
        event = uow.communications.get(entry.id)
        assert event.idempotency_key == entry.idempotency_key and event.customer_id == new
        (record,) = merges_of(uow, "cus_x")  # the undone merge on X's timeline names the new id
        assert record.merged_ids == (new,) and record.undone_at is not None
    with pytest.raises(NotFoundError):  # the old id leads nowhere any more
        erase_customer(store, OLD, clock=lambda: NOW)
    again = erase_customer(store, new, clock=lambda: NOW)
    assert again.rekeyed == () and not again.changed


def test_rekey_email_ids_keeps_every_link_and_undo_working(backend: tuple[Store, Any]) -> None:
    store, _ = backend
    seed(store)
    moved = rekey_email_ids(store)
    assert list(moved) == [OLD]
    new = moved[OLD]  # type: ignore[index]
    assert rekey_email_ids(store) == {}
    with store.unit_of_work() as uow:
        a = uow.customers.get(new)
        assert "mail.alderney@example.org" in {str(e) for e in a.emails} and not has_email_derived_id(a)
        assert uow.customers.get_many([OLD]) == {}
        (in_force,) = [r for r in merges_of(uow, new) if r.undone_at is None]
        assert in_force.survivor_id == new and [c.id for c in in_force.before] == [new, "cus_b"]
        undo(uow, in_force.id, at=NOW)  # the versions it kept were brought along: the undo goes through
        uow.commit()
    with store.unit_of_work() as uow:
        b = uow.customers.get("cus_b")
        assert b.merged_into is None and b.given_name == "GivenBrixworth"
        assert uow.orders.get("ord_us_b").customer_id == "cus_b"
        assert uow.orders.get(f"ord_{OLD[-4:]}").customer_id == new
        timer = uow.timers.get(f"cart_reminder:{new}")  # type: ignore[attr-defined]
        assert timer.state == TimerState.PENDING and timer.trigger["customer_id"] == new
    assert OLD not in outbox_text(store)
    assert OLD not in views_of_others(store, "cus_nobody")
