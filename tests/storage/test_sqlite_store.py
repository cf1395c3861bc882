"""SQLite specifics: URLs, connection settings, migrations, error mapping, indexes and erasure of deleted data."""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from custdata import (
    ConflictError,
    EmailAddress,
    ExternalRef,
    IntegrityError,
    MissingExtraError,
    OperationalError,
    ProgrammingError,
    StoreError,
    ValidationError,
)
from custdata.storage import CustomerQuery, open_store
from custdata.storage.records import CUSTOMERS, document
from custdata.storage.sql import CORE, SQLITE, Migration, Schema, schema_version
from custdata.storage.sql.tables import insert_sql
from custdata.storage.sqlite import SQLiteStore, translate
from custdata.testing.store_contract import make_customer, make_order


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "shop.db") as opened:
        yield opened


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


# -- URLs ---------------------------------------------------------------------------------------------------


def test_relative_absolute_and_temporary_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///relative.db") as relative:
        assert isinstance(relative, SQLiteStore) and relative.path == Path("relative.db")
    assert (tmp_path / "relative.db").exists()
    absolute = tmp_path / "sub dir" / "absolute.db"
    absolute.parent.mkdir()
    with open_store(f"sqlite:///{absolute.as_posix().replace(' ', '%20')}") as opened:
        assert isinstance(opened, SQLiteStore) and opened.path == absolute
    assert absolute.exists()
    for url in ("sqlite://", "sqlite:///:memory:"):
        temporary = open_store(url)
        assert isinstance(temporary, SQLiteStore) and temporary.url == "sqlite://"
        folder = temporary.path.parent
        assert folder.exists()
        temporary.close()
        assert not folder.exists()


def test_url_options(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/a.db?timeout=0.5&synchronous=full") as opened:
        assert isinstance(opened, SQLiteStore)
        session = opened._open_session()
        try:
            assert session.fetch_one("PRAGMA busy_timeout") == (500,)
            assert session.fetch_one("PRAGMA synchronous") == (2,)
        finally:
            session.close()
    for url in (f"sqlite:///{tmp_path}/a.db?cache=big", "sqlite://host/a.db", f"sqlite:///{tmp_path}/a.db?timeout=x"):
        with pytest.raises(ProgrammingError):
            open_store(url)
    with pytest.raises(ProgrammingError):
        open_store(f"sqlite:///{tmp_path}/a.db?synchronous=off")


def test_unknown_schemes_and_non_strings_are_refused() -> None:
    for url in ("mysql://x/y", "shop.db", ""):
        with pytest.raises(ProgrammingError, match="unknown store URL scheme"):
            open_store(url)
    with pytest.raises(ProgrammingError):
        open_store(42)  # type: ignore[arg-type]
    with pytest.raises(ProgrammingError):
        open_store("memory://somewhere")


def test_a_missing_postgres_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "custdata.storage.postgres", raising=False)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'custdata\[postgres\]'") as caught:
        open_store("postgresql://user:secret@127.0.0.1:1/db")
    assert (caught.value.module, caught.value.extra) == ("psycopg", "postgres")


# -- connection settings -------------------------------------------------------------------------------------


def test_connections_use_wal_foreign_keys_and_secure_delete(store: SQLiteStore) -> None:
    assert pragma(store.path, "journal_mode") == "wal"
    session = store._open_session()
    try:
        assert session.fetch_one("PRAGMA foreign_keys") == (1,)
        assert session.fetch_one("PRAGMA secure_delete") == (1,)
        assert session.fetch_one("PRAGMA busy_timeout") == (10_000,)
    finally:
        session.close()
    assert store.integrity_check() == ["ok"]


def test_deleted_personal_data_leaves_no_trace_in_the_file(store: SQLiteStore) -> None:
    marker = "zebulon.quixotic"
    customer = make_customer(email=EmailAddress(f"{marker}@example.com"), family_name="Quixotic-Zebulon")
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.customers.add_many(make_customer() for _ in range(50))
        uow.commit()
    store.checkpoint()
    assert marker.encode() in store.path.read_bytes()
    with store.unit_of_work() as uow:
        uow.customers.delete(customer.id)
        uow.commit()
    store.checkpoint()
    for file in store.path.parent.glob("shop.db*"):
        content = file.read_bytes()
        assert marker.encode() not in content and b"Quixotic-Zebulon" not in content, file.name


