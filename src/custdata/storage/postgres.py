"""The PostgreSQL store, on psycopg 3 with a psycopg_pool connection pool (``pip install 'custdata[postgres]'``).

It runs the shared SQL repositories and migrations of :mod:`custdata.storage.sql`: one table per entity with
indexed columns for every query and the document in a ``JSONB`` column, plus the customer search keys.
Keys are compared in the ``"C"`` collation (code point order), so pagination and prefix search agree with the
other stores.

Concurrency. Each unit of work checks a connection out of the pool. Reads run in autocommit (each sees the
latest committed data); the first write opens a transaction. PostgreSQL locks rows, not the database: an
``update`` with a stale version matches no row once the concurrent writer has committed, and is reported as
:class:`~custdata.ConflictError`; a writer waiting longer than ``timeout`` for a row lock gets
:class:`~custdata.OperationalError`, as does a deadlock. Every write statement runs inside a savepoint, so a
failed one (a duplicate id, say) is undone on its own and the unit of work stays usable, as on SQLite (the
write that opens the transaction needs no savepoint of its own: undoing it is rolling the transaction back).
A savepoint stays until the next write releases it or the transaction ends. Statements, writes included, are
prepared as psycopg prepares them (after five uses on a connection); see :meth:`PostgresSession._write` for
how a failed write keeps psycopg's record of them true.
Migrations run on open under an advisory lock, so processes opening an old database at once migrate it once.

Documents. ``JSONB`` keeps numbers as exact decimals and forgets how they were written, so a float such as
``1.2345678901234567e+20`` in metadata would read back as an integer; the store writes such floats in plain
decimal notation with a fractional part, which ``JSONB`` keeps, so every float reads back equal. (The sign of
a floating-point ``-0.0`` is the one thing ``JSONB`` cannot keep; it reads back as ``0.0``, which compares
equal.)

URLs: ``postgresql://user:password@host:port/dbname?schema=shop&pool_max_size=10&timeout=10``; other query
options (``sslmode``, ``connect_timeout``, ...) go to libpq unchanged.
"""

from __future__ import annotations

import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from custdata._errors import MissingExtraError, OperationalError, ProgrammingError
from custdata.storage._pg_values import _safe_params, _with_arrays, cause, jsonb_safe, translate
from custdata.storage.outbox.ports import OutboxStore
from custdata.storage.outbox.sql import SCHEMA as OUTBOX_SCHEMA
from custdata.storage.sql.schema import POSTGRESQL, Dialect, Schema, migrate
from custdata.storage.sql.session import Params
from custdata.storage.sql.tables import CORE
from custdata.storage.sql.unit_of_work import SqlStore

try:
    import psycopg
    import psycopg_pool
    from psycopg import sql as pg_sql
    from psycopg.pq import TransactionStatus
except ModuleNotFoundError as exc:  # the extra is not installed; PostgresStore says how to install it
    _MISSING: ModuleNotFoundError | None = exc
else:
    _MISSING = None

#: Pooled connections idle longer than this (seconds) are checked before use; busier ones are not, which
#: saves a round trip per unit of work. A connection that broke in between fails its statement, is discarded
#: by the pool, and the unit of work gets an OperationalError.
CHECK_AFTER_IDLE = 5.0

#: Options of a ``postgresql://`` URL that custdata reads itself; every other option goes to libpq.
URL_OPTIONS = ("schema", "pool_min_size", "pool_max_size", "timeout")

# -- sessions ---------------------------------------------------------------------------------------------------


