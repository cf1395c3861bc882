"""Erasure is complete whatever happened before: merges and their undo, messages queued under old ids, leased by a
dispatcher that crashed or is sending right now, guests deleted by retention. After ``erase_customer`` no value of
the person is left in the outbox, in any other customer's export or timeline, nor in the store's files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from erasure_checks import found, found_bytes, outbox_text, person, shipped_message, store_bytes, views_of_others
from privacy_builders import T0, activity, message, order

from custdata import NotFoundError, Topic
from custdata.merge import UndoRefusedError, merge, merges_of, preview, undo
from custdata.notify import RecordingNotifier
from custdata.outbox import Dispatcher, OutboxState, Timer, TimerState, enqueue
from custdata.privacy.erasure import erase_customer
from custdata.privacy.export import export_customer_json
from custdata.storage import Store

NOW = T0 + timedelta(days=40)
LEASE = timedelta(minutes=5)


def _add(store: Store, *people: Any, orders: dict[str, str] | None = None) -> None:
    with store.unit_of_work() as uow:
        for c in people:
            uow.customers.add(c)
        for oid, owner in (orders or {}).items():
            c = next(p for p in people if p.id == owner)
            uow.orders.add(order(oid, owner, address=c.addresses[0]))
            uow.communications.add(message(f"msg_{oid}", owner, f"Dear {c.given_name} {c.family_name}"))
            uow.activity.add(activity(f"act_{oid}", owner, query=str(c.email)))
        uow.commit()


def _enqueue(store: Store, key: str, customer: Any, *, order_id: str | None = None) -> str:
    with store.unit_of_work() as uow:
        entry = enqueue(
            uow,  # type: ignore[arg-type]
            shipped_message(
                key, str(customer.email), f"{customer.given_name} {customer.family_name}", order_id=order_id
            ),
            customer_id=customer.id,
            now=T0,
        )
        uow.commit()
    assert entry is not None
    return str(entry.id)


def _schedule(store: Store, key: str, customer: Any, *, order_id: str | None) -> None:
    with store.unit_of_work() as uow:
        uow.timers.schedule(  # type: ignore[attr-defined]
            Timer(
                key=key,
                rule="review_request",
                topic=Topic.REVIEW_REQUEST if order_id else Topic.CART_REMINDER,
                customer_id=customer.id,
                order_id=order_id,
                due_at=T0 + timedelta(days=60),
                created_at=T0,
                trigger={"email": str(customer.email), "name": customer.family_name},
            )
        )
        uow.commit()


def _merge(store: Store, survivor: str, merged: str) -> str:
    with store.unit_of_work() as uow:
        record = merge(uow, preview(uow, survivor, [merged], at=T0), at=T0)
        uow.commit()
    return str(record.id)


def _undo(store: Store, merge_id: str) -> None:
    with store.unit_of_work() as uow:
        undo(uow, merge_id, at=T0 + timedelta(days=1))
        uow.commit()


def _assert_gone(store: Store, server: Any, erased: str, needles: tuple[str, ...], kept: tuple[str, ...]) -> None:
    assert found(outbox_text(store), needles) == set()
    others = views_of_others(store, erased)
    assert found(others, needles) == set()
    data = store_bytes(store, server)
    if data:
        assert found_bytes(data, needles) == set()
        assert found_bytes(data, kept) == set(kept)  # the scan does see what stays


def test_undo_leaves_no_snapshot_of_the_other_customer_and_erasing_it_leaves_nothing(
    backend: tuple[Store, Any],
) -> None:
    store, server = backend
    a, a_needles = person("cus_a", "Alderney")
    b, b_needles = person("cus_b", "Brixworth")
    _add(store, a, b, orders={"ord_a": "cus_a", "ord_b": "cus_b"})
    merge_id = _merge(store, "cus_a", "cus_b")
    _undo(store, merge_id)
    text = export_customer_json(store, "cus_a")
    assert found(text, b_needles) == set()  # A's export shows none of B's data
    assert found(views_of_others(store, "cus_b"), b_needles) == set()
    with store.unit_of_work() as uow:
        (record,) = merges_of(uow, "cus_a")
        assert record.undone_at is not None and [c.id for c in record.before] == ["cus_a", "cus_b"]
        with pytest.raises(UndoRefusedError, match="undone already"):
            undo(uow, merge_id)
    erase_customer(store, "cus_b", clock=lambda: NOW)
    _assert_gone(store, server, "cus_b", b_needles, a_needles)


def test_erasing_the_survivor_of_an_undone_merge_leaves_nothing_of_it_with_the_other(
    backend: tuple[Store, Any],
) -> None:
    store, server = backend
    x, x_needles = person("cus_x", "Xanthorpe")
    a, a_needles = person("cus_a", "Alderney")
    _add(store, x, a, orders={"ord_x": "cus_x", "ord_a": "cus_a"})
    _undo(store, _merge(store, "cus_x", "cus_a"))
    assert found(export_customer_json(store, "cus_x"), a_needles) == set()  # the survivor's record kept no snapshot
    erase_customer(store, "cus_x", clock=lambda: NOW)
    _assert_gone(store, server, "cus_x", x_needles, a_needles)


def test_a_message_leased_by_a_crashed_dispatcher_is_cancelled_and_never_sent(backend: tuple[Store, Any]) -> None:
    store, server = backend
    x, x_needles = person("cus_x", "Xanthorpe")
    k, k_needles = person("cus_k", "Kettering")
    _add(store, x, k, orders={"ord_x": "cus_x", "ord_k": "cus_k"})
    entry_id = _enqueue(store, "ship-x", x, order_id="ord_x")
    _enqueue(store, "ship-k", k, order_id="ord_k")
    with store.unit_of_work() as uow:  # a dispatcher leases both and dies before sending
        assert len(uow.outbox.lease("crashed", now=T0, limit=10, duration=LEASE)) == 2  # type: ignore[attr-defined]
        uow.commit()
    report = erase_customer(store, "cus_x", clock=lambda: T0 + timedelta(minutes=1))  # the lease still holds
    assert report.cancelled_messages == 1 and report.outbox_entries == 1
    with store.unit_of_work() as uow:
        erased = uow.outbox.get(entry_id)  # type: ignore[attr-defined]
        assert (erased.state, erased.message, erased.lease_owner) == (OutboxState.CANCELLED, None, None)
        assert uow.communications.get(entry_id).status.value == "suppressed"
        # the dead dispatcher, were it to come back, can record nothing over it
        assert not uow.outbox.settle(entry_id, "crashed", state=OutboxState.SENT, now=T0, provider_id="p")  # type: ignore[attr-defined]
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=lambda: T0 + timedelta(minutes=10)).drain()
    assert [str(m.recipient) for m in notifier.messages] == [str(k.email)]
    _assert_gone(store, server, "cus_x", x_needles, k_needles)


def test_a_message_erased_while_a_live_dispatcher_holds_it_is_not_sent(backend: tuple[Store, Any]) -> None:
    store, _ = backend
    x, x_needles = person("cus_x", "Xanthorpe")
    _add(store, x, orders={"ord_x": "cus_x"})
    _enqueue(store, "ship-x", x, order_id="ord_x")
    ticks = iter(range(100))

    def clock() -> Any:  # the erasure commits after the lease, just before the dispatcher would send
        if next(ticks) == 1:
            erase_customer(store, "cus_x", clock=lambda: T0)
        return T0

    notifier = RecordingNotifier()
    report = Dispatcher(store, notifier, clock=clock).run_once()
    assert (report.leased, report.sent, report.lost) == (1, 0, 1)
    assert notifier.messages == []
    assert found(outbox_text(store), x_needles) == set()


def test_a_merged_customers_queued_messages_and_timers_go_with_its_erasure(backend: tuple[Store, Any]) -> None:
    store, server = backend
    a, a_needles = person("cus_a", "Alderney")
    b, b_needles = person("cus_b", "Brixworth")
    _add(store, a, b, orders={"ord_a": "cus_a", "ord_b": "cus_b"})
    entry_id = _enqueue(store, "ship-b", b, order_id="ord_b")
    _enqueue(store, "support-b", b)
    _schedule(store, "review-b", b, order_id="ord_b")
    _schedule(store, "cart-b", b, order_id=None)
    _enqueue(store, "ship-a", a, order_id="ord_a")
    _merge(store, "cus_a", "cus_b")  # the order moves to A, the entries and timers keep B's id
    report = erase_customer(store, "cus_b", clock=lambda: NOW)
    assert report.customer_id == "cus_a" and report.cancelled_messages == 3 and report.timers == 2
    with store.unit_of_work() as uow:
        assert uow.outbox.get(entry_id).state == OutboxState.CANCELLED  # type: ignore[attr-defined]
        assert {t.state for t in uow.timers.for_customer("cus_b")} == {TimerState.CANCELLED}  # type: ignore[attr-defined]
        assert uow.outbox.count(OutboxState.PENDING) == 0  # type: ignore[attr-defined]
    assert found(outbox_text(store), (*a_needles, *b_needles)) == set()
    data = store_bytes(store, server)
    if data:
        assert found_bytes(data, (*a_needles, *b_needles)) == set()


@pytest.mark.parametrize("erased", ["cus_a", "cus_b"])
def test_erasing_either_side_of_a_merge_erases_the_person_and_undo_is_refused(
    backend: tuple[Store, Any], erased: str
) -> None:
    store, server = backend
    a, a_needles = person("cus_a", "Alderney")
    b, b_needles = person("cus_b", "Brixworth")
    k, k_needles = person("cus_k", "Kettering")
    _add(store, a, b, k, orders={"ord_a": "cus_a", "ord_b": "cus_b", "ord_k": "cus_k"})
    merge_id = _merge(store, "cus_a", "cus_b")
    erase_customer(store, erased, clock=lambda: NOW)
    with store.unit_of_work() as uow, pytest.raises(UndoRefusedError):
        undo(uow, merge_id)
    with store.unit_of_work() as uow:
        for cid in ("cus_a", "cus_b"):
            assert uow.customers.get(cid).redacted_at == NOW
    _assert_gone(store, server, erased, (*a_needles, *b_needles), k_needles)


def test_a_chain_of_merges_is_erased_from_any_of_its_ids(backend: tuple[Store, Any]) -> None:
    store, server = backend
    a, a_needles = person("cus_a", "Alderney")
    b, b_needles = person("cus_b", "Brixworth")
    c, c_needles = person("cus_c", "Cirencester")
    k, k_needles = person("cus_k", "Kettering")
    _add(store, a, b, c, k, orders={"ord_a": "cus_a", "ord_b": "cus_b", "ord_c": "cus_c", "ord_k": "cus_k"})
    _enqueue(store, "ship-b", b, order_id="ord_b")
    _schedule(store, "cart-b", b, order_id=None)
    _merge(store, "cus_a", "cus_b")
    _merge(store, "cus_c", "cus_a")
    report = erase_customer(store, "cus_b", clock=lambda: NOW)
    assert report.customer_id == "cus_c" and set(report.customers) == {"cus_a", "cus_b", "cus_c"}
    _assert_gone(store, server, "cus_b", (*a_needles, *b_needles, *c_needles), k_needles)


def test_retention_cleans_a_deleted_guests_outbox_and_erasure_by_id_cleans_leftovers(
    backend: tuple[Store, Any],
) -> None:
    from custdata.privacy.retention import RetentionPolicy, sweep

    store, server = backend
    g, g_needles = person("cus_g", "Grantham", guest=True)
    k, k_needles = person("cus_k", "Kettering")
    _add(store, g, k, orders={"ord_k": "cus_k"})
    _enqueue(store, "welcome-g", g)
    _schedule(store, "cart-g", g, order_id=None)
    report = sweep(store, RetentionPolicy(guests_without_orders=timedelta(days=30)), clock=lambda: NOW)
    assert (report.guests_deleted, report.outbox_entries_scrubbed, report.timers_scrubbed) == (1, 1, 1)
    assert found(outbox_text(store), g_needles) == set()
    again = erase_customer(store, "cus_g", clock=lambda: NOW)  # no customer, but erasure by its id still works
    assert again.customer_missing and not again.changed
    with pytest.raises(NotFoundError):
        erase_customer(store, "cus_nobody")
    # rows left by an older sweep that did not clean the outbox: erasure by the id clears them
    with store.unit_of_work() as uow:
        uow.customers.add(person("cus_h", "Hartlepool", guest=True)[0])
        uow.commit()
    h, h_needles = person("cus_h", "Hartlepool", guest=True)
    _enqueue(store, "welcome-h", h)
    _schedule(store, "cart-h", h, order_id=None)
    with store.unit_of_work() as uow:
        for e in uow.communications.for_customer("cus_h"):
            uow.communications.delete(e.id)
        uow.customers.delete("cus_h")
        uow.commit()
    leftovers = erase_customer(store, "cus_h", clock=lambda: NOW)
    assert leftovers.customer_missing and (leftovers.cancelled_messages, leftovers.timers) == (1, 1)
    _assert_gone(store, server, "cus_h", (*g_needles, *h_needles), k_needles)


def test_old_messages_leave_the_outbox_with_the_communications_retention(backend: tuple[Store, Any]) -> None:
    from custdata.privacy.retention import RetentionPolicy, sweep

    store, _ = backend
    x, x_needles = person("cus_x", "Xanthorpe")
    _add(store, x, orders={"ord_x": "cus_x"})
    _enqueue(store, "ship-x", x, order_id="ord_x")
    _schedule(store, "review-x", x, order_id="ord_x")
    assert Dispatcher(store, RecordingNotifier(), clock=lambda: T0).drain().sent == 1
    with store.unit_of_work() as uow:
        assert uow.timers.finish("review-x", TimerState.FIRED)  # type: ignore[attr-defined]
        uow.commit()
    report = sweep(store, RetentionPolicy(communications=timedelta(days=30)), clock=lambda: NOW)
    assert (report.outbox_entries_scrubbed, report.timers_scrubbed) == (1, 1)
    assert found(outbox_text(store), x_needles) == set()
    assert sweep(store, RetentionPolicy(communications=timedelta(days=30)), clock=lambda: NOW).changed == 0


def test_messages_of_a_guest_record_absorbed_at_verification_go_with_the_customers_erasure(
    backend: tuple[Store, Any],
) -> None:
    from custdata.privacy.guests import complete_verification, start_verification
    from custdata.privacy.tokens import VerificationTokens

    store, server = backend
    x, x_needles = person("cus_x", "Xanthorpe")
    k, k_needles = person("cus_k", "Kettering")
    guest, _ = person("cus_x_guest", "Xanthorpe", guest=True)
    _add(store, x, k, guest, orders={"ord_g": "cus_x_guest", "ord_k": "cus_k"})
    _enqueue(store, "ship-g", guest, order_id="ord_g")
    _enqueue(store, "support-g", guest)
    tokens = VerificationTokens(VerificationTokens.new_secret())
    with store.unit_of_work() as uow:
        token = start_verification(uow, tokens, "cus_x", now=T0)
        registration = complete_verification(uow, tokens, "cus_x", token, now=T0)
        uow.commit()
    assert registration.absorbed_guests == ("cus_x_guest",)
    report = erase_customer(store, "cus_x", clock=lambda: NOW)
    assert report.cancelled_messages == 2 and "cus_x_guest" in report.customers
    with store.unit_of_work() as uow:
        assert uow.outbox.count(OutboxState.PENDING) == 0  # type: ignore[attr-defined]
    _assert_gone(store, server, "cus_x", x_needles, k_needles)
