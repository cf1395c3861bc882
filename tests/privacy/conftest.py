"""Shared builders on sys.path (importlib mode) and the PostgreSQL server of ``tests/postgres/conftest.py``.

The server fixtures are loaded from that file so that both folders start their server the same way (and fail in
CI, rather than skip, when PostgreSQL is missing).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


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
new_store = _postgres_fixtures().new_store
