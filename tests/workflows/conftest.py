"""The PostgreSQL server fixtures of ``tests/postgres/conftest.py`` (loaded from that file, so that PostgreSQL fails
in CI rather than skips when it is missing), for running the workflow engine on PostgreSQL too."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any


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
