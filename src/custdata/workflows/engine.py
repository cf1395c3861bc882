"""The workflow engine: turns domain and activity events into decided, rendered messages in the outbox.

:meth:`Workflows.handle` runs inside the caller's unit of work, so the messages are committed with the change
that caused them. For each matching rule it cancels what the event made obsolete, then either starts a timer
(delayed rules) or decides the send (:class:`~custdata.workflows.Policy`), renders the template and enqueues
the message, or records the suppression with its reason. :meth:`Workflows.run_due` fires the timers that are
due, each in its own unit of work, deciding with what is true at that moment.

A queued message or a timer says when it falls due (``Step.due_at``); a message that will not go at once (quiet
hours, or a ``now`` given ahead of the workflows' clock) says why in ``Step.reason`` and is logged as
``workflow.held``, so that a message waiting in the outbox is never a silent one.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import attrs

from custdata._clock import utc_now as _utc_now
from custdata._errors import ConflictError, IntegrityError, NotFoundError, StoreError, ValidationError
from custdata._telemetry import log_event, set_attributes, span
from custdata.domain import ActivityEvent, Channel, Customer, Order
from custdata.domain.redaction import pseudonymise_order, scrub_activity
from custdata.lifecycle.apply import apply
from custdata.lifecycle.changes import Change, Place
from custdata.lifecycle.events import OrderEvent, event_from_dict, event_to_dict
from custdata.notify import Message
from custdata.outbox.service import cancel_with_timers, enqueue, suppress
from custdata.serialization import from_dict, to_dict
from custdata.storage.merges import resolve
from custdata.storage.outbox.model import Timer, TimerState
from custdata.storage.outbox.ports import (
    OutboxUnitOfWork,
    has_outbox,
    outbox_unit_of_work,
    reschedule,
)
from custdata.storage.ports import Store
from custdata.storage.records import EARLIEST_MOMENT, LATEST_MOMENT, check_moment
from custdata.workflows.context import Shop, available, variables
from custdata.workflows.defaults import default_registry, default_rules
from custdata.workflows.policy import FrequencyCap, Policy
from custdata.workflows.rules import Due, Rule, Trigger, customer_of, order_of, trigger_key
from custdata.workflows.templates import TemplateRegistry

_log = logging.getLogger("custdata.workflows")

#: Why nothing is sent, and no timer kept, for a customer whose personal data was erased.
ERASED = "the customer's personal data was erased"

Action = Literal["queued", "suppressed", "scheduled", "duplicate", "cancelled", "skipped"]


@attrs.frozen
class Step:
    """One thing the engine did: which rule, what (``action``), the message or timer key, and why; for a queued
    message or a scheduled timer, when it falls due (``due_at``)."""

    rule: str
    action: Action
    key: str
    reason: str | None = None
    channel: Channel | None = None
    due_at: datetime | None = attrs.field(default=None, kw_only=True)


class Workflows:
    """Rules, templates, policy and shop details, checked together when built.

    Every rule's topic needs a template in the default locale, and every variable its templates may use must be
    one its trigger provides (or its ``variables`` function adds, as its ``provides`` says): otherwise a
    :class:`custdata.ValidationError` names the rule. ``clock`` is injectable for tests and for replaying history.
    """

    def __init__(
        self,
        *,
        shop: Shop,
        rules: Iterable[Rule] | None = None,
        templates: TemplateRegistry | None = None,
        policy: Policy | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not isinstance(shop, Shop):
            raise ValidationError.single("shop", f"must be a Shop, not {type(shop).__name__}")
        self.shop = shop
        self.rules = list(default_rules() if rules is None else rules)
        self.templates = default_registry() if templates is None else templates
        self.policy = policy or Policy()
        self._clock = clock or _utc_now
        self._by_name = self._check()

    def _check(self) -> dict[str, Rule]:
        from custdata._errors import Problem

        problems: list[Problem] = []
        by_name: dict[str, Rule] = {}
        if not isinstance(self.templates, TemplateRegistry):
            raise ValidationError.single("templates", "must be a TemplateRegistry")
        if not isinstance(self.policy, Policy):
            raise ValidationError.single("policy", "must be a Policy")
        for i, rule in enumerate(self.rules):
            path = f"rules[{i}]"
            if not isinstance(rule, Rule):
                problems.append(Problem(path, f"must be a Rule, not {type(rule).__name__}"))
                continue
            if rule.name in by_name:
                problems.append(Problem(f"{path}.name", f"{rule.name!r} is used by two rules"))
            by_name[rule.name] = rule
            channels = self.templates.channels(rule.topic)
            if not channels:
                problems.append(Problem(f"{path}.topic", f"has no {rule.topic.value} template in the default locale"))
            elif rule.channels is not None and not set(rule.channels) & channels:
                problems.append(Problem(f"{path}.channels", f"none has a {rule.topic.value} template"))
            given = available(rule.on, rule.topic) | rule.provides
            missing = sorted(self.templates.variables(rule.topic) - given)
            if missing:
                problems.append(
                    Problem(path, f"its trigger gives no {', '.join(missing)} for {rule.topic.value} templates")
                )
        if problems:
            raise ValidationError(problems)
        return by_name

    # -- handling events ------------------------------------------------------------------------------------

    def handle(
        self,
        uow: OutboxUnitOfWork,
        events: Iterable[Trigger],
        *,
        now: datetime | None = None,
        customers: Iterable[Customer] = (),
        orders: Iterable[Order] = (),
    ) -> list[Step]:
        """Decide the messages for ``events`` inside ``uow`` (the caller commits); what was done, step by step.

        ``customers`` and ``orders`` are records the caller read or wrote in this same unit of work and holds as
        they are stored now (a command that just read the customer and added the order, say): the engine takes
        them instead of reading them again. A customer merged into another is not taken (its survivor is read).
        """
        if not has_outbox(uow):  # the protocol check, remembered per class
            raise ValidationError.single("uow", "must be a unit of work of a store with an outbox")
        moment = check_moment("now", self._clock() if now is None else now)
        cache = _Cache(uow)
        cache.hold(customers, orders)
        steps: list[Step] = []
        with span("workflow.handle") as current_span:
            for trigger in events:
                if not isinstance(trigger, (OrderEvent, ActivityEvent)):
                    raise ValidationError.single(
                        "events", f"must hold order or activity events, not {type(trigger).__name__}"
                    )
                for rule in self.rules:
                    if rule.matches(trigger):
                        steps += self._fire(uow, cache, rule, trigger, moment)
            _log_steps(steps)
            set_attributes(current_span, steps=len(steps), **_step_counts(steps))
        return steps

    def _fire(self, uow: OutboxUnitOfWork, cache: _Cache, rule: Rule, trigger: Trigger, now: datetime) -> list[Step]:
        customer_id = customer_of(trigger)
        if customer_id is None:
            return [Step(rule.name, "skipped", trigger_key(trigger), "the visitor is anonymous")]
        steps: list[Step] = []
        customer = cache.customer(customer_id)
        if rule.cancels:
            reason = f"made obsolete by {getattr(trigger, 'name', 'activity')} ({rule.name})"
            order_id = order_of(trigger)
            timers, dropped = cancel_with_timers(
                uow, customer_id=customer_id, topics=rule.cancels, reason=reason, now=now, order_id=order_id
            )
            steps += [Step(rule.name, "cancelled", e.idempotency_key, reason, e.channel) for e in dropped]
            for timer in timers:
                steps.append(Step(timer.rule, "cancelled", timer.key, reason))
                if customer is not None:
                    self._record_dropped_timer(uow, timer, customer, reason, now)
        if customer is None:
            return [*steps, Step(rule.name, "skipped", trigger_key(trigger), "the customer does not exist")]
        if customer.redacted_at is not None:  # no message, and no timer keeping the trigger's data
            channel = (rule.channels or customer.preferences.channels or (Channel.EMAIL,))[0]
            return [*steps, self._suppress(uow, rule, trigger, customer, channel, ERASED, now)]
        if rule.segment is not None and not rule.segment(customer):
            return [
                *steps,
                Step(rule.name, "skipped", trigger_key(trigger), "the customer is not in the rule's segment"),
            ]
        if rule.delay is not None:
            due_at = _later(trigger.occurred_at, rule.delay)
            if due_at is None:
                reason = (
                    f"cannot wait {rule.delay} after {trigger.occurred_at.isoformat()}: that is beyond the year 9998"
                )
                channel = (rule.channels or customer.preferences.channels or (Channel.EMAIL,))[0]
                return [*steps, self._suppress(uow, rule, trigger, customer, channel, reason, now)]
            timer = Timer(
                key=rule.timer_key(trigger),
                rule=rule.name,
                topic=rule.topic,
                customer_id=customer_id,
                order_id=order_of(trigger),
                due_at=due_at,
                created_at=now,
                trigger=_serialize(trigger),
            )
            # a rescheduled timer moves forward only: a replayed older event never brings the timer back
            written = reschedule(uow.timers, timer) if rule.reschedule else uow.timers.schedule(timer)
            if not written:
                return [*steps, Step(rule.name, "duplicate", timer.key)]
            return [*steps, Step(rule.name, "scheduled", timer.key, due_at=timer.due_at)]
        return steps + self._send(uow, cache, rule, trigger, customer, now)

    def _send(
        self, uow: OutboxUnitOfWork, cache: _Cache, rule: Rule, trigger: Trigger, customer: Customer, now: datetime
    ) -> list[Step]:
        with_templates = self.templates.channels(rule.topic)
        wanted = rule.channels if rule.channels is not None else customer.preferences.channels
        channels = [c for c in wanted if c in with_templates]
        if not channels and rule.channels is None:
            listed = ", ".join(c.value for c in wanted)
            reason = f"none of the customer's channels ({listed}) has a template" if wanted else "no channel chosen"
            return [self._suppress(uow, rule, trigger, customer, wanted[0] if wanted else Channel.EMAIL, reason, now)]
        groups: Sequence[list[Channel]] = [[c] for c in channels] if rule.all_channels else [channels]
        steps = []
        for group in groups:
            key = rule.message_key(trigger, group[0])

            # a key seen before is recognised when the entry is written: the outbox stores each key once, and
            # then writes nothing (one look-up of the key, not two)
            def recent(cap: FrequencyCap) -> int:
                return uow.outbox.count_recent(customer.id, since=_earlier(now, cap.period), topics=cap.topics)

            decision = self.policy.decide(customer, rule.topic, group, now, recent)
            if not decision.send:
                step = self._suppress(uow, rule, trigger, customer, decision.channel, str(decision.reason), now, key)
                steps.append(step if step.action != "duplicate" else Step(rule.name, "duplicate", key))
                continue
            message, template = self._render(
                cache, rule, trigger, customer, decision.channel, decision.recipient, key, now
            )
            entry = enqueue(
                uow,
                message,
                customer_id=customer.id,
                now=now,
                available_at=decision.not_before,
                template=template,
                metadata={"rule": rule.name},
            )
            if entry is None:
                steps.append(Step(rule.name, "duplicate", key))
                continue
            held = self._held(entry.available_at, decision.not_before, now)
            steps.append(Step(rule.name, "queued", key, held, decision.channel, due_at=entry.available_at))
        return steps

    def _held(self, due_at: datetime, not_before: datetime | None, now: datetime) -> str | None:
        """Why a message queued at ``now`` does not go at once, or None when it is due by the clock: held back by
        the policy (quiet hours), or given a ``now`` ahead of the workflows' clock."""
        clock = self._clock()
        reasons = []
        if not_before is not None and not_before > now:
            reasons.append(f"held back until {not_before.isoformat()}")
        if now > clock and due_at > clock:
            ahead = now - clock
            reasons.append(f"queued with now={now.isoformat()}, {ahead} ahead of the clock")
        if not reasons:
            return None
        if len(reasons) == 1 and not_before is not None and not_before > now:
            return reasons[0]
        return f"not due before {due_at.isoformat()}: " + "; ".join(reasons)

    def _suppress(
        self,
        uow: OutboxUnitOfWork,
        rule: Rule,
        trigger: Trigger,
        customer: Customer,
        channel: Channel,
        reason: str,
        now: datetime,
        key: str | None = None,
    ) -> Step:
        key = key or rule.message_key(trigger, channel)
        entry = suppress(
            uow,
            idempotency_key=key,
            customer_id=customer.id,
            topic=rule.topic,
            channel=channel,
            reason=reason[:512],
            now=now,
            order_id=order_of(trigger),
            metadata={"rule": rule.name},
        )
        return Step(rule.name, "suppressed" if entry is not None else "duplicate", key, reason, channel)

    def _render(
        self,
        cache: _Cache,
        rule: Rule,
        trigger: Trigger,
        customer: Customer,
        channel: Channel,
        recipient: str | None,
        key: str,
        now: datetime,
    ) -> tuple[Message, str]:
        order_id = order_of(trigger)
        order = cache.order(order_id) if order_id is not None else None
        timezone = customer.timezone or self.policy.default_timezone
        values = variables(trigger, rule.topic, customer, order, self.shop, channel, timezone, now)
        if rule.variables is not None:
            values.update(rule.variables(trigger, customer))
        wanted = self.templates.variables(rule.topic)
        rendered = self.templates.render(rule.topic, channel, customer.locale, {k: values.get(k) for k in wanted})
        unsubscribe = None
        if rule.topic.is_marketing:
            unsubscribe = self.shop.link(self.shop.unsubscribe_url, customer_id=str(customer.id), channel=channel)
        message = Message(
            idempotency_key=key,
            channel=channel,
            topic=rule.topic,
            recipient=str(recipient),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            locale=rendered.locale,
            customer_id=customer.id,
            order_id=order_id,
            unsubscribe_url=unsubscribe if channel == Channel.EMAIL else None,
            metadata={"rule": rule.name},
        )
        return message, rendered.template

    # -- conveniences: one change, one unit of work ------------------------------------------------------------

    def place(self, store: Store, order: Order, *, now: datetime | None = None) -> list[Step]:
        """Add a new ``order`` to ``store``, record it as placed and decide its messages, in one unit of work."""
        with _outbox_uow(store) as uow:
            events = apply(order, Place())
            if _erased(uow, order.customer_id):
                order = pseudonymise_order(order)
            uow.orders.add(order)
            steps = self.handle(uow, events, now=now)
            uow.commit()
        return steps

    def change(
        self, store: Store, order_id: str, change: Change, *, now: datetime | None = None, attempts: int = 3
    ) -> tuple[tuple[OrderEvent, ...], list[Step]]:
        """Apply ``change`` to the stored order, save it and decide the messages its events call for, all in one
        unit of work; retried (re-reading the order) when someone else changed it meanwhile."""
        for attempt in range(1, attempts + 1):
            try:
                with _outbox_uow(store) as uow:
                    order = uow.orders.get(order_id)
                    before = copy.copy(order)  # apply replaces fields, never mutates them in place
                    events = apply(order, change)
                    if _erased(uow, order.customer_id):  # erased stays erased, whatever the carrier reports
                        order = pseudonymise_order(order, keep_metadata=_same(order.metadata, before.metadata))
                    if order == before:
                        return events, []
                    uow.orders.update(order)
                    steps = self.handle(uow, events, now=now)
                    uow.commit()
                    return events, steps
            except ConflictError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def track(self, store: Store, activity: ActivityEvent, *, now: datetime | None = None) -> list[Step]:
        """Store an activity event (a cart abandoned, say) and decide what it calls for, in one unit of work."""
        with _outbox_uow(store) as uow:
            if activity.customer_id is not None and _erased(uow, activity.customer_id):
                activity = scrub_activity(activity)
            uow.activity.add(activity)
            steps = self.handle(uow, [activity], now=now)
            uow.commit()
        return steps

    # -- timers -----------------------------------------------------------------------------------------------

    def run_due(self, store: Store, *, now: datetime | None = None, limit: int = 100) -> list[Step]:
        """Fire every timer due at ``now`` (the clock by default), ``limit`` per round, each in its own unit of
        work; two sweeps running at once fire each timer once. A timer whose rule raises is cancelled with the
        reason (and logged) so that it blocks nothing behind it; a store error stops the sweep."""
        moment = check_moment("now", self._clock() if now is None else now)
        steps: list[Step] = []
        while True:
            with _outbox_uow(store) as uow:
                due = uow.timers.due(moment, limit=limit)
            for timer in due:
                try:
                    with span("workflow.timer", rule=timer.rule, topic=timer.topic.value), _outbox_uow(store) as uow:
                        fired = self._fire_timer(uow, timer, moment)
                        if fired is not None:
                            uow.commit()
                            steps += fired
                            _log_steps(fired)
                except StoreError:
                    raise  # the store is unwell: stop here, the next sweep takes the timers up again
                except Exception as exc:  # noqa: BLE001 - a failing rule must not block every timer behind it
                    given_up = self._give_up(store, timer, exc, moment)
                    steps += given_up
                    _log_steps(given_up)
            if len(due) < limit:
                return steps

    def _give_up(self, store: Store, timer: Timer, exc: Exception, now: datetime) -> list[Step]:
        """Cancel a timer whose rule raised (a ``guard`` or ``variables`` function, a template), recording why,
        so that it does not block the timers due after it."""
        reason = f"the rule failed: {type(exc).__name__}"
        # no exception message: it may quote personal data
        log_event(_log, "workflow.timer_failed", key=timer.key, rule=timer.rule, error=type(exc).__name__)
        with _outbox_uow(store) as uow:
            if not uow.timers.finish(timer.key, TimerState.CANCELLED, reason=reason):
                return []
            customer = _Cache(uow).customer(str(timer.customer_id))
            if customer is not None:
                self._record_dropped_timer(uow, timer, customer, reason, now)
            uow.commit()
        return [Step(timer.rule, "cancelled", timer.key, reason)]

    def _fire_timer(self, uow: OutboxUnitOfWork, timer: Timer, now: datetime) -> list[Step] | None:
        rule = self._by_name.get(timer.rule)
        if rule is None:
            gone = f"no rule named {timer.rule!r} any more"
            return [Step(timer.rule, "cancelled", timer.key, gone)] if self._finish(uow, timer, gone) else None
        trigger = _deserialize(timer.trigger)
        cache = _Cache(uow)
        customer = cache.customer(str(timer.customer_id))
        reason: str | None = None
        if customer is None:
            reason = "the customer does not exist"
        elif customer.redacted_at is not None:
            reason = ERASED
        elif rule.segment is not None and not rule.segment(customer):
            reason = "the customer is no longer in the rule's segment"
        elif rule.guard is not None:
            reason = rule.guard(Due(uow, customer, trigger, now))
        state = TimerState.FIRED if reason is None else TimerState.CANCELLED
        if not uow.timers.finish(timer.key, state, reason=reason):
            return None  # another sweep took it
        if reason is not None or customer is None:
            if customer is not None and reason is not None:
                self._record_dropped_timer(uow, timer, customer, reason, now)
            return [Step(rule.name, "cancelled", timer.key, reason)]
        return self._send(uow, cache, rule, trigger, customer, now)

    def _record_dropped_timer(
        self, uow: OutboxUnitOfWork, timer: Timer, customer: Customer, reason: str, now: datetime
    ) -> None:
        """Record a timed message that will not be sent as a suppressed event (with the message's own key, so a
        replay of its trigger stays silent)."""
        rule = self._by_name.get(timer.rule)
        if rule is None:
            return
        channels = rule.channels if rule.channels is not None else customer.preferences.channels
        channel = channels[0] if channels else Channel.EMAIL
        self._suppress(uow, rule, _deserialize(timer.trigger), customer, channel, reason, now)

    @staticmethod
    def _finish(uow: OutboxUnitOfWork, timer: Timer, reason: str) -> bool:
        return uow.timers.finish(timer.key, TimerState.CANCELLED, reason=reason)


