"""Putting messages in the outbox, and the operations around it: suppress, cancel, list and re-queue.

Each function works inside a unit of work the caller opened (and commits), so the outbox entry and the
customer's :class:`~custdata.CommunicationEvent` are written together with whatever caused them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from custdata._errors import ConflictError, IntegrityError, NotFoundError, ValidationError
from custdata.domain import Channel, CommunicationEvent, CommunicationId, CommunicationStatus, Topic
from custdata.domain.checks import Checker, trusting
from custdata.notify import Message
from custdata.storage.merges import resolve
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer
from custdata.storage.outbox.ports import OutboxUnitOfWork, add_with_event, cancellable
from custdata.storage.ports import DEFAULT_LIMIT, Page


def enqueue(
    uow: OutboxUnitOfWork,
    message: Message,
    *,
    customer_id: str,
    now: datetime,
    available_at: datetime | None = None,
    template: str | None = None,
    metadata: dict[str, object] | None = None,
) -> OutboxEntry | None:
    """Add ``message`` to the outbox and a queued event to the customer's history, unless its idempotency key
    is known already (then nothing is written and None comes back).

    ``available_at`` holds the message back until then (quiet hours). ``order_id`` comes from the message.
    """
    if not isinstance(message, Message):
        raise ValidationError.single("message", f"must be a Message, not {type(message).__name__}")
    check = Checker()  # the message checked itself; what else goes into the entry is checked here
    check.identifier("customer_id", customer_id)
    check.timestamp("now", now)
    check.timestamp("available_at", available_at, optional=True)
    check.done()
    with trusting():
        entry = OutboxEntry(
            id=CommunicationId.new(),
            idempotency_key=message.idempotency_key,
            customer_id=customer_id,
            order_id=message.order_id,
            topic=message.topic,
            channel=message.channel,
            created_at=now,
            available_at=now if available_at is None else max(now, available_at),
            message=message,
        )
    with trusting():  # built from the checked message; the repository validates it before writing
        event = CommunicationEvent(
            id=entry.id,
            customer_id=entry.customer_id,
            channel=message.channel,
            topic=message.topic,
            created_at=now,
            template=template,
            idempotency_key=message.idempotency_key,
            order_id=message.order_id,
            subject=message.subject,
            body=message.text,
            metadata=dict(metadata or {}),
        )
    if not add_with_event(uow, entry, event):
        return None
    return entry


def suppress(
    uow: OutboxUnitOfWork,
    *,
    idempotency_key: str,
    customer_id: str,
    topic: Topic,
    channel: Channel,
    reason: str,
    now: datetime,
    order_id: str | None = None,
    template: str | None = None,
    metadata: dict[str, object] | None = None,
) -> OutboxEntry | None:
    """Record a decision not to send: a suppressed outbox entry (so a replay stays silent) and a suppressed
    event with ``reason`` in the customer's history. None when the key is known already."""
    entry = OutboxEntry(
        id=CommunicationId.new(),
        idempotency_key=idempotency_key,
        customer_id=customer_id,
        order_id=order_id,
        topic=topic,
        channel=channel,
        created_at=now,
        available_at=now,
        state=OutboxState.SUPPRESSED,
        reason=reason,
    )
    if not uow.outbox.add(entry):
        return None
    uow.communications.add(
        CommunicationEvent(
            id=entry.id,
            customer_id=entry.customer_id,
            channel=channel,
            topic=topic,
            created_at=now,
            status=CommunicationStatus.SUPPRESSED,
            suppression_reason=reason,
            template=template,
            idempotency_key=idempotency_key,
            order_id=entry.order_id,
            metadata=dict(metadata or {}),
        )
    )
    return entry


def cancel(
    uow: OutboxUnitOfWork,
    *,
    customer_id: str,
    topics: Iterable[Topic],
    reason: str,
    now: datetime,
    order_id: str | None = None,
) -> list[OutboxEntry]:
    """Drop the customer's pending messages (and timers) of ``topics`` for ``order_id`` (or of no order);
    their events become suppressed with ``reason``. Messages a dispatcher is sending right now stay."""
    return cancel_with_timers(uow, customer_id=customer_id, topics=topics, reason=reason, now=now, order_id=order_id)[1]


