"""The SQLite store passes the store contract, on a file and on ``sqlite://``."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.store_contract import StoreContract


class TestSQLiteFileStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path
        self.names = itertools.count()

    def make_store(self) -> SQLiteStore:
        return SQLiteStore(self.folder / f"store{next(self.names)}.db")

    def writer_stores(self, store: Store, count: int) -> list[Store]:
        # each writer gets its own store object on the same file, as separate processes would
        assert isinstance(store, SQLiteStore)
        return [SQLiteStore(store.path) for _ in range(count)]


class TestSQLiteTemporaryStore(StoreContract):
    def make_store(self) -> Store:
        return open_store("sqlite://")
