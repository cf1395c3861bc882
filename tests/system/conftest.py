"""The state machine module on sys.path (importlib mode), and the stores the attack tests run on; the PostgreSQL
server comes from ``tests/conftest.py``."""

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
    """A fresh store of each kind, for the attack tests: memory, a SQLite file, a PostgreSQL schema of its own."""
    if request.param == "memory":
        with open_store("memory://") as opened:
            yield opened
    elif request.param == "sqlite":
        with SQLiteStore(tmp_path / "shop.db") as opened:
            yield opened
    else:
        from custdata.storage.postgres import PostgresStore

        url = request.getfixturevalue("pg_url")
        with PostgresStore(url, schema=f"t_{uuid.uuid4().hex[:12]}", pool_max_size=4) as opened:
            yield opened
