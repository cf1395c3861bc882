"""Declarative rules: which event leads to which message, on which channels, when and for whom.

A :class:`Rule` fires on an order event class (``OrderShipped``) or on an activity event name
(``"Cart Abandoned"``). It names the message's topic (and so its templates), optionally fixed channels,
a delay (a timer then holds it until :meth:`custdata.workflows.Workflows.run_due` finds it due), a segment
(any ``callable(customer) -> bool``, such as a segment from :mod:`custdata.analytics`), a condition on the
event, a guard checked when a timer falls due, and the topics whose pending messages it makes obsolete.

Each message gets a deterministic idempotency key from its trigger and topic (``ord_1:shipped:shp_1:order_shipped``),
so handling the same event twice, or replaying events, decides each message once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from custdata.domain import ActivityEvent, Channel, Customer, Topic
from custdata.domain.checks import Checker
from custdata.domain.communication import _EVENT_NAME
from custdata.lifecycle.events import OrderEvent

if TYPE_CHECKING:
    from custdata.storage.outbox.ports import OutboxUnitOfWork

Trigger = OrderEvent | ActivityEvent
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SLUG = re.compile(r"[^a-z0-9]+")


@attrs.frozen
class Due:
    """What a guard sees when a timer falls due: the unit of work, the customer, the trigger, and the time."""

    uow: OutboxUnitOfWork
    customer: Customer
    trigger: Trigger
    now: datetime


def _to_topic(value: object) -> Any:
    try:
        return Topic(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _to_channels(value: object) -> Any:
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        return value
    try:
        return tuple(Channel(v) for v in value)
    except ValueError:
        return value


def _to_names(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _to_topics(value: object) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        return value
    try:
        return frozenset(Topic(v) for v in value)
    except ValueError:
        return value


@attrs.frozen(kw_only=True)
class Rule:
    """From an event to a message; see the module docstring.

    ``on``: an :class:`~custdata.lifecycle.OrderEvent` subclass, or the name of an activity event.
    ``channels``: fixed channels in order of preference (None: the customer's preferred channels).
    ``all_channels``: send on every usable channel of ``channels`` rather than the first.
    ``delay``: fire this long after the event. ``reschedule``: one timer per customer, moved by every new
    event (re-engagement). ``when``: a condition on the event. ``segment``: a condition on the customer.
    ``guard``: checked when a timer falls due; returns a reason to drop the message, or None.
    ``cancels``: topics whose pending messages and timers (for the same order, or without order) this event
    makes obsolete. ``variables``: extra template variables computed from the event and the customer, whose
    names ``provides`` lists (declare them for the topic in the :class:`TemplateRegistry` too).
    """

    name: str
    on: type[OrderEvent] | str
    topic: Topic = attrs.field(converter=_to_topic)
    channels: tuple[Channel, ...] | None = attrs.field(default=None, converter=_to_channels)
    all_channels: bool = False
    delay: timedelta | None = None
    reschedule: bool = False
    when: Callable[[Any], bool] | None = attrs.field(default=None, eq=False)
    segment: Callable[[Customer], bool] | None = attrs.field(default=None, eq=False)
    guard: Callable[[Due], str | None] | None = attrs.field(default=None, eq=False)
    cancels: frozenset[Topic] = attrs.field(default=frozenset(), converter=_to_topics)
    variables: Callable[[Trigger, Customer], dict[str, object]] | None = attrs.field(default=None, eq=False)
    provides: frozenset[str] = attrs.field(default=frozenset(), converter=_to_names)

    def __attrs_post_init__(self) -> None:
        check = Checker()
        if check.text("name", self.name, max_length=64) and not _NAME.fullmatch(self.name):
            check.add("name", "must be a lower-case name such as 'order_shipped' (letters, digits, '_')")
        if isinstance(self.on, str):
            if not _EVENT_NAME.fullmatch(self.on):
                check.add("on", "must be an activity event name such as 'Cart Abandoned'")
        elif not (isinstance(self.on, type) and issubclass(self.on, OrderEvent)):
            check.add("on", "must be an OrderEvent class or an activity event name")
        check.enum("topic", self.topic, Topic)
        if self.channels is not None and check.items(
            "channels", self.channels, lambda p, v: check.enum(p, v, Channel), kind=tuple
        ):
            if not self.channels:
                check.add("channels", "must name at least one channel (or be None for the customer's choice)")
        check.boolean("all_channels", self.all_channels)
        if self.delay is not None and (not isinstance(self.delay, timedelta) or self.delay < timedelta(0)):
            check.add("delay", "must be a non-negative timedelta")
        check.boolean("reschedule", self.reschedule)
        if self.reschedule and self.delay is None:
            check.add("reschedule", "is only for rules with a delay")
        for name in ("when", "segment", "guard", "variables"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                check.add(name, "must be callable")
        if self.provides and self.variables is None:
            check.add("provides", "names variables, but the rule has no variables function")
        if isinstance(self.cancels, frozenset):
            for i, topic in enumerate(sorted(self.cancels, key=str)):
                check.enum(f"cancels[{i}]", topic, Topic)
        else:
            check.add("cancels", "must be a set of topics")
        check.done()

    # -- matching and keys --------------------------------------------------------------------------------

    def matches(self, trigger: Trigger) -> bool:
        """True when ``trigger`` is this rule's event (and its ``when`` condition holds)."""
        if isinstance(self.on, str):
            hit = isinstance(trigger, ActivityEvent) and trigger.event == self.on
        else:
            hit = isinstance(trigger, self.on)
        return hit and (self.when is None or bool(self.when(trigger)))

    def message_key(self, trigger: Trigger, channel: Channel | None = None) -> str:
        """The idempotency key of the message this rule makes from ``trigger`` (per channel with ``all_channels``)."""
        base = f"{trigger_key(trigger)}:{self.topic.value}"
        return f"{base}:{channel.value}" if self.all_channels and channel is not None else base

    def timer_key(self, trigger: Trigger) -> str:
        """The key of the timer that holds this rule's message: one per customer when it reschedules."""
        if self.reschedule:
            return f"{self.name}:{customer_of(trigger)}"
        return f"{self.name}:{trigger_key(trigger)}"


def trigger_key(trigger: Trigger) -> str:
    """The key of the happening itself: an order event's ``key``, or the customer and id of an activity event."""
    if isinstance(trigger, OrderEvent):
        return trigger.key
    slug = _SLUG.sub("_", trigger.event.lower()).strip("_")
    return f"{trigger.customer_id}:{slug}:{trigger.id}"


def customer_of(trigger: Trigger) -> str | None:
    return None if trigger.customer_id is None else str(trigger.customer_id)


def order_of(trigger: Trigger) -> str | None:
    return str(trigger.order_id) if isinstance(trigger, OrderEvent) else None


def trigger_time(trigger: Trigger) -> datetime:
    return trigger.occurred_at
