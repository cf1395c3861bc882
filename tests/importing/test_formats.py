"""Shop exports recognised by their columns and content: each platform's documented columns, the column report,
the fields a shop would miss (notes, tax exemption, historic totals, consent with its source), and what those
meet: erasure, merges, analytics."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shopify_columns import SHOPIFY_CUSTOMER_COLUMNS

from custdata import ValidationError
from custdata.analytics import StoreAnalytics, lifetime_totals
from custdata.domain import Channel, Customer, Money, OptInLevel, Order, OrderLine
from custdata.importing import (
    IMPORTED_TOTALS,
    PROFILES,
    ImportOptions,
    RejectsList,
    SourceError,
    detect_format,
    import_customers,
    import_orders,
    imported_totals,
    parse_mapping,
    read_rows,
)
from custdata.importing.formats import NOT_USED
from custdata.importing.mapping import CUSTOMER_FIELDS
from custdata.merge import merge, preview
from custdata.privacy import erase_customer
from custdata.storage import Store, open_store, walk

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)

#: The new user's file: Shopify's documented customer columns, without the Customer ID column.
SHOPIFY_NEW_USER = list(SHOPIFY_CUSTOMER_COLUMNS)
SHOPIFY_ROWS = [
    ["Ada", "Lovelace", "ada@example.ca", "yes", "", "1 King St W", "", "Toronto", "ON", "CA", "M5C1N7",
     "+1 416-555-0134", "", "no", "120.50", "3", "Prefers phone calls; allergic to wool", "yes", "vip"],
    ["Bo", "Chen", "bo@example.ca", "no", "", "2 King St W", "", "Toronto", "ON", "CA", "M5C 1N7",
     "", "", "", "0.00", "0", "", "no", ""],
]  # fmt: skip

#: Columns from each platform's documentation, as its export writes them (a realistic subset, in export order).
DOCUMENTED = {
    "shopify-csv": ["Customer ID", *SHOPIFY_NEW_USER],
    "shopify-orders-csv": [
        "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
        "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
        "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
        "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status",
        "Billing Name", "Billing Zip", "Billing Country", "Shipping Name", "Shipping Zip", "Notes", "Id", "Tags",
    ],
    "woocommerce-customers-csv": [
        "customer_id", "first_name", "last_name", "user_login", "email", "date_registered", "billing_first_name",
        "billing_last_name", "billing_company", "billing_email", "billing_phone", "billing_address_1",
        "billing_address_2", "billing_postcode", "billing_city", "billing_state", "billing_country",
        "shipping_first_name", "shipping_last_name", "shipping_address_1", "shipping_postcode", "shipping_city",
        "shipping_country", "total_spent", "order_count",
    ],
    "woocommerce-orders-csv": [
        "order_id", "order_number", "order_date", "status", "shipping_total", "shipping_tax_total", "tax_total",
        "discount_total", "order_total", "refunded_total", "order_currency", "payment_method", "shipping_method",
        "customer_id", "billing_first_name", "billing_last_name", "billing_email", "billing_phone",
        "billing_address_1", "billing_postcode", "billing_city", "billing_country", "customer_note", "item_id",
        "item_product_id", "item_name", "item_sku", "item_quantity", "item_subtotal", "item_subtotal_tax",
        "item_total", "item_total_tax", "item_refunded", "item_refunded_qty", "item_meta",
    ],
    "magento-customers-csv": [
        "email", "_website", "_store", "confirmation", "created_at", "created_in", "disable_auto_group_change",
        "dob", "firstname", "gender", "group_id", "lastname", "middlename", "password_hash", "prefix", "store_id",
        "suffix", "taxvat", "website_id", "_address_city", "_address_company", "_address_country_id",
        "_address_firstname", "_address_lastname", "_address_postcode", "_address_region", "_address_street",
        "_address_telephone", "_address_default_billing_", "_address_default_shipping_",
    ],
    "magento-orders-csv": [
        "ID", "Purchase Point", "Purchase Date", "Bill-to Name", "Ship-to Name", "Grand Total (Base)",
        "Grand Total (Purchased)", "Status", "Billing Address", "Shipping Address", "Shipping Information",
        "Customer Email", "Customer Group", "Subtotal", "Shipping and Handling", "Customer Name", "Payment Method",
        "Total Refunded",
    ],
}  # fmt: skip


def write_csv(path: Path, header: list[str], rows: Iterable[list[str]] = ()) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def customers_of(store: Store) -> list[Customer]:
    with store.unit_of_work() as uow:
        return list(walk(lambda cursor: uow.customers.search(cursor=cursor)))


# -- detection ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format", sorted(DOCUMENTED))
def test_each_platform_export_is_detected_by_its_documented_columns(format: str, tmp_path: Path) -> None:
    # a neutral file name: the content decides, never the name
    path = write_csv(tmp_path / "export.txt", DOCUMENTED[format])
    found = detect_format(path)
    assert (found.format, found.kind) == (format, PROFILES[format].kind)
    assert found.unmatched == () and set(found.matched) == set(DOCUMENTED[format])


@given(st.data())
def test_detection_does_not_depend_on_column_order_nor_on_a_few_extra_columns(data: st.DataObject) -> None:
    format = data.draw(st.sampled_from(sorted(DOCUMENTED)))
    header = data.draw(st.permutations(DOCUMENTED[format]))
    extra = data.draw(st.lists(st.sampled_from(["Loyalty Tier", "utm_source", "x_custom"]), max_size=3, unique=True))
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "f.csv", [*header, *extra])
        found = detect_format(path)
    assert found.format == format
    assert set(found.unmatched) == set(extra)


def test_json_files_are_told_apart_by_content(tmp_path: Path) -> None:
    orders = tmp_path / "a.jsonl"  # the name says JSON Lines, the content is Shopify's order JSON
    orders.write_text(json.dumps({"orders": [{"id": 1, "line_items": [], "total_price": "0.00"}]}))
    assert detect_format(orders).format == "shopify-json"
    lines = tmp_path / "b.json"  # and the other way round
    lines.write_text('{"id": "c1", "email": "c1@example.com"}\n{"id": "c2"}\n')
    assert (detect_format(lines, "customers").format, detect_format(lines).kind) == ("jsonl", "customers")
    generic = write_csv(tmp_path / "c.csv", ["id", "email", "given_name", "favourite_colour"])
    found = detect_format(generic, "customers")
    assert (found.format, found.unmatched) == ("csv", ("favourite_colour",))


def test_an_unknown_layout_names_the_closest_format_and_the_columns_that_did_not_fit(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["First Name", "Last Name", "E-Mail-Adresse", "Kundennummer"])
    with pytest.raises(SourceError) as caught:
        detect_format(path, "customers")
    message = caught.value.problems[0].message
    assert "closest is shopify-csv" in message and "E-Mail-Adresse, Kundennummer" in message
    assert "First Name" not in message.split("these are not:")[1]


# -- the new user's Shopify file, end to end ---------------------------------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CUSTDATA_STORE"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return subprocess.run(
        [sys.executable, "-m", "custdata", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_shopify_customer_export_imports_without_format_and_reports_every_column(tmp_path: Path) -> None:
    write_csv(tmp_path / "file.csv", SHOPIFY_NEW_USER, SHOPIFY_ROWS)
    result = run_cli("import", "customers", "file.csv", "--currency", "CAD", "--store", "s.db", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "(shopify-csv, detected)" in out
    assert "Email -> email" in out and "Default Address Phone -> address_phone" in out
    assert "Note -> note" in out and "Tax Exempt -> tax_exempt" in out and "Total Spent -> imported_totals:<id>" in out
    assert out.index("kept in metadata") < out.index("2 read, 2 imported")
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as opened:
        people = {c.email.canonical: c for c in customers_of(opened) if c.email}
    ada, bo = people["ada@example.ca"], people["bo@example.ca"]
    assert ada.metadata["note"] == "Prefers phone calls; allergic to wool" and ada.metadata["tax_exempt"] is True
    (totals,) = imported_totals(ada).values()
    assert (totals.orders_count, totals.amount_spent) == (3, Money(Decimal("120.50"), "CAD"))
    # both spellings of the postal code are stored one way
    assert ada.addresses[0].postal_code == bo.addresses[0].postal_code == "M5C 1N7"
    assert ada.addresses[0].phone is not None and ada.addresses[0].phone.e164 == "+14165550134"


def test_without_a_currency_the_amount_spent_is_reported_ignored_not_dropped_silently(tmp_path: Path) -> None:
    write_csv(tmp_path / "file.csv", SHOPIFY_NEW_USER, SHOPIFY_ROWS)
    result = run_cli("import", "customers", "file.csv", "--store", "s.db", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ignored (amounts need a currency" in result.stdout and "Total Spent" in result.stdout
    assert "Total Orders -> imported_totals:<id>" in result.stdout


def test_the_cli_refuses_an_unknown_layout_and_an_order_export_as_customers(tmp_path: Path) -> None:
    write_csv(tmp_path / "x.csv", ["Vorname", "Nachname", "Mail"], [["A", "B", "a@example.com"]])
    result = run_cli("import", "customers", "x.csv", "--store", "s.db", cwd=tmp_path)
    assert result.returncode != 0 and "Vorname, Nachname, Mail" in result.stderr
    write_csv(tmp_path / "o.csv", DOCUMENTED["magento-orders-csv"], [])
    result = run_cli("import", "orders", "o.csv", "--store", "s.db", cwd=tmp_path)
    assert result.returncode != 0 and "without their lines" in result.stderr
    result = run_cli("import", "customers", "o.csv", "--format", "shopify-orders-csv", "--store", "s.db", cwd=tmp_path)
    assert result.returncode != 0 and "custdata import orders" in result.stderr


# -- --map with profiles -----------------------------------------------------------------------------------------


def test_map_overrides_a_profile_column_and_refuses_the_reversed_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", [*SHOPIFY_NEW_USER, "Mobile"], [[*SHOPIFY_ROWS[0], "+1 416 555 0199"]])
    store = open_store("memory://")
    options = ImportOptions(platform="shopify", format="shopify-csv", mapping={"phone": "Mobile"}, now=NOW)
    report = import_customers(store, read_rows(path, "csv"), options=options)
    assert report.imported == 1 and report.columns is not None
    assert ("Mobile", "phone") in report.columns.mapped and ("Phone", NOT_USED) in report.columns.ignored
    (ada,) = customers_of(store)
    assert ada.phone is not None and ada.phone.e164 == "+14165550199"
    with pytest.raises(ValidationError) as caught:
        parse_mapping(["Mobile=phone"], CUSTOMER_FIELDS)
    assert "--map phone=Mobile" in str(caught.value)
    with pytest.raises(ValidationError, match="maps phone twice"):
        parse_mapping(["phone=Mobile", "phone=Phone"], CUSTOMER_FIELDS)


# -- kept fields meet consent, erasure, merges and analytics ----------------------------------------------------


def shopify_import(store: Store, tmp_path: Path, rows: list[list[str]], *, now: datetime = NOW) -> None:
    path = write_csv(tmp_path / f"f{now.timestamp()}.csv", SHOPIFY_NEW_USER, rows)
    options = ImportOptions(platform="shopify", format="shopify-csv", currency="CAD", now=now)
    rejects = RejectsList()
    import_customers(store, read_rows(path, "csv"), options=options, rejects=rejects)
    assert rejects.items == []


def test_consent_says_where_it_came_from_and_claims_no_more_than_the_export_proves(tmp_path: Path) -> None:
    store = open_store("memory://")
    shopify_import(store, tmp_path, SHOPIFY_ROWS)
    ada = next(c for c in customers_of(store) if c.email and c.email.canonical == "ada@example.ca")
    email = next(r for r in ada.consents if r.channel is Channel.EMAIL)
    assert email.source == "import:shopify shopify-csv export, imported 2026-01-15"
    assert email.opt_in_level is OptInLevel.SINGLE and email.recorded_at <= NOW


def test_erasure_removes_the_note_and_the_imported_totals(store: Store, tmp_path: Path) -> None:
    shopify_import(store, tmp_path, SHOPIFY_ROWS)
    ada = next(c for c in customers_of(store) if c.email and c.email.canonical == "ada@example.ca")
    erase_customer(store, str(ada.id))
    with store.unit_of_work() as uow:
        erased = uow.customers.get(ada.id)
    assert "note" not in erased.metadata and not any(k.startswith(IMPORTED_TOTALS) for k in erased.metadata)
    assert "allergic" not in json.dumps([erased.metadata, erased.private_metadata])
    assert StoreAnalytics(store).lifetime_totals().for_customer(str(ada.id)) == []


def order_for(customer_id: str, number: int, price: str) -> Order:
    line = OrderLine("1", "TEE", "T-shirt", 1, Money(Decimal(price), "CAD"))
    return Order(f"o{number}", customer_id, "CAD", (line,), NOW + timedelta(days=number))


def test_analytics_uses_imported_totals_until_orders_are_stored_never_both(store: Store, tmp_path: Path) -> None:
    shopify_import(store, tmp_path, SHOPIFY_ROWS)
    ada = next(c for c in customers_of(store) if c.email and c.email.canonical == "ada@example.ca")
    (row,) = StoreAnalytics(store).lifetime_totals().for_customer(str(ada.id))
    assert (row.basis, row.orders, row.spent) == ("imported", 3, Money(Decimal("120.50"), "CAD"))
    with store.unit_of_work() as uow:
        uow.orders.add(order_for(str(ada.id), 1, "10.00"))
        uow.commit()
    (row,) = StoreAnalytics(store).lifetime_totals().for_customer(str(ada.id))
    assert (row.basis, row.orders, row.spent) == ("orders", 1, Money(Decimal("10.00"), "CAD"))
    # the plain function, on the same records, says the same
    with store.unit_of_work() as uow:
        orders = list(walk(lambda cursor: uow.orders.page(cursor=cursor)))
    assert lifetime_totals(customers_of(store), orders).for_customer(str(ada.id)) == [row]


def test_a_merge_counts_each_imported_record_once_and_undo_restores(store: Store, tmp_path: Path) -> None:
    shopify_import(store, tmp_path, SHOPIFY_ROWS)
    ada, bo = sorted((c for c in customers_of(store)), key=lambda c: c.email.canonical if c.email else "")
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, str(ada.id), [str(bo.id)], at=NOW), at=NOW)
        uow.commit()
    table = StoreAnalytics(store).lifetime_totals()
    (row,) = table.for_customer(str(ada.id))
    assert (row.orders, row.spent) == (3, Money(Decimal("120.50"), "CAD"))  # 3 + 0, 120.50 + 0.00
    assert table.for_customer(str(bo.id)) == []
    # a second import of the same person (a second export) adds its own entry; merged, both count once each
    shopify_import(store, tmp_path, [[*SHOPIFY_ROWS[1][:2], "bo2@example.ca", *SHOPIFY_ROWS[1][3:14], "5.00", "1",
                                      "", "no", ""]], now=NOW + timedelta(days=1))  # fmt: skip
    bo2 = next(c for c in customers_of(store) if c.email and c.email.canonical == "bo2@example.ca")
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, str(ada.id), [str(bo2.id)], at=NOW + timedelta(days=2)), at=NOW + timedelta(days=2))
        uow.commit()
    (row,) = StoreAnalytics(store).lifetime_totals().for_customer(str(ada.id))
    assert (row.orders, row.spent) == (4, Money(Decimal("125.50"), "CAD"))


def test_totals_imported_after_as_of_are_left_out(tmp_path: Path) -> None:
    store = open_store("memory://")
    shopify_import(store, tmp_path, SHOPIFY_ROWS)
    assert lifetime_totals(customers_of(store), [], as_of=NOW - timedelta(days=1)).rows == ()
    assert len(lifetime_totals(customers_of(store), []).rows) == 2


@given(
    count=st.one_of(st.none(), st.integers(-3, 10**6), st.text(max_size=6)),
    spent=st.one_of(st.none(), st.decimals(-10, 10**9, places=2, allow_nan=False), st.text(max_size=6)),
)
def test_historic_totals_from_outside_are_kept_exactly_or_refused_at_their_column(count: object, spent: object) -> None:
    from custdata.importing.convert import CustomerFields, customer_from_fields

    values = {"id": "c1", "orders_count": None if count is None else str(count)}
    values["amount_spent"] = None if spent is None else str(spent)
    try:
        customer = customer_from_fields(values, CustomerFields("shop", NOW, "EUR"))
    except ValidationError as exc:
        assert {p.path for p in exc.problems} <= {"orders_count", "amount_spent"}
        return
    found = imported_totals(customer)
    count_blank, spent_blank = (value is None or not str(value).strip() for value in (count, spent))
    if count_blank and spent_blank:  # a blank cell (spaces too) is no value
        assert found == {}
        return
    (totals,) = found.values()
    assert totals.orders_count == (None if count_blank else int(Decimal(str(count).strip())))
    if not spent_blank:
        assert totals.amount_spent is not None and totals.amount_spent.amount == Decimal(str(spent).strip())


# -- orders exports ----------------------------------------------------------------------------------------------


def test_a_shopify_order_export_imports_its_lines_and_checks_its_total(tmp_path: Path) -> None:
    header = DOCUMENTED["shopify-orders-csv"]
    blank = dict.fromkeys(header, "")
    first = {
        **blank,
        "Name": "#1001",
        "Email": "guest@example.com",
        "Currency": "EUR",
        "Created at": "2025-10-07 09:50:26 +0200",
        "Lineitem quantity": "2",
        "Lineitem name": "Tee",
        "Lineitem price": "12.00",
        "Lineitem sku": "TEE",
        "Shipping": "4.90",
        "Taxes": "4.80",
        "Total": "28.90",
        "Discount Amount": "0",
    }
    second = {
        **blank,
        "Name": "#1001",
        "Email": "guest@example.com",
        "Lineitem quantity": "1",
        "Lineitem name": "Cap",
        "Lineitem price": "0.00",
        "Lineitem sku": "CAP",
    }
    wrong = {**first, "Name": "#1002", "Total": "99.00"}
    path = write_csv(tmp_path / "orders_export.csv", header, [[r[h] for h in header] for r in (first, second, wrong)])
    assert detect_format(path).format == "shopify-orders-csv"
    store = open_store("memory://")
    rejects = RejectsList()
    options = ImportOptions(platform="shopify", format="shopify-orders-csv", now=NOW)
    report = import_orders(store, read_rows(path, "csv"), options=options, rejects=rejects)
    # the taxes are in the prices (the export's total says so); the wrong total is refused at its column
    assert (report.imported, report.rejected) == (1, 1)
    assert rejects.items[0][:2] == (4, "Total")
    assert report.columns is not None and ("Lineitem sku", "sku") in report.columns.mapped
    assert "Billing Zip" in [c for c, _ in report.columns.ignored]
    with store.unit_of_work() as uow:
        (order,) = list(walk(lambda cursor: uow.orders.page(cursor=cursor)))
    assert order.taxes_included and order.total == Money(Decimal("28.90"), "EUR") and len(order.lines) == 2


def test_a_woocommerce_order_export_divides_line_totals_and_treats_customer_0_as_a_guest(tmp_path: Path) -> None:
    header = DOCUMENTED["woocommerce-orders-csv"]
    blank = dict.fromkeys(header, "")
    row = {
        **blank,
        "order_id": "55",
        "order_date": "2025-05-01 10:00:00",
        "order_currency": "EUR",
        "shipping_total": "5.00",
        "tax_total": "0",
        "discount_total": "0",
        "order_total": "35.00",
        "customer_id": "0",
        "billing_email": "guest@example.com",
        "item_id": "9",
        "item_name": "Mug",
        "item_sku": "MUG",
        "item_quantity": "3",
        "item_subtotal": "30.00",
    }
    odd = {**row, "order_id": "56", "item_subtotal": "10.00", "order_total": "15.00"}  # 10.00 / 3 is no price
    path = write_csv(tmp_path / "o.csv", header, [[r[h] for h in header] for r in (row, odd)])
    assert detect_format(path, "orders").format == "woocommerce-orders-csv"
    store = open_store("memory://")
    rejects = RejectsList()
    options = ImportOptions(platform="woocommerce", format="woocommerce-orders-csv", now=NOW)
    report = import_orders(store, read_rows(path, "csv"), options=options, rejects=rejects)
    assert (report.imported, report.customers_added, report.rejected) == (1, 1, 1)
    assert rejects.items[0][1] == "item_subtotal"
    with store.unit_of_work() as uow:
        (order,) = list(walk(lambda cursor: uow.orders.page(cursor=cursor)))
        guest = uow.customers.get(order.customer_id)
    assert order.lines[0].unit_price == Money(Decimal("10.00"), "EUR") and guest.is_guest


def test_woocommerce_and_magento_customers_arrive_with_their_addresses(tmp_path: Path) -> None:
    store = open_store("memory://")
    woo = DOCUMENTED["woocommerce-customers-csv"]
    values = dict.fromkeys(woo, "")
    values |= {
        "customer_id": "12",
        "first_name": "Jan",
        "last_name": "Jansen",
        "email": "jan@example.nl",
        "billing_address_1": "Damrak 1",
        "billing_postcode": "1012lg",
        "billing_city": "Amsterdam",
        "billing_country": "NL",
        "total_spent": "80.00",
        "order_count": "2",
    }
    path = write_csv(tmp_path / "w.csv", woo, [[values[h] for h in woo]])
    options = ImportOptions(platform="woocommerce", format="woocommerce-customers-csv", currency="EUR", now=NOW)
    assert import_customers(store, read_rows(path, "csv"), options=options).imported == 1
    magento = DOCUMENTED["magento-customers-csv"]
    values = dict.fromkeys(magento, "")
    values |= {
        "email": "max@example.de",
        "_website": "base",
        "firstname": "Max",
        "lastname": "Muster",
        "_address_street": "Unter den Linden 1",
        "_address_city": "Berlin",
        "_address_postcode": "10117",
        "_address_country_id": "DE",
    }
    path = write_csv(tmp_path / "m.csv", magento, [[values[h] for h in magento]])
    options = ImportOptions(platform="magento", format="magento-customers-csv", now=NOW)
    assert import_customers(store, read_rows(path, "csv"), options=options).imported == 1
    people = {c.email.canonical: c for c in customers_of(store) if c.email}
    assert people["jan@example.nl"].addresses[0].postal_code == "1012 LG"
    assert str(people["jan@example.nl"].id) == "cus_woocommerce_12"
    assert people["max@example.de"].addresses[0].city == "BERLIN"


# -- the docs cannot drift from the profiles ---------------------------------------------------------------------


def test_the_docs_list_each_profiles_columns_as_the_profile_does() -> None:
    from custdata.importing.formats import docs_tables

    text = (Path(__file__).parents[2] / "docs" / "importing.md").read_text(encoding="utf-8")
    assert docs_tables() in text
