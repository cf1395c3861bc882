"""The shop exports custdata recognises: one :class:`Profile` per platform export, and :func:`detect_format`,
which tells them apart by the file's header and content (never by its name alone).

A profile says which of its columns feed which custdata field (the first of a field's column names that the
file has wins: exports renamed columns over the years), which columns are kept in the customer's ``metadata``
(notes, tax exemption, historic totals), and which known columns custdata does not use. Every import reports
its columns by name (:class:`ColumnReport`): nothing is dropped without a word.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from custdata._errors import ValidationError
from custdata.domain.personal import NOT_PERSONAL
from custdata.importing.mapping import CUSTOMER_FIELDS, KEPT_FIELDS, ORDER_FIELDS, SHOPIFY_CUSTOMER_COLUMNS
from custdata.importing.sources import SourceError

CUSTOMERS = "customers"
ORDERS = "orders"

#: Why a known column is not imported.
NOT_USED = "not used by custdata"
#: Why a column of historic spending is not imported without a currency.
NEEDS_CURRENCY = "amounts need a currency: give --currency (ImportOptions.currency) or a currency column"


@attrs.frozen
class Profile:
    """One platform's export: its format name (``--format``), what it holds (``customers`` or ``orders``), how
    it is read (``csv``, ``jsonl`` or ``shopify-json``), the source name its ids use, each field's column names
    (first present wins), and the columns it has that custdata does not use. ``no_reference`` lists values of
    the ``id``/``customer_id`` column that mean "no account" (WooCommerce writes 0 for a guest). ``unusable``
    says why a recognised export cannot be imported, when it cannot."""

    name: str = attrs.field(metadata=NOT_PERSONAL)
    title: str = attrs.field(metadata=NOT_PERSONAL)
    kind: str = attrs.field(metadata=NOT_PERSONAL)
    reader: str = attrs.field(metadata=NOT_PERSONAL)
    source: str = attrs.field(metadata=NOT_PERSONAL)
    columns: Mapping[str, tuple[str, ...]] = attrs.field(metadata=NOT_PERSONAL)
    ignored: tuple[str, ...] = attrs.field(default=(), metadata=NOT_PERSONAL)
    signature: tuple[str, ...] = attrs.field(default=(), metadata=NOT_PERSONAL)
    no_reference: frozenset[str] = attrs.field(default=frozenset(), metadata=NOT_PERSONAL)
    unusable: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    @property
    def generic(self) -> bool:
        """True for plain CSV and JSON Lines, whose columns are named after custdata's fields."""
        return self.name in ("csv", "jsonl")

    @property
    def known(self) -> frozenset[str]:
        """Every column name this export is known to have (mapped, kept or not used)."""
        return frozenset(name for names in self.columns.values() for name in names) | frozenset(self.ignored)

    @property
    def fields(self) -> tuple[str, ...]:
        return CUSTOMER_FIELDS if self.kind == CUSTOMERS else ORDER_FIELDS

    def resolve(
        self, header: Iterable[str], mapping: Mapping[str, str] | None = None, *, strict: bool = True
    ) -> dict[str, str]:
        """Field -> column for a file with ``header``: ``mapping`` (field -> column, from ``--map``) first, then
        the profile's column names. A column the mapping gives to a field feeds that field only. With
        ``strict``, a mapped column the file lacks is an error (a typo must not pass silently)."""
        present = list(header)
        have = set(present)
        mapping = mapping or {}
        chosen: dict[str, str] = {}
        for field_name, column in mapping.items():
            if column not in have:
                if strict:
                    raise ValidationError.single("map", f"column {column!r} (for {field_name}) is not in the file")
                continue
            chosen[field_name] = column
        taken = set(chosen.values())
        for field_name, names in self.columns.items():
            if field_name in chosen or field_name in mapping:
                continue
            for name in names:
                if name in have and name not in taken:
                    chosen[field_name] = name
                    break
        return chosen


