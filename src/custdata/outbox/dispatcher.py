"""The dispatcher: drains the outbox through a notifier, records every result, retries what may pass later.

One round (:meth:`Dispatcher.run_once`) leases a batch of ready entries, sends them one by one and records each
result as soon as it is known, in its own short unit of work: the outbox entry is settled and the customer's
:class:`~custdata.CommunicationEvent` says ``sent`` (with the provider's id) or ``failed`` (with the reason).

- A transient failure is retried after an exponential backoff with jitter (:class:`RetryPolicy`), honouring
  the provider's ``retry_after``; after ``max_attempts`` the entry is dead: listed by
  :func:`custdata.outbox.service.dead_letters`, re-queued by :func:`~custdata.outbox.service.requeue`.
- A permanent failure stops at once; a skipped send (a channel the notifier does not deliver) is recorded as
  suppressed with the notifier's reason.
- Just before sending, each entry and its customer are read again: an entry that was cancelled or erased since
  the lease (erasure cancels entries a dispatcher holds and drops their message) is not sent and not settled;
  nothing goes to a customer who was deleted or erased, and no marketing message goes out once the customer
  withdrew consent on its channel (it may have waited behind quiet hours); these are recorded as suppressed,
  with why. A message already handed to the notifier when an erasure commits cannot be called back; its result
  is then not recorded (``settle`` finds the entry cancelled), so nothing of it comes back into the store.
- A dispatcher that dies holds its lease until it expires; then another dispatcher takes the entries over.
  What it had sent but not yet recorded is sent again (at least once): duplicates are bounded by the messages
  in flight when a process dies (one per dispatcher), and carry the same Message-ID, so mail clients fold them.
- Before each send the dispatcher checks that its lease still has ``lease_margin`` to run; if not, it stops the
  batch and lets the entries be leased afresh, so a slow batch never races another dispatcher.
- A round that finds fewer ready entries than a batch ends by looking at what waits (entries scheduled for later,
  retrying, leased by another dispatcher; dead letters) and when the next one falls due: the
  :class:`DrainReport` says so (``waiting``, ``next_due_at``), and :meth:`Dispatcher.status` gives the whole
  :class:`~custdata.outbox.OutboxStatus`. Each step is logged under a stable event name (``outbox.sent``, ...;
  :data:`custdata._telemetry.EVENTS`) with ids, counts and reasons only, and runs in an OpenTelemetry span when
  ``opentelemetry-api`` is installed.

The decisions are written once, in :class:`DispatchRules`: :class:`Dispatcher` and the async dispatcher
(:class:`custdata.aio.AsyncDispatcher`) both make them, and differ only in how they send and reach the store.
"""

from __future__ import annotations

import copy
import logging
import os
import random
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

import attrs

from custdata._clock import Clock, utc_now
from custdata._errors import IntegrityError, NotFoundError, OperationalError
from custdata._telemetry import log_event, set_attributes, span
from custdata.domain import CommunicationEvent, CommunicationStatus, ConsentPurpose, ConsentState, Customer
from custdata.domain.checks import Checker
from custdata.domain.personal import LINKED, NOT_PERSONAL, PERSONAL
from custdata.notify import Notifier, SendResult
from custdata.notify.result import Outcome, scrub
from custdata.outbox.service import change_event, update_event
from custdata.storage.merges import resolve
from custdata.storage.outbox.model import OutboxEntry, OutboxState
from custdata.storage.outbox.ports import (
    OutboxUnitOfWork,
    lease_and_commit,
    outbox_unit_of_work,
    read_before_sending,
    settle_with_event,
)
from custdata.storage.outbox.status import OutboxStatus, pending_summary_and_dead, read_status
from custdata.storage.ports import Store
from custdata.storage.records import LATEST_MOMENT

_log = logging.getLogger("custdata.outbox")

