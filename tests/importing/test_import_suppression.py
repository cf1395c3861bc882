"""An erased customer stays erased when the shop's export is imported again: with the suppression key, the records
whose address is on the suppression list are not imported, on every store, in one process or many, from the
library and from the command line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from no_list_store import NoListStore
from shopify_columns import SHOPIFY_CUSTOMER_COLUMNS

from custdata import EmailAddress, ValidationError
from custdata.importing import (
    ImportOptions,
    ImportReport,
    RejectsList,
    import_customers,
    import_orders,
    order_id_for,
    read_rows,
)
from custdata.merge import merge, preview
from custdata.privacy import erase_customer
from custdata.storage import Store, open_store
from custdata.storage.suppression import suppress_emails

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
KEY = b"a suppression key from the secret manager"
PEOPLE = [
    ("Ines", "Quarantotto", "ines.q@example.org"),
    ("Bartholomew", "Oyelaran", "bart.oyelaran@example.com"),
    ("Zofia", "Wierzbicka", "Zofia.W@Example.net"),
]


def _export(path: Path, people: list[tuple[str, str, str]]) -> Path:
    """A Shopify customers export (no id column: its customers are known by their email addresses)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, SHOPIFY_CUSTOMER_COLUMNS)
        writer.writeheader()
        for given, family, email in people:
            writer.writerow(
                {"First Name": given, "Last Name": family, "Email": email, "Accepts Email Marketing": "yes"}
            )
    return path


def _import(
    store: Store, path: Path, *, key: bytes | None = KEY, jobs: int = 1, rejects: RejectsList | None = None
) -> ImportReport:
    options = ImportOptions(platform="shopify", now=NOW, format="shopify-csv", suppression_key=key)
    return import_customers(store, read_rows(path, "csv"), options=options, rejects=rejects, jobs=jobs)


def _holders(store: Store, email: str) -> list[str]:
    """Ids of the live customers having ``email``."""
    with store.unit_of_work() as uow:
        return [str(c.id) for c in uow.customers.find_by_email(email) if c.redacted_at is None]


def _id_of(store: Store, email: str) -> str:
    (found,) = _holders(store, email)
    return found


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_erased_customer_is_not_imported_again(store: Store, tmp_path: Path, jobs: int) -> None:
    export = _export(tmp_path / "customers_export.csv", PEOPLE)
    assert _import(store, export).imported == 3
    report = erase_customer(store, _id_of(store, PEOPLE[2][2]), suppression_key=KEY, purge=False)
    assert report.suppressed == 1
    rejects = RejectsList()
    again = _import(store, export, jobs=jobs, rejects=rejects)
    assert (again.imported, again.skipped, again.suppressed, again.rejected) == (0, 2, 1, 0)
    assert _holders(store, PEOPLE[2][2]) == [], "the erased customer is not back"
    with store.unit_of_work() as uow:
        assert uow.customers.find_by_email(PEOPLE[2][2]) == []
        assert not any(c.family_name == "Wierzbicka" for c in uow.customers.search(limit=100).items)
    assert rejects.items == [], "a suppressed record is no rejected record"
    (note,) = rejects.notes
    assert note[0] == 4 and note[1] == "Email" and note[3] == "suppressed"
    assert "zofia" not in repr(note).lower(), "the rejects file holds no personal data"
    # a file with the customer and a new one: the new one comes in, the erased one does not
    grown = _export(tmp_path / "later_export.csv", [*PEOPLE, ("Oona", "Kettunen", "oona.k@example.fi")])
    later = _import(store, grown, jobs=jobs)
    assert (later.imported, later.skipped, later.suppressed) == (1, 2, 1)
    assert _holders(store, PEOPLE[2][2]) == []


