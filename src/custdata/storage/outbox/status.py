"""What the outbox holds and why nothing goes out: counts by state, what is due, what waits and until when.

:func:`read_status` answers inside a unit of work with an outbox, :func:`outbox_status` opens one. Pending entries
are told apart by why they are (or are not) ready at ``now``:

- **due**: available and not leased: the next dispatcher round takes them;
- **scheduled**: held back to a later moment before their first attempt (quiet hours, or a message queued with a
  ``now`` ahead of the clock);
- **retrying**: waiting for the next attempt after a transient failure;
- **leased**: a dispatcher holds them right now (or held them and died; they come back when the lease expires).

Dead letters (``dead``) wait for someone to re-queue them; pending timers hold messages that are decided only when
they fall due (``Workflows.run_due`` fires them).

A store answers through the optional port method ``outbox.pending_summary(now)`` (:class:`PendingSummaryQuery`),
which the memory and SQL outboxes have: one query over the pending rows and one over the pending timers (and
``outbox.pending_summary_and_dead(now)``, :class:`PendingAndDeadQuery`, which also counts the dead letters in
the same query, for a dispatcher's look at what waits). A store of your own without them is answered by
:func:`summarise_pending`, which pages through its pending entries and its timers: the reference the built-in
queries are tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from custdata._clock import utc_now
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.ports import OutboxUnitOfWork, outbox_unit_of_work
from custdata.storage.ports import Store
from custdata.storage.records import check_moment

#: Why a pending entry that is not due waits: the keys of :attr:`OutboxStatus.waiting_by_reason`.
WAITING_REASONS = ("scheduled", "retrying", "leased")


@attrs.frozen(kw_only=True)
class PendingSummary:
    """The pending entries and timers at ``now``, by why they are (not) ready; see the module docstring."""

    due: int = 0
    scheduled: int = 0
    retrying: int = 0
    leased: int = 0
    #: the earliest ``available_at`` of the due entries (how long the oldest has waited)
    oldest_due_at: datetime | None = None
    #: the earliest moment a scheduled or retrying entry falls due
    next_due_at: datetime | None = None
    timers: int = 0
    timers_due: int = 0
    next_timer_at: datetime | None = None


@runtime_checkable
class PendingSummaryQuery(Protocol):
    """The optional port method of an outbox repository that answers :func:`read_status` in one query."""

    def pending_summary(self, now: datetime) -> PendingSummary: ...


def summarise(entries: Iterable[OutboxEntry], timers: Iterable[Timer], now: datetime) -> PendingSummary:
    """The summary of these entries and timers at ``now`` (entries and timers that are not pending are ignored)."""
    counts = dict.fromkeys(("due", "scheduled", "retrying", "leased"), 0)
    oldest: datetime | None = None
    upcoming: datetime | None = None
    for entry in entries:
        if entry.state != OutboxState.PENDING:
            continue
        if entry.leased(now):
            counts["leased"] += 1
        elif entry.available_at <= now:
            counts["due"] += 1
            oldest = entry.available_at if oldest is None else min(oldest, entry.available_at)
        else:
            counts["scheduled" if entry.attempts == 0 else "retrying"] += 1
            upcoming = entry.available_at if upcoming is None else min(upcoming, entry.available_at)
    waiting = [t.due_at for t in timers if t.state == TimerState.PENDING]
    return PendingSummary(
        **counts,
        oldest_due_at=oldest,
        next_due_at=upcoming,
        timers=len(waiting),
        timers_due=sum(1 for due in waiting if due <= now),
        next_timer_at=min(waiting, default=None),
    )


def summarise_pending(uow: OutboxUnitOfWork, now: datetime) -> PendingSummary:
    """:func:`summarise` over every pending entry and every timer of ``uow``, read page by page (the reference, and
    the answer for a store without :class:`PendingSummaryQuery`)."""
    entries: list[OutboxEntry] = []
    cursor: str | None = None
    while True:
        page = uow.outbox.with_state(OutboxState.PENDING, cursor=cursor)
        entries += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    timers: list[Timer] = []
    cursor = None
    while True:
        timer_page = uow.timers.page(cursor=cursor)
        timers += timer_page.items
        cursor = timer_page.next_cursor
        if cursor is None:
            break
    return summarise(entries, timers, now)


@attrs.frozen(kw_only=True)
class OutboxStatus:
    """The outbox at ``at``: how many entries are in each state (``counts``, every :class:`OutboxState` value), and
    of the pending ones how many are ``due`` now and why the others wait (``scheduled``, ``retrying``,
    ``leased``), with the moment the next one falls due and the oldest due one's ``available_at``; pending
    ``timers``, how many of them are due, and the earliest one."""

    at: datetime
    counts: Mapping[str, int]
    due: int
    scheduled: int
    retrying: int
    leased: int
    next_due_at: datetime | None
    oldest_due_at: datetime | None
    timers: int
    timers_due: int
    next_timer_at: datetime | None

    @property
    def waiting(self) -> int:
        """Pending entries that are not due at ``at``: scheduled, retrying or leased."""
        return self.scheduled + self.retrying + self.leased

    @property
    def waiting_by_reason(self) -> dict[str, int]:
        """``waiting`` by reason: ``{"scheduled": n, "retrying": n, "leased": n}``."""
        return {"scheduled": self.scheduled, "retrying": self.retrying, "leased": self.leased}

    @property
    def dead_letters(self) -> int:
        """Dead entries, waiting to be re-queued (:func:`custdata.outbox.requeue`)."""
        return self.counts.get(OutboxState.DEAD.value, 0)

    @property
    def oldest_due_age(self) -> timedelta | None:
        """How long the oldest due entry has been due (None when nothing is due): a dispatcher that keeps up
        keeps this short."""
        return None if self.oldest_due_at is None else max(self.at - self.oldest_due_at, timedelta(0))

    def to_dict(self) -> dict[str, object]:
        """The status as JSON-ready data (times in ISO 8601, the age in seconds), for a health endpoint."""

        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        age = self.oldest_due_age
        return {
            "at": iso(self.at),
            "counts": dict(self.counts),
            "due": self.due,
            "waiting": self.waiting,
            "waiting_by_reason": self.waiting_by_reason,
            "next_due_at": iso(self.next_due_at),
            "oldest_due_age_seconds": None if age is None else age.total_seconds(),
            "dead_letters": self.dead_letters,
            "timers": self.timers,
            "timers_due": self.timers_due,
            "next_timer_at": iso(self.next_timer_at),
        }


def pending_summary(uow: OutboxUnitOfWork, now: datetime) -> PendingSummary:
    """The store's own answer when its outbox has :class:`PendingSummaryQuery`, else :func:`summarise_pending`."""
    outbox = uow.outbox
    if isinstance(outbox, PendingSummaryQuery):
        return outbox.pending_summary(now)
    return summarise_pending(uow, now)


