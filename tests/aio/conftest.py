"""Pairs of stores on the same data, one async and one sync (as a service and an admin tool would have), for
memory, a SQLite file and PostgreSQL; and a recording SMTP server on 127.0.0.1. The helpers live in
``aio_support.py``, on ``sys.path`` here (importlib mode)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from aio_support import Backend, FreePortController, SMTPRecorder  # noqa: E402


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    opened = Backend(str(request.param), tmp_path, request)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def smtp() -> Iterator[SMTPRecorder]:
    recorder = SMTPRecorder()
    controller = FreePortController(recorder, hostname="127.0.0.1", port=0)
    controller.start()
    recorder.port = int(controller.port)
    try:
        yield recorder
    finally:
        controller.stop()
