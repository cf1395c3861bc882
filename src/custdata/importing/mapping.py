"""Which input column feeds which field: the defaults, Shopify's export columns, and user overrides.

A mapping maps custdata field names to the column (CSV) or key (JSON) that holds them. By default each field
is read from the column of the same name; ``--map email=E-mail`` (or ``{"email": "E-mail"}``) points a field
at another column. Unknown field names are refused, so a typo never silently drops a column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from custdata._errors import Problem, ValidationError

#: The customer fields an import reads; ``id`` is the customer's id in the source system (its reference).
CUSTOMER_FIELDS = (
    "id",
    "email",
    "phone",
    "given_name",
    "family_name",
    "company",
    "street_address_1",
    "street_address_2",
    "city",
    "postal_code",
    "country_code",
    "country_area",
    "locale",
    "timezone",
    "tags",
    "accepts_marketing",
    "accepts_sms_marketing",
    "created_at",
    "birthday",
    "is_guest",
    "address_phone",
    "note",
    "tax_exempt",
    "orders_count",
    "amount_spent",
    "currency",
)

#: The customer fields kept in the customer's ``metadata``, each with its key there: the note (free text,
#: personal data like all metadata, so erasure removes it), the tax exemption, and the historic totals
#: (:class:`custdata.importing.ImportedTotals`, which analytics uses until the customer's orders are stored).
KEPT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "note": "note",
        "tax_exempt": "tax_exempt",
        "orders_count": "imported_totals:<id>",
        "amount_spent": "imported_totals:<id>",
    }
)

#: The order fields of a flat order row (one row per order line; rows of one order follow each other).
ORDER_FIELDS = (
    "order_id",
    "customer_id",
    "customer_email",
    "currency",
    "placed_at",
    "status",
    "line_id",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
    "size",
    "colour",
    "shipping",
    "tax",
    "discount",
    "taxes_included",
    "line_total",
    "total",
)

#: Shopify's customer CSV export: each field and the column names the export has used for it.
SHOPIFY_CUSTOMER_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "id": ("Customer ID", "ID"),
        "given_name": ("First Name",),
        "family_name": ("Last Name",),
        "email": ("Email",),
        "accepts_marketing": ("Accepts Email Marketing", "Accepts Marketing"),
        "accepts_sms_marketing": ("Accepts SMS Marketing",),
        "company": ("Default Address Company", "Company"),
        "street_address_1": ("Default Address Address1", "Address1"),
        "street_address_2": ("Default Address Address2", "Address2"),
        "city": ("Default Address City", "City"),
        "country_area": ("Default Address Province Code", "Province Code"),
        "country_code": ("Default Address Country Code", "Country Code"),
        "postal_code": ("Default Address Zip", "Zip"),
        "address_phone": ("Default Address Phone",),
        "phone": ("Phone",),
        "amount_spent": ("Total Spent",),
        "orders_count": ("Total Orders",),
        "note": ("Note",),
        "tax_exempt": ("Tax Exempt",),
        "tags": ("Tags",),
    }
)


def parse_mapping(pairs: Iterable[str], fields: Iterable[str]) -> dict[str, str]:
    """``["email=E-mail", "id=Customer No"]`` as a mapping, checked against ``fields``."""
    known = tuple(fields)
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            problems.append(Problem("map", f"{pair!r} is not FIELD=COLUMN"))
        elif field not in known and column in known:
            problems.append(
                Problem(
                    "map",
                    f"{pair!r} names the column first; write FIELD=COLUMN (the field first): --map {column}={field}",
                )
            )
        elif field not in known:
            problems.append(Problem("map", f"{field!r} is not a field; the fields are {', '.join(known)}"))
        elif field in mapping and mapping[field] != column:
            problems.append(Problem("map", f"maps {field} twice ({mapping[field]!r} and {column!r})"))
        else:
            mapping[field] = column
    if problems:
        raise ValidationError(problems)
    return mapping


def resolve_columns(
    header: Iterable[str], fields: Iterable[str], mapping: Mapping[str, str] | None = None, *, strict: bool = True
) -> dict[str, str]:
    """Field -> column for the columns a file actually has: the mapping first, then same-named columns.

    With ``strict``, a mapped column that the file lacks is an error (a typo in ``--map`` must not pass
    silently); otherwise the field is simply absent (a JSON object that leaves a key out)."""
    columns = list(header)
    present = set(columns)
    chosen: dict[str, str] = {}
    for field in fields:
        wanted = (mapping or {}).get(field)
        if wanted is not None:
            if wanted not in present:
                if not strict:
                    continue
                raise ValidationError.single("map", f"column {wanted!r} (for {field}) is not in the file")
            chosen[field] = wanted
        elif field in present:
            chosen[field] = field
    return chosen


def shopify_columns(header: Iterable[str]) -> dict[str, str]:
    """Field -> column for a Shopify customer export, whichever of its column names the file uses."""
    present = set(header)
    chosen = {}
    for field, names in SHOPIFY_CUSTOMER_COLUMNS.items():
        for name in names:
            if name in present:
                chosen[field] = name
                break
    if "email" not in chosen and "id" not in chosen:
        raise ValidationError.single("line 1", "does not look like a Shopify customer export (no Email column)")
    return chosen