#: The longest a retry waits, whatever the policy or a provider's ``retry_after`` ask for.
MAX_RETRY_DELAY = timedelta(days=30)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How transient failures are retried: ``base_delay * 2 ** (attempt - 1)``, at most ``max_delay``, less up to
    ``jitter`` of it at random (so that a crowd of failures does not come back at the same instant). A provider's
    ``retry_after`` is honoured up to :data:`MAX_RETRY_DELAY` (30 days), which also bounds both delays.

    >>> policy = RetryPolicy(base_delay=timedelta(seconds=10), jitter=0.0)
    >>> [policy.delay(n, random.Random(0)).total_seconds() for n in (1, 2, 3)]
    [10.0, 20.0, 40.0]
    """

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=6)
    jitter: float = 0.5

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.integer("max_attempts", self.max_attempts, minimum=1)
        for name in ("base_delay", "max_delay"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value < timedelta(0):
                check.add(name, "must be a non-negative timedelta")
            elif value > MAX_RETRY_DELAY:
                check.add(name, f"must be at most {MAX_RETRY_DELAY.days} days")
        if not isinstance(self.jitter, (int, float)) or isinstance(self.jitter, bool) or not 0 <= self.jitter <= 1:
            check.add("jitter", "must be a number from 0 to 1")
        check.done()

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1 for the first)."""
        growth = 2.0 ** min(max(attempt - 1, 0), 60)
        raw = min(self.max_delay.total_seconds(), self.base_delay.total_seconds() * growth)
        wait = raw * (1 - self.jitter * rng.random())
        if retry_after is not None:
            wait = max(wait, float(retry_after))
        return timedelta(seconds=min(wait, MAX_RETRY_DELAY.total_seconds()))


_SNAPSHOT = {"snapshot": True}


@attrs.define
class DrainReport:
    """What a dispatcher did: entries leased, and how their sends ended; and what still waits.

    The counters (``leased`` to ``lost``) add up over rounds. The rest is a look at the outbox taken when a round
    found fewer ready entries than a batch (at ``observed_at``; the last look wins when reports are added):
    ``waiting`` pending entries that were not due (``waiting_by_reason``: ``scheduled`` for later before their
    first attempt, ``retrying`` after a transient failure, ``leased`` by a dispatcher), the moment the next of
    them falls due (``next_due_at``), and the ``dead_letters`` waiting to be re-queued.
    """

    leased: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0
    waiting: int = attrs.field(default=0, metadata=_SNAPSHOT)
    next_due_at: datetime | None = attrs.field(default=None, metadata=_SNAPSHOT)
    waiting_by_reason: dict[str, int] = attrs.field(factory=dict, metadata=_SNAPSHOT, repr=False)
    dead_letters: int = attrs.field(default=0, metadata=_SNAPSHOT, repr=False)
    observed_at: datetime | None = attrs.field(default=None, metadata=_SNAPSHOT, repr=False)

    def add(self, other: DrainReport) -> None:
        """Add ``other``'s counters to these, and take its look at the outbox when it has one."""
        for field in attrs.fields(DrainReport):
            if field.metadata.get("snapshot"):
                if other.observed_at is not None:
                    setattr(self, field.name, copy.copy(getattr(other, field.name)))
            else:
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def _default_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{os.urandom(4).hex()}"


@attrs.frozen(kw_only=True)
class Settlement:
    """How the send of one entry ended, to record: the entry's new state and what goes with it."""

    state: OutboxState = attrs.field(metadata=NOT_PERSONAL)
    now: datetime = attrs.field(metadata=NOT_PERSONAL)
    provider_id: str | None = attrs.field(default=None, metadata=LINKED)
    #: scrubbed of the recipient, but a provider's reply may still say something of the person: kept out of repr
    error: str | None = attrs.field(default=None, metadata=PERSONAL, repr=False)
    reason: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    available_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)