class PostgresSession:
    """A pooled connection checked out for one unit of work (see :class:`custdata.storage.sql.SqlSession`)."""

    def __init__(self, connection: psycopg.Connection[Any], release: Callable[[psycopg.Connection[Any]], None]) -> None:
        self._conn: psycopg.Connection[Any] | None = connection
        self._release = release
        self._writing = False
        self._saved = False  # the savepoint of the last write is open (released by the next write or COMMIT)
        self._savepoint: Any = None  # the cursor of the last SAVEPOINT sent: it has a result once it ran
        self._aborted = False
        self._discard = False  # psycopg's record of the connection's prepared statements may be wrong

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The psycopg connection, for components that need the driver itself."""
        if self._conn is None:
            raise ProgrammingError("this session is closed")
        return self._conn

    def _usable(self) -> psycopg.Connection[Any]:
        conn = self.connection
        if self._aborted:
            raise OperationalError("an earlier statement of this unit of work failed; roll back and retry")
        return conn

    def _failed(self, exc: BaseException) -> Exception:
        conn = self._conn
        if conn is not None and conn.info.transaction_status == TransactionStatus.INERROR:
            self._aborted = True
        return translate(exc)

    def fetch_all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        conn = self._usable()
        sql, params = _with_arrays(sql, params)
        try:
            return conn.execute(sql, params).fetchall()
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._failed(exc) from cause(exc)

    def fetch_one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        conn = self._usable()
        sql, params = _with_arrays(sql, params)
        try:
            row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
            return row
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._failed(exc) from cause(exc)

    def execute(self, sql: str, params: Params = ()) -> int:
        safe = _safe_params(sql, params)
        return self._write(lambda cur: cur.execute(sql, safe))

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        safe = [_safe_params(sql, row) for row in rows]
        # psycopg does not tell which row failed: with more than one, a later row may have been skipped
        self._write(lambda cur: cur.executemany(sql, safe), skipped=lambda: len(safe) > 1)

    def execute_returning(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        safe = _safe_params(sql, params)
        rows: list[tuple[Any, ...]] = []
        self._write(lambda cur: cur.execute(sql, safe), rows)
        return rows

    def execute_committed(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        if self._writing:  # it joins the unit of work's transaction, committed with it
            rows = self.execute_returning(sql, params)
            self.commit()
            return rows
        conn = self._usable()
        safe = _safe_params(sql, params)
        try:  # the connection is in autocommit mode: the statement is a transaction of its own
            cursor = conn.execute(sql, safe)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        except (psycopg.Error, UnicodeEncodeError) as exc:
            raise self._failed(exc) from cause(exc)

    def execute_each(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        safe = [(sql, _safe_params(sql, params)) for sql, params in statements]
        cursors: list[psycopg.Cursor[Any]] = []

        def run(_: psycopg.Cursor[Any]) -> None:
            conn = self.connection
            for sql, params in safe:
                cursor = conn.cursor()
                cursors.append(cursor)
                cursor.execute(sql, params)

        def skipped() -> bool:  # a statement failed before the last one (those that ran have their result)
            return any(cursor.pgresult is None for cursor in cursors[:-1])

        try:
            self._write(run, skipped=skipped)
            return [cursor.rowcount for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()

    def _write(
        self,
        run: Callable[[psycopg.Cursor[Any]], object],
        rows: list[tuple[Any, ...]] | None = None,
        *,
        skipped: Callable[[], bool] = lambda: False,
    ) -> int:
        """Run a write in the unit of work's transaction (opening it if needed), inside a savepoint.

        The statements go in one pipeline: one round trip for SAVEPOINT and the write. The savepoint stays until
        the next write releases it in its own pipeline (RELEASE, SAVEPOINT, the write), or COMMIT or ROLLBACK ends
        it with the transaction, so a unit of work holds one savepoint at a time and sends one RELEASE fewer than
        it has savepoints. The write that opens the transaction needs no savepoint: nothing was written before it,
        so undoing it alone is rolling the transaction back (BEGIN and the write, one round trip). With ``rows``,
        the rows the write returns (its ``RETURNING`` clause) are added to it. ``skipped`` tells, after a failure,
        whether a statement of the write may have come after the one that failed (the server skips the rest of a
        failed pipeline).

        The write's statements are prepared as psycopg prepares any statement (after five uses on the
        connection), so the server parses and plans each once per connection. psycopg records a statement as
        prepared when it sends the preparation; in a pipeline the server skips whatever follows a failed
        statement, the preparation included, and psycopg does not always notice. So nothing but the write follows
        its savepoint in the pipeline, and a failure that may have left a preparation skipped (see
        :meth:`_distrusts_preparations`) turns preparation off on the connection, which leaves the pool when the
        unit of work ends.
        """
        conn = self._usable()
        cur = conn.cursor()
        opening = not self._writing
        try:
            with conn.pipeline():
                self._writing = True
                if opening:
                    conn.execute("BEGIN")
                else:
                    if self._saved:
                        conn.execute("RELEASE SAVEPOINT custdata_write")
                    self._saved = False
                    self._savepoint = conn.execute("SAVEPOINT custdata_write")
                    self._saved = True
                run(cur)
            if rows is not None:
                rows += cur.fetchall()
            return cur.rowcount  # known only once the pipeline has synced
        except BaseException as exc:
            if self._distrusts_preparations(exc, skipped):
                conn.prepare_threshold = None
                self._discard = True
            self._undo_write(conn, opening)
            if isinstance(exc, psycopg.Error | UnicodeEncodeError):
                raise translate(exc) from cause(exc)
            raise
        finally:
            cur.close()

    @staticmethod
    def _distrusts_preparations(exc: BaseException, skipped: Callable[[], bool]) -> bool:
        """Whether a failed write may have left psycopg taking a statement for prepared that the server never
        prepared: unless the failure is a constraint's (SQLSTATE class 23, raised while the statement runs, so
        after it was parsed and prepared) and no statement came after the failed one. A statement refused while
        parsed (a lock not granted in time, an aborted transaction, bad SQL) or skipped after a failure may be
        recorded as prepared."""
        if isinstance(exc, UnicodeEncodeError):  # refused by the client before the statement was sent
            return skipped()
        if not isinstance(exc, psycopg.Error) or not (exc.sqlstate or "").startswith("23"):
            return True
        return skipped()

    def _undo_write(self, conn: psycopg.Connection[Any], opening: bool) -> None:
        """Undo a failed write alone, keeping the unit of work's earlier writes (as SQLite does)."""
        status = conn.info.transaction_status
        if status == TransactionStatus.IDLE:
            self._writing = self._saved = False
            return
        if status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            try:
                if opening:  # the transaction holds this write alone
                    conn.execute("ROLLBACK")
                    self._writing = self._saved = False
                elif self._saved and self._savepoint is not None and self._savepoint.pgresult is not None:
                    conn.execute("ROLLBACK TO SAVEPOINT custdata_write")  # this write's savepoint, which stays
                else:  # its savepoint was not set: going back to an earlier one would undo an earlier write
                    self._aborted = True
                return
            except psycopg.Error:
                pass
        self._aborted = True

    def commit(self) -> None:
        conn = self.connection
        if not self._writing:
            return
        if self._aborted:
            self.rollback()
            raise OperationalError("an earlier statement of this unit of work failed; it was rolled back")
        self._writing = self._saved = False
        try:
            status = conn.execute("COMMIT").statusmessage
        except psycopg.Error as exc:
            raise self._failed(exc) from cause(exc)
        if status != "COMMIT":
            raise OperationalError("PostgreSQL rolled the transaction back instead of committing it")

    def rollback(self) -> None:
        conn = self.connection
        self._writing = self._saved = self._aborted = False
        if conn.info.transaction_status != TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error as exc:
                raise translate(exc) from cause(exc)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            conn.close()  # broken: the pool replaces closed connections
        if self._discard and not conn.closed:
            conn.close()  # its record of prepared statements may be wrong: the pool opens a fresh connection
        self._release(conn)