def _same(fields: Sequence[str]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({name: (name,) for name in fields})


_SHOPIFY_CUSTOMERS = Profile(
    name="shopify-csv",
    title="Shopify customer export (Customers > Export)",
    kind=CUSTOMERS,
    reader="csv",
    source="shopify",
    columns=SHOPIFY_CUSTOMER_COLUMNS,
    ignored=("Province", "Country"),
    signature=("First Name", "Last Name", "Email"),
)

_SHOPIFY_ORDERS_CSV = Profile(
    name="shopify-orders-csv",
    title="Shopify order export (Orders > Export, one row per line item)",
    kind=ORDERS,
    reader="csv",
    source="shopify",
    columns=MappingProxyType(
        {
            "order_id": ("Name",),
            "customer_email": ("Email",),
            "currency": ("Currency",),
            "placed_at": ("Created at",),
            "sku": ("Lineitem sku",),
            "product_name": ("Lineitem name",),
            "quantity": ("Lineitem quantity",),
            "unit_price": ("Lineitem price",),
            "shipping": ("Shipping",),
            "tax": ("Taxes",),
            "discount": ("Discount Amount",),
            "total": ("Total",),
        }
    ),
    ignored=(
        "Financial Status",
        "Paid at",
        "Fulfillment Status",
        "Fulfilled at",
        "Accepts Marketing",
        "Subtotal",
        "Discount Code",
        "Shipping Method",
        "Lineitem compare at price",
        "Lineitem requires shipping",
        "Lineitem taxable",
        "Lineitem fulfillment status",
        "Lineitem discount",
        "Billing Name",
        "Billing Street",
        "Billing Address1",
        "Billing Address2",
        "Billing Company",
        "Billing City",
        "Billing Zip",
        "Billing Province",
        "Billing Country",
        "Billing Phone",
        "Shipping Name",
        "Shipping Street",
        "Shipping Address1",
        "Shipping Address2",
        "Shipping Company",
        "Shipping City",
        "Shipping Zip",
        "Shipping Province",
        "Shipping Country",
        "Shipping Phone",
        "Notes",
        "Note Attributes",
        "Cancelled at",
        "Payment Method",
        "Payment Reference",
        "Refunded Amount",
        "Vendor",
        "Id",
        "Tags",
        "Risk Level",
        "Source",
        "Phone",
        "Receipt Number",
        "Duties",
        "Billing Province Name",
        "Shipping Province Name",
        "Payment ID",
        "Payment Terms Name",
        "Next Payment Due At",
        "Payment References",
        "Employee",
        "Location",
        "Device ID",
        *(f"Tax {n} {part}" for n in range(1, 6) for part in ("Name", "Value")),
    ),
    signature=("Name", "Lineitem name", "Lineitem quantity"),
)

_SHOPIFY_JSON = Profile(
    name="shopify-json",
    title="Shopify order JSON (the Admin API's orders)",
    kind=ORDERS,
    reader="shopify-json",
    source="shopify",
    columns=MappingProxyType(
        {
            "order_id": ("id",),
            "customer_email": ("email",),
            "currency": ("currency",),
            "placed_at": ("created_at",),
            "status": ("financial_status", "cancelled_at"),
            "lines": ("line_items",),
            "shipping": ("shipping_lines",),
            "tax": ("total_tax",),
            "discount": ("total_discounts",),
            "total": ("total_price",),
            "taxes_included": ("taxes_included",),
            "customer": ("customer",),
            "shipping_address": ("shipping_address",),
            "shipments": ("fulfillments",),
            "name": ("name",),
        }
    ),
    signature=("line_items", "total_price"),
)

_WOO_CUSTOMERS = Profile(
    name="woocommerce-customers-csv",
    title="WooCommerce customer export (Customer / Order / Coupon Export, default CSV format)",
    kind=CUSTOMERS,
    reader="csv",
    source="woocommerce",
    columns=MappingProxyType(
        {
            "id": ("customer_id",),
            "given_name": ("first_name", "billing_first_name"),
            "family_name": ("last_name", "billing_last_name"),
            "email": ("email", "billing_email"),
            "phone": ("billing_phone",),
            "company": ("billing_company",),
            "street_address_1": ("billing_address_1",),
            "street_address_2": ("billing_address_2",),
            "city": ("billing_city",),
            "postal_code": ("billing_postcode",),
            "country_code": ("billing_country",),
            "country_area": ("billing_state",),
            "created_at": ("date_registered",),
            "amount_spent": ("total_spent",),
            "orders_count": ("order_count",),
        }
    ),
    ignored=(
        "user_login",
        "shipping_first_name",
        "shipping_last_name",
        "shipping_company",
        "shipping_address_1",
        "shipping_address_2",
        "shipping_postcode",
        "shipping_city",
        "shipping_state",
        "shipping_country",
    ),
    signature=("customer_id", "billing_first_name", "billing_postcode"),
    no_reference=frozenset({"0"}),
)

_WOO_ORDERS = Profile(
    name="woocommerce-orders-csv",
    title="WooCommerce order export (Customer / Order / Coupon Export, one row per line item)",
    kind=ORDERS,
    reader="csv",
    source="woocommerce",
    columns=MappingProxyType(
        {
            "order_id": ("order_id",),
            "customer_id": ("customer_id",),
            "customer_email": ("billing_email", "customer_email"),
            "currency": ("order_currency",),
            "placed_at": ("order_date",),
            "line_id": ("item_id",),
            "sku": ("item_sku",),
            "product_name": ("item_name",),
            "quantity": ("item_quantity",),
            "line_total": ("item_subtotal",),
            "shipping": ("shipping_total",),
            "tax": ("tax_total",),
            "discount": ("discount_total",),
            "total": ("order_total",),
        }
    ),
    ignored=(
        "order_number",
        "order_number_formatted",
        "status",
        "shipping_tax_total",
        "fee_total",
        "fee_tax_total",
        "cart_discount",
        "order_discount",
        "refunded_total",
        "payment_method",
        "shipping_method",
        "customer_note",
        "billing_first_name",
        "billing_last_name",
        "billing_full_name",
        "billing_company",
        "billing_phone",
        "billing_address_1",
        "billing_address_2",
        "billing_postcode",
        "billing_city",
        "billing_state",
        "billing_state_code",
        "billing_country",
        "shipping_first_name",
        "shipping_last_name",
        "shipping_full_name",
        "shipping_address_1",
        "shipping_address_2",
        "shipping_postcode",
        "shipping_city",
        "shipping_state",
        "shipping_state_code",
        "shipping_country",
        "shipping_company",
        "download_permissions",
        "item_product_id",
        "item_variation_id",
        "item_subtotal_tax",
        "item_total",
        "item_total_tax",
        "item_refunded",
        "item_refunded_qty",
        "item_meta",
        "line_items",
        "shipping_items",
        "fee_items",
        "tax_items",
        "coupon_items",
        "order_notes",
    ),
    signature=("order_id", "order_currency", "order_total"),
    no_reference=frozenset({"0"}),
)

_MAGENTO_CUSTOMERS = Profile(
    name="magento-customers-csv",
    title="Magento 2 customer export (System > Export, Customers Main File or with addresses)",
    kind=CUSTOMERS,
    reader="csv",
    source="magento",
    columns=MappingProxyType(
        {
            "email": ("email",),
            "given_name": ("firstname",),
            "family_name": ("lastname",),
            "created_at": ("created_at",),
            "birthday": ("dob",),
            "company": ("_address_company",),
            "street_address_1": ("_address_street",),
            "city": ("_address_city",),
            "postal_code": ("_address_postcode",),
            "country_code": ("_address_country_id",),
            "country_area": ("_address_region",),
            "address_phone": ("_address_telephone",),
        }
    ),
    ignored=(
        "_website",
        "_store",
        "confirmation",
        "created_in",
        "disable_auto_group_change",
        "gender",
        "group_id",
        "middlename",
        "password_hash",
        "prefix",
        "rp_token",
        "rp_token_created_at",
        "store_id",
        "suffix",
        "taxvat",
        "website_id",
        "password",
        "updated_at",
        "lock_expires",
        "_address_firstname",
        "_address_lastname",
        "_address_middlename",
        "_address_prefix",
        "_address_suffix",
        "_address_fax",
        "_address_region_id",
        "_address_vat_id",
        "_address_default_billing_",
        "_address_default_shipping_",
    ),
    signature=("email", "_website", "firstname", "lastname"),
)

_MAGENTO_ORDERS = Profile(
    name="magento-orders-csv",
    title="Magento 2 order grid export (Sales > Orders > Export)",
    kind=ORDERS,
    reader="csv",
    source="magento",
    columns=MappingProxyType({"order_id": ("ID",), "customer_email": ("Customer Email",)}),
    ignored=(
        "Purchase Point",
        "Purchase Date",
        "Bill-to Name",
        "Ship-to Name",
        "Grand Total (Base)",
        "Grand Total (Purchased)",
        "Status",
        "Billing Address",
        "Shipping Address",
        "Shipping Information",
        "Customer Group",
        "Subtotal",
        "Shipping and Handling",
        "Customer Name",
        "Payment Method",
        "Total Refunded",
    ),
    signature=("Purchase Point", "Bill-to Name", "Grand Total (Purchased)"),
    unusable=(
        "Magento's order grid export lists orders without their lines, currency or prices per item; export the "
        "orders with their items to a flat CSV (one row per line item) and import it as csv with --map"
    ),
)

_CSV_CUSTOMERS = Profile("csv", "CSV with custdata's field names", CUSTOMERS, "csv", "import", _same(CUSTOMER_FIELDS))
_CSV_ORDERS = Profile("csv", "CSV with custdata's field names", ORDERS, "csv", "import", _same(ORDER_FIELDS))
_JSONL_CUSTOMERS = Profile("jsonl", "JSON Lines", CUSTOMERS, "jsonl", "import", _same(CUSTOMER_FIELDS))
_JSONL_ORDERS = Profile("jsonl", "JSON Lines", ORDERS, "jsonl", "import", _same(ORDER_FIELDS))

#: Every platform export's profile, by format name.
PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        p.name: p
        for p in (
            _SHOPIFY_CUSTOMERS,
            _SHOPIFY_ORDERS_CSV,
            _SHOPIFY_JSON,
            _WOO_CUSTOMERS,
            _WOO_ORDERS,
            _MAGENTO_CUSTOMERS,
            _MAGENTO_ORDERS,
        )
    }
)
_GENERIC = {
    ("csv", CUSTOMERS): _CSV_CUSTOMERS,
    ("csv", ORDERS): _CSV_ORDERS,
    ("jsonl", CUSTOMERS): _JSONL_CUSTOMERS,
    ("jsonl", ORDERS): _JSONL_ORDERS,
}