def test_without_the_key_the_import_does_not_know_the_list(store: Store, tmp_path: Path) -> None:
    export = _export(tmp_path / "customers_export.csv", PEOPLE)
    _import(store, export)
    erase_customer(store, _id_of(store, PEOPLE[0][2]), suppression_key=KEY, purge=False)
    assert _import(store, export, key=b"another key of 16 bytes or more").suppressed == 0, "digests of another key"
    assert len(_holders(store, PEOPLE[0][2])) == 1, "imported again: the list is read only with its key"


def test_every_address_of_a_merged_person_is_suppressed(store: Store, tmp_path: Path) -> None:
    """A guest record merged into the account brought its own address: erasing the account suppresses both."""
    export = _export(tmp_path / "customers_export.csv", PEOPLE[:2])
    _import(store, export)
    account, other = _id_of(store, PEOPLE[0][2]), _id_of(store, PEOPLE[1][2])
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, account, [other], at=NOW), at=NOW)
        uow.commit()
    assert erase_customer(store, account, suppression_key=KEY, purge=False).suppressed == 2
    again = _import(store, export)
    assert (again.imported, again.suppressed) == (0, 2)
    assert _holders(store, PEOPLE[0][2]) == _holders(store, PEOPLE[1][2]) == []


def test_a_store_without_a_list_or_a_bad_key_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    export = _export(tmp_path / "customers_export.csv", PEOPLE)
    with pytest.raises(ValidationError) as raised:
        ImportOptions(suppression_key=b"short")
    assert raised.value.problems[0].path == "suppression_key"
    with pytest.raises(ValidationError) as raised:
        ImportOptions(suppression_key="a key as text, not bytes")  # type: ignore[arg-type]
    assert raised.value.problems[0].path == "suppression_key"
    assert KEY.decode() not in repr(ImportOptions(suppression_key=KEY)), "the key never shows in a repr"
    with NoListStore(open_store(f"sqlite:///{tmp_path / 'shop.db'}")) as bare:
        with pytest.raises(ValidationError) as raised:
            _import(bare, export)
        assert raised.value.problems[0].path == "suppression_key"
        with bare.unit_of_work() as uow:
            assert uow.customers.count() == 0