# -- the store --------------------------------------------------------------------------------------------------


class PostgresStore(SqlStore):
    """A store in a PostgreSQL database: ``PostgresStore("postgresql://shop@db.internal/shop")``.

    ``schema`` is the PostgreSQL schema holding the tables (created if missing; default ``public``), so
    several stores can share a database. The pool keeps ``pool_min_size`` to ``pool_max_size`` connections;
    ``timeout`` (seconds) bounds waits for a pooled connection and for row locks. Keywords win over the
    same options in the URL.
    """

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
        conninfo, options = split_url(url)
        self.schema = _schema_name(schema if schema is not None else options.get("schema", "public"))
        self._min = _count("pool_min_size", pool_min_size, options, 1, minimum=0)
        self._max = _count("pool_max_size", pool_max_size, options, max(10, self._min), minimum=max(1, self._min))
        self._timeout = _seconds(timeout, options)
        super().__init__(public_url(url))
        self._conninfo = conninfo
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pool_lock = threading.Lock()
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()
        try:
            self._check_reachable()
            self._pool = psycopg_pool.ConnectionPool(
                conninfo,
                min_size=self._min,
                max_size=self._max,
                kwargs={"autocommit": True, "fallback_application_name": "custdata"},
                configure=self._configure,
                check=self._check_if_idle,
                timeout=self._timeout,
                name=f"custdata-{self.schema}",
                open=False,
            )
            try:
                self._pool.open(wait=self._min > 0, timeout=self._timeout)
            except psycopg.Error as exc:
                raise translate(exc) from cause(exc)
            self.migrate()
            self.migrate(OUTBOX_SCHEMA)
        except BaseException:
            self.close()
            raise

    @property
    def timeout(self) -> float:
        return self._timeout

    def _check_reachable(self) -> None:
        """Connect once without the pool, so that a wrong URL fails now with libpq's reason."""
        try:
            with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=max(2, round(self._timeout))):
                pass
        except psycopg.Error as exc:
            raise translate(exc) from cause(exc)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        path = pg_sql.Identifier(self.schema).as_string(conn)
        conn.execute(
            "SELECT set_config('search_path', %s, false), set_config('lock_timeout', %s, false)",
            (path, f"{round(self._timeout * 1000)}ms"),
        )

    def _open_session(self) -> PostgresSession:
        pool = self._pool
        if pool is None:
            raise ProgrammingError("the store is closed")
        try:
            conn = pool.getconn(timeout=self._timeout)
        except psycopg.Error as exc:
            raise translate(exc) from cause(exc)
        return PostgresSession(conn, self._give_back)

    def _check_if_idle(self, conn: psycopg.Connection[Any]) -> None:
        with self._pool_lock:
            returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned > CHECK_AFTER_IDLE:
            psycopg_pool.ConnectionPool.check_connection(conn)

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        pool = self._pool
        if pool is None or pool.closed:
            conn.close()
            return
        with self._pool_lock:
            self._returned[conn] = time.monotonic()
        pool.putconn(conn)

    def _close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def migrate(self, schema: Schema = CORE, *, target: int | None = None) -> list[int]:
        """Bring ``schema`` up to date (or up to ``target``), holding an advisory lock so one process does it."""
        if self.closed:
            raise ProgrammingError("the store is closed")
        session = self._open_session()
        try:
            return migrate_locked(session, self.schema, schema, target)
        finally:
            session.close()

    def purge_residue(self) -> None:
        """Make what committed units of work deleted or overwrote unrecoverable from the tables' files.

        PostgreSQL keeps old row versions in the table and index pages until they are reused; a plain
        ``VACUUM`` marks their space free but leaves the bytes. This runs ``VACUUM (FULL)`` on every table of
        the store's schema (custdata's and those of components that migrated their own tables into it), which
        rewrites each table, its TOAST data and its indexes into new files holding only the live rows, and
        truncates the old files. Each table is locked exclusively while it is rewritten, so run it when the
        store is quiet; a lock not granted within ``timeout`` raises :class:`~custdata.OperationalError`.

        A rewrite copies every row version that some transaction may still read, so a deleted row survives
        it while a transaction older than the delete is open (a session idle in a ``REPEATABLE READ``
        transaction, an ``ANALYZE`` in progress, a prepared transaction, a replication slot). So the purge
        first waits, up to ``timeout``, until no such transaction of the database is left, and raises
        :class:`~custdata.OperationalError` naming the sessions that are still open instead of leaving the
        rows behind unannounced; nothing is lost then, call it again.

        The server's write-ahead log, its archives, replicas and backups keep older copies until they are
        recycled or expire; they are the database administrator's to manage.
        """
        if self.closed:
            raise ProgrammingError("the store is closed")
        session = self._open_session()
        try:
            purge_schema(session.connection, self.schema, self._timeout)
        finally:
            session.close()


