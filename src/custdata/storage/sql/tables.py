"""The core tables: one row per entity with its indexed columns and its JSON document, plus search keys.

Layout (``{key}`` is text in code point order, ``{bigint}`` an integer, ``{doc}`` the document type):

- ``customers (id, version, created_us, updated_us, doc)``;
- ``customer_keys (field, value, customer_id)``: the search keys of :func:`custdata.storage.records.customer_keys`;
- ``orders (id, version, customer_id, placed_us, updated_us, ext_platform, ext_id, doc)``, external reference
  unique;
- ``communications (id, version, customer_id, order_id, created_us, updated_us, idempotency_key, doc)``,
  idempotency key unique;
- ``activity (id, customer_id, anonymous_id, occurred_us, doc)``.

Every ``customer_id`` references ``customers``; deleting a customer who still has orders, communication or
activity fails, while the search keys go with the customer. Times are microseconds since the epoch (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from custdata.domain import Customer
from custdata.storage.records import Table, customer_keys, load_documents
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
    ),
)
