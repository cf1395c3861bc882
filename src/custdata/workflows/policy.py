"""Deciding every send: which channel, whether consent allows it, when (quiet hours) and how often (caps).

- Transactional topics (order updates) go out on the first of the customer's channels that is usable: it has a
  template and the customer has an address for it.
- Marketing topics (:attr:`Topic.is_marketing`) also need a recorded opt-in on that channel:
  ``customer.consent(ConsentPurpose.MARKETING, channel)`` in state ``subscribed``.
- Quiet hours (the customer's own, else the policy's default) in the customer's time zone defer a message
  to the end of the quiet spell; they never drop it. They apply to marketing on every channel and to
  transactional messages on the interrupting channels (SMS, push, phone, chat) only.
- Frequency caps limit how many messages of some topics a customer gets per period; beyond it, the message
  is suppressed.

A decision not to send carries the reason, which the workflow records as a suppressed communication event.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any

import attrs

from custdata.domain import Channel, ConsentPurpose, ConsentState, Customer, Topic
from custdata.domain.checks import Checker
from custdata.storage.records import check_moment

#: The marketing topics, which frequency caps cover by default.
MARKETING_TOPICS = frozenset(t for t in Topic if t.is_marketing)
#: Channels that interrupt; quiet hours defer transactional messages on these too.
INTERRUPTING = frozenset({Channel.SMS, Channel.PUSH, Channel.PHONE, Channel.CHAT})

ContactResolver = Callable[[Customer, Channel], "str | None"]


def _lenient_set(value: object) -> Any:
    """A frozenset of ``value`` when it is a collection; anything else is left for the checks to report."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(value)
    return value


def default_contact(customer: Customer, channel: Channel) -> str | None:
    """Where ``channel`` reaches ``customer``: the primary email, the primary phone for SMS and phone calls, and
    for other channels a handle kept in ``private_metadata["contacts"][channel]`` (a device token, a chat id)."""
    if channel == Channel.EMAIL:
        return None if customer.email is None else customer.email.value
    if channel in (Channel.SMS, Channel.PHONE):
        return None if customer.phone is None else customer.phone.e164
    contacts = customer.private_metadata.get("contacts")
    if isinstance(contacts, dict):
        handle = contacts.get(channel.value)
        if isinstance(handle, str) and handle.strip():
            return handle
    return None


@attrs.frozen
class FrequencyCap:
    """At most ``limit`` messages of ``topics`` per customer in any ``period``.

    >>> FrequencyCap(3, timedelta(days=7))
    FrequencyCap(limit=3, period=datetime.timedelta(days=7), topics=...)
    """

    limit: int
    period: timedelta
    topics: frozenset[Topic] = attrs.field(default=MARKETING_TOPICS, converter=_lenient_set, repr=lambda _: "...")

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.integer("limit", self.limit, minimum=1)
        if not isinstance(self.period, timedelta) or self.period <= timedelta(0):
            check.add("period", "must be a positive timedelta")
        if isinstance(self.topics, frozenset):
            check.items("topics", tuple(self.topics), lambda p, v: check.enum(p, v, Topic), kind=tuple)
        else:
            check.add("topics", "must be a set of topics")
        check.done()

    def describe(self) -> str:
        days = self.period / timedelta(days=1)
        span = f"{days:g} days" if days >= 1 else f"{self.period.total_seconds() / 3600:g} hours"
        return f"frequency cap: at most {self.limit} such messages in {span}"


@attrs.frozen
class Decision:
    """The outcome of :meth:`Policy.decide`: send on ``channel`` to ``recipient`` (not before ``not_before``),
    or not (``reason`` says why; ``channel`` is then the one the message would have used)."""

    channel: Channel
    recipient: str | None = None
    not_before: datetime | None = None
    reason: str | None = None

    @property
    def send(self) -> bool:
        return self.reason is None


@lru_cache(maxsize=512)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def quiet_until(now: datetime, start: time, end: time, timezone: str) -> datetime | None:
    """The end of the quiet spell ``start``-``end`` (local times in ``timezone``, possibly wrapping midnight) that
    ``now`` falls in, or None when ``now`` is not quiet.

    >>> from datetime import UTC
    >>> quiet_until(datetime(2024, 1, 1, 22, 30, tzinfo=UTC), time(22), time(7), "Europe/Berlin").isoformat()
    '2024-01-02T06:00:00+00:00'
    """
    now = check_moment("now", now)  # in range, so that the local day and the one after it exist
    zone = _zone(timezone)
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    local = now.astimezone(zone)
    at = local.time().replace(tzinfo=None)
    quiet = (start <= at < end) if start < end else (at >= start or at < end)
    if start == end or not quiet:
        return None
    until = datetime.combine(local.date(), end, tzinfo=zone)
    if until <= local:
        until = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return until.astimezone(now.tzinfo)


