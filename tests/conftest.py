"""Hypothesis profiles, and a real PostgreSQL server started once per session on 127.0.0.1 for every test that
asks for it (``pg_server``, ``pg_url``, ``new_store``).

When the server programs or psycopg are missing, PostgreSQL tests fail under CI (``$CI`` set) and skip elsewhere,
so PostgreSQL is never silently left untested in CI. The same rule holds for every optional library a test needs:
``required_extras.require`` imports it, failing under CI and skipping elsewhere when it is missing.

The server launcher and that helper live in ``tests/_support`` (development tooling, not part of the installed
package); this file puts that folder on ``sys.path`` (the tests run in importlib mode).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from hypothesis import HealthCheck, settings

SUPPORT = str(Path(__file__).resolve().parent / "_support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

from pg_test_server import PostgresServer, find_bindir  # noqa: E402

if TYPE_CHECKING:
    from custdata.storage.postgres import PostgresStore

settings.register_profile("default", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=False, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A throwaway server: initdb into a temporary folder as a non-root user, trust auth, fsync off."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'custdata[postgres]')")
    bindir = find_bindir()
    if bindir is None:
        _unavailable(
            "PostgreSQL server programs (initdb, pg_ctl, postgres) not found; run .ci/install-postgres "
            "or set CUSTDATA_PG_BINDIR"
        )
    server = PostgresServer.start(bindir=bindir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_url(pg_server: PostgresServer) -> str:
    """URL of the ``postgres`` database on the session's server."""
    return pg_server.url("postgres")


@pytest.fixture
def new_store(pg_url: str) -> Iterator[Callable[..., PostgresStore]]:
    """Open stores in fresh schemas of the session's server (``new_store(timeout=1)``); closed afterwards."""
    from custdata.storage.postgres import PostgresStore

    opened: list[PostgresStore] = []

    def make(**options: Any) -> PostgresStore:
        options.setdefault("schema", f"t_{uuid.uuid4().hex[:16]}")
        store = PostgresStore(pg_url, **options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
