"""Shared helpers on sys.path (importlib mode), a recording SMTP server, and the PostgreSQL server fixtures of
``tests/postgres/conftest.py`` (loaded from that file, so PostgreSQL fails in CI rather than skips when missing)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from outbox_smtp import FreePortController, Recorder  # noqa: E402


def _postgres_fixtures() -> Any:
    name = "custdata_tests_postgres_fixtures"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "postgres" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


pg_server = _postgres_fixtures().pg_server
pg_url = _postgres_fixtures().pg_url


@pytest.fixture
def smtp() -> Iterator[Recorder]:
    """A real SMTP server on 127.0.0.1, recording what it accepts; its port is ``smtp.port``."""
    recorder = Recorder()
    controller = FreePortController(recorder, hostname="127.0.0.1", port=0)
    controller.start()
    recorder.port = int(controller.port)
    try:
        yield recorder
    finally:
        controller.stop()
