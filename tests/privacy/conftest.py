"""Shared builders on sys.path (importlib mode), and stores of every kind; the PostgreSQL server comes from
``tests/conftest.py``."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custdata.storage import Store, open_store
from custdata.storage.sqlite import SQLiteStore

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Any]]:
    """A fresh store of each kind, with the PostgreSQL server (for its files) when there is one."""
    if request.param == "memory":
        with open_store("memory://") as store:
            yield store, None
    elif request.param == "sqlite":
        with SQLiteStore(tmp_path / "shop.db") as store:
            yield store, None
    else:
        from custdata.storage.postgres import PostgresStore

        server = request.getfixturevalue("pg_server")
        with PostgresStore(server.url("postgres"), schema=f"e_{uuid.uuid4().hex[:12]}", pool_max_size=4) as store:
            yield store, server
