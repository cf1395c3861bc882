"""The core tables: one row per entity with its indexed columns and its JSON document, plus search keys.

Layout (``{key}`` is text in code point order, ``{bigint}`` an integer, ``{doc}`` the document type):

- ``customers (id, version, created_us, updated_us, doc)``;
- ``customer_keys (field, value, customer_id)``: the search keys of :func:`custdata.storage.records.customer_keys`
  (``merged_into`` among them, so that the records merged into a customer are found by index);
- ``orders (id, version, customer_id, placed_us, updated_us, ext_platform, ext_id, doc, status, currency,
  total_minor, total, return_count)``, external reference unique: the last five copy what analytics reads from
  each order (see :data:`ORDER_FIGURES`), so that aggregating orders needs no JSON; in SQLite they are also
  indexed by customer and currency;
- ``communications (id, version, customer_id, order_id, created_us, updated_us, idempotency_key, doc)``,
  idempotency key unique;
- ``activity (id, customer_id, anonymous_id, occurred_us, doc)``.

Every ``customer_id`` references ``customers``; deleting a customer who still has orders, communication or
activity fails, while the search keys go with the customer. Times are microseconds since the epoch (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

import attrs

from custdata._errors import ValidationError
from custdata.domain import Customer, Order
from custdata.domain.money import currency_exponent
from custdata.storage.records import ORDERS, Table, customer_keys, document, load_documents
from custdata.storage.sql.schema import Migration, Schema
from custdata.storage.sql.session import SqlSession


def insert_sql(table: Table[Any]) -> str:
    """The INSERT template of ``table``: id, version (when kept), the indexed columns, the document."""
    names = ["id", *(["version"] if table.versioned else []), *table.columns, "doc"]
    slots = ", ".join(["?"] * (len(names) - 1) + ["{doc_in}"])
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({slots})"


def update_sql(table: Table[Any]) -> str:
    """The UPDATE template of ``table``; parameters as for insert without the id, then the id and old version."""
    sets = [*(["version = ?"] if table.versioned else []), *(f"{c} = ?" for c in table.columns), "doc = {doc_in}"]
    check = " AND version = ?" if table.versioned else ""
    return f"UPDATE {table.name} SET {', '.join(sets)} WHERE id = ?{check}"


INSERT_KEY = "INSERT INTO customer_keys (field, value, customer_id) VALUES (?, ?, ?)"


def key_rows(customers: Iterable[Customer]) -> list[tuple[str, str, str]]:
    """The ``customer_keys`` rows of these customers."""
    return [(field, value, str(c.id)) for c in customers for field, value in customer_keys(c)]


def reindex_customers(session: SqlSession, batch: int = 1000) -> None:
    """Rebuild every customer's search keys from the documents (a migration step, also after key changes)."""
    render = session.dialect.render
    session.execute(render("DELETE FROM customer_keys"))
    last = ""
    while True:
        rows = session.fetch_all(
            render("SELECT id, {doc_out} FROM customers WHERE id > ? ORDER BY id LIMIT ?"), (last, batch)
        )
        if not rows:
            return
        session.execute_many(render(INSERT_KEY), key_rows(load_documents(Customer, [r[1] for r in rows])))
        last = rows[-1][0]


#: The order columns written after those of :data:`custdata.storage.records.ORDERS`, always equal to the
#: document's: ``status`` (the status's value), ``currency``, ``total_minor`` (the total in the currency's minor
#: unit, cents say, or NULL when that is not a whole number below :data:`MINOR_LIMIT` in size), ``total`` (the
#: exact total: ``numeric`` in PostgreSQL, decimal text in SQLite) and ``return_count`` (how many returns).
ORDER_FIGURES = ("status", "currency", "total_minor", "total", "return_count")

#: ``total_minor`` stays below this in size, so SQLite can add nine million of them without overflow.
MINOR_LIMIT = 10**12


@lru_cache(maxsize=512)
def minor_exponent(currency: str) -> int | None:
    """The number of decimal places of ``currency``'s minor unit; None when ISO 4217 gives none."""
    try:
        return currency_exponent(currency)
    except ValidationError:
        return None


