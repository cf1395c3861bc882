"""The injectable clock of the privacy operations: a function returning the current, timezone-aware time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from custdata.domain._checks import Checker

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def read(clock: Clock) -> datetime:
    """``clock()``, checked: a :class:`custdata.ValidationError` names the clock when it returns a bad time."""
    check = Checker()
    if not callable(clock):
        check.add("clock", "must be a function returning the current time")
        check.done()
    now = clock()
    check.timestamp("clock()", now)
    check.done()
    return now