def test_using_a_closed_store_is_a_programming_error(store: SQLiteStore) -> None:
    store.close()
    store.close()
    with pytest.raises(ProgrammingError):
        store.unit_of_work()
    with pytest.raises(ProgrammingError):
        store.checkpoint()


# -- migrations ---------------------------------------------------------------------------------------------


def write_version_1_file(path: Path, customers: list) -> None:  # type: ignore[type-arg]
    """A file as the release with schema version 1 left it: no search keys table, customers in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    for step in CORE.migrations[0].steps:
        assert isinstance(step, str)
        conn.execute(SQLITE.render(step))
    conn.execute(
        "CREATE TABLE custdata_migrations (schema_name TEXT NOT NULL, version INTEGER NOT NULL, "
        "description TEXT NOT NULL, applied_us INTEGER NOT NULL, PRIMARY KEY (schema_name, version))"
    )
    conn.execute("INSERT INTO custdata_migrations VALUES ('custdata', 1, ?, 0)", (CORE.migrations[0].description,))
    for c in customers:
        conn.execute(
            SQLITE.render(insert_sql(CUSTOMERS)), (c.id, c.version, *CUSTOMERS.values(c), document(c, c.version))
        )
    conn.execute("COMMIT")
    conn.close()


def test_an_older_schema_is_migrated_on_open_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    customers = [make_customer(tags=frozenset({"vip"})) for _ in range(1500)]
    customers.append(make_customer(email=EmailAddress("Old.Timer@Example.com"), given_name="Methuselah"))
    write_version_1_file(path, customers)
    with SQLiteStore(path) as store:
        session = store._open_session()
        try:
            assert schema_version(session, "custdata") == CORE.latest == 5
            ledger = session.fetch_all(
                "SELECT version, description FROM custdata_migrations WHERE schema_name = 'custdata' ORDER BY version"
            )
        finally:
            session.close()
        assert [v for v, _ in ledger] == [1, 2, 3, 4, 5]
        with store.unit_of_work() as uow:
            assert uow.customers.count() == 1501
            assert uow.customers.find_by_email("old.timer@example.com") == [customers[-1]]
            assert uow.customers.count(CustomerQuery(tag="vip")) == 1500
            assert uow.customers.search(CustomerQuery(name_prefix="meth")).items == (customers[-1],)
        assert store.migrate() == []
        assert store.integrity_check() == ["ok"]


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO custdata_migrations VALUES ('custdata', 99, 'from the future', 0)")
    with pytest.raises(OperationalError, match="newer than this release"):
        SQLiteStore(path)


def test_components_add_their_own_schemas(store: SQLiteStore) -> None:
    extra = Schema(
        "example.notes",
        (
            Migration(1, "notes", ("CREATE TABLE notes (id {key} PRIMARY KEY, body TEXT NOT NULL)",)),
            Migration(2, "note authors", ("ALTER TABLE notes ADD COLUMN author {key}",)),
        ),
    )
    assert store.migrate(extra, target=1) == [1]
    assert store.migrate(extra) == [2]
    assert store.migrate(extra) == []
    with store.unit_of_work() as uow:
        uow.session.execute("INSERT INTO notes (id, body, author) VALUES (?, ?, ?)", ("n1", "hello", "a"))
        uow.customers.add(make_customer())
        uow.commit()
    with store.unit_of_work() as uow:
        uow.session.execute("INSERT INTO notes (id, body) VALUES (?, ?)", ("n2", "rolled back"))
    with store.unit_of_work() as uow:
        assert uow.session.fetch_all("SELECT id FROM notes") == [("n1",)]
    with pytest.raises(ValueError, match="1, 2, 3"):
        Schema("bad", (Migration(2, "skips one", ()),))


def test_stores_opening_a_new_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            SQLiteStore(path).close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT schema_name, version FROM custdata_migrations ORDER BY schema_name, version")
        assert rows.fetchall() == [
            ("custdata", 1),
            ("custdata", 2),
            ("custdata", 3),
            ("custdata", 4),
            ("custdata", 5),
            ("custdata_outbox", 1),
        ]


# -- errors ---------------------------------------------------------------------------------------------------


def test_a_locked_database_is_an_operational_error_and_reads_go_on(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with SQLiteStore(path, timeout=0.2) as store:
        customer = make_customer()
        with store.unit_of_work() as uow:
            uow.customers.add(customer)
            uow.commit()
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with store.unit_of_work() as uow:
                assert uow.customers.get(customer.id) == customer
                with pytest.raises(OperationalError, match="locked"):
                    uow.customers.add(make_customer())
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        with store.unit_of_work() as uow:
            uow.customers.add(make_customer())
            uow.commit()


def test_files_that_cannot_be_opened_are_operational_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(OperationalError):
        SQLiteStore(junk)
    with pytest.raises(OperationalError):
        SQLiteStore(tmp_path / "missing" / "folder" / "x.db")


def test_values_sqlite_cannot_hold_are_validation_errors(store: SQLiteStore) -> None:
    customer = make_customer(given_name="lone \ud800 surrogate")
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError, match="surrogate"):
            uow.customers.add(customer)
        big = make_customer()
        big.version = 2**70
        with pytest.raises(ValidationError):
            uow.customers.add(big)


def test_every_sqlite_exception_becomes_a_custdata_error() -> None:
    cases = {
        sqlite3.IntegrityError("UNIQUE constraint failed: customers.id"): IntegrityError,
        sqlite3.OperationalError("database is locked"): OperationalError,
        sqlite3.OperationalError("disk I/O error"): OperationalError,
        sqlite3.DatabaseError("file is not a database"): OperationalError,
        sqlite3.ProgrammingError("Cannot operate on a closed database."): ProgrammingError,
        sqlite3.InterfaceError("bad parameter"): ProgrammingError,
        sqlite3.DataError("string or blob too big"): ValidationError,
        sqlite3.NotSupportedError("no"): OperationalError,
        sqlite3.Error("other"): OperationalError,
    }
    for raised, expected in cases.items():
        result = translate(raised)
        assert type(result) is expected, raised
        assert isinstance(result, StoreError | ValidationError)
    assert "already exists" in str(translate(sqlite3.IntegrityError("UNIQUE constraint failed: customers.id")))


def test_integrity_messages_name_the_rule_not_the_data(store: SQLiteStore) -> None:
    customer = make_customer(email=EmailAddress("private.person@example.com"))
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        with pytest.raises(IntegrityError) as duplicate:
            uow.customers.add(make_customer(id=customer.id, email=EmailAddress("private.person@example.com")))
        with pytest.raises(IntegrityError) as orphan:
            uow.orders.add(make_order("nobody"))
    for caught in (duplicate, orphan):
        assert "private" not in str(caught.value)


# -- indexes ----------------------------------------------------------------------------------------------------


def test_every_query_uses_an_index(store: SQLiteStore) -> None:
    statements: list[str] = []
    session = store._open_session()
    session.connection.set_trace_callback(statements.append)
    store._idle.append(session.connection)
    customer = make_customer(tags=frozenset({"t"}))
    with store.unit_of_work() as uow:
        assert uow.session.connection is session.connection  # type: ignore[attr-defined]
        uow.customers.add(customer)
        uow.orders.add(make_order(customer.id))
        uow.customers.find_by_email("ada@example.com")
        uow.customers.find_by_phone("+49 30 1234567")
        for query in (
            CustomerQuery(name_prefix="ad"),
            CustomerQuery(tag="t", group="g", country="DE"),
            CustomerQuery(created_from=customer.created_at, updated_to=customer.updated_at),
        ):
            uow.customers.search(query, limit=1)
            uow.customers.count(query)
        uow.orders.for_customer(customer.id, limit=1)
        uow.communications.for_customer(customer.id)
        uow.activity.count(customer_id=customer.id)
        uow.orders.find_by_external_ref(ExternalRef("shopify", "1"))
        uow.communications.find_by_idempotency_key("k")
        uow.customers.get_many([customer.id, "x"])
        uow.customers.update(customer)
        with pytest.raises(ConflictError):
            uow.customers.delete(customer.id, version=0)
    session.connection.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "sqlite_master" not in s]
    assert len(selects) >= 12
    with sqlite3.connect(store.path) as conn:
        for sql in selects:
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            if "count(*) FROM customers" in sql and "WHERE" not in sql:
                continue
            assert "SCAN" not in plan.replace("SCAN CONSTANT ROW", ""), f"{sql}\n  -> {plan}"