def minor_units(amount: Decimal, currency: str) -> int | None:
    """``amount`` in ``currency``'s minor unit when that is a whole number below :data:`MINOR_LIMIT` in size."""
    exponent = minor_exponent(currency)
    if exponent is None or not amount.is_finite() or amount.adjusted() >= 12:
        return None
    scaled = amount.scaleb(exponent)
    units = int(scaled)
    return units if units == scaled and -MINOR_LIMIT < units < MINOR_LIMIT else None


def order_figures(order: Order) -> tuple[Any, ...]:
    """The :data:`ORDER_FIGURES` of ``order``, as parameters (the total as text, which both dialects take)."""
    total = order.total.amount
    return (order.status.value, order.currency, minor_units(total, order.currency), str(total), len(order.returns))


def _order_row(order: Order) -> tuple[Any, ...]:
    return (*ORDERS.values(order), *order_figures(order))


#: How the SQL stores map orders onto ``orders``: the columns of every store, then :data:`ORDER_FIGURES`.
SQL_ORDERS: Table[Order] = attrs.evolve(ORDERS, columns=(*ORDERS.columns, *ORDER_FIGURES), values=_order_row)

_SET_FIGURES = f"UPDATE orders SET {', '.join(f'{c} = ?' for c in ORDER_FIGURES)} WHERE id = ?"


# The fields of ORDER_FIGURES read out of the document in SQL: status, currency, total amount (its text), returns.
_FIGURE_FIELDS = {
    "sqlite": (
        "json_extract(doc, '$.status'), json_extract(doc, '$.currency'), json_extract(doc, '$.total.amount'), "
        "coalesce(json_array_length(doc, '$.returns'), 0)"
    ),
    "postgresql": (
        "doc ->> 'status', doc ->> 'currency', doc -> 'total' ->> 'amount', "
        "coalesce(jsonb_array_length(doc -> 'returns'), 0)"
    ),
}


def fill_order_figures(session: SqlSession, batch: int = 5000) -> None:
    """Write every order's :data:`ORDER_FIGURES` from its document (the migration step that adds them).

    SQLite and PostgreSQL pick the fields out of the documents themselves, which is several times faster than
    loading the orders; other dialects load them.
    """
    render = session.dialect.render
    fields = _FIGURE_FIELDS.get(session.dialect.name)
    last = ""
    while True:
        rows = session.fetch_all(
            render(f"SELECT id, {fields or '{doc_out}'} FROM orders WHERE id > ? ORDER BY id LIMIT ?"), (last, batch)
        )
        if not rows:
            return
        if fields is None:
            values = [(*order_figures(o), str(o.id)) for o in load_documents(Order, [r[1] for r in rows])]
        else:
            values = [
                (status, currency, minor_units(Decimal(total), currency), total, int(returns), key)
                for key, status, currency, total, returns in rows
            ]
        session.execute_many(render(_SET_FIGURES), values)
        last = rows[-1][0]


def index_order_figures(session: SqlSession) -> None:
    """In SQLite, index :data:`ORDER_FIGURES` by customer and currency (a migration step).

    SQLite groups orders by customer and currency by reading this index in order, without sorting and without
    reading the documents; PostgreSQL hashes the groups instead, so it does without the index and its cost on
    every write.
    """
    if session.dialect.name == "sqlite":
        session.execute(
            "CREATE INDEX orders_figures ON orders (customer_id, currency, status, placed_us, total_minor, total)"
        )


def strip_undone_merges(session: SqlSession, batch: int = 500) -> None:
    """Rewrite the merge records of undone merges that still hold whole snapshots of the customers (earlier
    versions kept them) the way undo now writes them: ids, creation times and guest flags only (a migration step).
    """
    from custdata.domain import ActivityEvent
    from custdata.storage.merges import MERGE_EVENT, strip_undone_merge

    render = session.dialect.render
    select = render("SELECT id, {doc_out} FROM activity WHERE id > ? AND {doc_out} LIKE ? ORDER BY id LIMIT ?")
    update = render("UPDATE activity SET doc = {doc_in} WHERE id = ?")
    last = ""
    while True:
        rows = session.fetch_all(select, (last, f"%{MERGE_EVENT}%", batch))
        if not rows:
            return
        changed = []
        for event in load_documents(ActivityEvent, [r[1] for r in rows]):
            stripped = strip_undone_merge(event)
            if stripped is not None:
                changed.append((document(stripped), str(stripped.id)))
        if changed:
            session.execute_many(update, changed)
        last = rows[-1][0]