class DispatchRules:
    """The decisions a dispatcher makes, written once for :class:`Dispatcher` and the async dispatcher
    (:class:`custdata.aio.AsyncDispatcher`): leasing, re-reading before a send, what to do without sending, what a
    send's result means, and recording it. Every store access is a function of a sync
    :class:`~custdata.storage.outbox.ports.OutboxUnitOfWork`, which the async dispatcher runs inside its async
    units of work; only the sending differs.
    """

    def __init__(
        self,
        notifier: object,
        *,
        owner: str | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=5),
        lease_margin: timedelta = timedelta(seconds=30),
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        check = Checker()
        if not callable(getattr(notifier, "send", None)):
            check.add("notifier", "must have a send(message) method")
        if owner is not None and check.text("owner", owner, max_length=128) and not owner.strip():
            check.add("owner", "must not be empty")
        if check.integer("batch_size", batch_size, minimum=1) and batch_size > 10_000:
            check.add("batch_size", "must be at most 10000")
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            check.add("lease", "must be a positive timedelta")
        elif not isinstance(lease_margin, timedelta) or not timedelta(0) <= lease_margin < lease:
            check.add("lease_margin", "must be a non-negative timedelta shorter than the lease")
        check.instance("retry", retry, RetryPolicy, optional=True)
        check.done()
        self.owner = owner or _default_owner()
        self.batch_size = batch_size
        self.lease = lease
        self.lease_margin = lease_margin
        self.retry = retry or RetryPolicy()
        self._clock: Clock = clock or utc_now
        self._rng = rng or random.Random()
        self._last_waiting: tuple[int, datetime | None, int] | None = None

    def lease_batch(self, uow: OutboxUnitOfWork) -> list[OutboxEntry]:
        """Lease one batch of ready entries in ``uow`` and commit."""
        batch = lease_and_commit(uow, self.owner, now=self._clock(), limit=self.batch_size, duration=self.lease)
        if batch:
            log_event(_log, "outbox.leased", owner=self.owner, count=len(batch))
        return batch

    def needs_look(self, report: DrainReport) -> bool:
        """True when the round of ``report`` found fewer ready entries than a batch: then it ends with a look at
        what waits (a round of a full batch leaves that to a later one, so a backlog costs no extra queries)."""
        return report.leased < self.batch_size

    def look(self, uow: OutboxUnitOfWork, report: DrainReport) -> None:
        """Fill in what waits in the outbox of ``uow`` now (read only); logged as ``outbox.waiting`` when the
        picture changed since the last look, and something waits without anything due."""
        now = self._clock()
        summary, dead = pending_summary_and_dead(uow, now)
        report.waiting = summary.scheduled + summary.retrying + summary.leased
        report.waiting_by_reason = {
            "scheduled": summary.scheduled,
            "retrying": summary.retrying,
            "leased": summary.leased,
        }
        report.next_due_at = summary.next_due_at
        report.dead_letters = dead
        report.observed_at = now
        picture = (report.waiting, report.next_due_at, report.dead_letters)
        if picture != self._last_waiting and summary.due == 0 and (report.waiting or report.dead_letters):
            log_event(
                _log,
                "outbox.waiting",
                waiting=report.waiting,
                **report.waiting_by_reason,
                next_due_at=report.next_due_at,
                dead_letters=report.dead_letters,
                timers=summary.timers,
                next_timer_at=summary.next_timer_at,
            )
        self._last_waiting = picture

    def read_status(self, uow: OutboxUnitOfWork) -> OutboxStatus:
        """The :class:`~custdata.outbox.OutboxStatus` of the outbox of ``uow`` at this dispatcher's clock."""
        return read_status(uow, self._clock())

    def running_out(self, entry: OutboxEntry, now: datetime) -> bool:
        """True when the lease of ``entry`` has less than ``lease_margin`` left: the rest of the batch is left
        to a new lease."""
        expires = entry.lease_expires_at
        if expires is not None and now >= expires - self.lease_margin:
            log_event(_log, "outbox.lease_running_out", owner=self.owner, entry=entry.id, lease_expires_at=expires)
            return True
        return False

    def reread(self, uow: OutboxUnitOfWork, entry: OutboxEntry) -> tuple[OutboxEntry | None, Customer | None]:
        """The entry and its customer as they are now, just before sending: None for the entry when it is no longer
        a pending one this dispatcher holds (erasure cancels leased entries and drops their message)."""
        current, customer, _ = self.recheck(uow, entry)
        return current, customer

    def recheck(
        self, uow: OutboxUnitOfWork, entry: OutboxEntry
    ) -> tuple[OutboxEntry | None, Customer | None, CommunicationEvent | None]:
        """:meth:`reread`, and the entry's communication event as it is now (for :meth:`record` to start from):
        the three in one statement on the SQL stores."""
        try:
            current, customer, event = read_before_sending(uow, str(entry.id))
        except NotFoundError:
            return None, None, None
        if current.state != OutboxState.PENDING or current.lease_owner != self.owner:
            return None, None, None
        return current, None if customer is None else _current(uow, customer), event

    def lost(self, entry: OutboxEntry, report: DrainReport) -> None:
        """Count an entry that was cancelled or erased since the lease (not sent, not settled)."""
        report.lost += 1
        log_event(_log, "outbox.lost", entry=entry.id, owner=self.owner, when="before sending")

    def before_send(self, entry: OutboxEntry, now: datetime, customer: Customer | None) -> Settlement | None:
        """What to record without sending (nothing to send, withheld, too many attempts); None to send."""
        if entry.message is None:  # an entry that was never to be sent; nothing to do but release it
            return Settlement(state=OutboxState.SKIPPED, now=now, reason="nothing to send")
        withheld = _withheld(entry, customer)
        if withheld is not None:
            return Settlement(state=OutboxState.SKIPPED, now=now, reason=withheld)
        if entry.attempts > self.retry.max_attempts:
            # leased more often than allowed without a recorded result: its sends keep killing dispatchers
            error = f"gave up after {entry.attempts - 1} attempts without a recorded result"
            return Settlement(state=OutboxState.DEAD, now=now, error=error)
        return None

    @staticmethod
    def raised(exc: Exception) -> SendResult:
        """The result of a send whose notifier raised ``exc``: a notifier bug must not stop the dispatcher."""
        return SendResult.transient(f"the notifier raised {type(exc).__name__}")

    def after_send(self, entry: OutboxEntry, result: object) -> Settlement:
        """What a send's result means for ``entry`` (anything but a :class:`SendResult` is a transient failure)."""
        if not isinstance(result, SendResult):
            result = SendResult.transient(f"the notifier returned {type(result).__name__}, not a SendResult")
        now = self._clock()
        if result.outcome == Outcome.SENT:
            return Settlement(state=OutboxState.SENT, now=now, provider_id=result.provider_id)
        # providers' replies often echo the address: keep it out of the store and the logs
        assert entry.message is not None
        recipient = entry.message.recipient
        described = scrub(str(result), recipient, recipient.rpartition("@")[0], limit=4000)
        if result.outcome == Outcome.SKIPPED:
            reason = scrub(result.reason, recipient, recipient.rpartition("@")[0], limit=400) if result.reason else None
            return Settlement(state=OutboxState.SKIPPED, now=now, reason=reason)
        if result.outcome == Outcome.PERMANENT_FAILURE:
            return Settlement(state=OutboxState.FAILED, now=now, error=described)
        if entry.attempts >= self.retry.max_attempts:
            error = f"gave up after {entry.attempts} attempts: {described}"
            return Settlement(state=OutboxState.DEAD, now=now, error=error)
        wait = self.retry.delay(entry.attempts, self._rng, result.retry_after)
        return Settlement(state=OutboxState.PENDING, now=now, error=described, available_at=_later(now, wait))

    def record(
        self,
        uow: OutboxUnitOfWork,
        entry: OutboxEntry,
        settlement: Settlement,
        report: DrainReport,
        event: CommunicationEvent | None = None,
    ) -> None:
        """Settle ``entry`` as decided, update its communication event and commit, counting it in ``report``; a
        lease lost in between is counted as lost and nothing is written. ``event`` is the communication event as
        :meth:`recheck` read it: changed and written with the settle at once (it is read again when someone changed
        it since)."""
        state = settlement.state
        changes = _event_changes(state, settlement.provider_id, settlement.error, settlement.reason, settlement.now)
        options: dict[str, Any] = {
            "state": state,
            "now": settlement.now,
            "available_at": settlement.available_at,
            "provider_id": settlement.provider_id,
            "error": settlement.error,
            "reason": settlement.reason,
        }
        written = False
        if event is not None:
            change_event(event, now=settlement.now, **changes)
            settled, written = settle_with_event(uow, str(entry.id), self.owner, event=event, **options)
        else:
            settled = uow.outbox.settle(str(entry.id), self.owner, **options)
        if not settled:
            uow.rollback()
            report.lost += 1
            log_event(_log, "outbox.lost", entry=entry.id, owner=self.owner, when="before recording")
            return
        if not written:
            update_event(uow, entry.id, now=settlement.now, **changes)
        uow.commit()
        setattr(report, _COUNTERS[state], getattr(report, _COUNTERS[state]) + 1)
        # the error is a provider's reply (scrubbed of the address, but it may still say something of the person):
        # it stays in the store, and only the entry id, its topic and channel, counts and reasons are logged
        log_event(
            _log,
            _EVENTS[state],
            entry=entry.id,
            topic=entry.topic.value,
            channel=entry.channel.value,
            attempts=entry.attempts,
            reason=settlement.reason,
            available_at=settlement.available_at,
        )


