"""Every error custdata raises, under one root.

::

    CustdataError
     ├── ValidationError (ValueError)      bad data; lists every problem with its path
     │    ├── CurrencyMismatchError        arithmetic across two currencies
     │    ├── InvalidTransitionError       an order status change the table forbids
     │    └── TokenError                   a verification token that is malformed, forged, expired, used or foreign
     ├── StoreError                        anything a store reports
     │    ├── NotFoundError (LookupError)  no record with that id
     │    ├── ConflictError                optimistic concurrency: the version was stale
     │    ├── IntegrityError               a constraint failed (duplicate id, ...)
     │    ├── OperationalError             the database could not do the work (locked, gone, ...)
     │    └── ProgrammingError             the store was used wrongly (closed, bad URL, ...)
     │         └── OutboxMissingError      a store without an outbox was asked to hold or send messages
     │                                     (also a ValidationError at ``store``, as raised before)
     └── MissingExtraError (ImportError)   an optional dependency is not installed; names the extra

Messages never quote personal data: they name the field and the rule, not the value.

Every problem and every error carries a stable :class:`ErrorCode` that a client can branch on or translate, and
every error renders as an RFC 9457 problem document (:meth:`CustdataError.to_problem_details`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any, ClassVar

import attrs


class ErrorCode(StrEnum):
    """Stable, documented codes for what went wrong; the values are public API and never change meaning.

    A :class:`Problem` has one, and so has every :class:`CustdataError` (its ``error_code``). Each value names a
    problem type ``PROBLEM_TYPE_BASE + value`` in problem documents.
    """

    #: a value is missing (or empty where it must not be)
    REQUIRED = "required"
    #: a field the input does not have: refused, never dropped
    UNKNOWN_FIELD = "unknown_field"
    #: a field that exists but the caller may not set (ids, timestamps, verification, server-managed data)
    FORBIDDEN_FIELD = "forbidden_field"
    #: a value of the wrong kind: a number for a string, a list for an object
    INVALID_TYPE = "invalid_type"
    #: a value that is not one of the allowed choices of an enumeration
    INVALID_CHOICE = "invalid_choice"
    #: a value of the right kind in the wrong form: a timestamp without offset, a malformed id or date
    INVALID_FORMAT = "invalid_format"
    #: not a valid email address
    INVALID_EMAIL = "invalid_email"
    #: not a valid or possible phone number
    INVALID_PHONE = "invalid_phone"
    #: a postal code that does not match its country's format
    POSTAL_CODE_FORMAT = "postal_code_format"
    #: not a known ISO 3166-1 country code (or a region of it)
    COUNTRY_CODE = "country_code"
    #: not a current ISO 4217 currency code
    CURRENCY_CODE = "currency_code"
    #: text longer than its field allows (or a list with too many entries)
    TOO_LONG = "too_long"
    #: a number outside its bounds: negative, zero where more is needed, too large
    OUT_OF_RANGE = "out_of_range"
    #: amounts in two currencies, or not in the currency they must be in
    CURRENCY_MISMATCH = "currency_mismatch"
    #: an order status change (or other change of state) the current state does not allow
    INVALID_TRANSITION = "invalid_transition"
    #: a verification token that is malformed, forged, expired, used or foreign
    INVALID_TOKEN = "invalid_token"
    #: the record changed since the caller read it: read it again and retry
    VERSION_CONFLICT = "version_conflict"
    #: no record with that id
    NOT_FOUND = "not_found"
    #: the record (or its unique key) exists already
    DUPLICATE = "duplicate"
    #: a store constraint other than a duplicate failed (a missing parent, a merge chain that loops)
    CONSTRAINT = "constraint"
    #: the store could not do the work (locked, unreachable): retrying later may succeed
    UNAVAILABLE = "unavailable"
    #: the library was used wrongly or lacks an optional dependency: a fault of the program, not its input
    INTERNAL = "internal"
    #: anything else wrong with a value
    INVALID = "invalid"


#: Where the problem types live: a problem document's ``type`` is this followed by the code.
PROBLEM_TYPE_BASE = "https://custdata.dev/problems/"


#: The ``title`` of each problem type: short, constant, and the same for every problem of the type.
TITLES: dict[ErrorCode, str] = {
    ErrorCode.REQUIRED: "A value is required",
    ErrorCode.UNKNOWN_FIELD: "Unknown field",
    ErrorCode.FORBIDDEN_FIELD: "The field cannot be set here",
    ErrorCode.INVALID_TYPE: "A value has the wrong type",
    ErrorCode.INVALID_CHOICE: "A value is not one of the choices",
    ErrorCode.INVALID_FORMAT: "A value has the wrong format",
    ErrorCode.INVALID_EMAIL: "Invalid email address",
    ErrorCode.INVALID_PHONE: "Invalid phone number",
    ErrorCode.POSTAL_CODE_FORMAT: "Invalid postal code",
    ErrorCode.COUNTRY_CODE: "Unknown country or region",
    ErrorCode.CURRENCY_CODE: "Unknown currency",
    ErrorCode.TOO_LONG: "A value is too long",
    ErrorCode.OUT_OF_RANGE: "A number is out of range",
    ErrorCode.CURRENCY_MISMATCH: "Currencies do not match",
    ErrorCode.INVALID_TRANSITION: "The change is not allowed in the current state",
    ErrorCode.INVALID_TOKEN: "The token is not valid",
    ErrorCode.VERSION_CONFLICT: "The record was changed concurrently",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.DUPLICATE: "Already exists",
    ErrorCode.CONSTRAINT: "A constraint of the store failed",
    ErrorCode.UNAVAILABLE: "The store is unavailable",
    ErrorCode.INTERNAL: "Internal error",
    ErrorCode.INVALID: "The input is not valid",
}


class CustdataError(Exception):
    """Root of every error raised by custdata."""

    #: the stable code of this kind of error (see :class:`ErrorCode`)
    error_code: ClassVar[ErrorCode] = ErrorCode.INTERNAL
    #: the HTTP status its problem document carries
    http_status: ClassVar[int] = 500

    def to_problem_details(self, instance: str | None = None, *, type_base: str = PROBLEM_TYPE_BASE) -> dict[str, Any]:
        """This error as an RFC 9457 problem document (a JSON object; serve it as ``application/problem+json``).

        ``type`` is ``type_base`` followed by the error's code, ``title`` a constant per code, ``status`` the HTTP
        status, ``detail`` the message (which never quotes personal data), ``instance`` the URI given (the request,
        say), and the extension ``errors`` lists ``{code, path, message}`` per problem, ``path`` a JSON pointer.
        """
        document: dict[str, Any] = {
            "type": type_base + str(self.error_code),
            "title": TITLES[self.error_code],
            "status": self.http_status,
            "detail": self._detail(),
        }
        if instance is not None:
            document["instance"] = instance
        document["code"] = str(self.error_code)
        document["errors"] = [
            {"code": str(p.code), "path": json_pointer(p.path), "message": p.message} for p in self._problems()
        ]
        return document

    def _detail(self) -> str:
        return str(self)

    def _problems(self) -> tuple[Problem, ...]:
        return (Problem("", self._detail(), code=self.error_code),)


@attrs.frozen
class Problem:
    """One thing wrong with some input: where (a path such as ``addresses[0].postal_code``), why, and a stable
    :class:`ErrorCode` for programs. The code takes no part in comparisons, so problems written before codes
    existed still compare equal to the ones raised."""

    path: str
    message: str
    code: ErrorCode = attrs.field(default=ErrorCode.INVALID, kw_only=True, eq=False)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def join_path(prefix: str, path: str) -> str:
    """Join two path pieces: ``join_path("addresses[0]", "city")`` is ``addresses[0].city``."""
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


_PATH_PART = re.compile(r"""\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]|\.?([^.\[]+)""")


def _path_parts(path: str) -> Iterator[str]:
    at = 0
    while at < len(path):
        match = _PATH_PART.match(path, at)
        if match is None:  # not a path of this form: keep the rest whole
            yield path[at:]
            return
        index, quoted, name = match.groups()
        if index is not None:
            yield index
        elif quoted is not None:
            import ast

            yield str(ast.literal_eval(quoted))
        else:
            yield name
        at = match.end()


def json_pointer(path: str) -> str:
    """A problem path as an RFC 6901 JSON pointer: ``addresses[0].postal_code`` is ``/addresses/0/postal_code``,
    ``metadata['a/b']`` is ``/metadata/a~1b``, and the empty path (the whole input) is ``""``."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in _path_parts(path))


class ValidationError(CustdataError, ValueError):
    """Input that breaks the model's rules; ``problems`` lists every one found, each with its path and code.

    Its own ``error_code`` is the code of its problems when they all share one, else ``invalid``.
    """

    http_status = 422
    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self._render())

    @property
    def error_code(self) -> ErrorCode:  # type: ignore[override]  # the problems' common code
        codes = {p.code for p in self.problems}
        return codes.pop() if len(codes) == 1 else ErrorCode.INVALID

    @classmethod
    def single(cls, path: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> ValidationError:
        return cls([Problem(path, message, code=code)])

    def prefixed(self, prefix: str) -> ValidationError:
        """The same problems with ``prefix`` put in front of every path."""
        return ValidationError(Problem(join_path(prefix, p.path), p.message, code=p.code) for p in self.problems)

    def _detail(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        return f"{len(self.problems)} problems with the input; see errors"

    def _problems(self) -> tuple[Problem, ...]:
        return self.problems

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems:"]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.problems,))


class CurrencyMismatchError(ValidationError):
    """Money in two different currencies was added, subtracted or compared."""

    def __init__(self, left: str, right: str) -> None:
        self.left, self.right = left, right
        super().__init__([Problem("currency", f"cannot combine {left} with {right}", code=ErrorCode.CURRENCY_MISMATCH)])

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.left, self.right))


