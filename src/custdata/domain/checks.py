"""Small building blocks the models use to check their own fields and collect every problem.

For custdata's own packages and for writers of stores and notifiers; not part of the user API, but stable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar, cast

from custdata._errors import ID_FORM, ErrorCode, Problem, ValidationError, join_path

E = TypeVar("E", bound=Enum)

#: Set while loading data the library wrote itself: models then skip their checks.
_TRUSTED: ContextVar[bool] = ContextVar("custdata_trusted", default=False)

MAX_TEXT = 1024
MAX_LONG_TEXT = 100_000
MAX_JSON_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def trusted() -> bool:
    """True while the library loads data it wrote itself."""
    return _TRUSTED.get()


@contextmanager
def trusting() -> Iterator[None]:
    """Skip model checks for data the library wrote itself (never for user input)."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def plain_text(value: object, max_length: int) -> bool:
    """A string of at most ``max_length`` characters without control characters (what ``Checker.text`` accepts
    for an optional single-line field)."""
    return type(value) is str and len(value) <= max_length and not _CONTROL.search(value)


_STR_OR_NONE = frozenset({str, type(None)})


def plain_texts(values: tuple[object, ...], max_length: int) -> bool:
    """Strings or None, together at most ``max_length`` characters long, without control characters: then each
    passes :func:`plain_text` (tested at once; longer ones are left to the detailed check)."""
    if not _STR_OR_NONE.issuperset(map(type, values)):
        return False
    joined = "\n".join(filter(None, values))  # type: ignore[arg-type]
    return len(joined) <= max_length and not _CONTROL.search(joined)


def plain_tag(value: object) -> bool:
    """What ``Checker.tags`` accepts as one entry."""
    return isinstance(value, str) and len(value) <= 100 and bool(value.strip()) and not _CONTROL.search(value)


def is_json(value: object) -> bool:
    """JSON data that ``Checker.json_object`` accepts (quick; says nothing of where a problem is)."""
    return _is_json(value, 0)


