"""The consent ledger: every grant and withdrawal appended to ``Customer.consents``, the current state derived.

The ledger is append-only and in time order, so the record appended last is the one in force. The current state
is exactly what :meth:`custdata.Customer.consent` returns (the latest record per purpose and channel), which is
also what the sending policy of :mod:`custdata.workflows` consults: the two can never disagree.

Nothing can lock a customer's consent in place:

- a grant, request or confirmation may not be dated in the future (more than :data:`CLOCK_SKEW` after the current
  time): a grant dated next year would otherwise outrank every withdrawal made until then;
- a withdrawal always takes effect at once: dated in the future it is recorded now; dated before the latest
  record (one written before these rules, or by a clock running ahead), it is recorded at that record's time,
  after it in the ledger, and so is in force;
- any other record dated before the latest one is refused, unless that latest one lies in the future (an old
  future-dated record): then it too is recorded at that time, so that the newest decision is in force.

Erasure replaces the whole ledger (:func:`redact_ledger`), which ends every consent whatever its dates.

Double opt-in: :func:`request_confirmation` records ``pending``; :func:`confirm` (once the customer clicked the
link) records ``subscribed`` with opt-in level ``confirmed``. Pending consent is not consent to send marketing.

These functions change the customer object only; store it with ``uow.customers.update(customer)``.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TypeVar

import attrs

from custdata._errors import ValidationError
from custdata.domain import Channel, ConsentPurpose, ConsentRecord, ConsentState, Customer, OptInLevel
from custdata.domain.checks import Checker
from custdata.domain.customer import CLOCK_SKEW as CLOCK_SKEW
from custdata.privacy._clock import utc_now

E = TypeVar("E", bound=Enum)

#: States in which the purpose is allowed on the channel.
ALLOWING = frozenset({ConsentState.SUBSCRIBED})


def grant(
    customer: Customer,
    purpose: ConsentPurpose | str,
    channel: Channel | str,
    *,
    at: datetime,
    source: str,
    level: OptInLevel | str = OptInLevel.SINGLE,
) -> ConsentRecord:
    """Record that the customer opted in (single opt-in, or ``level="confirmed"`` when confirmed elsewhere)."""
    return _append(customer, purpose, channel, ConsentState.SUBSCRIBED, at, source, level)


def request_confirmation(
    customer: Customer, purpose: ConsentPurpose | str, channel: Channel | str, *, at: datetime, source: str
) -> ConsentRecord:
    """Record a double opt-in request: the state is ``pending`` until :func:`confirm`."""
    return _append(customer, purpose, channel, ConsentState.PENDING, at, source, OptInLevel.CONFIRMED)


def confirm(
    customer: Customer, purpose: ConsentPurpose | str, channel: Channel | str, *, at: datetime, source: str
) -> ConsentRecord:
    """Record the confirmation of a pending double opt-in; the consent is then ``subscribed``, level ``confirmed``.

    Raises :class:`custdata.ValidationError` when no confirmation is pending for this purpose and channel.
    """
    purpose_, channel_ = _key(purpose, channel)
    latest = customer.consent(purpose_, channel_)
    if latest is None or latest.state != ConsentState.PENDING:
        state = "none" if latest is None else latest.state.value
        raise ValidationError.single("state", f"no confirmation is pending for this purpose and channel ({state})")
    return _append(customer, purpose_, channel_, ConsentState.SUBSCRIBED, at, source, OptInLevel.CONFIRMED)


def withdraw(
    customer: Customer, purpose: ConsentPurpose | str, channel: Channel | str, *, at: datetime, source: str
) -> ConsentRecord:
    """Record that the customer withdrew consent (or declined a pending request): the state is ``unsubscribed``."""
    purpose_, channel_ = _key(purpose, channel)
    latest = customer.consent(purpose_, channel_)
    level = OptInLevel.UNKNOWN if latest is None else latest.opt_in_level
    return _append(customer, purpose_, channel_, ConsentState.UNSUBSCRIBED, at, source, level)


def current_state(customer: Customer, purpose: ConsentPurpose | str, channel: Channel | str) -> ConsentState:
    """The state in force: that of the latest record, ``not_subscribed`` when nothing was ever recorded."""
    latest = customer.consent(*_key(purpose, channel))
    return ConsentState.NOT_SUBSCRIBED if latest is None else latest.state


def allows(customer: Customer, purpose: ConsentPurpose | str, channel: Channel | str) -> bool:
    """True when the customer's consent for ``purpose`` on ``channel`` is in force (``subscribed``)."""
    return current_state(customer, purpose, channel) in ALLOWING


