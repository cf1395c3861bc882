"""Every built-in store passes the outbox contract: memory, SQLite (file and temporary) and PostgreSQL."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.outbox_contract import OutboxContract

_names = itertools.count(1)


class TestMemoryOutbox(OutboxContract):
    def make_store(self) -> Store:
        return open_store("memory://")


class TestSQLiteFileOutbox(OutboxContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_store(self) -> Store:
        return SQLiteStore(self.folder / f"outbox{next(_names)}.db")

    def writer_stores(self, store: Store, count: int) -> list[Store]:
        assert isinstance(store, SQLiteStore)
        return [SQLiteStore(store.path) for _ in range(count)]


class TestSQLiteTemporaryOutbox(OutboxContract):
    def make_store(self) -> Store:
        return open_store("sqlite://")


class TestPostgresOutbox(OutboxContract):
    @pytest.fixture(autouse=True)
    def _server(self, pg_url: str) -> None:
        self.url = pg_url

    def make_store(self) -> Store:
        from custdata.storage.postgres import PostgresStore

        return PostgresStore(self.url, schema=f"outbox_{next(_names)}", pool_max_size=4)

    def writer_stores(self, store: Store, count: int) -> list[Store]:
        from custdata.storage.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        return [PostgresStore(self.url, schema=store.schema, pool_max_size=2) for _ in range(count)]
