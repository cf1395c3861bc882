"""Importing from Python: validation, rejects with line and field, batches, re-runs, mappings, Shopify."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import ConsentState, OrderStatus, ValidationError
from custdata.importing import (
    ImportOptions,
    RejectsFile,
    RejectsList,
    customer_id_for,
    import_customers,
    import_orders,
    order_id_for,
    parse_mapping,
    read_rows,
)
from custdata.storage import Store, open_store

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'shop.db'}") as opened:
        yield opened


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


CUSTOMER_HEADER = [
    "id",
    "email",
    "given_name",
    "family_name",
    "phone",
    "street_address_1",
    "city",
    "postal_code",
    "country_code",
]
GOOD = [
    ["c1", "ada@example.com", "Ada", "Lovelace", "030 1234567", "Unter den Linden 1", "Berlin", "10117", "DE"],
    ["c2", "bo@example.co.uk", "Bo", "Li", "020 7946 0018", "10 Downing Street", "London", "SW1A 2AA", "GB"],
]


def test_customers_from_csv_bad_rows_rejected_with_line_field_and_reason(store: Store, tmp_path: Path) -> None:
    rows = [
        *GOOD,
        ["c3", "no-at-sign", "Cy", "", "", "", "", "", ""],
        ["c4", "d@example.com", "D", "", "", "1 Rue", "Paris", "ABC", "FR"],
    ]
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)
    rejects = RejectsList()
    report = import_customers(store, read_rows(path, "csv"), options=ImportOptions(now=NOW), rejects=rejects)
    assert (report.read, report.imported, report.skipped, report.rejected) == (4, 2, 0, 2)
    assert [(line, field) for line, field, _ in rejects.items] == [(4, "email"), (5, "postal_code")]
    with store.unit_of_work() as uow:
        ada = uow.customers.get(customer_id_for("import", "c1"))
        assert ada.phone is not None and ada.phone.e164 == "+49301234567"
        assert ada.addresses[0].city == "BERLIN" or ada.addresses[0].city == "Berlin"
        assert ada.metadata["external_ref"] == "import:c1"
        assert uow.customers.count() == 2
    again = import_customers(store, read_rows(path, "csv"), options=ImportOptions(now=NOW), rejects=RejectsList())
    assert (again.imported, again.skipped, again.rejected) == (0, 2, 2)


def test_rejects_file_has_no_personal_data(store: Store, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv", CUSTOMER_HEADER, [["c9", "secret-person@@example.com", "Zed", "", "", "", "", "", ""]]
    )
    with RejectsFile(tmp_path / "rejects.csv") as rejects:
        import_customers(store, read_rows(path, "csv"), rejects=rejects)
    text = (tmp_path / "rejects.csv").read_text()
    assert text.startswith("line,field,reason") and "2,email," in text
    assert "secret-person" not in text and "Zed" not in text


def test_column_mapping(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ["Customer No", "E-mail", "First"], [["77", "x@example.com", "Xi"]])
    mapping = parse_mapping(["id=Customer No", "email=E-mail", "given_name=First"], ["id", "email", "given_name"])
    report = import_customers(store, read_rows(path, "csv"), options=ImportOptions(mapping=mapping))
    assert report.imported == 1
    with store.unit_of_work() as uow:
        assert uow.customers.get(customer_id_for("import", "77")).given_name == "Xi"
    with pytest.raises(ValidationError, match="not a field"):
        parse_mapping(["mail=E-mail"], ["email"])
    with pytest.raises(ValidationError, match="FIELD=COLUMN"):
        parse_mapping(["email"], ["email"])
    with pytest.raises(ValidationError, match="not in the file"):
        import_customers(store, read_rows(path, "csv"), options=ImportOptions(mapping={"email": "Mail"}))


def test_json_lines_customers_with_broken_lines(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "j1", "email": "j1@example.com", "accepts_marketing": true}\n'
        "{not json}\n"
        "\n"
        '["a list"]\n'
        '{"id": "j2", "email": "j2@example.com", "tags": "a, b", "created_at": "2024-02-01"}\n'
    )
    rejects = RejectsList()
    report = import_customers(store, read_rows(path, "jsonl"), rejects=rejects)
    assert (report.imported, report.rejected) == (2, 2)
    assert [line for line, _, _ in rejects.items] == [2, 4]
    with store.unit_of_work() as uow:
        j1 = uow.customers.get(customer_id_for("import", "j1"))
        j2 = uow.customers.get(customer_id_for("import", "j2"))
    assert j1.consents[0].state == ConsentState.SUBSCRIBED
    assert j2.tags == frozenset({"a", "b"}) and j2.created_at == datetime(2024, 2, 1, tzinfo=UTC)


ORDER_HEADER = [
    "order_id",
    "customer_id",
    "customer_email",
    "currency",
    "placed_at",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
    "size",
    "shipping",
]


def test_flat_order_rows_grouped_resolved_and_rerun(store: Store, tmp_path: Path) -> None:
    customers = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, GOOD)
    import_customers(store, read_rows(customers, "csv"))
    rows = [
        ["o1", "c1", "", "EUR", "2025-01-02T10:00:00Z", "RUN-1", "Shoe", "1", "119.00", "42", "4.90"],
        ["o1", "c1", "", "EUR", "2025-01-02T10:00:00Z", "TEE-3", "Tee", "2", "24.90", "M", ""],
        ["o2", "", "bo@example.co.uk", "GBP", "2025-01-03", "BAG-7", "Bag", "1", "79.00", "", ""],
        ["o3", "nobody", "", "EUR", "2025-01-04", "BAG-7", "Bag", "1", "79.00", "", ""],
        ["o4", "c1", "", "EUR", "2025-01-05", "BAG-7", "Bag", "one", "79.00", "", ""],
        ["o1", "c1", "", "EUR", "2025-01-02T10:00:00Z", "CAP-9", "Cap", "1", "22.00", "", ""],
    ]
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, rows)
    rejects = RejectsList()
    report = import_orders(store, read_rows(path, "csv"), rejects=rejects)
    assert (report.read, report.imported, report.rejected) == (6, 2, 3)
    assert {(line, field) for line, field, _ in rejects.items} == {(5, "customer_id"), (6, "quantity"), (7, "order_id")}
    with store.unit_of_work() as uow:
        o1 = uow.orders.get(order_id_for("import", "o1"))
        o2 = uow.orders.get(order_id_for("import", "o2"))
    assert [line.sku for line in o1.lines] == ["RUN-1", "TEE-3"] and o1.lines[0].variant == {"size": "42"}
    assert o1.total.amount == Decimal("173.70") and o1.customer_id == customer_id_for("import", "c1")
    assert report.customers_added == 1  # the guest checkout's guest record: never linked to c2 by email alone
    assert o2.customer_id != customer_id_for("import", "c2") and "example" not in o2.customer_id
    with store.unit_of_work() as uow:
        guest = uow.customers.get(o2.customer_id)
        assert guest.is_guest and str(guest.email) == "bo@example.co.uk"
    again = import_orders(store, read_rows(path, "csv"), rejects=RejectsList())
    assert (again.imported, again.skipped) == (0, 2)


def test_shopify_customer_export(store: Store) -> None:
    rejects = RejectsList()
    report = import_customers(store, read_rows(DATA / "shopify_customers.csv", "csv"), shopify=True, rejects=rejects)
    assert (report.imported, report.rejected) == (3, 1)
    assert rejects.items[0][:2] == (4, "Email")
    with store.unit_of_work() as uow:
        bob = uow.customers.get("cus_shopify_207119551")
        lena = uow.customers.get("cus_shopify_207119552")
    assert bob.tags == frozenset({"repeat", "vip"}) and bob.addresses[0].country_area == "KY"
    assert bob.phone is not None and bob.phone.e164 == "+16136120707"
    assert {(c.channel.value, c.state.value) for c in bob.consents} == {
        ("email", "subscribed"),
        ("sms", "not_subscribed"),
    }
    assert lena.addresses[0].company_name == "Schulz GmbH"


def test_shopify_order_json(store: Store) -> None:
    import_customers(store, read_rows(DATA / "shopify_customers.csv", "csv"), shopify=True, rejects=RejectsList())
    rejects = RejectsList()
    report = import_orders(
        store, read_rows(DATA / "shopify_orders.json", "shopify-json"), shopify=True, rejects=rejects
    )
    assert (report.imported, report.rejected, report.customers_added) == (2, 2, 1)
    assert {(line, field) for line, field, _ in rejects.items} == {
        (41, "total_price"),
        (51, "line_items[0].quantity"),
        (51, "customer"),
    }
    with store.unit_of_work() as uow:
        first = uow.orders.get("ord_shopify_450789469")
        guest_order = uow.orders.get("ord_shopify_450789470")
        guest = uow.customers.get(guest_order.customer_id)
    assert first.status == OrderStatus.DELIVERED and first.shipments[0].tracking_number == "1Z2345"
    assert first.customer_id == "cus_shopify_207119551" and first.metadata == {"name": "#1001"}
    assert guest.is_guest and guest.email is not None and guest_order.status == OrderStatus.PLACED


def test_shopify_orders_one_per_line_and_bad_documents(store: Store, tmp_path: Path) -> None:
    orders = json.loads((DATA / "shopify_orders.json").read_text())["orders"]
    lines = tmp_path / "orders.json"
    lines.write_text("\n".join(json.dumps(o) for o in orders[1:3]) + "\n")
    rejects = RejectsList()
    report = import_orders(store, read_rows(lines, "shopify-json"), shopify=True, rejects=rejects)
    assert (report.imported, report.rejected) == (1, 1) and rejects.items[0][0] == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"orders": [ {"id": 1,, } ]}')
    with pytest.raises(ValidationError, match="line 1"):
        list(read_rows(broken, "shopify-json"))
    other = tmp_path / "other.json"
    other.write_text('{"customers": []}')
    with pytest.raises(ValidationError, match="orders"):
        list(read_rows(other, "shopify-json"))


def test_batches_are_units_of_work(store: Store, tmp_path: Path) -> None:
    rows = [[f"b{i}", f"b{i}@example.com", "", "", "", "", "", "", ""] for i in range(25)]
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)
    seen: list[int] = []
    report = import_customers(store, read_rows(path, "csv"), options=ImportOptions(batch_size=10), progress=seen.append)
    assert report.batches == 3 and report.imported == 25 and seen == [11, 21]
    with pytest.raises(ValidationError, match="batch_size"):
        ImportOptions(batch_size=0)
    with pytest.raises(ValidationError, match="platform"):
        ImportOptions(platform="Not A Name")


_cell = st.one_of(st.text(max_size=12), st.sampled_from(["", "x@example.com", "DE", "10117", "yes", "2024-01-01"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.text("abc123", min_size=0, max_size=3), _cell, _cell, _cell), max_size=12))
def test_every_record_is_imported_skipped_or_rejected(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, ...]]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    clean = [[c.replace("\x00", "").replace("\r", "") for c in row] for row in rows]
    path = write_csv(folder / "c.csv", ["id", "email", "country_code", "accepts_marketing"], clean)
    with open_store(f"sqlite:///{folder / 's.db'}") as store:
        first = import_customers(store, read_rows(path, "csv"), rejects=RejectsList())
        second = import_customers(store, read_rows(path, "csv"), rejects=RejectsList())
        with store.unit_of_work() as uow:
            stored = uow.customers.count()
    assert first.imported + first.skipped + first.rejected == first.read
    assert stored == first.imported
    assert (second.imported, second.skipped, second.rejected) == (0, first.imported, first.rejected)


def test_json_lines_records_may_leave_keys_out(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"Nr": "v1", "email": "v1@example.com"}\n'
        '{"Nr": "v2", "email": "v2@example.com", "phone": "+49 30 1234567"}\n'
        '{"email": "v3@example.com"}\n'
    )
    report = import_customers(store, read_rows(path, "jsonl"), options=ImportOptions(mapping={"id": "Nr"}))
    assert report.imported == 3
    with store.unit_of_work() as uow:
        v2 = uow.customers.get(customer_id_for("import", "v2"))
        assert v2.phone is not None and v2.phone.e164 == "+49301234567"
        assert uow.customers.find_by_email("v3@example.com")


def test_rerun_skips_stored_records_by_reference_before_checking_them(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, GOOD)
    import_customers(store, read_rows(path, "csv"))
    changed = write_csv(
        tmp_path / "c2.csv", CUSTOMER_HEADER, [[*GOOD[0][:1], "broken", *GOOD[0][2:]], GOOD[1], GOOD[1]]
    )
    rejects = RejectsList()
    report = import_customers(store, read_rows(changed, "csv"), rejects=rejects)
    assert (report.skipped, report.rejected, report.imported) == (2, 1, 0)
    assert rejects.items == [(4, "id", "the same customer as line 3")]


def test_order_rerun_skips_stored_orders_before_converting_them(store: Store, tmp_path: Path) -> None:
    import_customers(store, read_rows(write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, GOOD), "csv"))
    row = ["o1", "c1", "", "EUR", "2025-01-02T10:00:00Z", "RUN-1", "Shoe", "1", "119.00", "42", "4.90"]
    import_orders(store, read_rows(write_csv(tmp_path / "o.csv", ORDER_HEADER, [row]), "csv"))
    changed = write_csv(tmp_path / "o2.csv", ORDER_HEADER, [[*row[:7], "many", *row[8:]]])
    report = import_orders(store, read_rows(changed, "csv"), rejects=RejectsList())
    assert (report.skipped, report.rejected, report.imported) == (1, 0, 0)