def migrate_locked(session: PostgresSession, pg_schema: str, schema: Schema, target: int | None) -> list[int]:
    """Create ``pg_schema`` if missing and bring ``schema`` up to date in it on ``session``, holding an advisory
    lock (per PostgreSQL schema and custdata schema) so that one process at a time does it."""
    conn = session.connection
    key = _lock_key(pg_schema, schema.name)
    try:
        conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
        conn.execute(pg_sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pg_sql.Identifier(pg_schema)))
    except psycopg.Error as exc:
        raise translate(exc) from cause(exc)
    try:
        return migrate(session, schema, target=target)
    finally:
        session.rollback()
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        except psycopg.Error:
            conn.close()  # closing the connection releases the lock too


#: Whatever keeps row versions deleted before ``%(horizon)s`` (a transaction id) readable in this database:
#: sessions whose snapshot or transaction is older, prepared transactions and replication slots. A plain
#: (auto)vacuum is left out, as PostgreSQL's own horizon leaves it out.
_OLDER_TRANSACTIONS = """
SELECT format('session %%s (%%s, %%s)', pid, coalesce(nullif(application_name, ''), backend_type),
              coalesce(state, 'running'))
  FROM pg_stat_activity
 WHERE pid <> pg_backend_pid()
   AND (datid IS NULL OR datid = (SELECT oid FROM pg_database WHERE datname = current_database()))
   AND NOT (backend_type = 'autovacuum worker' AND coalesce(query, '') LIKE 'autovacuum: VACUUM %%'
            AND coalesce(query, '') NOT LIKE '%%ANALYZE%%')
   AND ((backend_xmin IS NOT NULL AND age(backend_xmin) > age(xid(%(horizon)s::xid8)))
        OR (backend_xid IS NOT NULL AND age(backend_xid) > age(xid(%(horizon)s::xid8))))
UNION ALL
SELECT format('prepared transaction %%L', gid)
  FROM pg_prepared_xacts
 WHERE database = current_database() AND age(transaction) > age(xid(%(horizon)s::xid8))
UNION ALL
SELECT format('replication slot %%L', slot_name)
  FROM pg_replication_slots
 WHERE (database IS NULL OR database = current_database())
   AND xmin IS NOT NULL AND age(xmin) > age(xid(%(horizon)s::xid8))
"""


