"""What the outbox keeps: one entry per decided message, and timers for messages that are due later.

An :class:`OutboxEntry` is written in the same unit of work as the change that caused it, so a message
exists exactly when its cause was committed. Its ``idempotency_key`` is unique in the store: writing the same
logical message twice writes it once. The entry's ``id`` is also the id of the
:class:`~custdata.CommunicationEvent` that records the message in the customer's history.

A :class:`Timer` holds a message that is due later (a review request a week after delivery): the decision
(consent, channel, template) is taken only when it falls due, with what is true then.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from custdata.domain import Channel, CommunicationId, CustomerId, OrderId, Topic
from custdata.domain.checks import Checker, trusted
from custdata.domain.ids import to_communication_id, to_customer_id, to_optional_order_id
from custdata.domain.personal import IDENTIFIER, LINKED, NESTED, NOT_PERSONAL, PERSONAL
from custdata.notify import Message


class OutboxState(StrEnum):
    """Where an outbox entry stands.

    ``pending`` waits (or is leased by a dispatcher right now); ``sent`` and ``skipped`` are done;
    ``failed`` was refused for good; ``dead`` ran out of retries (re-queue it when the cause is fixed);
    ``cancelled`` was dropped before sending (a delay notice once the parcel arrived); ``suppressed`` was
    never to be sent (no consent, no usable channel, a frequency cap) and is kept so a replay stays silent.
    """

    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"

    @property
    def final(self) -> bool:
        return self != OutboxState.PENDING


@attrs.frozen(kw_only=True)
class OutboxEntry:
    """One logical message in the outbox, with its delivery state.

    ``message`` is the rendered message (None for a suppressed decision, which may have no recipient, and for a
    settled entry whose personal data was erased);
    ``available_at`` is when it may go (quiet hours and retry backoff move it); ``attempts`` counts the times a
    dispatcher leased it; ``lease_owner`` / ``lease_expires_at`` say who is sending it until when.
    """

    id: CommunicationId = attrs.field(converter=to_communication_id, metadata=IDENTIFIER)
    idempotency_key: str = attrs.field(metadata=IDENTIFIER)
    customer_id: CustomerId = attrs.field(converter=to_customer_id, metadata=IDENTIFIER)
    topic: Topic = attrs.field(metadata=NOT_PERSONAL)
    channel: Channel = attrs.field(metadata=NOT_PERSONAL)
    created_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    available_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    message: Message | None = attrs.field(default=None, metadata=NESTED)
    order_id: OrderId | None = attrs.field(default=None, converter=to_optional_order_id, metadata=IDENTIFIER)
    state: OutboxState = attrs.field(default=OutboxState.PENDING, metadata=NOT_PERSONAL)
    attempts: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    last_error: str | None = attrs.field(default=None, metadata=PERSONAL)
    reason: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    provider_id: str | None = attrs.field(default=None, metadata=LINKED)
    lease_owner: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    lease_expires_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    updated_at: datetime = attrs.field(
        default=attrs.Factory(lambda self: self.created_at, takes_self=True), metadata=NOT_PERSONAL
    )

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.identifier("id", self.id)
        if check.text("idempotency_key", self.idempotency_key, max_length=512) and self.message is not None:
            if self.message.idempotency_key != self.idempotency_key:
                check.add("idempotency_key", "must be the message's idempotency key")
        check.identifier("customer_id", self.customer_id)
        check.enum("topic", self.topic, Topic)
        check.enum("channel", self.channel, Channel)
        check.timestamp("created_at", self.created_at)
        check.timestamp("available_at", self.available_at)
        if check.instance("message", self.message, Message, optional=True) and self.message is not None:
            if self.message.channel != self.channel:
                check.add("channel", "must be the message's channel")
            if self.message.topic != self.topic:
                check.add("topic", "must be the message's topic")
        check.identifier("order_id", self.order_id, optional=True)
        if check.enum("state", self.state, OutboxState):
            if self.message is None and self.state == OutboxState.PENDING:
                check.add("message", "is required while the entry is pending")
            if self.state == OutboxState.SUPPRESSED and not self.reason:
                check.add("reason", "is required for a suppressed entry")
        check.integer("attempts", self.attempts, minimum=0)
        check.text("last_error", self.last_error, optional=True, max_length=4000, multiline=True)
        check.text("reason", self.reason, optional=True, max_length=512)
        check.text("provider_id", self.provider_id, optional=True, max_length=1024)
        check.text("lease_owner", self.lease_owner, optional=True, max_length=128)
        check.timestamp("lease_expires_at", self.lease_expires_at, optional=True)
        check.timestamp("updated_at", self.updated_at)
        check.done()

    def leased(self, now: datetime) -> bool:
        """True while a dispatcher holds an unexpired lease on the entry."""
        return self.lease_expires_at is not None and self.lease_expires_at > now

    def __repr__(self) -> str:
        return (
            f"OutboxEntry(id={self.id!r}, key={self.idempotency_key!r}, {self.channel.value} {self.topic.value}, "
            f"state={self.state.value}, attempts={self.attempts})"
        )


class TimerState(StrEnum):
    """A timer waits (``pending``), has ``fired`` (its message was decided), or was ``cancelled``."""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


@attrs.frozen(kw_only=True)
class Timer:
    """A message due later: which rule, for whom, when, and the event that started it (as JSON data).

    ``key`` is unique: scheduling the same key again keeps the first timer, unless the rule reschedules
    (re-engagement moves its one timer per customer with every new order).
    """

    key: str = attrs.field(metadata=IDENTIFIER)
    rule: str = attrs.field(metadata=NOT_PERSONAL)
    topic: Topic = attrs.field(metadata=NOT_PERSONAL)
    customer_id: CustomerId = attrs.field(converter=to_customer_id, metadata=IDENTIFIER)
    due_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    created_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    trigger: dict[str, Any] = attrs.field(factory=dict, metadata=PERSONAL)
    order_id: OrderId | None = attrs.field(default=None, converter=to_optional_order_id, metadata=IDENTIFIER)
    state: TimerState = attrs.field(default=TimerState.PENDING, metadata=NOT_PERSONAL)
    reason: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.text("key", self.key, max_length=512)
        check.text("rule", self.rule, max_length=128)
        check.enum("topic", self.topic, Topic)
        check.identifier("customer_id", self.customer_id)
        check.timestamp("due_at", self.due_at)
        check.timestamp("created_at", self.created_at)
        check.json_object("trigger", self.trigger)
        check.identifier("order_id", self.order_id, optional=True)
        check.enum("state", self.state, TimerState)
        check.text("reason", self.reason, optional=True, max_length=512)
        check.done()

    def __repr__(self) -> str:
        return (
            f"Timer(key={self.key!r}, rule={self.rule!r}, due_at={self.due_at.isoformat()}, state={self.state.value})"
        )
