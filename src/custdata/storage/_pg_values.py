"""What the PostgreSQL store does to statements and values on their way to psycopg and back: error translation,
documents made fit for ``JSONB``, and long ``IN`` lists turned into one array parameter."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from custdata._errors import ErrorCode, IntegrityError, OperationalError, ProgrammingError, StoreError, ValidationError
from custdata.storage.sql.session import Params

try:
    import psycopg
    import psycopg_pool
    from psycopg import errors as pg_errors
except ModuleNotFoundError:  # the extra is not installed; PostgresStore says how to install it
    pass

_INTEGRITY = {
    "customers_pkey": "a customer with this id already exists",
    "orders_pkey": "an order with this id already exists",
    "orders_external_ref": "an order with this external reference already exists",
    "communications_pkey": "a communication event with this id already exists",
    "communications_idempotency": "a communication event with this idempotency key already exists",
    "activity_pkey": "an activity event with this id already exists",
    "customer_keys_pkey": "a customer search key is stored twice",
}
_FOREIGN_KEY = (
    "a foreign key failed: the customer referred to does not exist, or a customer being deleted "
    "still has orders, communication or activity events"
)


# -- errors ---------------------------------------------------------------------------------------------------


def translate(exc: BaseException) -> Exception:
    """The custdata error for an exception raised by psycopg or its pool.

    Server messages can quote stored values, so messages are built from the SQLSTATE, the error's name and
    the constraint or object it concerns, never from the values themselves.
    """
    if isinstance(exc, StoreError | ValidationError):
        return exc
    if isinstance(exc, UnicodeEncodeError):
        return ValidationError.single("", "contains a lone surrogate character, which cannot be stored")
    if isinstance(exc, psycopg_pool.PoolClosed):
        return ProgrammingError("the store is closed")
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return OperationalError(f"no PostgreSQL connection became free in time ({exc})")
    if not isinstance(exc, psycopg.Error):
        return OperationalError(f"PostgreSQL failed: {type(exc).__name__}")
    state = exc.sqlstate
    name = type(exc).__name__
    what = f"{name}, SQLSTATE {state}" if state else name
    if isinstance(exc, psycopg.IntegrityError):
        if isinstance(exc, pg_errors.ForeignKeyViolation):
            return IntegrityError(_FOREIGN_KEY)
        constraint = exc.diag.constraint_name or ""
        message = _INTEGRITY.get(constraint, f"a constraint failed ({what}, {constraint or 'unnamed'})")
        duplicate = isinstance(exc, pg_errors.UniqueViolation)
        return IntegrityError(message, code=ErrorCode.DUPLICATE if duplicate else ErrorCode.CONSTRAINT)
    if isinstance(exc, psycopg.DataError):
        return ValidationError.single("", f"holds a value PostgreSQL cannot store ({what})")
    if isinstance(exc, pg_errors.LockNotAvailable):
        return OperationalError("another unit of work holds a lock on this data; gave up waiting for it")
    if isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
        return OperationalError(f"PostgreSQL aborted the transaction to resolve a conflict ({what}); retry it")
    if isinstance(exc, pg_errors.QueryCanceled):
        return OperationalError(f"PostgreSQL cancelled the statement ({what})")
    if isinstance(exc, pg_errors.InFailedSqlTransaction):
        return OperationalError("an earlier statement of this unit of work failed; roll back and retry")
    if isinstance(exc, psycopg.ProgrammingError | psycopg.NotSupportedError):
        # syntax, missing tables, privileges: the primary message names objects, not stored values
        return ProgrammingError(f"PostgreSQL rejected the statement ({what}): {exc.diag.message_primary or ''}")
    if state is None:
        # raised by libpq or psycopg themselves: connection failures, a closed connection
        return OperationalError(f"PostgreSQL connection problem: {exc}")
    return OperationalError(f"PostgreSQL could not do the work ({what})")


def cause(exc: BaseException) -> BaseException | None:
    """What to chain a translated error to (``raise translate(exc) from cause(exc)``): nothing for an error the
    server reported, whose text can quote stored values (``DETAIL: Key (id)=(...) already exists``), so that a
    printed traceback carries no personal data; the driver's exception otherwise (a lost connection, say)."""
    return None if getattr(exc, "sqlstate", None) else exc


# -- documents --------------------------------------------------------------------------------------------------

_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_NUMBER_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?e\+\d+)')


def _fixed(match: re.Match[str]) -> str:
    number = match.group(1)
    if number is None:
        return match.group(0)
    return f"{Decimal(number):f}.0"


def jsonb_safe(doc: str) -> str:
    """``doc`` with floats written as ``1.5e+16`` rewritten as ``15000000000000000.0``, which ``JSONB`` keeps a
    float (it would turn the first into an integer, and one not always equal to the float).

    >>> jsonb_safe('{"a":1.5e+16,"b":"1e+16","c":1e-05}')
    '{"a":15000000000000000.0,"b":"1e+16","c":1e-05}'
    """
    if "e+" not in doc:
        return doc
    return _NUMBER_OR_STRING.sub(_fixed, doc)


@lru_cache(maxsize=256)
def _doc_position(sql: str) -> int | None:
    """Which parameter of ``sql`` is a document (the one cast to ``jsonb``), if any."""
    at = sql.find("%s::jsonb")
    return None if at < 0 else sql.count("%s", 0, at)


def _safe_params(sql: str, params: Params) -> Params:
    position = _doc_position(sql)
    if position is None:
        return params
    doc = params[position]
    if not isinstance(doc, str):
        return params
    if "\\u0000" in doc and _NUL.search(doc):
        raise ValidationError.single(
            "", "holds a NUL character (in a metadata key, say), which PostgreSQL cannot store"
        )
    if "e+" not in doc:
        return params
    fixed = list(params)
    fixed[position] = jsonb_safe(doc)
    return fixed


# -- long IN lists ---------------------------------------------------------------------------------------------

_IN_LIST = re.compile(r" IN \(((?:%s, )+%s)\)")
_SHORT_LIST = 8


@lru_cache(maxsize=64)
def _any_form(sql: str) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """``sql`` with each long ``IN (%s, %s, ...)`` turned into ``= ANY(%s)``, and where those lists' parameters
    start and how many there are; None when there is nothing to turn.

    psycopg parses a statement with more than 50 parameters anew on every call, and PostgreSQL plans each
    list length separately; one array parameter keeps the statement short, cached and prepared.
    """
    pieces: list[str] = []
    lists: list[tuple[int, int]] = []
    last = 0
    for match in _IN_LIST.finditer(sql):
        count = match.group(1).count("%s")
        if count < _SHORT_LIST:
            continue
        start = sql.count("%s", 0, match.start())
        shift = sum(n - 1 for _, n in lists)
        lists.append((start - shift, count))
        pieces += [sql[last : match.start()], " = ANY(%s)"]
        last = match.end()
    if not lists:
        return None
    pieces.append(sql[last:])
    return "".join(pieces), tuple(lists)


def _with_arrays(sql: str, params: Params) -> tuple[str, Params]:
    if " IN (" not in sql:
        return sql, params
    form = _any_form(sql)
    if form is None:
        return sql, params
    rewritten, lists = form
    grouped = list(params)
    for start, count in lists:
        grouped[start : start + count] = [grouped[start : start + count]]
    return rewritten, grouped