class _Cache:
    """Customers and orders read once per batch of events."""

    def __init__(self, uow: OutboxUnitOfWork) -> None:
        self._uow = uow
        self._customers: dict[str, Customer | None] = {}
        self._orders: dict[str, Order | None] = {}

    def hold(self, customers: Iterable[Customer], orders: Iterable[Order]) -> None:
        """Take the records the caller holds (as stored now in this unit of work) instead of reading them."""
        for i, customer in enumerate(customers):
            if not isinstance(customer, Customer):
                raise ValidationError.single(f"customers[{i}]", f"must be a Customer, not {type(customer).__name__}")
            if customer.merged_into is None:  # a merged customer stands for its survivor: that one is read
                self._customers[str(customer.id)] = customer
        for i, order in enumerate(orders):
            if not isinstance(order, Order):
                raise ValidationError.single(f"orders[{i}]", f"must be an Order, not {type(order).__name__}")
            self._orders[str(order.id)] = order

    def customer(self, customer_id: str) -> Customer | None:
        """The customer, or for a merged one the survivor it was merged into (None when neither is found)."""
        if customer_id not in self._customers:
            try:
                self._customers[customer_id] = resolve(self._uow, customer_id)
            except (NotFoundError, IntegrityError):
                self._customers[customer_id] = None
        return self._customers[customer_id]

    def order(self, order_id: str) -> Order | None:
        if order_id not in self._orders:
            try:
                self._orders[order_id] = self._uow.orders.get(order_id)
            except NotFoundError:
                self._orders[order_id] = None
        return self._orders[order_id]