class InvalidTransitionError(ValidationError):
    """An order status change that the transition table does not allow (409 in a problem document: the input is
    well formed, the order's state refuses it)."""

    http_status = 409

    def __init__(self, current: str, requested: str, allowed: Iterable[str]) -> None:
        self.current, self.requested = current, requested
        self.allowed = tuple(sorted(allowed))
        choices = ", ".join(self.allowed) or "none: it is final"
        super().__init__(
            [
                Problem(
                    "status",
                    f"cannot go from {current} to {requested} (allowed: {choices})",
                    code=ErrorCode.INVALID_TRANSITION,
                )
            ]
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.current, self.requested, self.allowed))


class TokenError(ValidationError):
    """A verification token was refused; ``reason`` says why, so that the application can answer fittingly.

    Reasons: ``malformed`` (not a token of this kind), ``tampered`` (the signature does not match: altered, or
    signed with another secret), ``expired``, ``used`` (the customer changed since it was issued, which a
    completed verification does) and ``foreign`` (issued for another customer or an address the customer no
    longer has).
    """

    http_status = 400
    REASONS = ("malformed", "tampered", "expired", "used", "foreign")

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.detail = message
        super().__init__([Problem("token", message, code=ErrorCode.INVALID_TOKEN)])

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason, self.detail))