def cancel_with_timers(
    uow: OutboxUnitOfWork,
    *,
    customer_id: str,
    topics: Iterable[Topic],
    reason: str,
    now: datetime,
    order_id: str | None = None,
) -> tuple[list[Timer], list[OutboxEntry]]:
    """:func:`cancel`, also giving the timers it cancelled (earliest first). What there is to cancel is read once
    (:func:`~custdata.storage.outbox.ports.cancellable`), and nothing is written when nothing is pending."""
    wanted = list(topics)
    timers, entries = cancellable(uow, customer_id=customer_id, topics=wanted, now=now, order_id=order_id)
    if timers:
        uow.timers.cancel(customer_id=customer_id, topics=wanted, reason=reason, order_id=order_id)
    cancelled = []
    if entries != 0:
        cancelled = uow.outbox.cancel(customer_id=customer_id, topics=wanted, now=now, reason=reason, order_id=order_id)
    for entry in cancelled:
        update_event(uow, entry.id, status=CommunicationStatus.SUPPRESSED, suppression_reason=reason, now=now)
    return timers, cancelled


def dead_letters(uow: OutboxUnitOfWork, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[OutboxEntry]:
    """The messages that ran out of retries, in id order, one page at a time."""
    return uow.outbox.with_state(OutboxState.DEAD, limit=limit, cursor=cursor)


def requeue(uow: OutboxUnitOfWork, entry_id: str, *, now: datetime) -> OutboxEntry:
    """Send a dead or failed message again: pending now, attempts reset, its event queued once more.

    Refuses (:class:`custdata.ValidationError` at ``entry_id``, nothing written) a message that cannot be sent
    any more (see :func:`requeue_refusal`): its content was erased, or its customer was erased or deleted.
    """
    why = requeue_refusal(uow, uow.outbox.get(entry_id))
    if why is not None:
        raise ValidationError.single("entry_id", why)
    entry = uow.outbox.requeue(entry_id, now=now)
    update_event(uow, entry.id, status=CommunicationStatus.QUEUED, error=None, now=now)
    return entry


def requeue_refusal(uow: OutboxUnitOfWork, entry: OutboxEntry) -> str | None:
    """Why ``entry`` cannot be requeued, or None when it can: only a dead or failed entry that still holds its
    message, for a customer who still exists (or was merged into one who does) and was not erased."""
    if entry.state not in (OutboxState.DEAD, OutboxState.FAILED):
        return f"names a {entry.state.value} entry; only dead or failed ones can be requeued"
    if entry.message is None:
        return "names an entry whose message was erased; it cannot be sent again"
    try:
        customer = resolve(uow, str(entry.customer_id))
    except NotFoundError:
        return "names a message for a customer who no longer exists; it cannot be sent again"
    except IntegrityError:
        return "names a message for a customer whose merges cannot be followed; it cannot be sent again"
    if customer.redacted_at is not None:
        return "names a message for a customer whose data was erased; it cannot be sent again"
    return None


def erase(uow: OutboxUnitOfWork, customer_id: str, *, now: datetime) -> int:
    """Remove the personal data the outbox keeps for a customer (rendered messages, provider replies, the events
    held by finished timers), for the right to erasure; how many entries and timers changed.

    Pending messages and timers are not touched: cancel them first (:func:`cancel`, for each order and for none).
    The entries and their idempotency keys stay, so an erased message is never sent again by a replay.
    """
    return uow.outbox.erase(customer_id, now=now) + uow.timers.erase(customer_id)


@attrs.frozen
class Forgotten:
    """What :func:`forget` changed: messages cancelled before they went (``cancelled``, counted in ``entries``
    too), outbox entries and timers whose personal data went."""

    cancelled: int = 0
    entries: int = 0
    timers: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.entries or self.timers)


