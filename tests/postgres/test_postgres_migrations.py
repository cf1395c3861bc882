"""Schema versions on PostgreSQL: migrating an older database with data in it, refusing a newer one, one migrator
at a time, and schemas kept apart."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from custdata import EmailAddress, OperationalError, ProgrammingError
from custdata.storage import CustomerQuery
from custdata.storage.postgres import PostgresSession, PostgresStore
from custdata.storage.records import document, micros
from custdata.storage.sql import CORE, Migration, Schema, migrate, schema_version
from custdata.testing.store_contract import make_customer

NewStore = Callable[..., PostgresStore]
CORE_VERSIONS = [("custdata", version) for version in range(1, CORE.latest + 1)]


@contextmanager
def raw_session(pg_url: str, schema: str) -> Iterator[PostgresSession]:
    """A session on a plain connection (no store, so no automatic migration) with ``schema`` created and current."""
    import psycopg
    from psycopg import sql

    conn = psycopg.connect(pg_url, autocommit=True)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute("SELECT set_config('search_path', %s, false)", (sql.Identifier(schema).as_string(conn),))
    session = PostgresSession(conn, lambda c: c.close())
    try:
        yield session
    finally:
        session.close()


def _ledger(session: PostgresSession) -> list[tuple[Any, ...]]:
    return session.fetch_all("SELECT schema_name, version FROM custdata_migrations ORDER BY schema_name, version")


def test_an_older_schema_with_data_is_migrated_on_open(pg_url: str) -> None:
    schema = "migrate_from_v1"
    customers = [
        make_customer(email=EmailAddress(f"Old.Customer{i}@Example.com"), tags=frozenset({"legacy"}))
        for i in range(1500)
    ]
    with raw_session(pg_url, schema) as session:
        assert migrate(session, CORE, target=1) == [1]
        assert schema_version(session, CORE.name) == 1
        session.execute_many(
            "INSERT INTO customers (id, version, created_us, updated_us, doc) VALUES (%s, %s, %s, %s, %s::jsonb)",
            [(c.id, c.version, micros(c.created_at), micros(c.updated_at), document(c)) for c in customers],
        )
        session.commit()

    store = PostgresStore(pg_url, schema=schema)
    try:
        with store.unit_of_work() as uow:
            assert _ledger(uow.session) == [*CORE_VERSIONS, ("custdata_outbox", 1)]  # type: ignore[arg-type]
            assert uow.customers.count() == 1500
            assert uow.customers.find_by_email("old.customer7@example.com") == [customers[7]]
            assert uow.customers.count(CustomerQuery(tag="legacy")) == 1500
            assert uow.customers.get(customers[-1].id) == customers[-1]
        assert store.migrate() == []
    finally:
        store.close()


def test_a_database_newer_than_this_release_is_refused(pg_url: str, new_store: NewStore) -> None:
    store = new_store()
    with store.unit_of_work() as uow:
        uow.session.execute(
            "INSERT INTO custdata_migrations (schema_name, version, description, applied_us) VALUES (%s, %s, %s, %s)",
            ("custdata", CORE.latest + 1, "from the future", 0),
        )
        uow.commit()
    with pytest.raises(OperationalError, match="newer than this release"):
        PostgresStore(pg_url, schema=store.schema)


def test_stores_opening_a_new_schema_at_once_migrate_it_once(pg_url: str) -> None:
    schema = "opened_at_once"
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_one() -> None:
        try:
            barrier.wait(timeout=30)
            stores.append(PostgresStore(pg_url, schema=schema, pool_max_size=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert not errors, errors
        with stores[0].unit_of_work() as uow:
            assert _ledger(uow.session) == [*CORE_VERSIONS, ("custdata_outbox", 1)]  # type: ignore[arg-type]
    finally:
        for store in stores:
            store.close()


def test_components_migrate_their_own_tables_with_their_own_versions(new_store: NewStore) -> None:
    store = new_store()
    outbox = Schema(
        "widgets",
        (
            Migration(1, "messages", ("CREATE TABLE widgets (id {key} PRIMARY KEY, doc {doc} NOT NULL)",)),
            Migration(2, "sent flag", ("ALTER TABLE widgets ADD COLUMN sent BOOLEAN NOT NULL DEFAULT false",)),
        ),
    )
    assert store.migrate(outbox, target=1) == [1]
    assert store.migrate(outbox) == [2]
    assert store.migrate(outbox) == []
    with store.unit_of_work() as uow:
        uow.session.execute("INSERT INTO widgets (id, doc) VALUES (%s, %s::jsonb)", ("m1", '{"to": "x"}'))
        uow.commit()
        assert _ledger(uow.session) == [  # type: ignore[arg-type]
            ("custdata", 1),
            ("custdata", 2),
            ("custdata", 3),
            ("custdata", 4),
            ("custdata", 5),
            ("custdata_outbox", 1),
            ("widgets", 1),
            ("widgets", 2),
        ]


def test_a_failing_migration_leaves_the_previous_version_intact(new_store: NewStore) -> None:
    store = new_store()
    broken = Schema(
        "broken",
        (
            Migration(1, "fine", ("CREATE TABLE broken_one (id {key} PRIMARY KEY)",)),
            Migration(2, "fails halfway", ("CREATE TABLE broken_two (id {key})", "CREATE TABLE broken_one (x INT)")),
        ),
    )
    with pytest.raises(ProgrammingError, match="42P07"):
        store.migrate(broken)
    with store.unit_of_work() as uow:
        assert schema_version(uow.session, "broken") == 1
        tables = {
            r[0]
            for r in uow.session.fetch_all("SELECT tablename FROM pg_tables WHERE schemaname = %s", (store.schema,))
        }
    assert "broken_one" in tables and "broken_two" not in tables


def test_schemas_with_awkward_names_are_quoted_and_kept_apart(new_store: NewStore) -> None:
    odd = new_store(schema='Shop "EU"; DROP TABLE customers; --')
    plain = new_store()
    customer = make_customer()
    with odd.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    with odd.unit_of_work() as uow:
        assert uow.customers.get(customer.id) == customer
        row = uow.session.fetch_one("SELECT current_schema()")
        assert row == ('Shop "EU"; DROP TABLE customers; --',)
    with plain.unit_of_work() as uow:
        assert uow.customers.count() == 0
