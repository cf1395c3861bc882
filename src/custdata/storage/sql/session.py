"""The one thing an SQL backend must provide to reuse the shared repositories: a :class:`SqlSession`.

A session is a database connection checked out for one unit of work. Its methods take SQL already rendered
for the session's dialect, and translate every driver exception into the custdata errors
(:class:`~custdata.IntegrityError` for constraint failures, :class:`~custdata.OperationalError` for locks,
lost connections and the like, :class:`~custdata.ProgrammingError` for misuse, and
:class:`~custdata.ValidationError` for values the database cannot hold), with messages free of personal data.

Reads may run outside a transaction (each statement then sees the latest committed data). The first call to
``execute``, ``execute_many`` or ``execute_returning`` starts a write transaction holding the database's write lock until
``commit`` or ``rollback``; a writer that cannot get the lock in time gets an OperationalError.

A session may also offer ``execute_committed(sql, params)``: run one writing statement with a ``RETURNING``
clause, commit it and return its rows. When the unit of work has written nothing yet, the statement runs on its
own, as its own transaction (one round trip, no ``BEGIN`` or ``COMMIT``); otherwise it joins the open transaction,
which is then committed. A session without it is asked with ``execute_returning`` and ``commit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from custdata.storage.sql.schema import Dialect

Params = Sequence[Any]


class SqlSession(Protocol):
    """A connection checked out for one unit of work; see the module docstring for the rules."""

    @property
    def dialect(self) -> Dialect: ...

    def fetch_all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, read in the current transaction if one is open."""

    def fetch_one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a writing statement (starting the write transaction if needed); returns the row count."""

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a writing statement once per row, in one round trip where the driver allows."""

    def execute_returning(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Run a writing statement with a ``RETURNING`` clause as :meth:`execute` runs one (in the unit of work's
        write transaction, never committed on its own) and return its rows: one round trip for the write and
        the read of what it wrote. Optional: a session without it is asked with ``execute`` and a query."""

    def execute_each(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        """Run several writing statements in order as :meth:`execute` runs one, all or none of them (a failing one
        undoes the others), in one round trip where the driver allows; the row count of each. Optional: a
        session without it is asked with ``execute``, one statement at a time."""

    def commit(self) -> None:
        """Commit the write transaction, if any."""

    def rollback(self) -> None:
        """Roll the write transaction back, if any."""

    def close(self) -> None:
        """Roll back anything uncommitted and give the connection back; the session is then unusable."""
