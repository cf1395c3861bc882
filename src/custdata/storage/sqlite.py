"""The SQLite store: the default embedded store, on the standard library's ``sqlite3``.

Each unit of work checks a connection out of a small pool. Connections run in WAL mode (readers never wait
for the writer), with a busy timeout, foreign keys on, ``synchronous=NORMAL`` (a committed unit of work
survives a crash of the process; only a power cut may lose the last ones) and ``secure_delete`` on (deleted
data is overwritten, not left in free pages). The first write of a unit of work issues ``BEGIN IMMEDIATE``,
so several processes can safely write the same file: they queue for the write lock, and a stale version is
reported as :class:`~custdata.ConflictError` once the lock is held. The schema is migrated on open.
A write-ahead log left larger than 64 MiB by a big transaction is cut back to that size once it is checkpointed
(``journal_size_limit``). :meth:`SQLiteStore.bulk_writes` tunes the connections for a long run of writes (an
import): a larger page cache and fewer checkpoints, bounded, and the defaults again afterwards.

URLs: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite://`` (a private temporary
database, deleted on close); options ``?timeout=SECONDS`` (default 10), ``?synchronous=full`` and ``?mode=rw``
(open an existing file only: a missing one is an error, never a new empty store; the default ``mode=rwc``
creates it).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from custdata._errors import ErrorCode, IntegrityError, OperationalError, ProgrammingError, StoreError, ValidationError
from custdata.storage.outbox.ports import OutboxStore
from custdata.storage.outbox.sql import SCHEMA as OUTBOX_SCHEMA
from custdata.storage.sql.schema import SQLITE, Dialect
from custdata.storage.sql.session import Params
from custdata.storage.sql.unit_of_work import SqlStore

_MAX_IDLE = 8
#: The page cache of a connection (KiB, SQLite's default) and the write-ahead log's size, in pages, at which a
#: commit copies it into the database file (SQLite's default); the size to which the log is cut back afterwards.
_CACHE_KIB, _CHECKPOINT_PAGES, _WAL_LIMIT = 2000, 1000, 64 << 20
#: The same during :meth:`SQLiteStore.bulk_writes`: each connection in use may hold this much cache, and the log
#: grows to about this many pages (64 MiB of 4 KiB pages) before it is checkpointed.
BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES = 32 << 10, 16384
_INTEGRITY = {
    "UNIQUE constraint failed: customers.id": "a customer with this id already exists",
    "UNIQUE constraint failed: orders.id": "an order with this id already exists",
    "UNIQUE constraint failed: orders.ext_platform, orders.ext_id": (
        "an order with this external reference already exists"
    ),
    "UNIQUE constraint failed: communications.id": "a communication event with this id already exists",
    "UNIQUE constraint failed: communications.idempotency_key": (
        "a communication event with this idempotency key already exists"
    ),
    "UNIQUE constraint failed: activity.id": "an activity event with this id already exists",
    "FOREIGN KEY constraint failed": (
        "a foreign key failed: the customer referred to does not exist, or a customer being deleted "
        "still has orders, communication or activity events"
    ),
}


def translate(exc: BaseException) -> Exception:
    """The custdata error for an exception raised by ``sqlite3`` (messages carry no stored values)."""
    if isinstance(exc, StoreError | ValidationError):
        return exc
    if isinstance(exc, UnicodeEncodeError):
        return ValidationError.single("", "contains a lone surrogate character, which cannot be stored")
    if isinstance(exc, OverflowError):
        return ValidationError.single("", "holds an integer too large to store")
    message = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        duplicate = message.startswith("UNIQUE constraint failed")
        code = ErrorCode.DUPLICATE if duplicate else ErrorCode.CONSTRAINT
        return IntegrityError(_INTEGRITY.get(message, message), code=code)
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in message or "busy" in message:
            return OperationalError(f"the SQLite database is locked by another writer ({message})")
        return OperationalError(f"SQLite could not do the work: {message}")
    if isinstance(exc, sqlite3.DataError):
        return ValidationError.single("", f"holds a value SQLite cannot store ({message})")
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError | sqlite3.Warning):
        return ProgrammingError(f"SQLite was used wrongly: {message}")
    if isinstance(exc, sqlite3.DatabaseError):
        return OperationalError(f"SQLite failed: {message}")
    return OperationalError(f"SQLite failed: {type(exc).__name__}")


_DRIVER_ERRORS = (sqlite3.Error, UnicodeEncodeError, OverflowError)


class _Connection(sqlite3.Connection):
    """A connection that knows whether it runs with the settings of :meth:`SQLiteStore.bulk_writes`."""

    bulk = False

    def tune(self, bulk: bool) -> None:
        """Switch to the bulk settings, or back to the defaults (the cache shrinks to them at once)."""
        if bulk == self.bulk:
            return
        cache, pages = (BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES) if bulk else (_CACHE_KIB, _CHECKPOINT_PAGES)
        self.execute(f"PRAGMA cache_size = -{cache}")
        self.execute(f"PRAGMA wal_autocheckpoint = {pages}")
        self.bulk = bulk


class SQLiteSession:
    """A pooled connection checked out for one unit of work (see :class:`custdata.storage.sql.SqlSession`)."""

    def __init__(self, store: SQLiteStore, connection: sqlite3.Connection) -> None:
        self._store = store
        self._conn: sqlite3.Connection | None = connection
        self._writing = False

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    @property
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProgrammingError("this session is closed")
        return self._conn

    def fetch_all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        try:
            return self.connection.execute(sql, params).fetchall()
        except _DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    def fetch_one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self.connection.execute(sql, params).fetchone()
            return row
        except _DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    def _begin(self) -> sqlite3.Connection:
        conn = self.connection
        if not self._writing:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except _DRIVER_ERRORS as exc:
                raise translate(exc) from exc
            self._writing = True
        return conn

    def execute(self, sql: str, params: Params = ()) -> int:
        conn = self._begin()
        try:
            return conn.execute(sql, params).rowcount
        except _DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    def execute_returning(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        conn = self._begin()
        try:
            return conn.execute(sql, params).fetchall()
        except _DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    def execute_each(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        conn = self._begin()
        try:
            conn.execute("SAVEPOINT custdata_each")
        except _DRIVER_ERRORS as exc:
            raise translate(exc) from exc
        try:
            counts = [conn.execute(sql, params).rowcount for sql, params in statements]
        except _DRIVER_ERRORS as exc:
            conn.execute("ROLLBACK TO SAVEPOINT custdata_each")
            conn.execute("RELEASE SAVEPOINT custdata_each")
            raise translate(exc) from exc
        conn.execute("RELEASE SAVEPOINT custdata_each")
        return counts

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        conn = self._begin()
        try:
            conn.executemany(sql, rows)
        except _DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    def commit(self) -> None:
        self._end("COMMIT")

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def _end(self, statement: str) -> None:
        conn = self.connection
        self._writing = False
        if conn.in_transaction:
            try:
                conn.execute(statement)
            except _DRIVER_ERRORS as exc:
                if statement == "COMMIT" and conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise translate(exc) from exc

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            return
        self._store._release(conn)


class SQLiteStore(SqlStore):
    """A store in one SQLite file (``path``), or in a private temporary file when ``path`` is None.

    ``timeout`` is how long (seconds) a writer waits for the write lock before an OperationalError. With
    ``create=False`` a file that does not exist is an :class:`~custdata.OperationalError` naming it, and no file
    is made.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 10.0,
        synchronous: str = "normal",
        create: bool = True,
    ) -> None:
        if synchronous.lower() not in {"normal", "full"}:
            raise ProgrammingError("synchronous must be 'normal' or 'full'")
        if not isinstance(timeout, int | float) or timeout < 0:
            raise ProgrammingError("timeout must be a non-negative number of seconds")
        self._tempdir: str | None = None
        if path is None:
            self._tempdir = tempfile.mkdtemp(prefix="custdata-")
            path = Path(self._tempdir) / "store.db"
            url = "sqlite://"
        else:
            url = f"sqlite:///{os.fspath(path)}"
        super().__init__(url)
        self.path = Path(path)
        self._timeout = float(timeout)
        self._synchronous = synchronous.upper()
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._bulk = 0
        self._cleanup = weakref.finalize(self, _remove_tempdir, self._tempdir)
        # without create, every connection opens the file read-write only (SQLite's mode=rw): never makes it
        self._uri = None if create or self._tempdir else f"{self.path.absolute().as_uri()}?mode=rw"
        if self._uri is not None and not self.path.is_file():
            self.close()
            raise OperationalError(f"no SQLite database at {self.path}: the file does not exist")
        try:
            conn = self._connect()
            try:
                if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                    raise OperationalError("SQLite could not switch the database to WAL mode")
            except _DRIVER_ERRORS as exc:
                conn.close()
                raise translate(exc) from exc
            self._release(conn)
            self.migrate()
            self.migrate(OUTBOX_SCHEMA)
        except BaseException:
            self.close()
            raise

    def _connect(self) -> _Connection:
        try:
            conn = sqlite3.connect(
                self._uri or self.path,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
                uri=self._uri is not None,
                factory=_Connection,
            )
        except _DRIVER_ERRORS as exc:
            raise translate(exc) from exc
        try:
            for pragma in (
                "foreign_keys = ON",
                f"synchronous = {self._synchronous}",
                "secure_delete = ON",
                f"journal_size_limit = {_WAL_LIMIT}",
            ):
                conn.execute(f"PRAGMA {pragma}")
        except _DRIVER_ERRORS as exc:
            conn.close()
            raise translate(exc) from exc
        return conn

    def _open_session(self) -> SQLiteSession:
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
            bulk = self._bulk > 0
        if conn is None:
            conn = self._connect()
        try:
            if isinstance(conn, _Connection):  # every connection the store opens is one
                conn.tune(bulk)
        except _DRIVER_ERRORS as exc:
            conn.close()
            raise translate(exc) from exc
        return SQLiteSession(self, conn)

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._pool_lock:
            bulk = self._bulk > 0
        if isinstance(conn, _Connection) and conn.bulk and not bulk:  # the defaults again: its cache is freed now
            try:
                conn.tune(False)
            except sqlite3.Error:
                conn.close()
                return
        with self._pool_lock:
            if not self.closed and len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """Run a long series of writes (an import) with settings that suit it; the defaults again afterwards.

        Inside, each connection the store hands out keeps a page cache of up to ``BULK_CACHE_KIB`` KiB (32 MiB,
        against SQLite's default 2 MiB: the pages of the search keys' indexes that every batch touches stay in
        memory as the file grows), and the write-ahead log is copied into the database file when it reaches
        ``BULK_CHECKPOINT_PAGES`` pages (about 64 MiB) instead of 1,000: a page that many batches change is
        copied once, not after every batch. Nothing about durability changes: each commit is in the log, with
        the same ``synchronous`` setting, and survives a crash of the process as before. On leaving, the
        connections return to the defaults (their caches shrink), and a passive checkpoint copies what the log
        holds into the database file (it waits for no one); the log file is cut back to 64 MiB at the latest.
        Sections may nest and run in several threads at once; the defaults return when the last one ends."""
        with self._pool_lock:
            self._bulk += 1
        try:
            yield
        finally:
            with self._pool_lock:
                self._bulk -= 1
                done = self._bulk == 0
                idle, self._idle = (self._idle, []) if done else ([], self._idle)
            for conn in idle:
                self._release(conn)  # back to the defaults, then idle again
            if done and not self.closed:
                try:
                    self._pragma("wal_checkpoint(PASSIVE)")
                except OperationalError:  # the file is busy: the next automatic checkpoint does it
                    pass

    def _close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self._cleanup()

    # -- maintenance ---------------------------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and empty it (``wal_checkpoint(TRUNCATE)``)."""
        self._pragma("wal_checkpoint(TRUNCATE)")

    def purge_residue(self) -> None:
        """Make what committed units of work deleted or overwrote unrecoverable from the database's files.

        Every connection of the store runs with ``secure_delete`` on, so SQLite zeroes deleted cells and freed
        pages; but when it rebuilds a page (a split, a merge, a defragmentation) stale copies of moved cells
        can stay in the page's unused gap, and until a checkpoint the old pages are still in the main file and
        older copies in the write-ahead log. So this checks that ``secure_delete`` is on, runs ``VACUUM`` (the
        database is rebuilt from its live rows, every page written afresh) and then
        ``wal_checkpoint(TRUNCATE)`` (the new pages replace the old ones in the main file and the ``-wal`` file
        is emptied to zero bytes). It takes about as long as copying the file and needs as much free disk
        space, so batch erasures and purge once afterwards. Raises :class:`~custdata.OperationalError` when
        another connection (in any process) holds the write lock or keeps the log in use past the store's
        timeout; nothing is lost then, call it again.
        """
        session = self._checked_out()
        try:
            row = session.fetch_one("PRAGMA secure_delete")
            if row is None or int(row[0]) != 1:
                raise OperationalError("SQLite does not overwrite deleted data on this connection (secure_delete)")
            session.fetch_all("VACUUM")
            result = session.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            session.close()
        if result is None or int(result[0]) != 0:
            raise OperationalError(
                "SQLite could not empty the write-ahead log: another connection is using it; try again"
            )

    def integrity_check(self) -> list[str]:
        """SQLite's ``PRAGMA integrity_check``: ``['ok']`` for a sound file, else the problems found."""
        return [str(row[0]) for row in self._pragma("integrity_check")]

    def _pragma(self, pragma: str) -> list[tuple[Any, ...]]:
        session = self._checked_out()
        try:
            return session.fetch_all(f"PRAGMA {pragma}")
        finally:
            session.close()


