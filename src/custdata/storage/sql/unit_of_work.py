"""The unit of work and store base shared by the SQL backends.

A backend subclasses :class:`SqlStore` and implements ``_open_session()`` (check a connection out, wrap it
in a :class:`~custdata.storage.sql.session.SqlSession`) and ``_close()``; everything else is here.
Components with tables of their own reach the open session of a unit of work through
:attr:`SqlUnitOfWork.session`, so that their writes commit or roll back together with the rest.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

import custdata.storage.outbox.sql as _outbox  # as a module: it imports this package in turn
from custdata._errors import ProgrammingError
from custdata.storage.sql.aggregates import SqlAggregateQueries, aggregate_queries
from custdata.storage.sql.repositories import (
    SqlActivityRepository,
    SqlCommunicationRepository,
    SqlCustomerRepository,
    SqlOrderRepository,
)
from custdata.storage.sql.schema import Schema, migrate
from custdata.storage.sql.session import SqlSession
from custdata.storage.sql.tables import CORE


class SqlUnitOfWork:
    """One transaction over the repositories of an SQL store (see :class:`custdata.storage.UnitOfWork`), with
    the outbox and the timers (see :class:`custdata.storage.outbox.OutboxUnitOfWork`)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._session: SqlSession | None = None
        self._entered = False
        self.customers = SqlCustomerRepository(self._active)
        self.orders = SqlOrderRepository(self._active)
        self.communications = SqlCommunicationRepository(self._active)
        self.activity = SqlActivityRepository(self._active)
        self.outbox = _outbox.SqlOutboxRepository(self._active)
        self.timers = _outbox.SqlTimerRepository(self._active)

    @property
    def session(self) -> SqlSession:
        """The open session, for repositories of other components that must join this transaction."""
        return self._active()

    @property
    def aggregates(self) -> SqlAggregateQueries | None:
        """The aggregate-query port (:mod:`custdata.storage.aggregates`), run by the database inside this unit
        of work; None when custdata has no aggregation statements for its dialect."""
        return aggregate_queries(self._active(), self._active)

    def _active(self) -> SqlSession:
        if self._session is None:
            state = "has ended" if self._entered else "was not entered (use it in a with block)"
            raise ProgrammingError(f"this unit of work {state}")
        return self._session

    def commit(self) -> None:
        self._active().commit()

    def rollback(self) -> None:
        self._active().rollback()

    def __enter__(self) -> Self:
        if self._entered:
            raise ProgrammingError("a unit of work can be used for one with block only; open a new one")
        self._entered = True
        self._session = self._store._checked_out()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()


class SqlStore(ABC):
    """Base of the SQL stores: units of work, migrations on open, closing."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._closed = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._url

    @property
    def closed(self) -> bool:
        return self._closed

    def unit_of_work(self) -> SqlUnitOfWork:
        if self._closed:
            raise ProgrammingError("the store is closed")
        return SqlUnitOfWork(self)

    def migrate(self, schema: Schema = CORE, *, target: int | None = None) -> list[int]:
        """Bring ``schema`` up to date (or up to ``target``); returns the versions applied."""
        session = self._checked_out()
        try:
            return migrate(session, schema, target=target)
        finally:
            session.close()

    def _checked_out(self) -> SqlSession:
        if self._closed:
            raise ProgrammingError("the store is closed")
        return self._open_session()

    @abstractmethod
    def _open_session(self) -> SqlSession:
        """A session on a connection of this store."""

    @abstractmethod
    def _close(self) -> None:
        """Release the store's connections."""

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r}{', closed' if self._closed else ''})"
