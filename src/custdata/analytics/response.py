"""First-response and resolution times of support conversations, per conversation and as medians per team and
per channel.

A conversation's first response time runs from its first inbound message to the first message sent back (an
automatic answer counts); its resolution time from the first inbound message to when it was marked solved. A
conversation not answered or not solved yet has no such time and is left out of that median.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from custdata.domain import Channel, CustomerId
from custdata.domain.personal import IDENTIFIER, NOT_PERSONAL
from custdata.support.model import Conversation, ConversationState


@attrs.frozen
class ConversationTimes:
    """The times of one conversation."""

    conversation_id: str = attrs.field(metadata=IDENTIFIER)
    customer_id: CustomerId = attrs.field(metadata=IDENTIFIER)
    team: str | None = attrs.field(metadata=NOT_PERSONAL)
    channel: Channel = attrs.field(metadata=NOT_PERSONAL)
    opened_at: datetime | None = attrs.field(metadata=NOT_PERSONAL)
    first_response: timedelta | None = attrs.field(metadata=NOT_PERSONAL)
    resolution: timedelta | None = attrs.field(metadata=NOT_PERSONAL)


@attrs.frozen
class TimeMedians:
    """Medians over a group of conversations, with how many there were, were answered and were solved."""

    conversations: int = attrs.field(metadata=NOT_PERSONAL)
    answered: int = attrs.field(metadata=NOT_PERSONAL)
    solved: int = attrs.field(metadata=NOT_PERSONAL)
    first_response: timedelta | None = attrs.field(metadata=NOT_PERSONAL)
    resolution: timedelta | None = attrs.field(metadata=NOT_PERSONAL)


@attrs.frozen
class ResponseTimes:
    """Per-conversation times, and their medians per team (``"unassigned"`` when none) and per channel."""

    conversations: tuple[ConversationTimes, ...] = attrs.field(metadata=NOT_PERSONAL)
    by_team: dict[str, TimeMedians] = attrs.field(metadata=NOT_PERSONAL)
    by_channel: dict[str, TimeMedians] = attrs.field(metadata=NOT_PERSONAL)
    overall: TimeMedians = attrs.field(metadata=NOT_PERSONAL)


def median(values: list[timedelta]) -> timedelta | None:
    """The median of ``values`` (the mean of the middle two for an even count), or None for none."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def _times(conversation: Conversation) -> ConversationTimes:
    opened = conversation.opened_at
    first = None
    if opened is not None and conversation.first_response_at is not None:
        first = conversation.first_response_at - opened
    resolution = None
    if opened is not None and conversation.state is ConversationState.SOLVED and conversation.solved_at is not None:
        resolution = max(conversation.solved_at - opened, timedelta(0))
    return ConversationTimes(
        conversation_id=conversation.id,
        customer_id=conversation.customer_id,
        team=conversation.team,
        channel=conversation.channel,
        opened_at=opened,
        first_response=first,
        resolution=resolution,
    )


def _medians(rows: list[ConversationTimes]) -> TimeMedians:
    firsts = [r.first_response for r in rows if r.first_response is not None]
    solved = [r.resolution for r in rows if r.resolution is not None]
    return TimeMedians(
        conversations=len(rows),
        answered=len(firsts),
        solved=len(solved),
        first_response=median(firsts),
        resolution=median(solved),
    )


def response_times(conversations: Iterable[Conversation]) -> ResponseTimes:
    """First-response and resolution times of ``conversations`` (from :func:`custdata.support.all_conversations`
    or :meth:`custdata.support.SupportDesk.conversations`)."""
    rows = [_times(c) for c in conversations]
    teams: dict[str, list[ConversationTimes]] = {}
    channels: dict[str, list[ConversationTimes]] = {}
    for row in rows:
        teams.setdefault(row.team or "unassigned", []).append(row)
        channels.setdefault(row.channel.value, []).append(row)
    return ResponseTimes(
        conversations=tuple(rows),
        by_team={k: _medians(v) for k, v in sorted(teams.items())},
        by_channel={k: _medians(v) for k, v in sorted(channels.items())},
        overall=_medians(rows),
    )