#: Every ``--format`` name: the generic formats, then the platform exports.
FORMAT_NAMES = ("csv", "jsonl", *PROFILES)


def profile_for(format: str, kind: str) -> Profile:
    """The profile of ``format`` for a ``kind`` import; a platform export of the other kind is an error."""
    if (format, kind) in _GENERIC:
        return _GENERIC[format, kind]
    profile = PROFILES.get(format)
    if profile is None:
        raise ValidationError.single("format", f"must be one of {', '.join(FORMAT_NAMES)}")
    if profile.kind != kind:
        raise ValidationError.single(
            "format", f"{profile.title} holds {profile.kind}: use 'custdata import {profile.kind}'"
        )
    return profile


@attrs.frozen
class ColumnReport:
    """What an import made of each column, by name: ``mapped`` (column, field), ``kept`` (column, the
    ``metadata`` key it is kept under) and ``ignored`` (column, why)."""

    format: str = attrs.field(metadata=NOT_PERSONAL)
    mapped: tuple[tuple[str, str], ...] = attrs.field(default=(), metadata=NOT_PERSONAL)
    kept: tuple[tuple[str, str], ...] = attrs.field(default=(), metadata=NOT_PERSONAL)
    ignored: tuple[tuple[str, str], ...] = attrs.field(default=(), metadata=NOT_PERSONAL)

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        out = [f"format: {self.format}"]
        if self.mapped:
            out.append("mapped: " + ", ".join(f"{column} -> {name}" for column, name in self.mapped))
        if self.kept:
            out.append("kept in metadata: " + ", ".join(f"{column} -> {key}" for column, key in self.kept))
        if self.ignored:
            reasons: dict[str, list[str]] = {}
            for column, why in self.ignored:
                reasons.setdefault(why, []).append(column)
            out += [f"ignored ({why}): {', '.join(columns)}" for why, columns in reasons.items()]
        return out


