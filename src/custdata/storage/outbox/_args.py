"""Argument checks shared by the outbox implementations, so that every backend rejects the same bad input."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from custdata._errors import ValidationError
from custdata.domain import Topic
from custdata.domain.checks import Checker
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.records import check_moment, replace_id


def entry(value: object) -> OutboxEntry:
    if not isinstance(value, OutboxEntry):
        raise ValidationError.single("entry", f"must be an OutboxEntry, not {type(value).__name__}")
    return value


def timer(value: object) -> Timer:
    if not isinstance(value, Timer):
        raise ValidationError.single("timer", f"must be a Timer, not {type(value).__name__}")
    return value


def text(path: str, value: object, max_length: int = 512) -> str:
    check = Checker()
    check.text(path, value, max_length=max_length)
    check.done()
    return str(value)


def identifiers(path: str, value: object) -> list[str]:
    """A list of ids (order ids, say) from an iterable of non-empty strings."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError.single(path, "must be an iterable of ids, not one string")
    out = []
    for i, item in enumerate(value):
        out.append(text(f"{path}[{i}]", item, 128))
    return out


def moment(path: str, value: object) -> datetime:
    return check_moment(path, value)  # in range too, so that leases and retry delays cannot overflow


def duration(path: str, value: object) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValidationError.single(path, "must be a positive timedelta")
    return value


def topics(value: object) -> list[Topic]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError.single("topics", "must be an iterable of Topic values")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(Topic(item))
        except ValueError:
            raise ValidationError.single(f"topics[{i}]", "is not a topic") from None
    return out


def outbox_state(value: object) -> OutboxState:
    try:
        if isinstance(value, str):
            return OutboxState(value)
    except ValueError:
        pass
    raise ValidationError.single("state", f"must be one of {', '.join(m.value for m in OutboxState)}") from None


def settle_state(value: object) -> OutboxState:
    chosen = outbox_state(value)
    if chosen in (OutboxState.CANCELLED, OutboxState.SUPPRESSED):
        raise ValidationError.single("state", "a send settles as pending, sent, skipped, failed or dead")
    return chosen


def finish_state(value: object) -> TimerState:
    if value not in (TimerState.FIRED, TimerState.CANCELLED, "fired", "cancelled"):
        raise ValidationError.single("state", "a timer finishes as fired or cancelled")
    return TimerState(str(value))


def optional_text(path: str, value: object, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError.single(path, f"must be a string, not {type(value).__name__}")
    return value[:max_length]


def moved_ids(customer_id: object, to: object) -> tuple[str, str]:
    """The arguments of ``reassign``: two different customer ids."""
    check = Checker()
    check.identifier("customer_id", customer_id)
    check.identifier("to", to)
    check.done()
    old, new = str(customer_id), str(to)
    if old == new:
        raise ValidationError.single("to", "must differ from customer_id")
    return old, new


def reassigned_entry(entry: OutboxEntry, old: str, new: str, now: datetime) -> OutboxEntry:
    """``entry`` filed under ``new`` instead of ``old``: its customer id, and ``old`` wherever it stands in the
    idempotency key and the rendered message's key, customer id, headers and metadata."""
    message = entry.message
    if message is not None:
        message = attrs.evolve(
            message,
            idempotency_key=replace_id(message.idempotency_key, old, new),
            customer_id=new if str(message.customer_id) == old else message.customer_id,
            headers=replace_id(dict(message.headers), old, new),
            metadata=replace_id(dict(message.metadata), old, new),
        )
    return attrs.evolve(
        entry,
        customer_id=new,
        idempotency_key=replace_id(entry.idempotency_key, old, new),
        message=message,
        updated_at=max(entry.updated_at, now),
    )


def reassigned_timer(timer: Timer, old: str, new: str) -> Timer:
    """``timer`` filed under ``new`` instead of ``old``: its customer id, and ``old`` in its key and trigger."""
    return attrs.evolve(
        timer, key=replace_id(timer.key, old, new), customer_id=new, trigger=replace_id(timer.trigger, old, new)
    )