def _remove_tempdir(tempdir: str | None) -> None:
    if tempdir is not None:
        shutil.rmtree(tempdir, ignore_errors=True)


def open_url(url: str) -> SQLiteStore:
    """Open the SQLite store named by a ``sqlite://`` URL (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite":
        raise ProgrammingError("a SQLite store URL starts with sqlite://")
    if parts.netloc:
        raise ProgrammingError("a SQLite URL has no host: use sqlite:///relative.db or sqlite:////absolute.db")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(options) - {"timeout", "synchronous", "mode"}
    if unknown:
        raise ProgrammingError(f"unknown SQLite URL options: {', '.join(sorted(unknown))}")
    try:
        timeout = float(options.get("timeout", "10"))
    except ValueError:
        raise ProgrammingError("the SQLite URL option timeout must be a number of seconds") from None
    mode = options.get("mode", "rwc")
    if mode not in {"rw", "rwc"}:
        raise ProgrammingError("the SQLite URL option mode must be rw (the file must exist) or rwc (the default)")
    path = unquote(parts.path)[1:] if parts.path.startswith("/") else unquote(parts.path)
    if path in {"", ":memory:"}:
        return SQLiteStore(None, timeout=timeout, synchronous=options.get("synchronous", "normal"))
    synchronous = options.get("synchronous", "normal")
    return SQLiteStore(path, timeout=timeout, synchronous=synchronous, create=mode == "rwc")


#: The SQLite store offers the outbox port (checked by the type checker).
_OUTBOX_STORE: type[OutboxStore] = SQLiteStore
