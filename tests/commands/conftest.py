"""Stores of every kind for the command tests, and the shared payload strategies on sys.path (importlib mode);
the PostgreSQL server comes from ``tests/conftest.py``."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store of each kind."""
    if request.param == "memory":
        with open_store("memory://") as memory:
            yield memory
    elif request.param == "sqlite":
        with SQLiteStore(tmp_path / "shop.db") as sqlite:
            yield sqlite
    else:
        from custdata.storage.postgres import PostgresStore

        url = request.getfixturevalue("pg_url")
        with PostgresStore(url, schema=f"c_{uuid.uuid4().hex[:12]}", pool_max_size=4) as postgres:
            yield postgres
