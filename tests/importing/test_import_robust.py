"""One bad record never stops an import: every kind of unreadable or unworkable record is refused alone, with its
line, field and reason, and the records around it are stored; bad optional fields may be dropped; spreadsheet
artefacts are repaired and reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custdata import ValidationError
from custdata.importing import (
    ImportOptions,
    RejectsFile,
    RejectsList,
    SourceError,
    import_customers,
    import_orders,
    read_rows,
)
from custdata.importing.repair import scientific_phone, zero_padded_postal_code
from custdata.importing.sources import MAX_VALUE
from custdata.storage import Store, open_store

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
OPTIONS = ImportOptions(now=NOW)
LENIENT = ImportOptions(now=NOW, on_bad_field="drop_field")
SHOPIFY_LENIENT = ImportOptions(platform="shopify", now=NOW, on_bad_field="drop_field")
HUGE = "y" * 200_000


def ids(store: Store) -> set[str]:
    with store.unit_of_work() as uow:
        return {str(c.id) for c in uow.customers.search(limit=1000).items}


def good(n: int) -> str:
    return f"g{n},g{n}@example.com,"


# -- CSV: each broken line alone -------------------------------------------------------------------------------

CSV_HOSTILE: list[tuple[bytes, str | None, str]] = [
    (b"b1,b1@example.com," + HUGE.encode(), "notes", "longer than"),  # a column the import does not use
    (b"b2,b2@example.com\xff\xfe,", "email", "not UTF-8"),
    (b'b3,"b3@example.com,', None, "never closed"),
    (b"b4,b4@example.com,x,y,z", None, "5 values"),
    (b'b5,"b5"x@example.com,', None, "not valid CSV"),
]


@pytest.mark.parametrize(("line", "column", "reason"), CSV_HOSTILE)
def test_a_broken_csv_line_is_refused_alone(
    store: Store, tmp_path: Path, line: bytes, column: str | None, reason: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"\n".join([b"id,email,notes", good(1).encode(), line, good(2).encode(), good(3).encode()]))
    rejects = RejectsList()
    report = import_customers(store, read_rows(path, "csv"), options=OPTIONS, rejects=rejects)
    assert ids(store) == {"cus_import_g1", "cus_import_g2", "cus_import_g3"}
    assert (report.imported, report.rejected) == (3, 1)
    [(number, field, why)] = rejects.items
    assert number == 3 and reason in why and field == (column or "(record)")
    again = import_customers(store, read_rows(path, "csv"), options=OPTIONS, rejects=RejectsList())
    assert (again.imported, again.skipped, again.rejected) == (0, 3, 1)


def test_an_unterminated_quote_on_a_record_spanning_lines_gives_back_the_lines_it_swallowed(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text('id,email,notes\ng1,g1@example.com,"two\nlines"\nb1,"b1@example.com\ng2,g2@example.com,\n')
    rejects = RejectsList()
    import_customers(store, read_rows(path, "csv"), options=OPTIONS, rejects=rejects)
    assert ids(store) == {"cus_import_g1", "cus_import_g2"}
    assert [(line, reason) for line, _, reason in rejects.items] == [(4, "has a quote that is never closed")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,email\nc1,a@example.com\n".encode("utf-16"), "not UTF-8"),
        (b"PK\x03\x04\x00\x00binary,stuff\n", "binary"),
        (b"", "no header"),
        (b"id,id\n1,2\n", "twice"),
    ],
)
def test_a_file_that_is_no_csv_at_all_fails_fast(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        list(read_rows(path, "csv"))


def test_a_missing_file_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(read_rows(tmp_path / "nope.csv", "csv"))


# -- JSON Lines and Shopify's order JSON -----------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
JSONL_HOSTILE: list[tuple[bytes, str | None, str]] = [
    (b'{"id": "b1", "tags": ' + DEEP.encode() + b"}", None, "too deeply"),
    (b'{"id": "b2", "n": 1' + b"0" * 5000 + b"}", None, "number too long"),
    (b'{"id": "b3", "notes": "' + HUGE.encode() + b'"}', "notes", "longer than"),
    (b'{"id": "b4", "email": "b4@example.com\xff"}', None, "not UTF-8"),
    (b'{"id": "b5", "email": ', None, "not valid JSON"),
    (b'{"id": "b6", "email": "b6@example.com", "given_name": "\\ud800"}', None, "surrogate"),
    (b"[1, 2]", None, "JSON object"),
]


@pytest.mark.parametrize(("line", "column", "reason"), JSONL_HOSTILE)
def test_a_broken_json_line_is_refused_alone(
    store: Store, tmp_path: Path, line: bytes, column: str | None, reason: str
) -> None:
    records = [json.dumps({"id": f"g{n}", "email": f"g{n}@example.com"}).encode() for n in (1, 2, 3)]
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"\n".join([records[0], line, records[1], records[2]]))
    rejects = RejectsList()
    report = import_customers(store, read_rows(path, "jsonl"), options=OPTIONS, rejects=rejects)
    assert ids(store) == {"cus_import_g1", "cus_import_g2", "cus_import_g3"}
    assert (report.imported, report.rejected) == (3, 1)
    [(number, field, why)] = rejects.items
    assert number == 2 and reason in why and field == (column or "(record)")


def order(n: int, **extra: object) -> dict[str, object]:
    return {
        "id": n,
        "email": f"o{n}@example.com",
        "currency": "EUR",
        "created_at": "2025-06-01T10:00:00Z",
        "line_items": [{"id": n, "sku": "A", "title": "A", "quantity": 1, "price": "10.00"}],
        **extra,
    }


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ('{"id": 9, "note_attributes": ' + DEEP + "}", "too deeply"),
        ('{"id": 9, "total_price": 1' + "0" * 5000 + "}", "number too long"),
        (json.dumps(order(9, line_items=[{"id": 1, "sku": "A", "quantity": 1, "price": "1" + "0" * 29}])), "too large"),
        (json.dumps(order(9, note=HUGE)), "longer than"),
    ],
)
def test_one_bad_shopify_order_is_refused_alone(store: Store, tmp_path: Path, bad: str, reason: str) -> None:
    path = tmp_path / "orders.json"
    path.write_text('{"orders": [\n' + json.dumps(order(1)) + ",\n" + bad + ",\n" + json.dumps(order(2)) + "\n]}")
    rejects = RejectsList()
    report = import_orders(store, read_rows(path, "shopify-json"), shopify=True, rejects=rejects)
    assert (report.imported, report.rejected) == (2, 1)
    assert [line for line, _, _ in rejects.items] == [3] and reason in rejects.items[0][2]


def test_bytes_that_are_not_utf8_in_one_shopify_order(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    bad = json.dumps(order(9, note="X")).replace('"X"', '"\udcffX"', 1).encode("utf-8", "surrogateescape")
    path.write_bytes(b'{"orders": [\n' + json.dumps(order(1)).encode() + b",\n" + bad + b"\n]}")
    rejects = RejectsList()
    report = import_orders(store, read_rows(path, "shopify-json"), shopify=True, rejects=rejects)
    assert (report.imported, report.rejected) == (1, 1) and rejects.items[0][:1] == (3,)


# -- dropping bad optional fields ------------------------------------------------------------------------------


def test_drop_field_stores_the_record_without_its_bad_optional_fields(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,email,phone,street_address_1,city,postal_code,country_code,birthday\n"
        "c1,c1@example.com,not a phone,1 Rue de Rivoli,Paris,ABC,FR,1984-03-07\n"
        "c2,not-an-email,,,,,,\n"
        "c3,c3@example.com,,,,,,1984-13-45\n"
    )
    strict = RejectsList()
    with open_store("memory://") as other:
        assert import_customers(other, read_rows(path, "csv"), options=OPTIONS, rejects=strict).rejected == 3
    rejects = RejectsList()
    report = import_customers(store, read_rows(path, "csv"), options=LENIENT, rejects=rejects)
    assert (report.imported, report.rejected, report.fields_dropped) == (2, 1, 3)
    assert rejects.items == [(3, "email", rejects.items[0][2])]
    assert {(line, field, outcome) for line, field, _, outcome in rejects.notes} == {
        (2, "phone", "dropped"),
        (2, "postal_code", "dropped"),
        (4, "birthday", "dropped"),
    }
    with store.unit_of_work() as uow:
        c1 = uow.customers.get("cus_import_c1")
        c3 = uow.customers.get("cus_import_c3")
    # the address with a bad postal code stays out whole: no address without its postal code
    assert c1.phone is None and c1.addresses == () and c1.birthday is not None
    assert c3.birthday is None and str(c3.email) == "c3@example.com"


@pytest.mark.parametrize("column", ["id", "email", "is_guest", "created_at"])
def test_fields_that_identify_or_date_a_customer_are_never_dropped(store: Store, tmp_path: Path, column: str) -> None:
    values = {"id": "c1", "email": "c1@example.com", "is_guest": "yes", "created_at": "2020-01-01"}
    values[column] = {"id": "a@b.example", "email": "nope", "is_guest": "perhaps", "created_at": "soon"}[column]
    path = tmp_path / "c.csv"
    path.write_text(",".join(values) + "\n" + ",".join(values.values()) + "\n")
    rejects = RejectsList()
    report = import_customers(store, read_rows(path, "csv"), options=LENIENT, rejects=rejects)
    assert (report.imported, report.rejected, report.fields_dropped) == (0, 1, 0)
    assert rejects.notes == []


def test_drop_field_never_touches_an_orders_amounts(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        "order_id,customer_email,currency,placed_at,sku,quantity,unit_price,size\n"
        "o1,a@example.com,EUR,2025-06-01,A,1,10," + "x" * 300 + "\n"
        "o2,b@example.com,EUR,2025-06-01,A,1,ten,M\n"
    )
    rejects = RejectsList()
    report = import_orders(store, read_rows(path, "csv"), options=LENIENT, rejects=rejects)
    assert (report.imported, report.rejected, report.fields_dropped) == (1, 1, 1)
    assert [(line, field) for line, field, _ in rejects.items] == [(3, "unit_price")]
    with store.unit_of_work() as uow:
        [stored] = uow.orders.page(limit=10).items
    assert stored.lines[0].variant == {} and stored.total.amount == 10


def test_drop_field_leaves_a_bad_shipping_address_out_whole(store: Store, tmp_path: Path) -> None:
    address = {"address1": "1 Main St", "city": "Boston", "zip": "ABCDE", "country_code": "US", "province_code": "MA"}
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": [order(1, shipping_address=address)]}))
    rejects = RejectsList()
    report = import_orders(
        store,
        read_rows(path, "shopify-json"),
        shopify=True,
        options=LENIENT.__class__(platform="shopify", now=NOW, on_bad_field="drop_field"),
        rejects=rejects,
    )
    assert (report.imported, report.fields_dropped) == (1, 1)
    with store.unit_of_work() as uow:
        [stored] = uow.orders.page(limit=10).items
    assert stored.shipping_address is None


def test_on_bad_field_is_checked() -> None:
    with pytest.raises(ValidationError, match="on_bad_field"):
        ImportOptions(on_bad_field="ignore")


# -- spreadsheet repairs ---------------------------------------------------------------------------------------


def test_spreadsheet_artefacts_are_repaired_and_reported(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,email,phone,street_address_1,city,postal_code,country_code,country_area\n"
        "c1,c1@example.com,'+4930123456,1 Main St,Boston,'02108,US,MA\n"
        "c2,c2@example.com,4.91701234567E+11,1 Main St,Boston,2108,US,MA\n"
        "c3,c3@example.com,,Markt 1,'s-Hertogenbosch,5211 AB,NL,\n"
        "'007,c4@example.com,,,,,,\n"
    )
    with RejectsFile(tmp_path / "notes.csv") as notes:
        report = import_customers(store, read_rows(path, "csv"), options=OPTIONS, rejects=notes)
    assert (report.imported, report.rejected) == (4, 0)
    assert report.repairs == {"apostrophe": 2, "phone_scientific": 1, "postal_code_zeros": 1}
    with store.unit_of_work() as uow:
        c1, c2, c3 = (uow.customers.get(f"cus_import_c{n}") for n in (1, 2, 3))
        references = {c.metadata.get("external_ref") for c in uow.customers.search(limit=10).items}
    assert c1.phone is not None and c1.phone.e164 == "+4930123456"
    assert c1.addresses[0].postal_code == "02108" and c2.addresses[0].postal_code == "02108"
    assert c2.phone is not None and c2.phone.e164 == "+491701234567"
    assert c3.addresses[0].city == "'S-HERTOGENBOSCH"  # an apostrophe before a letter is part of the name
    assert "import:'007" in references  # the fields that identify a record are never repaired
    lines = (tmp_path / "notes.csv").read_text().splitlines()
    assert lines[0] == "line,field,reason,outcome" and all(line.endswith(",repaired") for line in lines[1:])
    assert {tuple(line.split(",")[:2]) for line in lines[1:]} == {
        ("2", "phone"),
        ("2", "postal_code"),
        ("3", "phone"),
        ("3", "postal_code"),
    }
    again = import_customers(store, read_rows(path, "csv"), options=OPTIONS, rejects=RejectsList())
    assert (again.imported, again.skipped, again.repairs) == (0, 4, {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.91701234567E+11", "+491701234567"),
        ("4.91701234567e11", "+491701234567"),
        ("4.917E+11", None),  # the mantissa lost digits: zeros would be made up
        ("4.9170123456789E+11", None),  # not a whole number
        ("491701234567", None),  # no scientific notation: nothing to repair
        ("1E+400", None),
        ("-4.91701234567E+11", None),
    ],
)
def test_a_phone_in_scientific_notation_is_repaired_only_when_exact(text: str, expected: str | None) -> None:
    assert scientific_phone(text) == expected


@pytest.mark.parametrize(
    ("code", "country", "expected"),
    [
        ("2108", "US", "02108"),
        ("1067", "DE", "01067"),
        ("8001", "IT", "08001"),
        ("8001", "ES", "08001"),
        ("1300", "FR", "01300"),
        ("1010", "AT", None),  # four digits are a whole Austrian code
        ("75001", "FR", None),
        ("12", "US", None),  # too short to be a code that lost its zeros
        ("2108", "XX", None),
        ("SW1A", "GB", None),
    ],
)
def test_postal_codes_get_back_the_zeros_their_country_has(code: str, country: str, expected: str | None) -> None:
    assert zero_padded_postal_code(code, country) == expected


def test_a_value_just_below_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,email,notes\nc1,c1@example.com," + "y" * (MAX_VALUE - 1) + "\n")
    [row] = read_rows(path, "csv")
    assert row.problem is None and len(row.fields["notes"]) == MAX_VALUE - 1


def test_a_value_written_on_several_lines_is_one_value(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('id,notes,email\nc1,"first line\nsecond line"\nc2,"a\nb",c2@example.com,x,y\nc3,x\n')
    rows = list(read_rows(path, "csv"))
    assert [(row.line, row.problem) for row in rows] == [
        (2, None),  # a short record spanning lines: a value on two lines, the last column empty
        (4, "has a quote that is never closed"),  # too many values once its quote closed: read again from line 5
        (5, "has 4 values but the header names 3 columns"),
        (6, None),
    ]
    assert rows[0].fields == {"id": "c1", "notes": "first line\nsecond line"}
    assert rows[3].fields == {"id": "c3", "notes": "x"}