#: The form of every custdata id (see :class:`custdata.Identifier`).
ID_FORM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")


class StoreError(CustdataError):
    """Root of everything a store reports; callers never need to catch a database driver's errors."""


class NotFoundError(StoreError, LookupError):
    """No record of that kind with that id.

    The message quotes the key only when it has the form of an id: something else handed in as one (an email
    address, a name) may be personal data, and stays in ``key`` for the program but out of the message.
    """

    error_code = ErrorCode.NOT_FOUND
    http_status = 404

    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        if isinstance(key, str) and ID_FORM.fullmatch(key):
            super().__init__(f"no {kind} with id {key!r}")
        else:
            super().__init__(f"no {kind} with that id, which is not a valid id (not shown: it may be personal data)")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.key))


class ConflictError(StoreError):
    """An update carried a stale version: someone else changed the record first. Nothing was written."""

    error_code = ErrorCode.VERSION_CONFLICT
    http_status = 409

    def __init__(self, kind: str, key: str, expected: int, actual: int | None) -> None:
        self.kind, self.key, self.expected, self.actual = kind, key, expected, actual
        found = "it no longer exists" if actual is None else f"the stored version is {actual}"
        super().__init__(f"{kind} {key!r} was changed concurrently: expected version {expected}, {found}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.key, self.expected, self.actual))


class IntegrityError(StoreError):
    """A store constraint failed, such as adding a record whose id already exists. ``error_code`` is ``duplicate`` when
    the record or one of its unique keys exists already, else ``constraint``."""

    http_status = 409

    def __init__(self, *args: object, code: ErrorCode = ErrorCode.CONSTRAINT) -> None:
        super().__init__(*args)
        self.error_code = code  # type: ignore[misc]

    def __reduce__(self) -> tuple[object, ...]:
        return (_integrity_error, (type(self), self.args, self.error_code))


class OperationalError(StoreError):
    """The database could not do the work: locked, unreachable, out of space, closed underneath us."""

    error_code = ErrorCode.UNAVAILABLE
    http_status = 503


class ProgrammingError(StoreError):
    """The store was used wrongly: closed, an unknown URL scheme, a unit of work used twice."""


class OutboxMissingError(ProgrammingError, ValidationError):
    """A store whose units of work have no outbox (they are not ``custdata.outbox.OutboxUnitOfWork``) was given
    to something that writes or sends messages: the dispatcher, the workflow engine. ``store_type`` names the
    store's class. It is also a :class:`ValidationError` with one problem at ``store``, which is what earlier
    versions raised, so code that catches that keeps working; its problem document is a 500 (a fault of the
    program).

    >>> print(OutboxMissingError("ShelfStore"))
    store: ShelfStore has no outbox (its units of work must offer outbox and timers)
    """

    http_status = 500

    def __init__(self, store_type: str) -> None:
        self.store_type = store_type
        ValidationError.__init__(
            self,
            [
                Problem(
                    "store",
                    f"{store_type} has no outbox (its units of work must offer outbox and timers)",
                    code=ErrorCode.INTERNAL,
                )
            ],
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.store_type,))


class MissingExtraError(CustdataError, ImportError):
    """An optional dependency is missing; the message names the ``pip install`` command that adds it.

    >>> print(MissingExtraError("psycopg", "postgres", needed_by="the PostgreSQL store"))
    the PostgreSQL store needs the optional dependency 'psycopg'; install it with: pip install 'custdata[postgres]'
    """

    def __init__(self, module: str, extra: str, needed_by: str = "this") -> None:
        self.module, self.extra, self.needed_by = module, extra, needed_by
        super().__init__(
            f"{needed_by} needs the optional dependency {module!r}; install it with: pip install 'custdata[{extra}]'",
            name=module,
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.module, self.extra, self.needed_by))


def _integrity_error(cls: type[IntegrityError], args: tuple[object, ...], code: ErrorCode) -> IntegrityError:
    return cls(*args, code=code)
