"""Duplicate detection on a data engine: the matcher's blocking, comparators and score run as SQL in DuckDB
(the ``scale`` extra) or Spark (the ``spark`` extra), for stores too large for one Python process.

``Matcher(engine="duckdb")`` and ``Matcher(engine="spark")`` give the same pairs as the Python engine (the
default): the same ids, levels, scores, decisions and reasons.
``Matcher(engine=DuckDBEngine(memory_limit="512MB"))`` sets DuckDB's memory limit (1 GB by default; what does not
fit spills to a temporary folder removed afterwards). Records are normalised once in Python, streamed in
batches into the engine as tables (:mod:`custdata.matching.engines._columns`; DuckDB loads each batch in a
thread of its own while the next is normalised); the engine generates the
candidate pairs from the same blocking keys, computes every field's level and the score in SQL
(:mod:`custdata.matching.engines._sql`), and streams back only the pairs that reach the review threshold, whose
explanations are then built as the Python engine builds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from custdata.matching.blocking import BlockingStats
from custdata.matching.engines import _sql
from custdata.matching.engines._arrow import arrow_batch
from custdata.matching.engines._columns import Batch, prepared, raise_problems, repeated_id_problems
from custdata.matching.engines.duckdb_engine import DuckDBEngine, DuckDBSession
from custdata.matching.normalise import _NO_NAME, _NO_STREET, NormalisedRecord

if TYPE_CHECKING:
    from custdata.matching.matcher import Matcher, MatchResult
    from custdata.matching.model import CandidatePair

#: The engines a :class:`~custdata.matching.Matcher` can run on.
ENGINES = ("python", "duckdb", "spark")

#: Pairs fetched from the engine at a time.
FETCH = 10_000


class Session(Protocol):
    """What the shared code needs of an engine: load column batches, run statements, stream rows back."""

    dialect: _sql.Dialect

    def load(self, batch: Batch) -> None: ...

    def load_tables(self, tables: dict[str, Any]) -> None: ...

    def create(self, name: str, query: str) -> None: ...

    def rows(self, query: str) -> Iterator[tuple[Any, ...]]: ...

    def drop(self, name: str) -> None: ...

    def close(self) -> None: ...


def open_session(engine: str | DuckDBEngine) -> Session:
    """A fresh session of ``engine`` with the Python comparison functions registered."""
    if isinstance(engine, DuckDBEngine):
        return DuckDBSession(engine)
    if engine == "duckdb":
        return DuckDBSession()
    if engine == "spark":
        from custdata.matching.engines.spark_engine import SparkSession

        return SparkSession()
    raise ValueError(f"not an engine: {engine!r}")


#: The tables no later statement reads once the table named is made: dropped there, so that the engine holds the
#: records and the last one or two steps, never every step of the run at once.
_SPENT: dict[str, tuple[str, ...]] = {
    "email_typos": ("left_emails", "emails"),
    "phone_typos": ("left_tails", "tails"),
    "fields": ("candidates", "email_typos", "phone_typos"),
    "crossed": ("fields",),
    "weighed": ("crossed", "records"),
    "named": ("weighed",),
}


class _Loader:
    """Loads batches into ``session``: in a thread of its own, one batch at a time, when the session loads
    without holding Python's lock (``loads_in_background``), so that the next batch is normalised meanwhile;
    otherwise in the caller's thread. A batch is handed over only once the one before it is in, so at most one
    batch waits beside the one being prepared, and the first failure is raised where the next batch is handed
    over, or on leaving."""

    def __init__(self, session: Session) -> None:
        self._session = session
        background = getattr(session, "loads_in_background", False)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custdata-load") if background else None
        self._pending: Future[None] | None = None

    def load(self, tables: dict[str, Any]) -> None:
        if self._pool is None:
            self._session.load_tables(tables)
            return
        self._wait()
        self._pending = self._pool.submit(self._session.load_tables, tables)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is None:
            return
        try:
            if exc[0] is None:
                self._wait()
        finally:
            # on an error the batch being loaded is let finish (the session is closed after this): the thread
            # never outlives the run
            self._pool.shutdown(wait=True, cancel_futures=True)


def find_duplicates(matcher: Matcher, records: Iterable[object], *, blocking: bool = True) -> MatchResult:
    """:meth:`Matcher.find_duplicates` on ``matcher.engine``."""
    from custdata.matching.matcher import MatchResult

    session = open_session(matcher.engine)
    try:
        count = 0
        problems = []
        region = matcher.default_region.upper() if matcher.default_region else None
        worker = getattr(matcher.engine, "prepare_process", None)
        with _Loader(session) as loader:
            for item in prepared(records, region, arrow_batch, worker=worker):
                if isinstance(item, tuple):
                    size, tables = item
                    loader.load(tables)
                    count += size
                else:
                    problems = item
        session.load(Batch())  # an empty batch makes sure every table exists
        problems.extend(repeated_id_problems((int(p), int(f)) for p, f in session.rows(_sql.repeated_ids_sql())))
        raise_problems(problems)
        limits = {"max_block_size": matcher.max_block_size, "window": matcher.window}
        if blocking:
            session.create("blocks", _sql.blocks_sql(session.dialect, **limits))
            session.drop("keys")
        for name, table_query in _sql.pairs_tables(blocking=blocking, window=matcher.window):
            session.create(name, table_query)
        if blocking:
            session.drop("ranked")
        ((compared,),) = list(session.rows("SELECT count(*) FROM candidates"))
        stats = None
        if blocking:
            ((blocks, oversized),) = list(session.rows(_sql.stats_sql()))
            stats = BlockingStats(int(blocks), int(oversized), int(compared))
            session.drop("blocks")
        else:
            session.drop("keys")
        tables, household = matcher._tables, matcher._household
        floor = matcher.review - 1e-6
        steps = [*_sql.typo_tables(session.dialect), *_sql.level_tables(session.dialect, tables, household, floor)]
        for name, table_query in steps:
            session.create(name, table_query)
            for done in _SPENT.get(name, ()):
                session.drop(done)
        query = _sql.scored_sql(session.dialect, tables, household, floor)
        found = _finish(matcher, session.rows(query))
    finally:
        session.close()
    found.sort(key=lambda p: (-p.score, p.left, p.right))
    return MatchResult(tuple(found), count, int(compared), stats)


def _finish(matcher: Matcher, rows: Iterable[tuple[Any, ...]]) -> list[CandidatePair]:
    """The pairs (with their explanations) from the levels the engine computed, scored exactly as
    :meth:`Matcher._score` scores them: the engine's score only narrowed them down.

    A pair's score, decision, reason and evidence depend only on its levels, whether its names were swapped and
    the guest flags of its two records (an engine runs no model with term-frequency adjustments), so each such
    combination is scored and explained once, by :meth:`Matcher._pair`, and its pairs share that (immutable)
    evidence."""
    from custdata.matching.matcher import weigh
    from custdata.matching.model import CandidatePair

    tables, household, review = matcher._tables, matcher._household, matcher.review
    explained: dict[tuple[Any, ...], CandidatePair | None] = {}
    found = []
    for left, right, left_guest, right_guest, *named, swapped in rows:
        key = (*named, bool(swapped), left_guest, right_guest)
        if key in explained:
            template = explained[key]
        else:
            levels = tuple(str(level) for level in named)
            total = round(weigh(tables, household, levels)[0], 4)
            template = None
            if total >= review:
                a, b = _side(left, left_guest), _side(right, right_guest)
                template = matcher._pair(a, b, levels, bool(swapped), total)  # type: ignore[arg-type]
            explained[key] = template
        if template is not None:
            first, second = (str(left), str(right)) if str(left) <= str(right) else (str(right), str(left))
            found.append(
                CandidatePair(first, second, template.score, template.decision, template.evidence, template.reason)
            )
    return found


def _side(record_id: str, guest: bool | None) -> NormalisedRecord:
    """What building a pair needs of a record: its id and whether it is a guest."""
    return NormalisedRecord(str(record_id), _NO_NAME, _NO_NAME, (), (), _NO_STREET, "", "", "", None, guest)


__all__ = ["ENGINES", "DuckDBEngine", "find_duplicates"]