def current(customer: Customer) -> dict[tuple[ConsentPurpose, Channel], ConsentRecord]:
    """The record in force for every purpose and channel that has any, keyed by ``(purpose, channel)``."""
    out: dict[tuple[ConsentPurpose, Channel], ConsentRecord] = {}
    for record in customer.consents:
        key = (record.purpose, record.channel)
        if key not in out:
            latest = customer.consent(*key)
            assert latest is not None
            out[key] = latest
    return out


def history(
    customer: Customer, purpose: ConsentPurpose | str | None = None, channel: Channel | str | None = None
) -> tuple[ConsentRecord, ...]:
    """Every record (of ``purpose`` and ``channel`` when given), oldest first; equal times keep ledger order."""
    check = Checker()
    wanted_purpose = None if purpose is None else _member(check, "purpose", purpose, ConsentPurpose)
    wanted_channel = None if channel is None else _member(check, "channel", channel, Channel)
    check.done()
    chosen = [
        r
        for r in customer.consents
        if (wanted_purpose is None or r.purpose == wanted_purpose)
        and (wanted_channel is None or r.channel == wanted_channel)
    ]
    return tuple(sorted(chosen, key=lambda r: r.recorded_at))


def redact_ledger(customer: Customer, *, at: datetime) -> None:
    """Replace the ledger by one ``redacted`` record per purpose and channel it held (used by erasure).

    The sources (which may name a web form, an IP address, a person) go; what stays says only that the
    customer's consent for that purpose and channel ended with the erasure.
    """
    keys = sorted({(r.purpose, r.channel) for r in customer.consents})
    customer.consents = tuple(
        ConsentRecord(purpose, channel, ConsentState.REDACTED, at, OptInLevel.UNKNOWN, "erasure")
        for purpose, channel in keys
    )


def _key(purpose: ConsentPurpose | str, channel: Channel | str) -> tuple[ConsentPurpose, Channel]:
    check = Checker()
    p = _member(check, "purpose", purpose, ConsentPurpose)
    c = _member(check, "channel", channel, Channel)
    check.done()
    assert p is not None and c is not None
    return p, c


def _member(check: Checker, path: str, value: object, cls: type[E]) -> E | None:
    try:
        return cls(value)
    except ValueError:
        check.add(path, f"must be one of {', '.join(str(m.value) for m in cls)}")
        return None


def _append(
    customer: Customer,
    purpose: ConsentPurpose | str,
    channel: Channel | str,
    state: ConsentState,
    at: datetime,
    source: str,
    level: OptInLevel | str,
) -> ConsentRecord:
    if not isinstance(customer, Customer):
        raise ValidationError.single("customer", f"must be a Customer, not {type(customer).__name__}")
    if customer.redacted_at is not None:
        raise ValidationError.single("customer", "was erased; no consent can be recorded for it")
    purpose_, channel_ = _key(purpose, channel)
    check = Checker()
    level_ = _member(check, "opt_in_level", level, OptInLevel)
    check.done()
    assert level_ is not None
    record = ConsentRecord(purpose_, channel_, state, at, level_, source)
    now = utc_now()
    withdrawal = state == ConsentState.UNSUBSCRIBED
    if record.recorded_at > now + CLOCK_SKEW:
        if not withdrawal:
            raise ValidationError.single(
                "at", f"is in the future (the time is now {now.isoformat()}); a consent record is dated when it is made"
            )
        record = attrs.evolve(record, recorded_at=now)  # a withdrawal takes effect now, whatever the caller's clock
    latest = customer.consent(purpose_, channel_)
    if latest is not None and record.recorded_at < latest.recorded_at:
        if not withdrawal and latest.recorded_at <= now + CLOCK_SKEW:
            raise ValidationError.single(
                "at",
                "is earlier than the latest consent record for this purpose and channel; the ledger is in time order",
            )
        record = attrs.evolve(record, recorded_at=latest.recorded_at)
    customer.consents = (*customer.consents, record)
    return record
