"""Async stores: ``store = await open_async_store(url)``, then ``async with store.unit_of_work() as uow``.

An async unit of work offers the same repositories as a sync one (``customers``, ``orders``,
``communications``, ``activity``, ``outbox``, ``timers``) with every method awaited, and the same rules:
isolation, one write lock per writer, optimistic versions (:class:`~custdata.ConflictError`), rollback of
whatever was not committed when the block is left, pages and cursors. It runs the sync store's own code through
a runner (:mod:`custdata.aio._bridge`):

- ``memory://`` and ``sqlite://``: each unit of work runs in a thread of its own, on the sync store
  (:class:`ThreadedAsyncStore`); the event loop never waits for a lock or the disk.
- ``postgresql://``: :class:`custdata.aio.postgres.AsyncPostgresStore`, on psycopg's async connections and
  an ``AsyncConnectionPool``; the shared SQL repositories run in a greenlet on the event loop's thread
  (``pip install 'custdata[postgres,async]'``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

from custdata._errors import ProgrammingError
from custdata.aio._bridge import Runner, ThreadRunner
from custdata.aio.repositories import (
    AsyncActivityRepository,
    AsyncCommunicationRepository,
    AsyncCustomerRepository,
    AsyncOrderRepository,
    AsyncOutboxRepository,
    AsyncTimerRepository,
)
from custdata.storage import open_store
from custdata.storage.outbox.ports import OutboxUnitOfWork, outbox_unit_of_work
from custdata.storage.ports import Store

T = TypeVar("T")


class AsyncUnitOfWork:
    """One transaction over the repositories of an async store; use it in an ``async with`` block.

    ``await uow.commit()`` makes the writes so far durable and visible, and the unit of work goes on; leaving
    the block rolls back whatever was not committed, also when an exception (or a cancellation) escapes. Calls
    of one unit of work run one at a time, in the order they are awaited; use one unit of work per task (per
    request), as in sync code one per thread. Using it outside its block is a
    :class:`~custdata.ProgrammingError`.
    """

    def __init__(self, open_sync: Callable[[], OutboxUnitOfWork], runner: Callable[[], Runner]) -> None:
        self._open_sync = open_sync
        self._new_runner = runner
        self._runner: Runner | None = None
        self._uow: OutboxUnitOfWork | None = None
        self._state = "new"
        self.customers = AsyncCustomerRepository(lambda: self._active().customers, self)
        self.orders = AsyncOrderRepository(lambda: self._active().orders, self)
        self.communications = AsyncCommunicationRepository(lambda: self._active().communications, self)
        self.activity = AsyncActivityRepository(lambda: self._active().activity, self)
        self.outbox = AsyncOutboxRepository(lambda: self._active().outbox, self)
        self.timers = AsyncTimerRepository(lambda: self._active().timers, self)

    def _active(self) -> OutboxUnitOfWork:
        if self._uow is None or self._state != "active":
            state = "has ended" if self._state == "done" else "was not entered (use it in an async with block)"
            raise ProgrammingError(f"this unit of work {state}")
        return self._uow

    async def call(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run ``fn(*args)`` through this unit of work's runner (a :class:`custdata.aio._bridge.Runner`)."""
        self._active()
        assert self._runner is not None
        return await self._runner.call(fn, *args)

    async def run_sync(self, fn: Callable[[OutboxUnitOfWork], T]) -> T:
        """``fn(uow)`` on the synchronous unit of work behind this one, in its transaction, and its result.

        This is how sync services written against :class:`custdata.storage.UnitOfWork` (merges, erasure,
        workflows) run inside an async unit of work: ``await uow.run_sync(lambda u: service(u, ...))``. ``fn``
        runs in the unit of work's own thread (memory, SQLite) or in a greenlet on the event loop's thread
        (PostgreSQL: it must not block then, though its store calls may wait, as they wait through the loop); it
        must not hand the unit of work to threads of its own.
        """
        return await self.call(fn, self._active())

    async def commit(self) -> None:
        await self.call(self._active().commit)

    async def rollback(self) -> None:
        await self.call(self._active().rollback)

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise ProgrammingError("a unit of work can be used for one async with block only; open a new one")
        self._state = "active"
        runner = self._new_runner()
        try:
            uow = self._open_sync()
        except BaseException:
            self._state = "done"
            await runner.end(_nothing, cancelled=False)
            raise
        try:
            await runner.call(uow.__enter__)
        except BaseException as exc:
            # exiting a unit of work that did not open is harmless; one whose opening was abandoned by a
            # cancellation may still open in its thread, and is then closed again
            self._state = "done"
            cancelled = isinstance(exc, asyncio.CancelledError)
            await runner.end(uow.__exit__, type(exc), exc, exc.__traceback__, cancelled=cancelled)
            raise
        self._runner, self._uow = runner, uow
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        runner, uow = self._runner, self._uow
        self._state = "done"
        self._runner = self._uow = None
        if runner is None or uow is None:
            return
        cancelled = exc_type is not None and issubclass(exc_type, asyncio.CancelledError)
        await runner.end(uow.__exit__, exc_type, exc, tb, cancelled=cancelled)


def _nothing() -> None:
    """The exit of a unit of work that failed to open."""


class AsyncStore:
    """What every async store offers: ``url``, ``unit_of_work()``, ``await purge_residue()``, ``await close()``
    (idempotent), and use as an ``async with`` block that closes it."""

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def unit_of_work(self) -> AsyncUnitOfWork:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def purge_residue(self) -> None:
        """Make what committed units of work deleted or overwrote unrecoverable from the store's files (the sync
        store's ``purge_residue()``); see :func:`custdata.privacy.erase_customer`."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}{', closed' if self.closed else ''})"


class ThreadedAsyncStore(AsyncStore):
    """An async face on a sync store with an outbox (memory, SQLite, or your own; a store without one gives
    :class:`~custdata.OutboxMissingError` when a unit of work opens): each unit of work runs in a
    thread of its own, started when it opens and ended when it closes, so one sync unit of work is only ever
    used by one thread.

    The sync store stays usable beside it (``store.sync``): sync and async code may share it, as threads do.
    """

    def __init__(self, store: Store) -> None:
        self.sync = store
        self._closed = False

    @property
    def url(self) -> str:
        return self.sync.url

    @property
    def closed(self) -> bool:
        return self._closed

    def unit_of_work(self) -> AsyncUnitOfWork:
        if self._closed:
            raise ProgrammingError("the store is closed")
        return AsyncUnitOfWork(lambda: outbox_unit_of_work(self.sync), ThreadRunner)

    async def purge_residue(self) -> None:
        """The sync store's ``purge_residue()``, in a thread."""
        if self._closed:
            raise ProgrammingError("the store is closed")
        await asyncio.to_thread(self.sync.purge_residue)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self.sync.close)


async def open_async_store(url: str) -> AsyncStore:
    """Open the async store that ``url`` names (the schemes of :func:`custdata.storage.open_store`).

    ``memory://`` and ``sqlite://`` give a :class:`ThreadedAsyncStore` (the SQLite file is opened and migrated
    in a thread); ``postgresql://`` gives a :class:`custdata.aio.postgres.AsyncPostgresStore`, which needs the
    ``postgres`` and ``async`` extras.
    """
    if not isinstance(url, str):
        raise ProgrammingError(f"a store URL must be a string, not {type(url).__name__}")
    if urlsplit(url).scheme.lower() in {"postgresql", "postgres"}:
        from custdata.aio.postgres import AsyncPostgresStore

        return await AsyncPostgresStore.open(url)
    store = await asyncio.to_thread(open_store, url)
    return ThreadedAsyncStore(store)
