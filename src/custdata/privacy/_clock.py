"""The injectable clock of the privacy operations: re-exported from :mod:`custdata._clock`, where it is defined."""

from __future__ import annotations

from custdata._clock import Clock, read, utc_now

__all__ = ["Clock", "read", "utc_now"]
