"""The async PostgreSQL store: psycopg's async connections in a ``psycopg_pool.AsyncConnectionPool``.

``pip install 'custdata[postgres,async]'``. Open it with ``await AsyncPostgresStore.open(url)`` (or
:func:`custdata.aio.open_async_store`); the URL and its options are those of
:class:`custdata.storage.postgres.PostgresStore`, and so are the schema, the migrations (run on open, under
the same advisory lock), the savepoint per write and every error.

How it shares the sync store's code: a unit of work runs the shared SQL repositories of
:mod:`custdata.storage.sql` and the sync store's own :class:`~custdata.storage.postgres.PostgresSession`
unchanged, in a greenlet on the event loop's thread. The session's connection is a thin synchronous face on a
psycopg ``AsyncConnection`` (:class:`BridgedConnection`) whose every database call hands the awaitable to the
event loop (:func:`custdata.aio._bridge.await_only`); the loop runs other tasks meanwhile. No thread is used.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from custdata._errors import MissingExtraError, ProgrammingError
from custdata.aio._bridge import GreenletRunner, await_only, require_greenlet
from custdata.aio.store import AsyncStore, AsyncUnitOfWork
from custdata.storage._pg_values import cause, translate
from custdata.storage.outbox.sql import SCHEMA as OUTBOX_SCHEMA
from custdata.storage.postgres import (
    CHECK_AFTER_IDLE,
    PostgresSession,
    _count,
    _schema_name,
    _seconds,
    migrate_locked,
    public_url,
    purge_schema,
    split_url,
)
from custdata.storage.sql.schema import Schema
from custdata.storage.sql.tables import CORE
from custdata.storage.sql.unit_of_work import SqlStore

try:
    import psycopg
    import psycopg_pool
    from psycopg import sql as pg_sql
except ModuleNotFoundError as exc:  # the extra is not installed; AsyncPostgresStore says how to install it
    _MISSING: ModuleNotFoundError | None = exc
else:
    _MISSING = None


class BridgedCursor:
    """The part of a psycopg ``Cursor`` that :class:`PostgresSession` uses, over an ``AsyncCursor``."""

    def __init__(self, cursor: psycopg.AsyncCursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def statusmessage(self) -> str | None:
        return self._cursor.statusmessage

    @property
    def pgresult(self) -> Any:
        return self._cursor.pgresult

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None) -> BridgedCursor:
        await_only(self._cursor.execute(query, params, prepare=prepare))
        return self

    def executemany(self, query: Any, params_seq: Any) -> None:
        await_only(self._cursor.executemany(query, params_seq))

    def fetchall(self) -> list[Any]:
        return await_only(self._cursor.fetchall())

    def fetchone(self) -> Any:
        return await_only(self._cursor.fetchone())

    def close(self) -> None:
        await_only(self._cursor.close())


class BridgedConnection:
    """The part of a psycopg ``Connection`` that :class:`PostgresSession` uses, over an ``AsyncConnection``:
    each call waits for the database through :func:`await_only`."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self.connection = connection

    @property
    def info(self) -> Any:
        return self.connection.info

    @property
    def closed(self) -> bool:
        return self.connection.closed

    @property
    def prepare_threshold(self) -> int | None:
        return self.connection.prepare_threshold

    @prepare_threshold.setter
    def prepare_threshold(self, value: int | None) -> None:
        self.connection.prepare_threshold = value

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None) -> BridgedCursor:
        return BridgedCursor(await_only(self.connection.execute(query, params, prepare=prepare)))

    def cursor(self) -> BridgedCursor:
        return BridgedCursor(self.connection.cursor())

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        manager = self.connection.pipeline()
        await_only(manager.__aenter__())
        try:
            yield
        except BaseException as exc:
            if not await_only(manager.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            await_only(manager.__aexit__(None, None, None))

    def close(self) -> None:
        await_only(self.connection.close())


class _BridgedStore(SqlStore):
    """The sync SQL store machinery (units of work, migrations) over the async pool, used from greenlets."""

    def __init__(self, owner: AsyncPostgresStore) -> None:
        super().__init__(owner.url)
        self._owner = owner

    def _open_session(self) -> PostgresSession:
        pool = self._owner._pool
        if pool is None:
            raise ProgrammingError("the store is closed")
        try:
            conn = await_only(pool.getconn(timeout=self._owner.timeout))
        except psycopg.Error as exc:
            raise translate(exc) from cause(exc)
        return PostgresSession(cast("psycopg.Connection[Any]", BridgedConnection(conn)), self._give_back)

    def _give_back(self, bridged: psycopg.Connection[Any]) -> None:
        await_only(self._owner._give_back(cast(BridgedConnection, bridged).connection))

    def migrate(self, schema: Schema = CORE, *, target: int | None = None) -> list[int]:
        if self.closed:
            raise ProgrammingError("the store is closed")
        session = self._open_session()
        try:
            return migrate_locked(session, self._owner.schema, schema, target)
        finally:
            session.close()

    def _close(self) -> None:
        """The pool is the async store's to close."""


class AsyncPostgresStore(AsyncStore):
    """An async store in a PostgreSQL database; see the module docstring. Create it with :meth:`open`."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_min_size: int | None = None,
        pool_max_size: int | None = None,
        timeout: float | None = None,
    ) -> None:
        if _MISSING is not None:
            raise MissingExtraError(_MISSING.name or "psycopg", "postgres", "the PostgreSQL store")
        require_greenlet("the async PostgreSQL store")
        conninfo, options = split_url(url)
        self.schema = _schema_name(schema if schema is not None else options.get("schema", "public"))
        self._min = _count("pool_min_size", pool_min_size, options, 1, minimum=0)
        self._max = _count("pool_max_size", pool_max_size, options, max(10, self._min), minimum=max(1, self._min))
        self._timeout = _seconds(timeout, options)
        self._url = public_url(url)
        self._conninfo = conninfo
        self._pool: psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None
        self._returned: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = weakref.WeakKeyDictionary()
        self._bridge = _BridgedStore(self)
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        schema: str | None = None,
        pool_min_size: int | None = None,
        pool_max_size: int | None = None,
        timeout: float | None = None,
    ) -> AsyncPostgresStore:
        """Connect, open the pool and migrate the schema; the store, ready to use."""
        store = cls(url, schema=schema, pool_min_size=pool_min_size, pool_max_size=pool_max_size, timeout=timeout)
        try:
            await store._open()
        except BaseException:
            await store.close()
            raise
        return store

    async def _open(self) -> None:
        try:
            connection = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=max(2, round(self._timeout))
            )
            await connection.close()
        except psycopg.Error as exc:
            raise translate(exc) from cause(exc)
        self._pool = psycopg_pool.AsyncConnectionPool(
            self._conninfo,
            min_size=self._min,
            max_size=self._max,
            kwargs={"autocommit": True, "fallback_application_name": "custdata"},
            configure=self._configure,
            check=self._check_if_idle,
            timeout=self._timeout,
            name=f"custdata-async-{self.schema}",
            open=False,
        )
        try:
            await self._pool.open(wait=self._min > 0, timeout=self._timeout)
        except psycopg.Error as exc:
            raise translate(exc) from cause(exc)
        runner = GreenletRunner()
        await runner.call(self._bridge.migrate)
        await runner.call(self._bridge.migrate, OUTBOX_SCHEMA)

    @property
    def url(self) -> str:
        return self._url

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def timeout(self) -> float:
        return self._timeout

    def unit_of_work(self) -> AsyncUnitOfWork:
        if self._closed:
            raise ProgrammingError("the store is closed")
        return AsyncUnitOfWork(self._bridge.unit_of_work, GreenletRunner)

    async def purge_residue(self) -> None:
        """:meth:`custdata.storage.postgres.PostgresStore.purge_residue`: wait, up to ``timeout``, for transactions
        older than the purge, then rewrite every table of the schema so that deleted and overwritten values leave
        its files. It runs in a thread on a connection of its own (``VACUUM`` cannot run in a pooled unit of
        work), so the event loop goes on meanwhile."""
        if self._closed:
            raise ProgrammingError("the store is closed")
        await asyncio.to_thread(self._purge)

    def _purge(self) -> None:
        try:
            conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=max(2, round(self._timeout)),
                application_name="custdata",
            )
        except psycopg.Error as exc:
            raise translate(exc) from cause(exc)
        try:
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{round(self._timeout * 1000)}ms",))
            purge_schema(conn, self.schema, self._timeout)
        except psycopg.Error as exc:
            raise translate(exc) from cause(exc)
        finally:
            conn.close()

    async def _configure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        path = pg_sql.Identifier(self.schema).as_string(conn)
        await conn.execute(
            "SELECT set_config('search_path', %s, false), set_config('lock_timeout', %s, false)",
            (path, f"{round(self._timeout * 1000)}ms"),
        )

    async def _check_if_idle(self, conn: psycopg.AsyncConnection[Any]) -> None:
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned > CHECK_AFTER_IDLE:
            await psycopg_pool.AsyncConnectionPool.check_connection(conn)

    async def _give_back(self, conn: psycopg.AsyncConnection[Any]) -> None:
        pool = self._pool
        if pool is None or pool.closed:
            await conn.close()
            return
        self._returned[conn] = time.monotonic()
        await pool.putconn(conn)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._bridge.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


async def open_url(url: str) -> AsyncPostgresStore:
    """Open the async PostgreSQL store named by a ``postgresql://`` URL."""
    return await AsyncPostgresStore.open(url)
