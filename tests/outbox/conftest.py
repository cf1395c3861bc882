"""Shared helpers on sys.path (importlib mode) and a recording SMTP server; the PostgreSQL server comes from
``tests/conftest.py``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from outbox_smtp import FreePortController, Recorder  # noqa: E402


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
