"""Right to erasure: personal data gone from every record and from the SQLite files' raw bytes; financials kept."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from erasure_checks import ERASED, KEPT, check_financials, found, found_bytes, seed
from hypothesis import given, settings
from hypothesis import strategies as st
from privacy_builders import T0, activity, customer, message, order

from custdata import ConsentState, Customer, NotFoundError, Preferences, ProgrammingError, ValidationError
from custdata.privacy.erasure import erase_customer
from custdata.privacy.export import export_customer_json
from custdata.serialization import to_dict
from custdata.storage import open_store
from custdata.storage.sqlite import SQLiteStore
from custdata.testing import strategies as cs

NOW = T0 + timedelta(days=400)


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*")}


def test_sqlite_files_hold_no_trace_of_the_erased_customer(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path) as store:
        seed(store)
        before = b"".join(_files(path).values())
        assert found_bytes(before, ERASED) == set(ERASED)
        report = erase_customer(store, "cus_ada", clock=lambda: NOW)
        assert report.customers == ("cus_ada", "cus_ada_guest") and report.purged
        assert (report.orders, report.communications, report.activity) == (3, 3, 3)
        files = _files(path)
        assert set(files) >= {"shop.db", "shop.db-wal", "shop.db-shm"}
        for name, data in files.items():
            assert found_bytes(data, ERASED) == set(), name
        assert found_bytes(b"".join(files.values()), KEPT) == set(KEPT)
        erased = check_financials(store)
        assert erased.redacted_at == NOW and erased.email is None and erased.addresses == ()
        assert [r.state for r in erased.consents] == [ConsentState.REDACTED]
        assert store.integrity_check() == ["ok"]
    for name, data in _files(path).items():
        assert found_bytes(data, ERASED) == set(), name


def test_erasure_is_idempotent_and_scrubs_what_came_later(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/shop.db") as store:
        seed(store)
        first = erase_customer(store, "cus_ada", clock=lambda: NOW)
        again = erase_customer(store, "cus_ada", clock=lambda: NOW + timedelta(days=1))
        assert first.changed and not again.changed and again.erased_at == NOW
        with store.unit_of_work() as uow:
            version = uow.customers.get("cus_ada").version
            uow.communications.add(message("msg_late", "cus_ada", "Dear Adelheid"))
            uow.commit()
        late = erase_customer(store, "cus_ada", clock=lambda: NOW + timedelta(days=2))
        assert (late.customers, late.communications, late.erased_at) == ((), 1, NOW)
        with store.unit_of_work() as uow:
            assert uow.customers.get("cus_ada").version == version


def test_erasure_is_one_unit_of_work(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/shop.db") as store:
        seed(store)

        class Broken:  # the store, but writing the erased customer's last order fails
            url = store.url

            def unit_of_work(self) -> object:
                uow = store.unit_of_work()
                real_update = uow.orders.update

                def update(order: object) -> None:
                    if str(getattr(order, "id", "")) == "ord_3":
                        raise RuntimeError("the disk is full")
                    real_update(order)  # type: ignore[arg-type]

                uow.orders.update = update  # type: ignore[method-assign]
                return uow

        with pytest.raises(RuntimeError):
            erase_customer(Broken(), "cus_ada", clock=lambda: NOW)  # type: ignore[arg-type]
        with store.unit_of_work() as uow:
            assert uow.customers.get("cus_ada").redacted_at is None
            assert uow.orders.get("ord_0").shipping_address is not None


def test_bad_arguments_and_stores_without_purge() -> None:
    with open_store("memory://") as store:
        with pytest.raises(NotFoundError):
            erase_customer(store, "cus_nobody")
        with pytest.raises(ValidationError) as exc:
            erase_customer(store, "cus_nobody", purge="no", keep_order_metadata="gift")  # type: ignore[arg-type]
        assert {p.path for p in exc.value.problems} == {"purge", "keep_order_metadata"}
        with store.unit_of_work() as uow:
            uow.customers.add(customer())
            uow.commit()

        class NoPurge:
            url = "x://"

            def unit_of_work(self) -> object:
                return store.unit_of_work()

        with pytest.raises(ProgrammingError, match="purge_residue"):
            erase_customer(NoPurge(), "cus_ada")  # type: ignore[arg-type]
        assert erase_customer(NoPurge(), "cus_ada", purge=False).purged is False  # type: ignore[arg-type]


def test_kept_keys_survive() -> None:
    with open_store("memory://") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(customer())
            uow.orders.add(order("ord_1", "cus_ada"))
            uow.activity.add(activity("act_1", "cus_ada", query="adelheid"))
            uow.commit()
        erase_customer(store, "cus_ada", keep_order_metadata=["gift_message"], keep_activity_properties={"sku"})
        with store.unit_of_work() as uow:
            assert uow.orders.get("ord_1").metadata == {"gift_message": "for you"}
            item = uow.activity.get("act_1")
            assert item.properties == {"sku": "SKU-SHOE-42"} and item.anonymous_id is None


@settings(max_examples=15)
@given(cs.customers(), st.lists(cs.names(), max_size=3))
def test_any_customer_keeps_only_what_is_not_personal(c: Customer, notes: list[str]) -> None:
    c.redacted_at = None
    c.merged_into = None
    with open_store("memory://") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(c)
            if c.addresses:
                uow.orders.add(order("ord_1", c.id, address=c.addresses[0]))
            for i, note in enumerate(notes):
                uow.communications.add(message(f"msg_{i}", c.id, note))
            uow.commit()
        erase_customer(store, c.id, clock=lambda: NOW)
        doc = json.loads(export_customer_json(store, c.id, clock=lambda: NOW))
    profile = {k: v for k, v in doc["profile"].items() if v not in (None, [], {}, False)}
    assert set(profile) <= {
        "id",
        "created_at",
        "updated_at",
        "version",
        "is_guest",
        "groups",
        "redacted_at",
        "preferences",
    }
    default = to_dict(Preferences())
    default.pop("schema_version")
    assert profile["preferences"] == default
    assert doc["addresses"] == [] and profile["redacted_at"] == NOW.isoformat()
    assert all(r["state"] == "redacted" and r["source"] == "erasure" for r in doc["consent"]["history"])
    for o in doc["orders"]:
        assert o["shipping_address"] is None and o["metadata"] == {}
    for m in doc["communications"]:
        assert (m["subject"], m["body"], m["metadata"], m["provider_id"]) == (None, None, {}, None)
    assert "@" not in json.dumps(doc)


def test_pending_messages_to_the_erased_customer_are_cancelled() -> None:
    from custdata.notify import Message
    from custdata.outbox import OutboxState, enqueue
    from custdata.outbox.ports import has_outbox

    with open_store("memory://") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(customer())
            uow.orders.add(order("ord_1", "cus_ada"))
            assert has_outbox(uow)
            for key, order_id in (("k1", "ord_1"), ("k2", None)):
                text = Message(
                    idempotency_key=key,
                    channel="email",
                    topic="order_shipped" if order_id else "support",
                    recipient="adelheid.quenstedt@example.org",
                    subject="Hello Adelheid",
                    text="Dear Adelheid",
                    order_id=order_id,
                )
                enqueue(uow, text, customer_id="cus_ada", now=T0)
            uow.commit()
        report = erase_customer(store, "cus_ada", clock=lambda: NOW)
        assert report.cancelled_messages == 2
        with store.unit_of_work() as uow:
            assert has_outbox(uow)
            assert uow.outbox.count(OutboxState.PENDING) == 0
            events = list(uow.communications.for_customer("cus_ada"))
            assert [e.status.value for e in events] == ["suppressed", "suppressed"]
            assert all(e.subject is None and e.body is None for e in events)


def test_erasing_a_merged_id_erases_the_survivor_and_the_merge_record() -> None:
    from custdata.merge import merge, merges_of, preview

    with open_store("memory://") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(customer())
            uow.customers.add(customer("cus_dup", email="ada.dup@example.org", phone="+4930901828"))
            uow.orders.add(order("ord_dup", "cus_dup"))
            uow.commit()
        with store.unit_of_work() as uow:
            merge(uow, preview(uow, "cus_ada", ["cus_dup"], at=T0), at=T0)
            uow.commit()
        with store.unit_of_work() as uow:
            assert merges_of(uow, "cus_ada")  # the record holds both customers as they were
        report = erase_customer(store, "cus_dup", clock=lambda: NOW)
        assert report.customer_id == "cus_ada" and "cus_ada" in report.customers
        with store.unit_of_work() as uow:
            assert uow.customers.get("cus_ada").redacted_at == NOW
            assert merges_of(uow, "cus_ada") == []  # its properties, with the snapshots, are gone
            assert uow.orders.get("ord_dup").customer_id == "cus_ada"
            assert uow.orders.get("ord_dup").shipping_address is None
            text = export_customer_json(store, "cus_ada", clock=lambda: NOW)
        assert found(text, ("Adelheid", "Quenstedt", "ada.dup", "4930901828")) == set()


def test_sent_messages_in_the_outbox_lose_their_text_and_leave_no_bytes(tmp_path: Path) -> None:
    from custdata.notify import Message, RecordingNotifier
    from custdata.outbox import Dispatcher, OutboxState, enqueue

    path = tmp_path / "shop.db"
    with SQLiteStore(path) as store:
        seed(store)
        with store.unit_of_work() as uow:
            sent = Message(
                idempotency_key="shipped-1",
                channel="email",
                topic="order_shipped",
                recipient="adelheid.quenstedt@example.org",
                subject="Your parcel, Adelheid Quenstedt",
                text="Dear Adelheid, it goes to Kastanienallee 12.",
            )
            enqueue(uow, sent, customer_id="cus_ada", now=T0)
            uow.commit()
        recorder = RecordingNotifier()
        assert Dispatcher(store, recorder, clock=lambda: T0 + timedelta(minutes=1)).drain().sent == 1
        assert found_bytes(b"".join(_files(path).values()), ("Kastanienallee 12",)) == {"Kastanienallee 12"}
        erase_customer(store, "cus_ada", clock=lambda: NOW)
        with store.unit_of_work() as uow:
            entry = uow.outbox.find("shipped-1")
            assert entry is not None and entry.state == OutboxState.SENT
        for name, data in _files(path).items():
            assert found_bytes(data, (*ERASED, "Kastanienallee 12")) == set(), name
