"""The whole-system state machine (``trust_machine``) on the memory, SQLite and PostgreSQL stores."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

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


def _postgres_tables(pg_url: str, data_dir: Path | None = None) -> Any:
    """Every row of every table of the store's schema as PostgreSQL renders it, and, given the server's data
    folder, the bytes of every file of the schema's tables, indexes and TOAST tables after a checkpoint."""

    def dump(store: Any) -> bytes:
        import psycopg
        from psycopg import sql

        with psycopg.connect(pg_url, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')",
                (store.schema,),
            ).fetchall()
            texts: list[str] = []
            for (table,) in tables:
                query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                    sql.Identifier(store.schema), sql.Identifier(table)
                )
                texts.extend(row[0] for row in conn.execute(query).fetchall())
            files = b""
            if data_dir is not None:
                conn.execute("CHECKPOINT")
                paths = conn.execute(
                    """SELECT pg_relation_filepath(c.oid) FROM pg_class c
                       WHERE c.relnamespace = to_regnamespace(%(s)s)
                          OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = to_regnamespace(%(s)s))
                          OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t
                                       ON t.reltoastrelid = i.indrelid WHERE t.relnamespace = to_regnamespace(%(s)s))""",
                    {"s": store.schema},
                ).fetchall()
                files = b"".join(
                    file.read_bytes() for (path,) in paths if path is not None for file in data_dir.glob(f"{path}*")
                )
        return "\n".join(texts).encode() + files

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


def test_postgres_store(pg_server: Any, pg_url: str) -> None:
    from custdata.storage.postgres import PostgresStore

    class Machine(TrustMachine):
        @staticmethod
        def make_store(folder: Path) -> Store:
            return PostgresStore(pg_url, schema=f"t_{uuid.uuid4().hex[:16]}")

        dump = staticmethod(_postgres_tables(pg_url, pg_server.data_dir))

    Machine.TestCase.settings = settings(SETTINGS, max_examples=30)
    Machine.TestCase().runTest()
