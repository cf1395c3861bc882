"""Imports and identity: a guest's order never lands on a registered account, a registered customer is never
dropped for a guest with the same address, ids carry no email address, and nothing of one is left after erasure."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custdata import Customer, ValidationError
from custdata.domain import EmailAddress, ExternalRef
from custdata.importing import (
    ImportOptions,
    RejectsList,
    customer_id_for,
    import_customers,
    import_orders,
    order_from_rows,
    order_id_for,
    read_rows,
)
from custdata.importing.convert import has_email_derived_id, legacy_email_id, source_customer_id
from custdata.privacy.erasure import erase_customer
from custdata.storage import Store, open_store

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
OPTIONS = ImportOptions(now=NOW)
CUSTOMERS = ["email", "given_name", "family_name", "is_guest"]
ORDERS = ["order_id", "customer_id", "customer_email", "currency", "placed_at", "sku", "quantity", "unit_price"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def registered(store: Store, email: str) -> list[Customer]:
    with store.unit_of_work() as uow:
        return [c for c in uow.customers.find_by_email(email) if not c.is_guest]


def orders_of(store: Store, customer_id: str) -> int:
    with store.unit_of_work() as uow:
        return uow.orders.count(customer_id=customer_id)


def guest_order(order_id: str, email: str) -> list[str]:
    return [order_id, "", email, "EUR", "2025-06-01T10:00:00Z", "SKU-1", "1", "19.99"]


def test_guest_order_never_attaches_to_the_registered_customer_with_that_email(store: Store, tmp_path: Path) -> None:
    customers = write_csv(tmp_path / "c.csv", CUSTOMERS, [["ada@example.com", "Ada", "Lovelace", "no"]])
    assert import_customers(store, read_rows(customers, "csv"), options=OPTIONS).imported == 1
    (ada,) = registered(store, "ada@example.com")
    orders = write_csv(tmp_path / "o.csv", ORDERS, [guest_order("o1", "ADA@example.com")])
    report = import_orders(store, read_rows(orders, "csv"), options=OPTIONS)
    assert (report.imported, report.customers_added) == (1, 1)
    with store.unit_of_work() as uow:
        order = uow.orders.get(order_id_for("import", "o1"))
        guest = uow.customers.get(order.customer_id)
    assert orders_of(store, ada.id) == 0
    assert guest.id != ada.id and guest.is_guest and guest.email is not None and ada.email is not None
    assert guest.email.canonical == ada.email.canonical
    assert registered(store, "ada@example.com") == [ada]  # unchanged, version included


def test_registered_row_after_a_guest_order_is_stored_and_reported(store: Store, tmp_path: Path) -> None:
    orders = write_csv(tmp_path / "o.csv", ORDERS, [guest_order("o1", "bo@example.com")])
    import_orders(store, read_rows(orders, "csv"), options=OPTIONS)
    customers = write_csv(tmp_path / "c.csv", CUSTOMERS, [["bo@example.com", "Bo", "Li", ""]])
    report = import_customers(store, read_rows(customers, "csv"), options=OPTIONS)
    assert (report.imported, report.skipped, report.same_email) == (1, 0, 1)
    (bo,) = registered(store, "bo@example.com")
    assert bo.given_name == "Bo" and orders_of(store, bo.id) == 0
    again = import_customers(store, read_rows(customers, "csv"), options=OPTIONS)
    assert (again.imported, again.skipped, again.same_email) == (0, 1, 0)
    assert len(registered(store, "bo@example.com")) == 1


def test_guest_orders_of_one_address_share_one_guest_record_across_runs(store: Store, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "o1.csv", ORDERS, [guest_order("o1", "cy@example.com"), guest_order("o2", "cy@x.org")])
    second = write_csv(tmp_path / "o2.csv", ORDERS, [guest_order("o3", "Cy@Example.com")])
    import_orders(store, read_rows(first, "csv"), options=OPTIONS)
    report = import_orders(store, read_rows(second, "csv"), options=OPTIONS)
    assert (report.imported, report.customers_added) == (1, 0)
    with store.unit_of_work() as uow:
        owners = {o: uow.orders.get(order_id_for("import", o)).customer_id for o in ("o1", "o2", "o3")}
        assert uow.customers.count() == 2
    assert owners["o1"] == owners["o3"] != owners["o2"]


def test_an_email_in_an_id_column_is_refused(store: Store, tmp_path: Path) -> None:
    customers = write_csv(tmp_path / "c.csv", ["id", "email"], [["dee@example.com", "dee@example.com"]])
    rejects = RejectsList()
    assert import_customers(store, read_rows(customers, "csv"), options=OPTIONS, rejects=rejects).rejected == 1
    assert rejects.items[0][:2] == (2, "id") and "personal data" in rejects.items[0][2]
    orders = write_csv(tmp_path / "o.csv", ORDERS, [["o1", "dee@example.com", "", "EUR", "2025-06-01", "S", "1", "1"]])
    rejects = RejectsList()
    assert import_orders(store, read_rows(orders, "csv"), options=OPTIONS, rejects=rejects).rejected == 1
    assert rejects.items[0][:2] == (2, "customer_id")
    with pytest.warns(DeprecationWarning, match="random ids"):
        customer_id_for("import", "dee@example.com")


def test_shopify_order_email_never_becomes_a_registered_accounts_address(store: Store, tmp_path: Path) -> None:
    order = {
        "id": 9001,
        "email": "typed.at.checkout@example.com",
        "created_at": "2025-03-13T16:09:54Z",
        "currency": "USD",
        "line_items": [{"id": 1, "sku": "A", "title": "A", "quantity": 1, "price": "5.00"}],
        "customer": {"id": 777, "first_name": "Eve", "state": "enabled"},
    }
    guest_state = {**order, "id": 9002, "customer": {"id": 778, "state": "disabled"}}
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": [order, guest_state]}))
    report = import_orders(store, read_rows(path, "shopify-json"), shopify=True)
    assert (report.imported, report.customers_added) == (2, 2)
    with store.unit_of_work() as uow:
        account = uow.customers.get("cus_shopify_777")
        guest = uow.customers.get("cus_shopify_778")
    assert not account.is_guest and account.email is None
    assert guest.is_guest and str(guest.email) == "typed.at.checkout@example.com"


def test_customers_known_by_email_get_ids_without_it_and_reruns_still_skip_them(store: Store, tmp_path: Path) -> None:
    rows = [["fay.q@example.com", "Fay", "", ""], ["gus@example.com", "Gus", "", "yes"]]
    path = write_csv(tmp_path / "c.csv", CUSTOMERS, rows)
    assert import_customers(store, read_rows(path, "csv"), options=OPTIONS).imported == 2
    with store.unit_of_work() as uow:
        stored = [c for page in (uow.customers.search(),) for c in page]
    for customer in stored:
        assert customer.email is not None
        assert customer.id != legacy_email_id("import", customer.email)
        assert customer.email.canonical.split("@")[0] not in customer.id
        assert customer.metadata == {"imported_from": "import"}
    again = import_customers(store, read_rows(path, "csv"), options=OPTIONS)
    assert (again.imported, again.skipped) == (0, 2)


def test_customers_stored_with_email_derived_ids_are_still_recognised(store: Store, tmp_path: Path) -> None:
    email = EmailAddress.parse("hal@example.com")
    old = Customer(
        id=legacy_email_id("import", email),
        created_at=NOW,
        email=email,
        metadata={"external_ref": str(ExternalRef("import", email.canonical))},
    )
    with store.unit_of_work() as uow:
        uow.customers.add(old)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.customers.add(Customer(id=source_customer_id("import", "hal"), created_at=NOW, email=email))
        uow.commit()
    path = write_csv(tmp_path / "c.csv", CUSTOMERS, [["hal@example.com", "Hal", "", ""]])
    report = import_customers(store, read_rows(path, "csv"), options=OPTIONS)
    assert (report.imported, report.skipped) == (0, 1)
    assert has_email_derived_id(old)
    with store.unit_of_work() as uow:
        assert not has_email_derived_id(uow.customers.get(source_customer_id("import", "hal")))
        assert not has_email_derived_id(Customer(id="cus_", created_at=NOW, email=email))


# -- erasure: nothing links an id to the address any more ------------------------------------------------------


def email_traces(email: str) -> tuple[bytes, ...]:
    """The address and what could be computed from it without a secret: its hashes (hex and raw)."""
    canonical = email.lower()
    out: list[bytes] = [canonical.encode(), canonical.split("@")[0].encode()]
    for name in ("sha256", "sha1", "md5"):
        digest = hashlib.new(name, canonical.encode())
        out += [digest.hexdigest()[:24].encode(), digest.digest()[:12]]
    return tuple(out)


def sqlite_bytes(path: Path) -> bytes:
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    return data + b"\n" + data.lower()


def test_after_erasure_the_sqlite_files_hold_no_address_nor_hash_of_it(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    email = "ines.quarantotto@example.com"
    customers = write_csv(tmp_path / "c.csv", CUSTOMERS, [[email, "Ines", "", ""], ["kept@example.com", "K", "", ""]])
    orders = write_csv(tmp_path / "o.csv", ORDERS, [guest_order("o1", email), guest_order("o2", "kept@example.com")])
    with open_store(f"sqlite:///{db}") as store:
        import_orders(store, read_rows(orders, "csv"), options=OPTIONS)
        import_customers(store, read_rows(customers, "csv"), options=OPTIONS)
        assert all(trace in sqlite_bytes(db) for trace in email_traces(email)[:1])
        with store.unit_of_work() as uow:
            records = uow.customers.find_by_email(email)  # the registered customer and the guest record
        assert sorted(c.is_guest for c in records) == [False, True]
        for record in records:
            erase_customer(store, record.id)
        data = sqlite_bytes(db)
        assert [t for t in email_traces(email) if t in data] == []
        assert all(trace in data for trace in email_traces("kept@example.com")[:1])
        with store.unit_of_work() as uow:
            assert uow.customers.find_by_email(email) == []
            assert uow.orders.get(order_id_for("import", "o1")).total.amount > 0


# -- no silent wrong numbers ------------------------------------------------------------------------------------

HUGE = "1" + "0" * 29  # 30 digits


@pytest.mark.parametrize(
    ("quantity", "price", "field"),
    [(HUGE, "99.99", "quantity"), ("1", HUGE, "unit_price"), (HUGE, HUGE, "quantity"), ("2", "1e300", "unit_price")],
)
def test_huge_quantities_and_prices_become_rejects_not_wrong_totals(
    store: Store, tmp_path: Path, quantity: str, price: str, field: str
) -> None:
    customers = write_csv(tmp_path / "c.csv", ["id", "email"], [["c1", "jo@example.com"]])
    import_customers(store, read_rows(customers, "csv"), options=OPTIONS)
    rows = [
        ["o1", "c1", "", "EUR", "2025-06-01", "SKU-1", "1", "10.00"],
        ["o1", "c1", "", "EUR", "2025-06-01", "SKU-2", quantity, price],
        ["o2", "c1", "", "EUR", "2025-06-02", "SKU-1", "3", "10.00"],
    ]
    rejects = RejectsList()
    report = import_orders(store, read_rows(write_csv(tmp_path / "o.csv", ORDERS, rows), "csv"), rejects=rejects)
    assert (report.imported, report.rejected) == (1, 1)
    assert (
        rejects.items[0][:2] == (2, field) and "too large" in rejects.items[0][2] and "(line 3)" in rejects.items[0][2]
    )
    with store.unit_of_work() as uow:
        assert uow.orders.get_many([order_id_for("import", "o1")]) == {}
        assert str(uow.orders.get(order_id_for("import", "o2")).total) == "30.00 EUR"


def test_huge_numbers_in_shopify_orders_are_refused(store: Store, tmp_path: Path) -> None:
    base: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "shopify_orders.json").read_text())
    order = base["orders"][1]
    order["line_items"][0]["quantity"] = int(HUGE)
    order["total_price"] = "0.00"
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": [order]}))
    rejects = RejectsList()
    report = import_orders(store, read_rows(path, "shopify-json"), shopify=True, rejects=rejects)
    assert report.rejected == 1 and ("line_items[0].quantity" in {f for _, f, _ in rejects.items})


def test_future_times_are_refused(store: Store, tmp_path: Path) -> None:
    customers = write_csv(
        tmp_path / "c.csv",
        ["id", "email", "created_at", "accepts_marketing"],
        [["c1", "k@example.com", "2999-01-01", "yes"]],
    )
    rejects = RejectsList()
    assert import_customers(store, read_rows(customers, "csv"), options=OPTIONS, rejects=rejects).rejected == 1
    assert rejects.items[0][:2] == (2, "created_at") and "future" in rejects.items[0][2]
    orders = write_csv(
        tmp_path / "o.csv", ORDERS, [[*guest_order("o1", "k@example.com")[:4], "2999-01-01", "S", "1", "1"]]
    )
    rejects = RejectsList()
    assert import_orders(store, read_rows(orders, "csv"), options=OPTIONS, rejects=rejects).rejected == 1
    assert rejects.items[0][:2] == (2, "placed_at")
    with pytest.raises(ValidationError, match="future"):
        order_from_rows(
            [{"order_id": "o", "customer_id": "c", "currency": "EUR", "placed_at": "2999-01-01"}], platform="x"
        )
