"""Conversations: inbound messages and the replies to them, grouped, with a state.

A conversation is not a table of its own. Its messages are :class:`~custdata.CommunicationEvent` records of
topic ``support`` that share a ``ticket_id`` (the conversation id, ``conv_...``); inbound messages have direction
``inbound`` and status ``received``. The conversation's state, team, intent and hand-off reason live in the
``metadata["conversation"]`` entry of its opening message. Everything is therefore stored, exported, merged and
erased with the customer's other messages: erasure scrubs the bodies, subjects and that entry.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from custdata.domain import Channel, CommunicationEvent, CustomerId, Direction, OrderId, Topic
from custdata.domain.personal import IDENTIFIER, LINKED, NESTED, NOT_PERSONAL

#: The key of the opening message's metadata that holds the conversation's state.
STATE_KEY = "conversation"
#: The prefix of conversation ids.
PREFIX = "conv_"


class ConversationState(StrEnum):
    """Where a conversation stands."""

    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    SOLVED = "solved"


def new_conversation_id() -> str:
    """A fresh, time-ordered conversation id."""
    return f"{PREFIX}{int(time.time() * 1000):012x}{os.urandom(8).hex()}"


@attrs.frozen(repr=False)
class Conversation:
    """One customer's conversation: its messages (oldest first), state, team and the order it is about.

    ``handoff_reason`` says why a person has to look at it (None when it was answered automatically or is
    solved). ``first_response_at`` is when the first outbound message after the first inbound one was
    queued; ``solved_at`` when it was last marked solved.
    """

    id: str = attrs.field(metadata=IDENTIFIER)
    customer_id: CustomerId = attrs.field(metadata=IDENTIFIER)
    channel: Channel = attrs.field(metadata=NOT_PERSONAL)
    state: ConversationState = attrs.field(metadata=NOT_PERSONAL)
    messages: tuple[CommunicationEvent, ...] = attrs.field(metadata=NESTED)
    team: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    intent: str | None = attrs.field(default=None, metadata=LINKED)
    language: str | None = attrs.field(default=None, metadata=LINKED)
    order_id: OrderId | None = attrs.field(default=None, metadata=IDENTIFIER)
    handoff_reason: str | None = attrs.field(default=None, metadata=LINKED)
    opened_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    first_response_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    solved_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    @property
    def is_open(self) -> bool:
        """True unless solved."""
        return self.state is not ConversationState.SOLVED

    @property
    def inbound(self) -> tuple[CommunicationEvent, ...]:
        return tuple(m for m in self.messages if m.direction is Direction.INBOUND)

    def __repr__(self) -> str:
        return (
            f"Conversation(id={self.id!r}, customer_id={self.customer_id!r}, {self.channel.value}, "
            f"state={self.state.value}, team={self.team!r}, messages={len(self.messages)})"
        )


def _time(value: object) -> datetime | None:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def state_of(event: CommunicationEvent) -> dict[str, Any] | None:
    """The conversation entry of an opening message, or None for any other event (or one erased since)."""
    entry = event.metadata.get(STATE_KEY) if isinstance(event.metadata, dict) else None
    return entry if isinstance(entry, dict) else None


def is_support_message(event: CommunicationEvent) -> bool:
    """True for an event that belongs to a conversation."""
    return event.topic is Topic.SUPPORT and isinstance(event.ticket_id, str) and event.ticket_id.startswith(PREFIX)


def build_conversations(events: list[CommunicationEvent] | tuple[CommunicationEvent, ...]) -> list[Conversation]:
    """Group one customer's events into conversations (oldest conversation first). Events outside a conversation
    are left out; a conversation whose opening message lost its state (erased) counts as solved."""
    groups: dict[str, list[CommunicationEvent]] = {}
    for event in events:
        if is_support_message(event):
            groups.setdefault(str(event.ticket_id), []).append(event)
    found = []
    for cid, messages in groups.items():
        # a reply queued at the moment its question arrived still comes after it
        messages.sort(key=lambda m: (m.created_at, m.direction is not Direction.INBOUND, str(m.id)))
        found.append(_conversation(cid, messages))
    found.sort(key=lambda c: (c.messages[0].created_at, c.id))
    return found


def opening(messages: list[CommunicationEvent] | tuple[CommunicationEvent, ...]) -> CommunicationEvent | None:
    """The message that holds the conversation's state."""
    for message in messages:
        if state_of(message) is not None:
            return message
    return None


def _conversation(cid: str, messages: list[CommunicationEvent]) -> Conversation:
    head = opening(messages)
    entry = state_of(head) if head is not None else None
    entry = entry or {}
    try:
        state = ConversationState(entry.get("state", ConversationState.SOLVED.value))
    except ValueError:
        state = ConversationState.OPEN
    first_in = next((m for m in messages if m.direction is Direction.INBOUND), None)
    opened = first_in.created_at if first_in is not None else messages[0].created_at
    first_response = next(
        (m.created_at for m in messages if m.direction is Direction.OUTBOUND and m.created_at >= opened), None
    )
    start = head or first_in or messages[0]
    return Conversation(
        id=cid,
        customer_id=start.customer_id,
        channel=start.channel,
        state=state,
        messages=tuple(messages),
        team=_text(entry.get("team")),
        intent=_text(entry.get("intent")),
        language=_text(entry.get("language")),
        order_id=start.order_id,
        handoff_reason=_text(entry.get("handoff_reason")),
        opened_at=opened,
        first_response_at=first_response,
        solved_at=_time(entry.get("solved_at")),
    )
