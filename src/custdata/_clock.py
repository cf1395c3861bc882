"""The injectable clock, defined once for every package: a function returning the current, timezone-aware time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

from custdata._errors import ValidationError

#: Returns the current time (timezone-aware); injected wherever the library needs "now".
Clock: TypeAlias = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def read(clock: Clock) -> datetime:
    """``clock()``, checked: a :class:`custdata.ValidationError` names the clock when it returns a bad time."""
    if not callable(clock):
        raise ValidationError.single("clock", "must be a function returning the current time")
    now = clock()
    if not isinstance(now, datetime):
        raise ValidationError.single("clock()", "is required" if now is None else "must be a datetime")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError.single("clock()", "must be timezone-aware (include an offset such as +00:00)")
    return now