CORE = Schema(
    "custdata",
    (
        Migration(
            1,
            "customers, orders, communication and activity events",
            (
                """CREATE TABLE customers (
                    id {key} PRIMARY KEY,
                    version {bigint} NOT NULL,
                    created_us {bigint} NOT NULL,
                    updated_us {bigint} NOT NULL,
                    doc {doc} NOT NULL)""",
                "CREATE INDEX customers_created ON customers (created_us, id)",
                "CREATE INDEX customers_updated ON customers (updated_us, id)",
                """CREATE TABLE orders (
                    id {key} PRIMARY KEY,
                    version {bigint} NOT NULL,
                    customer_id {key} NOT NULL REFERENCES customers (id),
                    placed_us {bigint} NOT NULL,
                    updated_us {bigint} NOT NULL,
                    ext_platform {key},
                    ext_id {key},
                    doc {doc} NOT NULL)""",
                "CREATE INDEX orders_customer ON orders (customer_id, placed_us, id)",
                "CREATE UNIQUE INDEX orders_external_ref ON orders (ext_platform, ext_id)",
                """CREATE TABLE communications (
                    id {key} PRIMARY KEY,
                    version {bigint} NOT NULL,
                    customer_id {key} NOT NULL REFERENCES customers (id),
                    order_id {key},
                    created_us {bigint} NOT NULL,
                    updated_us {bigint} NOT NULL,
                    idempotency_key {key},
                    doc {doc} NOT NULL)""",
                "CREATE INDEX communications_customer ON communications (customer_id, created_us, id)",
                "CREATE INDEX communications_order ON communications (order_id)",
                "CREATE UNIQUE INDEX communications_idempotency ON communications (idempotency_key)",
                """CREATE TABLE activity (
                    id {key} PRIMARY KEY,
                    customer_id {key} REFERENCES customers (id),
                    anonymous_id {key},
                    occurred_us {bigint} NOT NULL,
                    doc {doc} NOT NULL)""",
                "CREATE INDEX activity_customer ON activity (customer_id, occurred_us, id)",
                "CREATE INDEX activity_anonymous ON activity (anonymous_id)",
            ),
        ),
        Migration(
            2,
            "customer search keys: emails, phones, names, tags, groups, countries",
            (
                """CREATE TABLE customer_keys (
                    field {key} NOT NULL,
                    value {key} NOT NULL,
                    customer_id {key} NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
                    PRIMARY KEY (field, value, customer_id)){without_rowid}""",
                "CREATE INDEX customer_keys_customer ON customer_keys (customer_id)",
                reindex_customers,
            ),
        ),
        Migration(
            3,
            "order status, currency, total and number of returns in columns, for aggregation without JSON",
            (
                "ALTER TABLE orders ADD COLUMN status {key}",
                "ALTER TABLE orders ADD COLUMN currency {key}",
                "ALTER TABLE orders ADD COLUMN total_minor {bigint}",
                "ALTER TABLE orders ADD COLUMN total {amount}",
                "ALTER TABLE orders ADD COLUMN return_count {bigint}",
                fill_order_figures,
                "CREATE INDEX orders_returned ON orders (id) WHERE return_count > 0",
                index_order_figures,
            ),
        ),
        Migration(
            4,
            "search key for merged records; undone merge records keep no snapshots of the customers",
            (reindex_customers, strip_undone_merges),
        ),
        Migration(
            5,
            "suppression list: digests of the email addresses of erased customers",
            ("CREATE TABLE suppressions (digest {key} PRIMARY KEY){without_rowid}",),
        ),
    ),
)