class Dispatcher(DispatchRules):
    """Sends what the outbox of ``store`` holds through ``notifier``; see the module docstring.

    ``owner`` names this dispatcher in leases (host, process and a random part by default); ``batch_size``
    entries are leased at a time for ``lease`` each. ``clock`` and ``rng`` are injectable for tests.
    """

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        *,
        owner: str | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=5),
        lease_margin: timedelta = timedelta(seconds=30),
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            notifier,
            owner=owner,
            batch_size=batch_size,
            lease=lease,
            lease_margin=lease_margin,
            retry=retry,
            clock=clock,
            rng=rng,
        )
        self.store = store
        self.notifier = notifier

    def _uow(self) -> OutboxUnitOfWork:
        return outbox_unit_of_work(self.store)

    # -- running -------------------------------------------------------------------------------------------

    def run_once(self) -> DrainReport:
        """Lease one batch, send it, record the results; a round with fewer ready entries than a batch ends with a
        look at what waits (``waiting``, ``next_due_at``)."""
        report = DrainReport()
        with span("outbox.drain", owner=self.owner, batch_size=self.batch_size) as current_span:
            with self._uow() as uow:
                batch = self.lease_batch(uow)
            report.leased = len(batch)
            for entry in batch:
                now = self._clock()
                if self.running_out(entry, now):
                    break
                with span("outbox.send", entry=entry.id, topic=entry.topic.value, channel=entry.channel.value) as sp:
                    with self._uow() as uow:
                        current, customer, event = self.recheck(uow, entry)
                    if current is None:  # cancelled or erased since the lease (the customer's data was erased, say)
                        self.lost(entry, report)
                        set_attributes(sp, outcome="lost")
                        continue
                    settlement = self.before_send(current, now, customer)
                    if settlement is None:
                        assert current.message is not None
                        try:
                            result: object = self.notifier.send(current.message)
                        except Exception as exc:  # noqa: BLE001 - a notifier bug must not stop the dispatcher
                            result = self.raised(exc)
                        settlement = self.after_send(current, result)
                    with self._uow() as uow:
                        self.record(uow, current, settlement, report, event)
                    set_attributes(sp, outcome=settlement.state.value, attempts=current.attempts)
            if self.needs_look(report):
                with self._uow() as uow:
                    self.look(uow, report)
            report_attributes(current_span, report)
        return report

    def status(self) -> OutboxStatus:
        """What the outbox holds now (by this dispatcher's clock): counts by state, what is due, why the rest waits
        and when it falls due (:class:`~custdata.outbox.OutboxStatus`)."""
        with self._uow() as uow:
            return self.read_status(uow)

    def drain(self, *, max_rounds: int | None = None) -> DrainReport:
        """Run rounds until no entry is ready (or ``max_rounds`` ran); the sum of their reports."""
        total = DrainReport()
        rounds = 0
        while max_rounds is None or rounds < max_rounds:
            report = self.run_once()
            rounds += 1
            total.add(report)
            if report.leased == 0:
                break
        return total

    def run(self, stop: threading.Event, *, idle: float = 1.0) -> DrainReport:
        """Drain until ``stop`` is set, waiting ``idle`` seconds whenever nothing is ready.

        The store being unavailable for a while (locked by a long writer, a database restarting) is logged and
        waited out, ``idle`` seconds at a time; entries leased when it happened come back when their lease expires.
        """
        total = DrainReport()
        while not stop.is_set():
            try:
                report = self.run_once()
            except OperationalError as exc:
                log_event(_log, "outbox.store_unavailable", error=type(exc).__name__, retry_in=idle)
                stop.wait(idle)
                continue
            total.add(report)
            if report.leased == 0:
                stop.wait(idle)
        return total

    def close(self) -> None:
        """Close the notifier if it holds connections."""
        close = getattr(self.notifier, "close", None)
        if callable(close):
            close()


