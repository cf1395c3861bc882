"""The outbox ports: what a store offers so that messages are written with their cause and sent once.

A store with an outbox hands out units of work (:class:`OutboxUnitOfWork`) that have, beside the four
repositories of :class:`custdata.storage.UnitOfWork`, an ``outbox`` (:class:`OutboxRepository`) and
``timers`` (:class:`TimerRepository`), in the same transaction::

    with store.unit_of_work() as uow:
        uow.orders.update(order)
        uow.outbox.add(entry)          # committed together with the order, or not at all
        uow.communications.add(event)
        uow.commit()

A store type declares the port by being an :class:`OutboxStore`: a :class:`custdata.storage.Store` whose
``unit_of_work()`` returns an :class:`OutboxUnitOfWork` (the memory, SQLite and PostgreSQL stores are).
:func:`outbox_unit_of_work` opens one and raises :class:`custdata.OutboxMissingError` for a store that is not.

Rules every implementation keeps (checked by :class:`custdata.testing.outbox_contract.OutboxContract`):

- **One entry per key.** ``add`` writes nothing and returns False when an entry with the same idempotency key
  exists, whatever its state; two units of work adding the same key at once store it once.
- **Leases.** ``lease`` atomically picks pending entries that are available and not leased by anyone (or whose
  lease expired), marks them leased by ``owner`` until ``now + duration`` and counts an attempt; two
  dispatchers never hold the same entry at once. ``settle`` changes a leased entry only while ``owner`` still
  holds the lease, so a dispatcher whose lease ran out cannot overwrite a newer result.
- **Cancelling** touches only pending entries that no dispatcher holds right now.
- **Erasing** (``erase``) touches only settled entries and finished timers: their personal data goes, their keys
  stay.
- **Reassigning** (``reassign``) moves every entry or timer of one customer id to another, the old id gone from
  their keys and contents too.
- **Forgetting** (``forget``, for the right to erasure and retention) takes one entry or timer whatever its state:
  a pending one is cancelled, *also while a dispatcher holds its lease* (the lease is released, so that
  dispatcher's ``settle`` finds it gone and writes nothing), and its personal data goes; its key stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeGuard, runtime_checkable

from custdata._errors import ConflictError, NotFoundError, OutboxMissingError
from custdata.domain import CommunicationEvent, Customer, Topic
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.ports import DEFAULT_LIMIT, Page, Store, UnitOfWork


class OutboxRepository(Protocol):
    """Outbox entries: added with their cause, leased and settled by dispatchers."""

    def add(self, entry: OutboxEntry) -> bool:
        """Store ``entry``; False (and nothing written) when its idempotency key is taken."""

    def get(self, entry_id: str) -> OutboxEntry:
        """The entry with this id, or :class:`~custdata.NotFoundError`."""

    def find(self, idempotency_key: str) -> OutboxEntry | None:
        """The entry with this idempotency key, if any."""

    def lease(self, owner: str, *, now: datetime, limit: int, duration: timedelta) -> list[OutboxEntry]:
        """Lease up to ``limit`` ready entries for ``owner``, oldest ``available_at`` first (see the module doc)."""

    def settle(
        self,
        entry_id: str,
        owner: str,
        *,
        state: OutboxState,
        now: datetime,
        available_at: datetime | None = None,
        provider_id: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record the result of a send and release the lease; False when ``owner`` no longer holds it.

        ``state`` pending means "try again at ``available_at``".
        """

    def cancel(
        self, *, customer_id: str, topics: Iterable[Topic], now: datetime, reason: str, order_id: str | None = None
    ) -> list[OutboxEntry]:
        """Cancel the customer's pending, unleased entries of ``topics`` (of ``order_id`` when given, or of no
        order); the entries as they were before."""

    def requeue(self, entry_id: str, *, now: datetime) -> OutboxEntry:
        """Put a dead or failed entry back to pending, available now, its attempts reset; returns it."""

    def with_state(
        self, state: OutboxState, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[OutboxEntry]:
        """Entries in ``state``, in id order, one page at a time (dead letters: ``OutboxState.DEAD``)."""

    def count(self, state: OutboxState | None = None) -> int:
        """How many entries there are (in ``state`` when given)."""

    def count_recent(self, customer_id: str, *, since: datetime, topics: Iterable[Topic]) -> int:
        """How many of the customer's entries of ``topics`` created at or after ``since`` are pending or sent."""

    def erase(self, customer_id: str, *, now: datetime) -> int:
        """Drop the rendered message, last error and provider id (the personal data) of each of the customer's
        entries that is no longer pending, for the right to erasure; how many changed. Pending entries are left
        alone: cancel them first. The entries and their keys stay, so an erased message is never sent again."""

    def for_customer(self, customer_id: str) -> list[OutboxEntry]:
        """Every entry filed under this customer id, in any state, in id order."""

    def for_orders(self, order_ids: Iterable[str]) -> list[OutboxEntry]:
        """Every entry about one of these orders, in any state and under any customer id, in id order."""

    def forget(self, entry_id: str, *, now: datetime, reason: str) -> OutboxEntry | None:
        """Make one entry hold no personal data, whatever its state: a pending entry is cancelled with ``reason``
        even while a dispatcher holds its lease (the lease is dropped, so its holder can no longer settle it), and
        the rendered message, last error and provider id go. The key stays, so the message is never sent again.

        Returns the entry as it was, or None when there was nothing to change; :class:`~custdata.NotFoundError`
        for an unknown id."""

    def reassign(self, customer_id: str, to: str, *, now: datetime) -> int:
        """File every entry of ``customer_id``, in any state, under ``to`` instead (a customer given a new id):
        the old id also goes from the idempotency key and the rendered message (its key, customer id, headers and
        metadata), so that no entry names it any more. How many entries moved; an entry whose new key is taken is
        an :class:`~custdata.IntegrityError`."""


class TimerRepository(Protocol):
    """Timers: messages due later, decided when they fall due."""

    def schedule(self, timer: Timer, *, replace: bool = False) -> bool:
        """Store ``timer``; with its key taken, replace the stored one when ``replace`` (back to pending),
        else keep it. True when something was written."""

    def get(self, key: str) -> Timer | None: ...

    def due(self, now: datetime, *, limit: int = DEFAULT_LIMIT) -> list[Timer]:
        """Pending timers due at or before ``now``, earliest first."""

    def finish(self, key: str, state: TimerState, *, reason: str | None = None) -> bool:
        """Mark a pending timer fired or cancelled; False when it was not pending (someone else took it)."""

    def cancel(self, *, customer_id: str, topics: Iterable[Topic], reason: str, order_id: str | None = None) -> int:
        """Cancel the customer's pending timers of ``topics`` (of ``order_id`` or of no order); how many."""

    def pending(self, customer_id: str) -> list[Timer]:
        """The customer's pending timers, earliest first."""

    def erase(self, customer_id: str) -> int:
        """Empty the trigger (the event, with the personal data it may carry) of each of the customer's timers
        that is no longer pending; how many changed."""

    def for_customer(self, customer_id: str) -> list[Timer]:
        """Every timer filed under this customer id, in any state, in key order."""

    def for_orders(self, order_ids: Iterable[str]) -> list[Timer]:
        """Every timer about one of these orders, in any state and under any customer id, in key order."""

    def forget(self, key: str, *, reason: str) -> bool:
        """Make one timer hold no personal data: a pending timer is cancelled with ``reason``, and the trigger
        goes whatever the state. True when something changed; :class:`~custdata.NotFoundError` for an unknown key."""

    def reassign(self, customer_id: str, to: str) -> int:
        """File every timer of ``customer_id``, in any state, under ``to`` instead: the old id also goes from the
        timer's key and trigger. How many timers moved; a new key that is taken is an IntegrityError."""

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[Timer]:
        """Every timer, in key order, one page at a time."""


@runtime_checkable
class ReschedulesTimers(Protocol):
    """A timer repository that moves a timer forward in one step (the SQL stores' take one statement)."""

    def reschedule(self, timer: Timer) -> bool:
        """:func:`reschedule`, done by the repository itself."""


def reschedule(timers: TimerRepository, timer: Timer) -> bool:
    """Store ``timer``, or put it in place of the stored timer with its key (back to pending) when that one falls
    due earlier; a stored timer due at the same moment or later stays as it is (a replayed older event never
    brings a timer back). True when something was written.

    A repository with its own ``reschedule`` (:class:`ReschedulesTimers`) does it in one step; any other is asked
    with ``get`` and ``schedule(timer, replace=True)``."""
    # what isinstance(timers, ReschedulesTimers) asks (a ``reschedule`` that is not None), without the cost of a
    # check against a runtime protocol on every event
    own = getattr(timers, "reschedule", None)
    if own is not None:
        return bool(own(timer))
    known = timers.get(timer.key)
    if known is not None and known.due_at >= timer.due_at:
        return False
    return timers.schedule(timer, replace=True)


@runtime_checkable
class FindsCancellable(Protocol):
    """A timer repository that answers :func:`cancellable` itself, reading both tables at once."""

    def cancellable(
        self, *, customer_id: str, topics: Iterable[Topic], now: datetime, order_id: str | None = None
    ) -> tuple[list[Timer], int]:
        """:func:`cancellable`, done by the repository itself."""


def cancellable(
    uow: OutboxUnitOfWork, *, customer_id: str, topics: Iterable[Topic], now: datetime, order_id: str | None = None
) -> tuple[list[Timer], int | None]:
    """What cancelling the customer's ``topics`` (for ``order_id``, or of no order) at ``now`` would take: the
    pending timers it would cancel (earliest first), and how many outbox entries (pending, no lease held at ``now``)
    it would cancel, or None when the store cannot tell without cancelling them.

    A timer repository with its own ``cancellable`` (:class:`FindsCancellable`) reads both at once; any other is
    asked for the customer's pending timers."""
    wanted = set(topics)
    timers = uow.timers
    own = getattr(timers, "cancellable", None)  # isinstance(timers, FindsCancellable), as in reschedule()
    if own is not None:
        found_by_store: tuple[list[Timer], int] = own(
            customer_id=customer_id, topics=wanted, now=now, order_id=order_id
        )
        return found_by_store
    found = [
        t
        for t in timers.pending(customer_id)
        if t.topic in wanted and (t.order_id is None or (order_id is not None and t.order_id == order_id))
    ]
    return found, None


@runtime_checkable
class ReadsBeforeSending(Protocol):
    """An outbox repository that reads an entry with its customer and its communication event in one step (the
    SQL stores' take one statement)."""

    def with_customer_and_event(self, entry_id: str) -> tuple[OutboxEntry, Customer | None, CommunicationEvent | None]:
        """:func:`read_before_sending`, done by the repository itself."""


def read_before_sending(
    uow: OutboxUnitOfWork, entry_id: str
) -> tuple[OutboxEntry, Customer | None, CommunicationEvent | None]:
    """The entry ``entry_id`` as it is now, the customer filed under its ``customer_id`` (None when there is none;
    a merged customer's own record, its ``merged_into`` not followed) and the entry's communication event (None when
    there is none): what a dispatcher reads just before a send. :class:`~custdata.NotFoundError` for an unknown
    entry.

    An outbox with its own ``with_customer_and_event`` (:class:`ReadsBeforeSending`) reads the three at once; any
    other is asked with ``outbox.get``, ``customers.get`` and ``communications.get``."""
    own = getattr(uow.outbox, "with_customer_and_event", None)  # isinstance(..., ReadsBeforeSending), as above
    if own is not None:
        found: tuple[OutboxEntry, Customer | None, CommunicationEvent | None] = own(entry_id)
        return found
    entry = uow.outbox.get(entry_id)
    customer: Customer | None
    event: CommunicationEvent | None
    try:
        customer = uow.customers.get(str(entry.customer_id))
    except NotFoundError:
        customer = None
    try:
        event = uow.communications.get(str(entry.id))
    except NotFoundError:
        event = None
    return entry, customer, event


def add_with_event(uow: OutboxUnitOfWork, entry: OutboxEntry, event: CommunicationEvent) -> bool:
    """``outbox.add`` the entry and, when it was added, ``communications.add`` its event (which has the entry's
    id); False, and nothing written, when the entry's idempotency key is taken.

    An outbox with its own ``add_with_event`` (the SQL stores') sends both inserts to the database at once; any
    other is asked with ``add`` and ``add``."""
    own = getattr(uow.outbox, "add_with_event", None)
    if own is not None:
        return bool(own(entry, event))
    if not uow.outbox.add(entry):
        return False
    uow.communications.add(event)
    return True


def lease_and_commit(
    uow: OutboxUnitOfWork, owner: str, *, now: datetime, limit: int, duration: timedelta
) -> list[OutboxEntry]:
    """``outbox.lease`` a batch for ``owner`` and commit ``uow``: the leased entries. An outbox with its own
    ``lease_and_commit`` (the SQL stores') may lease in one statement committed on its own when the unit of work
    has written nothing yet (no ``BEGIN`` and ``COMMIT`` on PostgreSQL); any other is asked with ``lease`` and
    ``commit``."""
    own = getattr(uow.outbox, "lease_and_commit", None)
    if own is not None:
        found: list[OutboxEntry] = own(owner, now=now, limit=limit, duration=duration)
        return found
    batch = uow.outbox.lease(owner, now=now, limit=limit, duration=duration)
    uow.commit()
    return batch


def settle_with_event(
    uow: OutboxUnitOfWork,
    entry_id: str,
    owner: str,
    *,
    state: OutboxState,
    now: datetime,
    event: CommunicationEvent,
    available_at: datetime | None = None,
    provider_id: str | None = None,
    error: str | None = None,
    reason: str | None = None,
) -> tuple[bool, bool]:
    """``outbox.settle`` the entry and, when it was settled, write ``event`` (its communication event, read
    earlier and changed) with ``communications.update``, unless someone changed the stored event since it was read:
    whether the entry was settled, and whether the event was written (its version is then one up). When the entry
    was not settled, commit nothing of this unit of work: roll it back.

    An outbox with its own ``settle_with_event`` (the SQL stores') sends both writes to the database at once; any
    other is asked with ``settle`` and ``update``."""
    own = getattr(uow.outbox, "settle_with_event", None)
    options: dict[str, Any] = {
        "available_at": available_at,
        "provider_id": provider_id,
        "error": error,
        "reason": reason,
    }
    if own is not None:
        found: tuple[bool, bool] = own(entry_id, owner, state=state, now=now, event=event, **options)
        return found
    if not uow.outbox.settle(entry_id, owner, state=state, now=now, **options):
        return False, False
    try:
        uow.communications.update(event)
    except (ConflictError, NotFoundError):
        return True, False
    return True, True


@runtime_checkable
class OutboxUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also has the outbox and the timers (see the module docstring)."""

    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def timers(self) -> TimerRepository: ...


class OutboxStore(Store, Protocol):
    """A store whose units of work have the outbox and the timers (:class:`OutboxUnitOfWork`)."""

    def unit_of_work(self) -> OutboxUnitOfWork: ...


_HAS_OUTBOX: dict[type, bool] = {}


def has_outbox(uow: object) -> TypeGuard[OutboxUnitOfWork]:
    """``isinstance(uow, OutboxUnitOfWork)``, remembered per class (a protocol check inspects every member, and
    the dispatcher opens a unit of work per message)."""
    cls = type(uow)
    known = _HAS_OUTBOX.get(cls)
    if known is None:
        known = _HAS_OUTBOX[cls] = isinstance(uow, OutboxUnitOfWork)
    return known


def outbox_unit_of_work(store: Store) -> OutboxUnitOfWork:
    """A new unit of work of ``store``, which must be an :class:`OutboxStore`; raises
    :class:`custdata.OutboxMissingError` (before anything is entered) when its units of work have no outbox."""
    uow = store.unit_of_work()
    if not has_outbox(uow):
        raise OutboxMissingError(type(store).__name__)
    return uow


__all__ = [
    "OutboxRepository",
    "OutboxStore",
    "FindsCancellable",
    "OutboxUnitOfWork",
    "ReadsBeforeSending",
    "add_with_event",
    "ReschedulesTimers",
    "TimerRepository",
    "cancellable",
    "has_outbox",
    "lease_and_commit",
    "outbox_unit_of_work",
    "read_before_sending",
    "reschedule",
    "settle_with_event",
]