def forget(
    uow: OutboxUnitOfWork,
    *,
    now: datetime,
    reason: str,
    customer_ids: Iterable[str] = (),
    order_ids: Iterable[str] = (),
    entry_ids: Iterable[str] = (),
) -> Forgotten:
    """Remove what the outbox keeps of some messages, whatever their state, for erasure and retention: every entry
    and timer filed under one of ``customer_ids`` or about one of ``order_ids``, and the entries ``entry_ids``
    (unknown ids are passed over).

    Pending messages are cancelled, also those a dispatcher holds right now (its ``settle`` then finds them
    cancelled and records nothing), and their events become suppressed with ``reason``; pending timers are
    cancelled. Every entry loses its rendered message, error and provider id, and its event loses its subject,
    body, error, provider id and metadata; every timer loses its trigger. Keys stay, so nothing is sent again.
    """
    customers = sorted({str(c) for c in customer_ids})
    orders = sorted({str(o) for o in order_ids})
    entries: dict[str, OutboxEntry] = {}
    for customer_id in customers:
        entries.update((str(e.id), e) for e in uow.outbox.for_customer(customer_id))
    if orders:
        entries.update((str(e.id), e) for e in uow.outbox.for_orders(orders))
    for entry_id in entry_ids:
        if str(entry_id) not in entries:
            try:
                entries[str(entry_id)] = uow.outbox.get(entry_id)
            except NotFoundError:
                continue
    cancelled = changed = 0
    for entry_id in sorted(entries):
        before = uow.outbox.forget(entry_id, now=now, reason=reason)
        if before is None:
            continue
        changed += 1
        if before.state == OutboxState.PENDING:
            cancelled += 1
            _scrub_event(uow, entry_id, now=now, suppressed=reason)
        else:
            _scrub_event(uow, entry_id, now=now, suppressed=None)
    timers: dict[str, Timer] = {}
    for customer_id in customers:
        timers.update((t.key, t) for t in uow.timers.for_customer(customer_id))
    if orders:
        timers.update((t.key, t) for t in uow.timers.for_orders(orders))
    forgotten_timers = sum(1 for key in sorted(timers) if uow.timers.forget(key, reason=reason))
    return Forgotten(cancelled, changed, forgotten_timers)


def _scrub_event(uow: OutboxUnitOfWork, event_id: str, *, now: datetime, suppressed: str | None) -> None:
    """The content of a message's event goes; with ``suppressed``, the event also says it was never sent."""
    changes: dict[str, Any] = {"subject": None, "body": None, "error": None, "provider_id": None, "metadata": {}}
    if suppressed is not None:
        changes.update(status=CommunicationStatus.SUPPRESSED, suppression_reason=suppressed)
    for attempt in range(3):
        try:
            event = uow.communications.get(event_id)
        except NotFoundError:
            return
        if all(getattr(event, name) == value for name, value in changes.items()):
            return
        for name, value in changes.items():
            setattr(event, name, value)
        event.updated_at = max(event.updated_at, now)
        try:
            uow.communications.update(event)
        except ConflictError:
            if attempt == 2:
                raise
            continue
        return


def update_event(uow: OutboxUnitOfWork, event_id: str, *, now: datetime, **changes: Any) -> bool:
    """Apply ``changes`` to the communication event ``event_id``, re-reading it when someone changed it
    concurrently; False when the event is gone (erased with its customer, say)."""
    for attempt in range(3):
        try:
            event = uow.communications.get(event_id)
        except NotFoundError:
            return False
        change_event(event, now=now, **changes)  # a fresh copy from the store; the repository validates it on update
        try:
            uow.communications.update(event)
        except ConflictError:
            if attempt == 2:
                raise
            continue
        except NotFoundError:  # gone since it was read
            return False
        return True
    return False


def change_event(event: CommunicationEvent, *, now: datetime, **changes: Any) -> None:
    """Apply ``changes`` to ``event`` in place as :func:`update_event` does (a suppression reason goes unless the
    event is suppressed; ``updated_at`` moves to ``now`` unless it is later already)."""
    if "suppression_reason" not in changes and changes.get("status") != CommunicationStatus.SUPPRESSED:
        changes = {**changes, "suppression_reason": None}
    for name, value in changes.items():
        setattr(event, name, value)
    event.updated_at = max(event.updated_at, now)
