"""The whole-system state machine (``trust_machine``) on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from trust_machine import TrustMachine

from custdata.storage import Store, open_store

SETTINGS = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _sqlite_files(store: Any) -> bytes:
    folder = Path(store.path).parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob("shop.db*")))


def _postgres_tables(pg_url: str) -> Any:
    def dump(store: Any) -> bytes:
        import psycopg
        from psycopg import sql

        with psycopg.connect(pg_url, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')",
                (store.schema,),
            ).fetchall()
            texts = []
            for (table,) in tables:
                query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                    sql.Identifier(store.schema), sql.Identifier(table)
                )
                texts.extend(row[0] for row in conn.execute(query).fetchall())
        return "\n".join(texts).encode()

    return dump


def test_memory_store() -> None:
    class Machine(TrustMachine):
        @staticmethod
        def make_store(folder: Path) -> Store:
            return open_store("memory://")

    Machine.TestCase.settings = SETTINGS
    Machine.TestCase().runTest()


def test_sqlite_store() -> None:
    class Machine(TrustMachine):
        @staticmethod
        def make_store(folder: Path) -> Store:
            return open_store(f"sqlite:///{folder / 'shop.db'}")

        dump = staticmethod(_sqlite_files)

    Machine.TestCase.settings = SETTINGS
    Machine.TestCase().runTest()


@pytest.mark.usefixtures("pg_server")
def test_postgres_store(pg_url: str) -> None:
    from custdata.storage.postgres import PostgresStore

    class Machine(TrustMachine):
        @staticmethod
        def make_store(folder: Path) -> Store:
            return PostgresStore(pg_url, schema=f"t_{uuid.uuid4().hex[:16]}")

        dump = staticmethod(_postgres_tables(pg_url))

    Machine.TestCase.settings = settings(SETTINGS, max_examples=30)
    Machine.TestCase().runTest()