class Checker:
    """Collects problems for one object; ``done()`` raises them all at once."""

    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> None:
        self.problems.append(Problem(path, message, code=code))

    def nested(self, path: str, error: ValidationError) -> None:
        self.problems.extend(Problem(join_path(path, p.path), p.message, code=p.code) for p in error.problems)

    def done(self) -> None:
        if self.problems:
            raise ValidationError(self.problems)

    # -- field checks: each returns True when the value is acceptable -----------------------------

    def text(
        self,
        path: str,
        value: object,
        *,
        optional: bool = False,
        max_length: int = MAX_TEXT,
        multiline: bool = False,
    ) -> bool:
        if not multiline and plain_text(value, max_length) and (optional or str(value).strip()):
            return True  # the common case in one test
        if value is None:
            if optional:
                return True
            self.add(path, "is required", ErrorCode.REQUIRED)
            return False
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {type(value).__name__}", ErrorCode.INVALID_TYPE)
            return False
        if not optional and not value.strip():
            self.add(path, "must not be empty", ErrorCode.REQUIRED)
            return False
        if len(value) > max_length:
            self.add(path, f"is longer than {max_length} characters", ErrorCode.TOO_LONG)
            return False
        if "\x00" in value or (not multiline and _CONTROL.search(value)):
            self.add(path, "contains control characters", ErrorCode.INVALID_FORMAT)
            return False
        return True

    def identifier(self, path: str, value: object, *, optional: bool = False) -> bool:
        if value is None and optional:
            return True
        if not isinstance(value, str):
            self._missing_or(path, value, f"must be a string, not {type(value).__name__}")
            return False
        if not ID_FORM.fullmatch(value):
            self.add(
                path,
                "must be 1 to 128 letters, digits or '_.:-', starting with a letter or digit",
                ErrorCode.INVALID_FORMAT,
            )
            return False
        return True

    def instance(self, path: str, value: object, cls: type | tuple[type, ...], *, optional: bool = False) -> bool:
        if value is None and optional:
            return True
        if isinstance(value, cls):
            return True
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        self._missing_or(path, value, f"must be {names}, not {type(value).__name__}")
        return False

    def _missing_or(self, path: str, value: object, wrong_type: str) -> None:
        if value is None:
            self.add(path, "is required", ErrorCode.REQUIRED)
        else:
            self.add(path, wrong_type, ErrorCode.INVALID_TYPE)

    def enum(self, path: str, value: object, cls: type[E], *, optional: bool = False) -> bool:
        if value is None and optional:
            return True
        if isinstance(value, cls):
            return True
        self.add(path, f"must be one of {', '.join(m.value for m in cls)}", ErrorCode.INVALID_CHOICE)
        return False

    def boolean(self, path: str, value: object) -> bool:
        if isinstance(value, bool):
            return True
        self.add(path, f"must be true or false, not {type(value).__name__}", ErrorCode.INVALID_TYPE)
        return False

    def integer(self, path: str, value: object, *, minimum: int | None = None) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, f"must be an integer, not {type(value).__name__}", ErrorCode.INVALID_TYPE)
            return False
        if minimum is not None and value < minimum:
            self.add(path, f"must be at least {minimum}", ErrorCode.OUT_OF_RANGE)
            return False
        return True

    def timestamp(self, path: str, value: object, *, optional: bool = False) -> bool:
        if value is None and optional:
            return True
        if not isinstance(value, datetime):
            self._missing_or(path, value, "must be a datetime")
            return False
        if value.tzinfo is None or value.utcoffset() is None:
            self.add(path, "must be timezone-aware (include an offset such as +00:00)", ErrorCode.INVALID_FORMAT)
            return False
        return True

    def day(self, path: str, value: object, *, optional: bool = False) -> bool:
        if value is None and optional:
            return True
        if not isinstance(value, date) or isinstance(value, datetime):
            self.add(path, "must be a date", ErrorCode.INVALID_TYPE)
            return False
        return True

    def items(
        self,
        path: str,
        value: object,
        check: Callable[[str, Any], object],
        *,
        kind: type | tuple[type, ...] = list,
    ) -> bool:
        if not isinstance(value, kind):
            self.add(path, f"must be a list, not {type(value).__name__}", ErrorCode.INVALID_TYPE)
            return False
        before = len(self.problems)
        sequence: list[Any] | tuple[Any, ...] = value  # type: ignore[assignment]
        for i, item in enumerate(sequence):
            check(f"{path}[{i}]", item)
        return len(self.problems) == before

    def instances(self, path: str, value: object, cls: type, *, kind: type = tuple) -> bool:
        """A ``kind`` (tuple by default) whose every item is a ``cls``."""
        if type(value) is not kind and not isinstance(value, kind):
            self.add(path, f"must be a list, not {type(value).__name__}", ErrorCode.INVALID_TYPE)
            return False
        ok = True
        for i, item in enumerate(cast("Iterable[object]", value)):
            if not isinstance(item, cls):
                self.add(f"{path}[{i}]", f"must be {cls.__name__}, not {type(item).__name__}", ErrorCode.INVALID_TYPE)
                ok = False
        return ok

    def tags(self, path: str, value: object) -> bool:
        if not isinstance(value, frozenset):
            self.add(path, f"must be a set of strings, not {type(value).__name__}", ErrorCode.INVALID_TYPE)
            return False
        if not value:
            return True
        if all(map(plain_tag, value)):
            return True
        self.add(path, "entries must be non-empty strings of at most 100 characters")
        return False

    def json_object(self, path: str, value: object) -> bool:
        if not isinstance(value, dict):
            self.add(path, f"must be an object, not {type(value).__name__}", ErrorCode.INVALID_TYPE)
            return False
        if not value or _is_json(value, 0):
            return True
        before = len(self.problems)
        _check_json(self, path, value, 0)
        return len(self.problems) == before


def _is_json(value: object, depth: int) -> bool:
    """True when ``value`` is JSON data that :func:`_check_json` accepts; quick, and says nothing of where."""
    if depth > MAX_JSON_DEPTH:
        return False
    kind = type(value)
    if kind is str:
        return "\x00" not in value  # type: ignore[operator]
    if value is None or kind is bool or kind is int:
        return True
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]  # noqa: SIM110 - a loop is quicker than all()
            if type(key) is not str or not _is_json(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:  # type: ignore[attr-defined]  # noqa: SIM110 - a loop is quicker than all()
            if not _is_json(item, depth + 1):
                return False
        return True
    return False  # subclasses and everything else: the detailed check decides


def _check_json(checker: Checker, path: str, value: object, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        checker.add(path, f"is nested deeper than {MAX_JSON_DEPTH} levels", ErrorCode.TOO_LONG)
    elif value is None or isinstance(value, (str, bool, int)):
        if isinstance(value, str) and "\x00" in value:
            checker.add(path, "contains a NUL character", ErrorCode.INVALID_FORMAT)
    elif isinstance(value, float):
        if not math.isfinite(value):
            checker.add(path, "must be a finite number", ErrorCode.OUT_OF_RANGE)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                checker.add(path, "keys must be strings", ErrorCode.INVALID_TYPE)
                return
            _check_json(checker, f"{path}[{key!r}]", item, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(checker, f"{path}[{i}]", item, depth + 1)
    else:
        checker.add(path, f"holds a {type(value).__name__}, which is not JSON data", ErrorCode.INVALID_TYPE)


def enum_value(cls: type[E], value: object, path: str = "") -> E:
    """Look an enum member up by value with a clear error."""
    try:
        return cls(value)
    except ValueError:
        raise ValidationError.single(
            path, f"must be one of {', '.join(m.value for m in cls)}", ErrorCode.INVALID_CHOICE
        ) from None
