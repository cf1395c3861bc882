"""The async stores pass the async store contract: memory, SQLite files and PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import pytest
from required_extras import require

from custdata.aio import AsyncStore, open_async_store
from custdata.testing.async_store_contract import AsyncStoreContract


class TestAsyncMemoryStore(AsyncStoreContract):
    async def make_store(self) -> AsyncStore:
        return await open_async_store("memory://")


class TestAsyncSQLiteStore(AsyncStoreContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path
        self.names = itertools.count()

    async def make_store(self) -> AsyncStore:
        return await open_async_store(f"sqlite:///{self.folder / f'store{next(self.names)}.db'}")


class TestAsyncPostgresStore(AsyncStoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, pg_url: str) -> None:
        require("greenlet", "async")
        self.pg_url = pg_url

    async def make_store(self) -> AsyncStore:
        from custdata.aio.postgres import AsyncPostgresStore

        return await AsyncPostgresStore.open(self.pg_url, schema=f"t_{uuid.uuid4().hex[:16]}", timeout=20)
