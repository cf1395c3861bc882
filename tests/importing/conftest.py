"""The stores the import tests run on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custdata.storage import Store, open_store


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store of each kind (PostgreSQL from the server of ``tests/conftest.py``)."""
    if request.param == "postgres":
        yield request.getfixturevalue("new_store")()
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    with open_store(url) as opened:
        yield opened
