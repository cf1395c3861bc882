"""A PostgreSQL server for the outbox tests (skipped locally when the server programs are missing, failed in CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from custdata.storage._pgserver import PostgresServer, find_bindir


@pytest.fixture(scope="session")
def outbox_pg_url() -> Iterator[str]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("psycopg is not installed", pytrace=False)
        pytest.skip("psycopg is not installed (pip install 'custdata[postgres]')")
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server programs not found", pytrace=False)
        pytest.skip("PostgreSQL server programs not found")
    server = PostgresServer.start(bindir=bindir)
    try:
        yield server.url("postgres")
    finally:
        server.stop()
