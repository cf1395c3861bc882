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
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs


class CustdataError(Exception):
    """Root of every error raised by custdata."""


@attrs.frozen
class Problem:
    """One thing wrong with some input: where (a path such as ``addresses[0].postal_code``) and why."""

    path: str
    message: str

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


class ValidationError(CustdataError, ValueError):
    """Input that breaks the model's rules; ``problems`` lists every one found, each with its path."""

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self._render())

    @classmethod
    def single(cls, path: str, message: str) -> ValidationError:
        return cls([Problem(path, message)])

    def prefixed(self, prefix: str) -> ValidationError:
        """The same problems with ``prefix`` put in front of every path."""
        return ValidationError(Problem(join_path(prefix, p.path), p.message) for p in self.problems)

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
        super().__init__([Problem("currency", f"cannot combine {left} with {right}")])

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.left, self.right))


class InvalidTransitionError(ValidationError):
    """An order status change that the transition table does not allow."""

    def __init__(self, current: str, requested: str, allowed: Iterable[str]) -> None:
        self.current, self.requested = current, requested
        self.allowed = tuple(sorted(allowed))
        choices = ", ".join(self.allowed) or "none: it is final"
        super().__init__([Problem("status", f"cannot go from {current} to {requested} (allowed: {choices})")])

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.current, self.requested, self.allowed))


class TokenError(ValidationError):
    """A verification token was refused; ``reason`` says why, so that the application can answer fittingly.

    Reasons: ``malformed`` (not a token of this kind), ``tampered`` (the signature does not match: altered, or
    signed with another secret), ``expired``, ``used`` (the customer changed since it was issued, which a
    completed verification does) and ``foreign`` (issued for another customer or an address the customer no
    longer has).
    """

    REASONS = ("malformed", "tampered", "expired", "used", "foreign")

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.detail = message
        super().__init__([Problem("token", message)])

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

    def __init__(self, kind: str, key: str, expected: int, actual: int | None) -> None:
        self.kind, self.key, self.expected, self.actual = kind, key, expected, actual
        found = "it no longer exists" if actual is None else f"the stored version is {actual}"
        super().__init__(f"{kind} {key!r} was changed concurrently: expected version {expected}, {found}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.kind, self.key, self.expected, self.actual))


class IntegrityError(StoreError):
    """A store constraint failed, such as adding a record whose id already exists."""


class OperationalError(StoreError):
    """The database could not do the work: locked, unreachable, out of space, closed underneath us."""


class ProgrammingError(StoreError):
    """The store was used wrongly: closed, an unknown URL scheme, a unit of work used twice."""


class OutboxMissingError(ProgrammingError, ValidationError):
    """A store whose units of work have no outbox (they are not ``custdata.outbox.OutboxUnitOfWork``) was given
    to something that writes or sends messages: the dispatcher, the workflow engine. ``store_type`` names the
    store's class. It is also a :class:`ValidationError` with one problem at ``store``, which is what earlier
    versions raised, so code that catches that keeps working.

    >>> print(OutboxMissingError("ShelfStore"))
    store: ShelfStore has no outbox (its units of work must offer outbox and timers)
    """

    def __init__(self, store_type: str) -> None:
        self.store_type = store_type
        ValidationError.__init__(
            self, [Problem("store", f"{store_type} has no outbox (its units of work must offer outbox and timers)")]
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
