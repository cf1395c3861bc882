"""The in-memory store passes the store contract."""

from __future__ import annotations

from custdata.storage import open_store
from custdata.storage.memory import MemoryStore
from custdata.testing.store_contract import StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> MemoryStore:
        store = open_store("memory://")
        assert isinstance(store, MemoryStore)
        return store