def usable_columns(
    profile: Profile,
    header: Sequence[str],
    mapping: Mapping[str, str] | None = None,
    currency: str | None = None,
    *,
    strict: bool = True,
) -> dict[str, str]:
    """Field -> column for reading a file with ``header`` (see :meth:`Profile.resolve`), without an amount
    spent when nothing gives its currency (neither ``currency`` nor a currency column): the report then lists
    that column as ignored, saying why."""
    columns = profile.resolve(header, mapping, strict=strict)
    if profile.kind == CUSTOMERS and "amount_spent" in columns and not currency and "currency" not in columns:
        del columns["amount_spent"]
    return columns


def profile_values(profile: Profile, fields: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """A record's values by field name; an id the export writes for "no account" (WooCommerce's 0 for a
    guest) is left out, so the record is known by its email address instead."""
    values = {name: fields.get(column) for name, column in columns.items()}
    if profile.no_reference:
        for name in ("id", "customer_id"):
            value = values.get(name)
            if isinstance(value, str) and value.strip() in profile.no_reference:
                values[name] = None
    return values


def column_report(
    profile: Profile, header: Sequence[str], columns: Mapping[str, str], currency: str | None = None
) -> ColumnReport:
    """The :class:`ColumnReport` of a file with ``header`` read with ``columns`` (field -> column)."""
    by_column = {column: name for name, column in columns.items()}
    spent = profile.resolve(header).get("amount_spent") if profile.kind == CUSTOMERS else None
    mapped, kept, ignored = [], [], []
    for column in header:
        name = by_column.get(column)
        if name is None:
            ignored.append((column, NEEDS_CURRENCY if column == spent and not currency else NOT_USED))
        elif profile.kind == CUSTOMERS and name in KEPT_FIELDS:
            kept.append((column, KEPT_FIELDS[name]))
        else:
            mapped.append((column, name))
    return ColumnReport(profile.name, tuple(mapped), tuple(kept), tuple(ignored))


@attrs.frozen
class Detection:
    """What :func:`detect_format` found: the format, what the file holds, a score from 0 to 1 (the share of
    the file's columns the format knows), and the columns that matched and those that did not."""

    format: str = attrs.field(metadata=NOT_PERSONAL)
    kind: str = attrs.field(metadata=NOT_PERSONAL)
    score: float = attrs.field(metadata=NOT_PERSONAL)
    matched: tuple[str, ...] = attrs.field(default=(), metadata=NOT_PERSONAL)
    unmatched: tuple[str, ...] = attrs.field(default=(), metadata=NOT_PERSONAL)

    @property
    def profile(self) -> Profile:
        return profile_for(self.format, self.kind)


#: The share of a file's columns a platform export must know (beside its signature columns).
PLATFORM_SCORE = 0.6


def read_header(path: str | Path) -> tuple[str, list[str], dict[str, Any] | None]:
    """``("csv", header, None)``, ``("jsonl", keys, first_object)`` or ``("json", keys, first_order)`` from the
    start of the file's content."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        try:
            start = handle.read(1 << 16)
        except UnicodeDecodeError:
            raise SourceError.single("line 1", "is not UTF-8 text") from None
    stripped = start.lstrip()
    if stripped[:1] in ("[", "{"):
        first_line = stripped.split("\n", 1)[0]
        try:
            value = json.loads(first_line)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict) and set(_SHOPIFY_JSON.signature) <= set(value):
            return "json", list(value), value  # Shopify's orders, one per line
        if isinstance(value, dict) and not ({"orders", "order"} & set(value)):
            return "jsonl", list(value), value
        order = _first_json_order(Path(path))
        if order is None and not _is_order_document(Path(path)):
            raise SourceError.single("line 1", 'must hold {"orders": [...]}, {"order": {...}} or a list of orders')
        return "json", list(order or {}), order
    try:
        header = next(csv.reader(start.splitlines()[:1]), [])
    except csv.Error as exc:
        raise SourceError.single("line 1", f"is not valid CSV ({exc})") from None
    return "csv", [h.strip() for h in header], None


def _is_order_document(path: Path) -> bool:
    """True for ``{"orders": [...]}`` and ``[...]`` with no order in them."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return document == [] or (isinstance(document, dict) and document.get("orders") == [])


def _first_json_order(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(document, dict):
        document = document.get("orders", [document.get("order")])
    if isinstance(document, list) and document and isinstance(document[0], dict):
        return document[0]
    return None


def _score(profile: Profile, header: Sequence[str]) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    known = profile.known
    matched = tuple(h for h in header if h in known)
    unmatched = tuple(h for h in header if h not in known)
    return (len(matched) / len(header) if header else 0.0), matched, unmatched


def detect_format(path: str | Path, kind: str | None = None) -> Detection:
    """The format of the file at ``path`` (a ``customers`` or ``orders`` file, or either), told by its header
    (CSV) or its first record (JSON) and never by its name alone.

    A platform export is recognised by its signature columns and by knowing most of the file's columns
    (:data:`PLATFORM_SCORE`); a file whose columns are custdata's own field names (an ``id`` or ``email`` for
    customers, an ``order_id`` for orders) is generic ``csv`` or ``jsonl``. Anything else raises
    :class:`SourceError` naming the closest known format and the columns that did not fit it."""
    shape, header, first = read_header(path)
    kinds = (kind,) if kind else (CUSTOMERS, ORDERS)
    if shape == "json":
        # a platform export is recognised whatever the import asks for: importing it as the wrong kind is then
        # refused with a message that says which kind it holds
        score, matched, unmatched = _score(_SHOPIFY_JSON, header)
        if first is None or set(_SHOPIFY_JSON.signature) <= set(header):
            return Detection("shopify-json", ORDERS, score, matched, unmatched)
        raise SourceError.single(
            "line 1", "holds JSON that is not Shopify's order JSON (no line_items and total_price in its first order)"
        )
    candidates: list[tuple[float, Profile, tuple[str, ...], tuple[str, ...]]] = []
    if shape == "csv":
        for profile in sorted(PROFILES.values(), key=lambda p: p.kind not in kinds):
            if profile.reader == "csv":
                score, matched, unmatched = _score(profile, header)
                candidates.append((score, profile, matched, unmatched))
                if set(profile.signature) <= set(header) and score >= PLATFORM_SCORE:
                    return Detection(profile.name, profile.kind, score, matched, unmatched)
    for wanted in kinds:
        generic = _GENERIC[shape, wanted]
        score, matched, unmatched = _score(generic, header)
        needed = ("id", "email") if wanted == CUSTOMERS else ("order_id",)
        if any(name in header for name in needed):
            return Detection(generic.name, wanted, score, matched, unmatched)
        candidates.append((score, generic, matched, unmatched))
    score, closest, matched, unmatched = max(candidates, key=lambda c: c[0])
    raise SourceError.single(
        "line 1",
        f"is not a layout custdata knows; the closest is {closest.name} ({closest.title}, {len(matched)} of "
        f"{len(header)} columns), whose columns these are not: {', '.join(unmatched) or '(none)'}. "
        "Give --format and --map FIELD=COLUMN",
    )


def docs_tables() -> str:
    """The tables of ``docs/importing.md`` that list each platform export's columns (a test holds the page to
    them, so the page says what the profiles do)."""
    out: list[str] = []
    for profile in PROFILES.values():
        out += [f"#### {profile.title}: `{profile.name}`", ""]
        if profile.unusable:
            out += [f"Recognised, not imported: {profile.unusable}.", ""]
            continue
        out += ["| column | becomes |", "| --- | --- |"]
        for name, columns in profile.columns.items():
            where = f"kept: `metadata[{KEPT_FIELDS[name]!r}]`" if name in KEPT_FIELDS else f"`{name}`"
            if profile.kind != CUSTOMERS and name in KEPT_FIELDS:
                where = f"`{name}`"
            out.append(f"| {', '.join(f'`{c}`' for c in columns)} | {where} |")
        out.append("")
        if profile.ignored:
            out += [
                "Ignored (listed by name in the column report): " + ", ".join(f"`{c}`" for c in profile.ignored) + ".",
                "",
            ]
    return "\n".join(out).rstrip("\n") + "\n"
