"""The DuckDB engine: an in-memory DuckDB database (spilling to a temporary folder when memory runs short)
that holds the normalised records and runs the matcher's SQL (``pip install 'custdata[scale]'``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from custdata._errors import MissingExtraError
from custdata.matching.engines import _sql
from custdata.matching.engines._arrow import arrow_tables
from custdata.matching.engines._columns import TABLES, Batch

_FETCH = 10_000


def _modules() -> tuple[Any, Any]:
    try:
        import duckdb
        import pyarrow
    except ImportError as exc:
        raise MissingExtraError(
            (exc.name or "duckdb").partition(".")[0], "scale", "the DuckDB matching engine"
        ) from exc
    return duckdb, pyarrow


class DuckDBSession:
    """One matching run in its own DuckDB database."""

    dialect = _sql.DUCKDB

    def __init__(self) -> None:
        duckdb, self._pa = _modules()
        self._folder = tempfile.mkdtemp(prefix="custdata-duckdb-")
        self._con = duckdb.connect(":memory:", config={"temp_directory": self._folder})
        for name, function in _sql.PYTHON_FUNCTIONS.items():
            returns = "DOUBLE" if name == "cd_jaro_winkler" else "BOOLEAN"
            self._con.create_function(name, function, ["VARCHAR", "VARCHAR"], returns, side_effects=False)
        self._created: set[str] = set()

    def load(self, batch: Batch) -> None:
        for table, data in arrow_tables(self._pa, batch).items():
            if table not in self._created:
                self._con.from_arrow(data).create(table)
                self._created.add(table)
            elif data.num_rows:
                self._con.from_arrow(data).insert_into(table)
        assert self._created == set(TABLES)

    def create(self, name: str, query: str) -> None:
        self._con.execute(f"CREATE TABLE {name} AS {query}")

    def rows(self, query: str) -> Iterator[tuple[Any, ...]]:
        cursor = self._con.cursor()
        try:
            cursor.execute(query)
            while True:
                chunk = cursor.fetchmany(_FETCH)
                if not chunk:
                    return
                yield from chunk
        finally:
            cursor.close()

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