def report_attributes(current_span: object, report: DrainReport) -> None:
    """Put the counters and what waits of ``report`` on the drain span (nothing without OpenTelemetry)."""
    set_attributes(
        current_span,
        **{f.name: getattr(report, f.name) for f in attrs.fields(DrainReport) if not f.metadata.get("snapshot")},
        waiting=report.waiting if report.observed_at is not None else None,
        next_due_at=report.next_due_at,
    )


def _later(now: datetime, wait: timedelta) -> datetime:
    """``now + wait``, but never past the last moment the outbox keeps (so that no clock near the year 9999
    overflows); the entry then waits as long as it can."""
    last = LATEST_MOMENT - timedelta(microseconds=1)
    try:
        return min(now + wait, last)
    except OverflowError:
        return last
    except TypeError:  # a naive clock: settle() refuses its time with a clear error
        return now + wait


def _current(uow: OutboxUnitOfWork, customer: Customer) -> Customer | None:
    """The record a customer lives in now: a merged customer's messages answer to the survivor's consent and
    erasure (the merged record keeps only its id). None when the merges cannot be followed."""
    if customer.merged_into is None:
        return customer
    try:
        return resolve(uow, customer.id)
    except (NotFoundError, IntegrityError):
        return None


def _withheld(entry: OutboxEntry, customer: Customer | None) -> str | None:
    """Why a message decided earlier must not go now, if it must not: the customer is gone or erased, or (for
    marketing) withdrew consent on the channel while it waited (behind quiet hours, say)."""
    if customer is None:
        return "the customer no longer exists"
    if customer.redacted_at is not None:
        return "the customer's data was erased"
    if entry.topic.is_marketing:
        consent = customer.consent(ConsentPurpose.MARKETING, entry.channel)
        if consent is None or consent.state != ConsentState.SUBSCRIBED:
            state = "no recorded opt-in" if consent is None else f"consent {consent.state.value}"
            return f"no marketing consent on {entry.channel.value} any more ({state})"
    return None