@runtime_checkable
class PendingAndDeadQuery(Protocol):
    """The optional port method of an outbox repository that answers :func:`pending_summary_and_dead` in one
    query (the memory and SQL outboxes have it)."""

    def pending_summary_and_dead(self, now: datetime) -> tuple[PendingSummary, int]: ...


def pending_summary_and_dead(uow: OutboxUnitOfWork, now: datetime) -> tuple[PendingSummary, int]:
    """:func:`pending_summary` and the number of dead entries (the dispatcher's look at what waits): in one query
    when the outbox has :class:`PendingAndDeadQuery`, else :func:`pending_summary` and ``count(DEAD)``."""
    outbox = uow.outbox
    own = getattr(outbox, "pending_summary_and_dead", None)  # isinstance(outbox, PendingAndDeadQuery), cheaper
    if own is not None:
        found: tuple[PendingSummary, int] = own(now)
        return found
    return pending_summary(uow, now), outbox.count(OutboxState.DEAD)


def read_status(uow: OutboxUnitOfWork, now: datetime) -> OutboxStatus:
    """The :class:`OutboxStatus` of the outbox of ``uow`` at ``now`` (read only; nothing to commit)."""
    moment = check_moment("now", now)
    summary = pending_summary(uow, moment)
    counts = {state.value: uow.outbox.count(state) for state in OutboxState}
    return OutboxStatus(at=moment, counts=counts, **attrs.asdict(summary, recurse=False))


def outbox_status(store: Store, now: datetime | None = None) -> OutboxStatus:
    """The :class:`OutboxStatus` of ``store`` at ``now`` (the system clock by default), in a unit of work of its
    own; :class:`custdata.OutboxMissingError` for a store without an outbox."""
    moment = check_moment("now", utc_now() if now is None else now)
    with outbox_unit_of_work(store) as uow:
        return read_status(uow, moment)


__all__ = [
    "WAITING_REASONS",
    "OutboxStatus",
    "PendingSummary",
    "PendingAndDeadQuery",
    "PendingSummaryQuery",
    "outbox_status",
    "pending_summary",
    "pending_summary_and_dead",
    "read_status",
    "summarise",
    "summarise_pending",
]
