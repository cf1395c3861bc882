"""Log events with stable names, and OpenTelemetry spans when ``opentelemetry-api`` is installed.

Every event custdata logs goes through :func:`log_event`: the record's message starts with the event's name
(``outbox.sent entry=com_... attempts=1``) and the record carries ``event`` (the name) and ``fields`` (a dict of
the values) as attributes, so a JSON formatter or a filter can use them without parsing the text. The names are
listed in :data:`EVENTS` and in docs/observability.md; they are public API.

Callers pass ids, counts, states, topics, channels and reasons: never an address, a name, a subject or a body.

:func:`span` opens an OpenTelemetry span named ``custdata.<name>`` through the tracer ``custdata`` when the
``otel`` extra (``opentelemetry-api``) is installed, and does nothing otherwise; the import is tried once, the
first time a span is asked for.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

#: Every event name custdata logs, with the logger that logs it and its level. Public API: docs/observability.md
#: lists the same table, and a test holds the two together.
EVENTS: Mapping[str, tuple[str, str]] = {
    "outbox.leased": ("custdata.outbox", "DEBUG"),
    "outbox.sent": ("custdata.outbox", "INFO"),
    "outbox.skipped": ("custdata.outbox", "INFO"),
    "outbox.retry": ("custdata.outbox", "INFO"),
    "outbox.failed": ("custdata.outbox", "INFO"),
    "outbox.dead": ("custdata.outbox", "INFO"),
    "outbox.lost": ("custdata.outbox", "INFO"),
    "outbox.lease_running_out": ("custdata.outbox", "WARNING"),
    "outbox.store_unavailable": ("custdata.outbox", "WARNING"),
    "outbox.waiting": ("custdata.outbox", "INFO"),
    "workflow.queued": ("custdata.workflows", "INFO"),
    "workflow.held": ("custdata.workflows", "INFO"),
    "workflow.suppressed": ("custdata.workflows", "INFO"),
    "workflow.scheduled": ("custdata.workflows", "DEBUG"),
    "workflow.cancelled": ("custdata.workflows", "INFO"),
    "workflow.timer_failed": ("custdata.workflows", "WARNING"),
    "notify.smtp.not_sent": ("custdata.notify.smtp", "INFO"),
    "notify.smtp.connected": ("custdata.notify.smtp", "DEBUG"),
    "notify.webhook.not_sent": ("custdata.notify.webhook", "INFO"),
    "privacy.erased": ("custdata.privacy", "INFO"),
    "privacy.erased_leftovers": ("custdata.privacy", "INFO"),
    "privacy.retention_sweep": ("custdata.privacy", "INFO"),
}


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    return str(value)


def log_event(logger: logging.Logger, event: str, /, **fields: object) -> None:
    """Log ``event`` (a name of :data:`EVENTS`) at its level with ``fields``: the message is the name followed by
    ``key=value`` pairs, and the record gets ``event`` and ``fields`` attributes."""
    level = logging.getLevelName(EVENTS[event][1])
    if not logger.isEnabledFor(level):
        return
    shown = {k: v for k, v in fields.items() if v is not None}
    text = " ".join([event, *(f"{k}={_text(v)}" for k, v in shown.items())])
    logger.log(level, "%s", text, extra={"event": event, "fields": shown})


_TRACER: Any = None
_LOADED = False


def _tracer() -> Any:
    global _TRACER, _LOADED
    if not _LOADED:
        _LOADED = True
        try:
            from opentelemetry import trace
        except ImportError:
            _TRACER = None
        else:
            from custdata._version import __version__

            _TRACER = trace.get_tracer("custdata", __version__)
    return _TRACER


def _attribute(value: object) -> str | int | float | bool:
    if isinstance(value, (bool, int, float, str)):
        return value
    return _text(value)


@contextlib.contextmanager
def span(name: str, /, **attributes: object) -> Iterator[Any]:
    """An OpenTelemetry span ``custdata.<name>`` with ``attributes`` (ids, counts, states: no personal data) while
    the block runs, or nothing when ``opentelemetry-api`` is not installed. Yields the span (or None), so that the
    block can add attributes it learns (``set_attributes``)."""
    tracer = _tracer()
    if tracer is None:
        yield None
        return
    shown = {f"custdata.{k}": _attribute(v) for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(f"custdata.{name}", attributes=shown) as current:
        yield current


def set_attributes(current: Any, /, **attributes: object) -> None:
    """Add ``attributes`` to a span from :func:`span` (nothing when it is None)."""
    if current is not None:
        current.set_attributes({f"custdata.{k}": _attribute(v) for k, v in attributes.items() if v is not None})


__all__ = ["EVENTS", "log_event", "set_attributes", "span"]
