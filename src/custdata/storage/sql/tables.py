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

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs

from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Order
from custdata.storage.records import customer_keys, load_documents, micros
from custdata.storage.sql.schema import Migration, Schema
from custdata.storage.sql.session import SqlSession

E = TypeVar("E", Customer, Order, CommunicationEvent, ActivityEvent)


@attrs.frozen
class Table(Generic[E]):
    """How one entity kind maps onto its table: the indexed columns between ``id``/``version`` and ``doc``."""

    kind: str
    name: str
    cls: type[E]
    columns: tuple[str, ...]
    values: Callable[[E], tuple[Any, ...]]
    versioned: bool = True
    time_column: str | None = None

    def insert_sql(self) -> str:
        names = ["id", *(["version"] if self.versioned else []), *self.columns, "doc"]
        slots = ", ".join(["?"] * (len(names) - 1) + ["{doc_in}"])
        return f"INSERT INTO {self.name} ({', '.join(names)}) VALUES ({slots})"

    def update_sql(self) -> str:
        sets = [*(["version = ?"] if self.versioned else []), *(f"{c} = ?" for c in self.columns), "doc = {doc_in}"]
        check = " AND version = ?" if self.versioned else ""
        return f"UPDATE {self.name} SET {', '.join(sets)} WHERE id = ?{check}"


def _customer(c: Customer) -> tuple[Any, ...]:
    return (micros(c.created_at), micros(c.updated_at))


def _order(o: Order) -> tuple[Any, ...]:
    ref = o.external_ref
    return (
        str(o.customer_id),
        micros(o.placed_at),
        micros(o.updated_at),
        None if ref is None else ref.platform,
        None if ref is None else ref.id,
    )


def _communication(e: CommunicationEvent) -> tuple[Any, ...]:
    return (
        str(e.customer_id),
        None if e.order_id is None else str(e.order_id),
        micros(e.created_at),
        micros(e.updated_at),
        e.idempotency_key,
    )


def _activity(e: ActivityEvent) -> tuple[Any, ...]:
    return (None if e.customer_id is None else str(e.customer_id), e.anonymous_id, micros(e.occurred_at))


CUSTOMERS: Table[Customer] = Table("customer", "customers", Customer, ("created_us", "updated_us"), _customer)
ORDERS: Table[Order] = Table(
    "order",
    "orders",
    Order,
    ("customer_id", "placed_us", "updated_us", "ext_platform", "ext_id"),
    _order,
    time_column="placed_us",
)
COMMUNICATIONS: Table[CommunicationEvent] = Table(
    "communication event",
    "communications",
    CommunicationEvent,
    ("customer_id", "order_id", "created_us", "updated_us", "idempotency_key"),
    _communication,
    time_column="created_us",
)
ACTIVITY: Table[ActivityEvent] = Table(
    "activity event",
    "activity",
    ActivityEvent,
    ("customer_id", "anonymous_id", "occurred_us"),
    _activity,
    versioned=False,
    time_column="occurred_us",
)

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