_STEP_EVENTS = {
    "queued": "workflow.queued",
    "suppressed": "workflow.suppressed",
    "scheduled": "workflow.scheduled",
    "cancelled": "workflow.cancelled",
}


def _log_steps(steps: Iterable[Step]) -> None:
    """Log what the engine did: one event per queued, held, suppressed, scheduled or cancelled message (its key,
    the rule, the channel, the reason and when it is due)."""
    for step in steps:
        event = _STEP_EVENTS.get(step.action)
        if event is None:
            continue
        if step.action == "queued" and step.reason is not None:
            event = "workflow.held"
        log_event(
            _log,
            event,
            key=step.key,
            rule=step.rule,
            channel=None if step.channel is None else step.channel.value,
            due_at=step.due_at,
            reason=step.reason,
        )


def _step_counts(steps: Iterable[Step]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in steps:
        counts[step.action] = counts.get(step.action, 0) + 1
    return counts


def _erased(uow: OutboxUnitOfWork, customer_id: str) -> bool:
    """True when ``customer_id`` (or the customer it was merged into) had its personal data erased."""
    customer = _Cache(uow).customer(str(customer_id))
    return customer is not None and customer.redacted_at is not None


def _same(now: dict[str, Any], before: dict[str, Any]) -> frozenset[str]:
    """The keys whose values ``now`` shares with ``before``: the metadata an erasure chose to keep."""
    return frozenset(k for k, v in now.items() if k in before and before[k] == v)


def _later(moment: datetime, delay: timedelta) -> datetime | None:
    """``moment + delay``, or None when that is not a moment the outbox and timers take (beyond the year 9998)."""
    try:
        later = moment + delay
    except OverflowError:
        return None
    return later if EARLIEST_MOMENT <= later < LATEST_MOMENT else None


def _earlier(moment: datetime, period: timedelta) -> datetime:
    """``moment - period``, no earlier than the earliest moment the outbox takes (a longer period counts it all)."""
    try:
        return max(moment - period, EARLIEST_MOMENT)
    except OverflowError:
        return EARLIEST_MOMENT


def _outbox_uow(store: Store) -> OutboxUnitOfWork:
    return outbox_unit_of_work(store)


def _serialize(trigger: Trigger) -> dict[str, Any]:
    if isinstance(trigger, OrderEvent):
        return {"order_event": event_to_dict(trigger)}
    return {"activity": to_dict(trigger)}


def _deserialize(data: dict[str, Any]) -> Trigger:
    if "order_event" in data:
        return event_from_dict(data["order_event"])
    return from_dict(ActivityEvent, data.get("activity"))