@attrs.frozen(kw_only=True)
class Policy:
    """The rules every send obeys (see the module docstring).

    ``default_timezone`` applies to customers without one; ``default_quiet_hours`` to customers who set none
    (None: no quiet hours unless the customer set some). ``caps`` are the frequency caps; ``contact`` finds a
    customer's address on a channel.
    """

    default_timezone: str = "UTC"
    default_quiet_hours: tuple[time, time] | None = None
    quiet_channels: frozenset[Channel] = attrs.field(default=INTERRUPTING, converter=_lenient_set)
    caps: tuple[FrequencyCap, ...] = (FrequencyCap(3, timedelta(days=7)),)
    contact: ContactResolver = default_contact

    def __attrs_post_init__(self) -> None:
        check = Checker()
        if check.text("default_timezone", self.default_timezone, max_length=64):
            try:
                _zone(self.default_timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                check.add("default_timezone", "is not an IANA time zone such as 'Europe/Berlin'")
        hours = self.default_quiet_hours
        if hours is not None and not (
            isinstance(hours, tuple) and len(hours) == 2 and all(isinstance(t, time) for t in hours)
        ):
            check.add("default_quiet_hours", "must be a (start, end) pair of times, or None")
        if isinstance(self.quiet_channels, frozenset):
            items = tuple(self.quiet_channels)
            check.items("quiet_channels", items, lambda p, v: check.enum(p, v, Channel), kind=tuple)
        else:
            check.add("quiet_channels", "must be a set of channels")
        check.instances("caps", self.caps, FrequencyCap)
        if not callable(self.contact):
            check.add("contact", "must be a function (customer, channel) -> address or None")
        check.done()

    def decide(
        self,
        customer: Customer,
        topic: Topic,
        channels: Sequence[Channel],
        now: datetime,
        recent: Callable[[FrequencyCap], int] | None = None,
    ) -> Decision:
        """Decide whether ``topic`` goes to ``customer``, on the first usable of ``channels`` (in order).

        ``recent(cap)`` counts the customer's messages that ``cap`` covers within its period up to ``now``.
        """
        if not channels:
            return Decision(Channel.EMAIL, reason=f"no template for {topic.value} on any channel")
        chosen, recipient, reasons = self._channel(customer, topic, channels)
        if chosen is None or recipient is None:
            return Decision(channels[0], reason="; ".join(reasons))
        for cap in self.caps:
            if topic in cap.topics and recent is not None and recent(cap) >= cap.limit:
                return Decision(chosen, reason=cap.describe())
        return Decision(chosen, recipient, self.quiet_end(customer, topic, chosen, now))

    def _channel(
        self, customer: Customer, topic: Topic, channels: Iterable[Channel]
    ) -> tuple[Channel | None, str | None, list[str]]:
        reasons: list[str] = []
        for channel in channels:
            recipient = self.contact(customer, channel)
            if not recipient:
                reasons.append(f"no {channel.value} address")
                continue
            if topic.is_marketing:
                consent = customer.consent(ConsentPurpose.MARKETING, channel)
                if consent is None or consent.state != ConsentState.SUBSCRIBED:
                    state = "no recorded opt-in" if consent is None else f"consent {consent.state.value}"
                    reasons.append(f"no marketing consent on {channel.value} ({state})")
                    continue
            return channel, recipient, reasons
        return None, None, reasons

    def quiet_end(self, customer: Customer, topic: Topic, channel: Channel, now: datetime) -> datetime | None:
        """When the quiet spell that holds this message back ends, or None when it may go now."""
        if not topic.is_marketing and channel not in self.quiet_channels:
            return None
        prefs = customer.preferences
        if prefs.quiet_hours_start is not None and prefs.quiet_hours_end is not None:
            start, end = prefs.quiet_hours_start, prefs.quiet_hours_end
        elif self.default_quiet_hours is not None:
            start, end = self.default_quiet_hours
        else:
            return None
        return quiet_until(now, start, end, customer.timezone or self.default_timezone)
