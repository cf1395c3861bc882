"""The Spark engine: the matcher's SQL on a Spark session (``pip install 'custdata[spark]'``, and a Java runtime).

The active session is used when there is one, else a local one (``local[*]``, its Python workers running the
current interpreter) is started. Spark SQL has no
Jaro-Winkler and no Damerau-Levenshtein, so those comparisons call the comparators' own Python functions,
registered as Spark functions (see :mod:`custdata.matching.engines._sql`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from custdata._errors import MissingExtraError
from custdata.matching.engines import _sql
from custdata.matching.engines._arrow import arrow_tables
from custdata.matching.engines._columns import TABLES, Batch


def _modules() -> tuple[Any, Any, Any]:
    try:
        import pyarrow
        from pyspark.sql import SparkSession as Session
        from pyspark.sql import types
    except ImportError as exc:
        raise MissingExtraError(
            (exc.name or "pyspark").partition(".")[0], "spark", "the Spark matching engine"
        ) from exc
    return pyarrow, Session, types


def _null_safe(function: Callable[[str, str], object]) -> Callable[[str | None, str | None], object]:
    """Spark calls a Python function on every row of a ``CASE``, not only the rows that reach its branch, so it
    sees the NULLs that the branches before it rule out: they give NULL."""

    def call(a: str | None, b: str | None) -> object:
        return None if a is None or b is None else function(a, b)

    return call


class SparkSession:
    """One matching run on a Spark session: the records are loaded as temporary views, named per run."""

    dialect = _sql.SPARK

    def __init__(self) -> None:
        self._pa, session, types = _modules()
        active = session.getActiveSession()
        if active is None:
            # the workers run this interpreter, which has custdata and its dependencies
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = session.builder.master("local[*]").config("spark.pyspark.python", sys.executable)
            builder = builder.config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8")
            builder = builder.config("spark.sql.execution.pythonUDF.arrow.enabled", "true")
            active = builder.getOrCreate()
        self._spark = active
        for name, function in _sql.PYTHON_FUNCTIONS.items():
            returns = types.DoubleType() if name == "cd_jaro_winkler" else types.BooleanType()
            self._spark.udf.register(name, _null_safe(function), returns)
        self._parts: dict[str, list[Any]] = {table: [] for table in TABLES}
        self._views: list[str] = []
        self._cached: list[Any] = []

    def load(self, batch: Batch) -> None:
        self.load_tables(arrow_tables(self._pa, batch))

    def load_tables(self, tables: dict[str, Any]) -> None:
        """Load one batch given as its Arrow tables (:func:`~custdata.matching.engines._arrow.arrow_batch`)."""
        for table, data in tables.items():
            if data.num_rows or not self._parts[table]:
                self._parts[table].append(data)

    def _publish(self) -> None:
        """Turn the loaded batches into views, once, before the first query."""
        if self._views:
            return
        for table, parts in self._parts.items():
            frame = self._spark.createDataFrame(self._pa.concat_tables(parts))
            frame.createOrReplaceTempView(table)
            self._views.append(table)
        self._parts = {}

    def create(self, name: str, query: str) -> None:
        self._publish()
        # materialised, so that later queries start from its rows instead of planning its query again inline
        frame = self._spark.sql(query).localCheckpoint(eager=True)
        self._cached.append(frame)
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def drop(self, name: str) -> None:
        self._spark.catalog.dropTempView(name)

    def rows(self, query: str) -> Iterator[tuple[Any, ...]]:
        self._publish()
        for row in self._spark.sql(query).collect():  # only the pairs found, which the result holds anyway
            yield tuple(row)

    def close(self) -> None:
        for frame in self._cached:
            frame.unpersist()
        for view in self._views:
            self._spark.catalog.dropTempView(view)
