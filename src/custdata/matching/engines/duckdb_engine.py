"""The DuckDB engine: an in-memory DuckDB database holding the normalised records and running the matcher's SQL
(``pip install 'custdata[scale]'``).

Memory is bounded: DuckDB is given ``memory_limit`` (1 GB unless told otherwise) and spills what does not fit to
a temporary folder the engine owns, which is removed when the run ends, however it ends. Insertion order is not preserved (no
result depends on it: every query orders what it needs), which lets DuckDB stream and spill more of its work.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import attrs

from custdata._errors import MissingExtraError, ValidationError
from custdata.matching.engines import _sql
from custdata.matching.engines._arrow import arrow_tables
from custdata.matching.engines._columns import TABLES, Batch

_FETCH = 10_000

#: The memory DuckDB may use for one matching run unless told otherwise.
DEFAULT_MEMORY_LIMIT = "1GB"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KIB|MB|MIB|GB|GIB|TB|TIB)\s*$", re.IGNORECASE)
_BYTES = {
    **{"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12},
    **{"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40},
}

#: The least memory a run is given: below it DuckDB cannot hold the pages of one join, spilling or not.
MIN_MEMORY = 64 * 2**20


def memory_bytes(limit: str) -> int:
    """``limit`` (such as ``"1GB"``, ``"512MiB"``) in bytes."""
    found = _SIZE.match(limit) if isinstance(limit, str) else None
    if found is None:
        raise ValidationError.single("memory_limit", f"must be a size such as '1GB' or '512MiB', not {limit!r}")
    return int(float(found.group(1)) * _BYTES[found.group(2).upper()])


def _memory_limit(_: object, __: attrs.Attribute[str], value: str) -> None:
    if memory_bytes(value) < MIN_MEMORY:
        raise ValidationError.single("memory_limit", f"must be at least 64MiB, not {value!r}")


def _prepare_process(_: object, __: attrs.Attribute[bool | None], value: bool | None) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError.single("prepare_process", "must be True, False, or None to decide by the machine's load")


def _threads(_: object, __: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValidationError.single("threads", "must be a positive integer, or None for one per core")


@attrs.frozen
class DuckDBEngine:
    """The DuckDB engine with its settings: ``Matcher(engine=DuckDBEngine(memory_limit="512MB"))``.

    ``memory_limit`` bounds the memory DuckDB uses for the run (a size such as ``"1GB"`` or ``"512MiB"``; what does
    not fit spills to a temporary folder removed afterwards); ``threads`` is DuckDB's worker count (None: one per
    core). ``prepare_process`` says whether a second Python process prepares part of the record batches while this
    one reads and loads the rest (on a machine of more than one core): True always, False never, None (the default)
    when a core is idle as the run starts (the load over the last minute). The pairs are the same either way.
    ``Matcher(engine="duckdb")`` is ``DuckDBEngine()``.
    """

    memory_limit: str = attrs.field(default=DEFAULT_MEMORY_LIMIT, validator=_memory_limit)
    threads: int | None = attrs.field(default=None, validator=_threads)
    prepare_process: bool | None = attrs.field(default=None, validator=_prepare_process)

    @property
    def name(self) -> str:
        return "duckdb"

    def __str__(self) -> str:
        return self.name


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
    """One matching run in its own DuckDB database, in a temporary folder removed by :meth:`close`."""

    dialect = _sql.DUCKDB
    #: DuckDB inserts a batch without holding Python's lock: the run normalises the next batch meanwhile.
    loads_in_background = True

    def __init__(self, settings: DuckDBEngine | None = None) -> None:
        settings = settings or DuckDBEngine()
        duckdb, self._pa = _modules()
        self.folder = tempfile.mkdtemp(prefix="custdata-duckdb-")
        try:
            config: dict[str, Any] = {
                "memory_limit": f"{memory_bytes(settings.memory_limit) // 2**10}KiB",
                "temp_directory": f"{self.folder}/spill",
                "preserve_insertion_order": False,
            }
            if settings.threads is not None:
                config["threads"] = settings.threads
            # an in-memory database: its tables are buffers like any other, evicted to the spill folder when the
            # limit is reached (a database file would write every table out and read it back, twice as slow)
            self._con = duckdb.connect(":memory:", config=config)
            for name, function in _sql.PYTHON_FUNCTIONS.items():
                returns = "DOUBLE" if name == "cd_jaro_winkler" else "BOOLEAN"
                self._con.create_function(name, function, ["VARCHAR", "VARCHAR"], returns, side_effects=False)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self._created: set[str] = set()

    def load(self, batch: Batch) -> None:
        self.load_tables(arrow_tables(self._pa, batch))

    def load_tables(self, tables: dict[str, Any]) -> None:
        """Load one batch given as its Arrow tables (:func:`~custdata.matching.engines._arrow.arrow_batch`)."""
        for table, data in tables.items():
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

    def drop(self, name: str) -> None:
        self._con.execute(f"DROP TABLE {name}")

    def setting(self, name: str) -> Any:
        """A DuckDB setting of this run (``current_setting``)."""
        ((value,),) = self._con.execute("SELECT current_setting(?)", [name]).fetchall()
        return value

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