def purge_schema(conn: psycopg.Connection[Any], pg_schema: str, timeout: float) -> None:
    """:meth:`PostgresStore.purge_residue` on ``conn`` (in autocommit mode, its ``lock_timeout`` set): wait for
    older transactions, then ``VACUUM (FULL)`` every table of ``pg_schema``."""
    try:
        _wait_for_older_transactions(conn, timeout)
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm') ORDER BY c.relname",
            (pg_schema,),
        ).fetchall()
        for (table,) in tables:
            conn.execute(
                pg_sql.SQL("VACUUM (FULL) {}.{}").format(pg_sql.Identifier(pg_schema), pg_sql.Identifier(table))
            )
    except psycopg.Error as exc:
        raise translate(exc) from cause(exc)


def _wait_for_older_transactions(conn: Any, timeout: float) -> None:
    """Return once nothing in the database can read a row version that committed work has deleted; raise
    :class:`~custdata.OperationalError` naming what still can after ``timeout`` seconds."""
    row = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
    horizon = row[0]
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        holders = [r[0] for r in conn.execute(_OLDER_TRANSACTIONS, {"horizon": horizon}).fetchall()]
        if not holders:
            return
        if time.monotonic() >= deadline:
            raise OperationalError(
                f"the purge waited {timeout:g} s for transactions older than it to end, and "
                f"{', '.join(sorted(holders))} still may read deleted rows, so rewriting the tables would keep "
                "them; end those transactions and purge again"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _lock_key(pg_schema: str, schema_name: str) -> tuple[int, int]:
    def signed(value: int) -> int:
        return value - (1 << 32) if value >= 1 << 31 else value

    return signed(zlib.crc32(b"custdata-migrations")), signed(zlib.crc32(f"{pg_schema}\0{schema_name}".encode()))


# -- URLs and options -----------------------------------------------------------------------------------------------


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """``(conninfo for libpq, custdata's own options)`` from a ``postgresql://`` URL."""
    if not isinstance(url, str):
        raise ProgrammingError(f"a PostgreSQL store URL must be a string, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"postgresql", "postgres"}:
        raise ProgrammingError("a PostgreSQL store URL starts with postgresql://")
    ours: dict[str, str] = {}
    theirs: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in URL_OPTIONS:
            ours[key] = value
        else:
            theirs.append((key, value))
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(theirs, quote_via=quote), ""))
    return conninfo, ours


def public_url(url: str) -> str:
    """``url`` without its password (in the user part or the query), fit for logs and reprs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{hosts}" if user else hosts
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, quote_via=quote), ""))


def _schema_name(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 63 or "\x00" in value:
        raise ProgrammingError("schema must be a PostgreSQL schema name of 1 to 63 characters")
    return value


def _count(name: str, given: int | None, options: dict[str, str], default: int, *, minimum: int) -> int:
    raw: object = given if given is not None else options.get(name, default)
    try:
        value = int(raw) if isinstance(raw, str) else raw
    except ValueError:
        value = None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ProgrammingError(f"{name} must be an integer of at least {minimum}")
    return value


def _seconds(given: float | None, options: dict[str, str]) -> float:
    raw: object = given if given is not None else options.get("timeout", 10.0)
    try:
        value = float(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None or not 0 < value <= 86_400:
        raise ProgrammingError("timeout must be a number of seconds above 0 (at most a day)")
    return value


def open_url(url: str) -> PostgresStore:
    """Open the PostgreSQL store named by a ``postgresql://`` URL (see the module docstring)."""
    return PostgresStore(url)


__all__ = ["URL_OPTIONS", "PostgresSession", "PostgresStore", "jsonb_safe", "open_url", "public_url", "split_url"]


#: The PostgreSQL store offers the outbox port (checked by the type checker).
_OUTBOX_STORE: type[OutboxStore] = PostgresStore