def _cli(*args: str, cwd: Path, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CUSTDATA_STORE", "CUSTDATA_SUPPRESSION_KEY"}}
    if key is not None:
        env["CUSTDATA_SUPPRESSION_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "custdata", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_commands_erase_and_import_share_the_key_from_the_environment(tmp_path: Path) -> None:
    _export(tmp_path / "customers_export.csv", PEOPLE)
    key = KEY.decode()
    first = _cli("import", "customers", "customers_export.csv", cwd=tmp_path, key=key)
    assert first.returncode == 0 and "3 imported" in first.stdout, first.stderr
    with open_store(f"sqlite:///{tmp_path / 'custdata.db'}") as store:
        customer_id = _id_of(store, PEOPLE[1][2])
    erased = _cli("erase", customer_id, "--yes", cwd=tmp_path, key=key)
    assert erased.returncode == 0 and "1 address(es) put on the suppression list" in erased.stdout, erased.stderr
    again = _cli("import", "customers", "customers_export.csv", cwd=tmp_path, key=key)
    assert again.returncode == 0, again.stderr
    assert "0 imported, 2 already in the store, 0 rejected" in again.stdout
    assert "1 not imported: erased on request" in again.stdout
    rejects = (tmp_path / "customers_export.csv.rejects.csv").read_text(encoding="utf-8")
    assert "suppressed" in rejects and "bart" not in rejects.lower()
    with open_store(f"sqlite:///{tmp_path / 'custdata.db'}") as store:
        assert _holders(store, PEOPLE[1][2]) == []
    short = _cli("import", "customers", "customers_export.csv", cwd=tmp_path, key="short")
    assert short.returncode == 2 and "CUSTDATA_SUPPRESSION_KEY must be at least 16 bytes long" in short.stderr


def test_the_digest_is_of_the_canonical_address() -> None:
    from custdata.storage.suppression import email_digest

    assert email_digest(KEY, "Zofia.W@Example.net") == email_digest(KEY, EmailAddress.parse("zofia.w@example.net"))
    assert email_digest(KEY, "zofia.w@example.net") != email_digest(b"k" * 16, "zofia.w@example.net")


ORDER_COLUMNS = ["order_id", "customer_id", "customer_email", "currency", "placed_at", "sku", "quantity", "unit_price"]


def _guest_orders(path: Path, orders: list[tuple[str, str]]) -> Path:
    """Flat order rows of guest checkouts: order id and the address typed at checkout."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ORDER_COLUMNS)
        for order_id, email in orders:
            writer.writerow([order_id, "", email, "EUR", "2025-06-01T10:00:00Z", "SKU-1", "1", "19.99"])
    return path


def test_an_order_export_brings_no_erased_guest_back(store: Store, tmp_path: Path) -> None:
    """The customers came first and one was erased; the shop's order history is imported afterwards: the erased
    person's guest orders would make a guest record with the address, so they are left out; the others come in."""
    _import(store, _export(tmp_path / "customers_export.csv", PEOPLE))
    erase_customer(store, _id_of(store, PEOPLE[0][2]), suppression_key=KEY, purge=False)
    orders = _guest_orders(tmp_path / "orders.csv", [("o1", PEOPLE[0][2].upper()), ("o2", "new.buyer@example.org")])
    options = ImportOptions(now=NOW, suppression_key=KEY)
    rejects = RejectsList()
    report = import_orders(store, read_rows(orders, "csv"), options=options, rejects=rejects)
    assert (report.imported, report.customers_added, report.suppressed, report.rejected) == (1, 1, 1, 0)
    assert _holders(store, PEOPLE[0][2]) == []
    assert [(line, outcome) for line, _, _, outcome in rejects.notes] == [(2, "suppressed")]
    with store.unit_of_work() as uow:
        assert uow.orders.get_many([order_id_for("import", "o1")]) == {}
    again = import_orders(store, read_rows(orders, "csv"), options=options)
    assert (again.imported, again.skipped, again.suppressed) == (0, 1, 1), "still left out, and still said"
    assert import_orders(store, read_rows(orders, "csv"), options=ImportOptions(now=NOW)).customers_added == 1, (
        "without the key the import cannot know"
    )


def test_a_shopify_order_whose_new_customer_is_on_the_list_adds_nobody(store: Store, tmp_path: Path) -> None:
    """A Shopify order brings its customer along: one whose address is on the list is not added, nor its order
    (the order of an erased customer the store still has a record of comes in pseudonymised, as before)."""

    def shopify_order(order_id: int, customer_id: int, email: str) -> dict[str, object]:
        return {
            "id": order_id,
            "name": f"#{order_id}",
            "email": email,
            "created_at": "2025-06-01T10:00:00Z",
            "currency": "EUR",
            "total_price": "19.99",
            "subtotal_price": "19.99",
            "line_items": [{"id": order_id * 10, "sku": "SKU-1", "title": "Mug", "quantity": 1, "price": "19.99"}],
            "customer": {"id": customer_id, "email": email, "first_name": "Ines", "last_name": "Quarantotto"},
        }

    with store.unit_of_work() as uow:  # erased from a store this one was copied from, say
        assert suppress_emails(uow.customers, KEY, [PEOPLE[0][2]]) == 1
        uow.commit()
    path = tmp_path / "orders.json"
    orders = [shopify_order(9001, 501, PEOPLE[0][2]), shopify_order(9002, 502, PEOPLE[1][2])]
    path.write_text(json.dumps({"orders": orders}), encoding="utf-8")
    options = ImportOptions(platform="shopify", now=NOW, suppression_key=KEY)
    report = import_orders(store, read_rows(path, "shopify-json"), shopify=True, options=options)
    assert (report.imported, report.customers_added, report.suppressed, report.rejected) == (1, 1, 1, 0), report
    assert _holders(store, PEOPLE[0][2]) == [] and len(_holders(store, PEOPLE[1][2])) == 1