def _event_changes(
    state: OutboxState, provider_id: str | None, error: str | None, reason: str | None, now: datetime
) -> dict[str, Any]:
    """What the entry's communication event says once its send ended so."""
    if state == OutboxState.SENT:
        return {"status": CommunicationStatus.SENT, "provider_id": provider_id, "sent_at": now, "error": None}
    if state == OutboxState.SKIPPED:
        why = f"not sent: {reason or 'skipped by the notifier'}"[:512]
        return {"status": CommunicationStatus.SUPPRESSED, "suppression_reason": why}
    if state in (OutboxState.FAILED, OutboxState.DEAD):
        return {"status": CommunicationStatus.FAILED, "error": (error or "")[:4000] or None}
    return {"error": (error or "")[:4000] or None}


_EVENTS = {
    OutboxState.SENT: "outbox.sent",
    OutboxState.SKIPPED: "outbox.skipped",
    OutboxState.FAILED: "outbox.failed",
    OutboxState.DEAD: "outbox.dead",
    OutboxState.PENDING: "outbox.retry",
}

_COUNTERS = {
    OutboxState.SENT: "sent",
    OutboxState.SKIPPED: "skipped",
    OutboxState.FAILED: "failed",
    OutboxState.DEAD: "dead",
    OutboxState.PENDING: "retried",
}
