"""Importing a shop's customers and orders: CSV and JSON Lines with column mapping, and the exports of Shopify
(customers CSV, orders CSV, order JSON), WooCommerce and Magento, told apart by :func:`detect_format`.

Every record is validated; refused ones go to a rejects file with their line, field and reason; the rest are
added in batches, one unit of work each; ids derive from the source system's references (customers without one
get random ids and are recognised by their email address), so running the same import again skips what is
already stored. One bad record never stops an import (it is refused alone); with
``ImportOptions(on_bad_field="drop_field")`` bad optional fields are left out instead, and values a spreadsheet
mangled are repaired (:mod:`custdata.importing.repair`). A guest checkout's order never goes to a registered
customer::

    from custdata.importing import ImportOptions, RejectsFile, import_customers, read_rows

    with open_store("sqlite:///shop.db") as store, RejectsFile("customers.rejects.csv") as rejects:
        report = import_customers(store, read_rows("customers.csv", "csv"), rejects=rejects)
"""

from custdata.importing.convert import customer_from_fields, customer_id_for, has_email_derived_id, order_id_for
from custdata.importing.formats import (
    FORMAT_NAMES,
    PROFILES,
    ColumnReport,
    Detection,
    Profile,
    detect_format,
    profile_for,
)
from custdata.importing.importer import (
    ON_BAD_FIELD,
    ImportOptions,
    ImportReport,
    Rejects,
    RejectsFile,
    RejectsList,
    WorkerStoppedError,
    import_customers,
    import_orders,
)
from custdata.importing.mapping import (
    CUSTOMER_FIELDS,
    KEPT_FIELDS,
    ORDER_FIELDS,
    SHOPIFY_CUSTOMER_COLUMNS,
    parse_mapping,
)
from custdata.importing.orders import ImportedOrder, order_from_rows, order_from_shopify
from custdata.importing.rekey import rekey_customer, rekey_email_ids
from custdata.importing.repair import REPAIR_KINDS
from custdata.importing.sources import FORMATS, MAX_VALUE, Row, SourceError, count_lines, guess_format, read_rows
from custdata.importing.totals import IMPORTED_TOTALS, ImportedTotals, imported_totals

__all__ = [
    "CUSTOMER_FIELDS",
    "FORMATS",
    "FORMAT_NAMES",
    "IMPORTED_TOTALS",
    "KEPT_FIELDS",
    "MAX_VALUE",
    "ON_BAD_FIELD",
    "ORDER_FIELDS",
    "PROFILES",
    "REPAIR_KINDS",
    "SHOPIFY_CUSTOMER_COLUMNS",
    "ColumnReport",
    "Detection",
    "ImportOptions",
    "ImportReport",
    "ImportedOrder",
    "ImportedTotals",
    "Profile",
    "Rejects",
    "RejectsFile",
    "RejectsList",
    "Row",
    "SourceError",
    "WorkerStoppedError",
    "count_lines",
    "customer_from_fields",
    "customer_id_for",
    "detect_format",
    "guess_format",
    "has_email_derived_id",
    "import_customers",
    "import_orders",
    "imported_totals",
    "order_from_rows",
    "order_from_shopify",
    "order_id_for",
    "parse_mapping",
    "profile_for",
    "read_rows",
    "rekey_customer",
    "rekey_email_ids",
]
