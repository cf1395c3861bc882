"""The outbox and timers of the in-memory store: committed tables, and a per-unit-of-work overlay.

The memory store's unit of work creates one :class:`OutboxOverlay` and the two repositories over it; writes
take the store's write lock (``begin_write``) and land in the overlay, which the unit of work applies to the
committed :class:`OutboxTables` on commit and drops on rollback. Entries and timers are frozen, so nothing
handed out aliases stored state.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import attrs

from custdata._errors import IntegrityError, NotFoundError, ValidationError
from custdata.domain import Topic
from custdata.storage.outbox import _args
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.status import PendingSummary, summarise
from custdata.storage.ports import DEFAULT_LIMIT, Page, check_limit
from custdata.storage.records import decode_cursor, encode_cursor

_LIVE = (OutboxState.PENDING, OutboxState.SENT)


class OutboxTables:
    """The committed outbox entries and timers of one memory store."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.entries: dict[str, OutboxEntry] = {}
        self.keys: dict[str, str] = {}
        self.pending: set[str] = set()
        self.timers: dict[str, Timer] = {}


class OutboxOverlay:
    """The writes of one unit of work, applied on commit."""

    def __init__(self) -> None:
        self.entries: dict[str, OutboxEntry] = {}
        self.keys: dict[str, str] = {}
        self.timers: dict[str, Timer] = {}
        self.dropped_keys: set[str] = set()
        self.dropped_timers: set[str] = set()

    def apply(self, tables: OutboxTables) -> None:
        with tables.lock:
            for key in self.dropped_keys - set(self.keys):
                tables.keys.pop(key, None)
            for name in self.dropped_timers - set(self.timers):
                tables.timers.pop(name, None)
            for entry_id, entry in self.entries.items():
                tables.entries[entry_id] = entry
                tables.keys[entry.idempotency_key] = entry_id
                if entry.state == OutboxState.PENDING:
                    tables.pending.add(entry_id)
                else:
                    tables.pending.discard(entry_id)
            tables.timers.update(self.timers)
        self.clear()

    def clear(self) -> None:
        self.entries.clear()
        self.keys.clear()
        self.timers.clear()
        self.dropped_keys.clear()
        self.dropped_timers.clear()


class _View:
    """Committed data seen through the overlay; ``begin_write`` takes the store's write lock."""

    def __init__(
        self,
        tables: OutboxTables,
        overlay: OutboxOverlay,
        begin_write: Callable[[], None],
        check_active: Callable[[], None],
    ) -> None:
        self.tables = tables
        self.overlay = overlay
        self.begin_write = begin_write
        self.check_active = check_active

    def entry(self, entry_id: str) -> OutboxEntry | None:
        self.check_active()
        found = self.overlay.entries.get(entry_id)
        if found is not None:
            return found
        with self.tables.lock:
            return self.tables.entries.get(entry_id)

    def entries(self) -> list[OutboxEntry]:
        self.check_active()
        with self.tables.lock:
            merged = dict(self.tables.entries)
        merged.update(self.overlay.entries)
        return list(merged.values())

    def pending(self) -> list[OutboxEntry]:
        with self.tables.lock:
            ids = set(self.tables.pending)
        ids.update(self.overlay.entries)
        return [e for i in ids if (e := self.entry(i)) is not None and e.state == OutboxState.PENDING]

    def key_owner(self, key: str) -> str | None:
        self.check_active()
        if key in self.overlay.keys:
            return self.overlay.keys[key]
        if key in self.overlay.dropped_keys:
            return None
        with self.tables.lock:
            return self.tables.keys.get(key)

    def timer(self, key: str) -> Timer | None:
        self.check_active()
        if key in self.overlay.timers:
            return self.overlay.timers[key]
        if key in self.overlay.dropped_timers:
            return None
        with self.tables.lock:
            return self.tables.timers.get(key)

    def timers(self) -> list[Timer]:
        self.check_active()
        with self.tables.lock:
            merged = dict(self.tables.timers)
        for key in self.overlay.dropped_timers:
            merged.pop(key, None)
        merged.update(self.overlay.timers)
        return list(merged.values())

    def drop_timer(self, key: str) -> None:
        self.overlay.timers.pop(key, None)
        self.overlay.dropped_timers.add(key)

    def drop_key(self, key: str) -> None:
        self.overlay.keys.pop(key, None)
        self.overlay.dropped_keys.add(key)

    def put(self, entry: OutboxEntry) -> None:
        self.overlay.entries[str(entry.id)] = entry
        self.overlay.keys[entry.idempotency_key] = str(entry.id)


class MemoryOutboxRepository:
    """The outbox of a memory store's unit of work (see :class:`custdata.outbox.OutboxRepository`)."""

    def __init__(self, view: _View) -> None:
        self._view = view

    def add(self, entry: OutboxEntry) -> bool:
        checked = _args.entry(entry)
        self._view.begin_write()
        if self._view.key_owner(checked.idempotency_key) is not None:
            return False
        if self._view.entry(str(checked.id)) is not None:
            raise IntegrityError("an outbox entry with this id already exists")
        self._view.put(checked)
        return True

    def get(self, entry_id: str) -> OutboxEntry:
        key = _args.text("entry_id", entry_id)
        found = self._view.entry(key)
        if found is None:
            raise NotFoundError("outbox entry", key)
        return found

    def find(self, idempotency_key: str) -> OutboxEntry | None:
        if not isinstance(idempotency_key, str):
            raise ValidationError.single("idempotency_key", f"must be a string, not {type(idempotency_key).__name__}")
        owner = self._view.key_owner(idempotency_key)
        return None if owner is None else self._view.entry(owner)

    def lease(self, owner: str, *, now: datetime, limit: int, duration: timedelta) -> list[OutboxEntry]:
        who = _args.text("owner", owner, 128)
        at = _args.moment("now", now)
        size = check_limit(limit)
        until = at + _args.duration("duration", duration)
        self._view.begin_write()
        ready = [e for e in self._view.pending() if e.available_at <= at and not e.leased(at)]
        ready.sort(key=lambda e: (e.available_at, str(e.id)))
        leased = []
        for entry in ready[:size]:
            taken = attrs.evolve(
                entry, lease_owner=who, lease_expires_at=until, attempts=entry.attempts + 1, updated_at=at
            )
            self._view.put(taken)
            leased.append(taken)
        return leased

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
        key = _args.text("entry_id", entry_id)
        who = _args.text("owner", owner, 128)
        chosen = _args.settle_state(state)
        at = _args.moment("now", now)
        when = at if available_at is None else _args.moment("available_at", available_at)
        self._view.begin_write()
        entry = self._view.entry(key)
        if entry is None or entry.state != OutboxState.PENDING or entry.lease_owner != who:
            return False
        self._view.put(
            attrs.evolve(
                entry,
                state=chosen,
                available_at=when if chosen == OutboxState.PENDING else entry.available_at,
                provider_id=_args.optional_text("provider_id", provider_id, 1024),
                last_error=_args.optional_text("error", error, 4000),
                reason=_args.optional_text("reason", reason, 512),
                lease_owner=None,
                lease_expires_at=None,
                updated_at=at,
            )
        )
        return True

    def cancel(
        self, *, customer_id: str, topics: Iterable[Topic], now: datetime, reason: str, order_id: str | None = None
    ) -> list[OutboxEntry]:
        customer = _args.text("customer_id", customer_id, 128)
        wanted = set(_args.topics(topics))
        at = _args.moment("now", now)
        why = _args.text("reason", reason)
        self._view.begin_write()
        cancelled = []
        for entry in self._view.pending():
            if (
                entry.customer_id == customer
                and entry.topic in wanted
                and (entry.order_id is None or entry.order_id == order_id)
                and not entry.leased(at)
            ):
                self._view.put(attrs.evolve(entry, state=OutboxState.CANCELLED, reason=why, updated_at=at))
                cancelled.append(entry)
        return sorted(cancelled, key=lambda e: str(e.id))

    def requeue(self, entry_id: str, *, now: datetime) -> OutboxEntry:
        entry = self.get(entry_id)
        at = _args.moment("now", now)
        if entry.state not in (OutboxState.DEAD, OutboxState.FAILED):
            raise ValidationError.single("entry_id", f"names a {entry.state.value} entry; only dead or failed ones")
        if entry.message is None:
            raise ValidationError.single("entry_id", "names an entry whose message was erased")
        self._view.begin_write()
        again = attrs.evolve(
            entry, state=OutboxState.PENDING, attempts=0, available_at=at, last_error=None, updated_at=at
        )
        self._view.put(again)
        return again

    def with_state(
        self, state: OutboxState, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[OutboxEntry]:
        chosen = _args.outbox_state(state)
        size = check_limit(limit)
        found = sorted((e for e in self._view.entries() if e.state == chosen), key=lambda e: str(e.id))
        if cursor is not None:
            after = decode_cursor("outbox", cursor)
            found = found[bisect.bisect_right([str(e.id) for e in found], after) :]
        page = found[:size]
        more = len(found) > size
        return Page(tuple(page), encode_cursor("outbox", str(page[-1].id)) if more else None)

    def count(self, state: OutboxState | None = None) -> int:
        chosen = None if state is None else _args.outbox_state(state)
        return sum(1 for e in self._view.entries() if chosen is None or e.state == chosen)

    def pending_summary(self, now: datetime) -> PendingSummary:
        """The pending entries and timers at ``now`` (see :mod:`custdata.storage.outbox.status`)."""
        at = _args.moment("now", now)
        self._view.check_active()
        return summarise(self._view.pending(), self._view.timers(), at)

    def pending_summary_and_dead(self, now: datetime) -> tuple[PendingSummary, int]:
        """:meth:`pending_summary` and the number of dead entries."""
        summary = self.pending_summary(now)
        return summary, sum(1 for e in self._view.entries() if e.state == OutboxState.DEAD)

    def count_recent(self, customer_id: str, *, since: datetime, topics: Iterable[Topic]) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        start = _args.moment("since", since)
        wanted = set(_args.topics(topics))
        return sum(
            1
            for e in self._view.entries()
            if e.customer_id == customer and e.topic in wanted and e.created_at >= start and e.state in _LIVE
        )

    def erase(self, customer_id: str, *, now: datetime) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        at = _args.moment("now", now)
        self._view.begin_write()
        count = 0
        for e in self._view.entries():
            if e.customer_id == customer and e.state != OutboxState.PENDING and _holds_data(e):
                self._view.put(attrs.evolve(e, message=None, last_error=None, provider_id=None, updated_at=at))
                count += 1
        return count

    def for_customer(self, customer_id: str) -> list[OutboxEntry]:
        customer = _args.text("customer_id", customer_id, 128)
        return sorted((e for e in self._view.entries() if e.customer_id == customer), key=lambda e: str(e.id))

    def for_orders(self, order_ids: Iterable[str]) -> list[OutboxEntry]:
        wanted = set(_args.identifiers("order_ids", order_ids))
        found = (e for e in self._view.entries() if e.order_id is not None and e.order_id in wanted)
        return sorted(found, key=lambda e: str(e.id))

    def forget(self, entry_id: str, *, now: datetime, reason: str) -> OutboxEntry | None:
        key = _args.text("entry_id", entry_id)
        at = _args.moment("now", now)
        why = _args.text("reason", reason)
        self._view.begin_write()
        entry = self._view.entry(key)
        if entry is None:
            raise NotFoundError("outbox entry", key)
        kept_reason: str | None
        if entry.state == OutboxState.PENDING:
            state, kept_reason = OutboxState.CANCELLED, why
        elif _holds_data(entry):
            state, kept_reason = entry.state, entry.reason
        else:
            return None
        self._view.put(
            attrs.evolve(
                entry,
                state=state,
                reason=kept_reason,
                message=None,
                last_error=None,
                provider_id=None,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=at,
            )
        )
        return entry

    def reassign(self, customer_id: str, to: str, *, now: datetime) -> int:
        old, new = _args.moved_ids(customer_id, to)
        at = _args.moment("now", now)
        self._view.begin_write()
        entries = self.for_customer(old)
        for before in entries:
            after = _args.reassigned_entry(before, old, new, at)
            if after.idempotency_key != before.idempotency_key:
                if self._view.key_owner(after.idempotency_key) not in (None, str(before.id)):
                    raise IntegrityError("another outbox entry has the same idempotency key")
                self._view.drop_key(before.idempotency_key)
            self._view.put(after)
        return len(entries)


def _holds_data(entry: OutboxEntry) -> bool:
    return entry.message is not None or entry.last_error is not None or entry.provider_id is not None


class MemoryTimerRepository:
    """The timers of a memory store's unit of work (see :class:`custdata.outbox.TimerRepository`)."""

    def __init__(self, view: _View) -> None:
        self._view = view

    def schedule(self, timer: Timer, *, replace: bool = False) -> bool:
        checked = _args.timer(timer)
        self._view.begin_write()
        if self._view.timer(checked.key) is not None and not replace:
            return False
        self._view.overlay.timers[checked.key] = checked
        return True

    def get(self, key: str) -> Timer | None:
        return self._view.timer(_args.text("key", key))

    def due(self, now: datetime, *, limit: int = DEFAULT_LIMIT) -> list[Timer]:
        at = _args.moment("now", now)
        size = check_limit(limit)
        ready = [t for t in self._view.timers() if t.state == TimerState.PENDING and t.due_at <= at]
        return sorted(ready, key=lambda t: (t.due_at, t.key))[:size]

    def finish(self, key: str, state: TimerState, *, reason: str | None = None) -> bool:
        name = _args.text("key", key)
        chosen = _args.finish_state(state)
        self._view.begin_write()
        timer = self._view.timer(name)
        if timer is None or timer.state != TimerState.PENDING:
            return False
        self._view.overlay.timers[name] = attrs.evolve(
            timer, state=chosen, reason=_args.optional_text("reason", reason, 512)
        )
        return True

    def cancel(self, *, customer_id: str, topics: Iterable[Topic], reason: str, order_id: str | None = None) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        wanted = set(_args.topics(topics))
        why = _args.text("reason", reason)
        self._view.begin_write()
        count = 0
        for timer in self._view.timers():
            if (
                timer.state == TimerState.PENDING
                and timer.customer_id == customer
                and timer.topic in wanted
                and (timer.order_id is None or timer.order_id == order_id)
            ):
                self._view.overlay.timers[timer.key] = attrs.evolve(timer, state=TimerState.CANCELLED, reason=why)
                count += 1
        return count

    def pending(self, customer_id: str) -> list[Timer]:
        customer = _args.text("customer_id", customer_id, 128)
        mine = [t for t in self._view.timers() if t.customer_id == customer and t.state == TimerState.PENDING]
        return sorted(mine, key=lambda t: (t.due_at, t.key))

    def erase(self, customer_id: str) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        self._view.begin_write()
        count = 0
        for timer in self._view.timers():
            if timer.customer_id == customer and timer.state != TimerState.PENDING and timer.trigger:
                self._view.overlay.timers[timer.key] = attrs.evolve(timer, trigger={})
                count += 1
        return count

    def for_customer(self, customer_id: str) -> list[Timer]:
        customer = _args.text("customer_id", customer_id, 128)
        return sorted((t for t in self._view.timers() if t.customer_id == customer), key=lambda t: t.key)

    def for_orders(self, order_ids: Iterable[str]) -> list[Timer]:
        wanted = set(_args.identifiers("order_ids", order_ids))
        found = (t for t in self._view.timers() if t.order_id is not None and t.order_id in wanted)
        return sorted(found, key=lambda t: t.key)

    def forget(self, key: str, *, reason: str) -> bool:
        name = _args.text("key", key)
        why = _args.text("reason", reason)
        self._view.begin_write()
        timer = self._view.timer(name)
        if timer is None:
            raise NotFoundError("timer", name)
        if timer.state == TimerState.PENDING:
            self._view.overlay.timers[name] = attrs.evolve(timer, state=TimerState.CANCELLED, reason=why, trigger={})
        elif timer.trigger:
            self._view.overlay.timers[name] = attrs.evolve(timer, trigger={})
        else:
            return False
        return True

    def reassign(self, customer_id: str, to: str) -> int:
        old, new = _args.moved_ids(customer_id, to)
        self._view.begin_write()
        timers = self.for_customer(old)
        for timer in timers:
            after = _args.reassigned_timer(timer, old, new)
            if after.key != timer.key:
                if self._view.timer(after.key) is not None:
                    raise IntegrityError("another timer has the same key")
                self._view.drop_timer(timer.key)
            self._view.overlay.timers[after.key] = after
        return len(timers)

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[Timer]:
        size = check_limit(limit)
        found = sorted(self._view.timers(), key=lambda t: t.key)
        if cursor is not None:
            after = decode_cursor("timers", cursor)
            found = found[bisect.bisect_right([t.key for t in found], after) :]
        page = found[:size]
        return Page(tuple(page), encode_cursor("timers", page[-1].key) if len(found) > size else None)


def repositories(
    tables: OutboxTables,
    overlay: OutboxOverlay,
    begin_write: Callable[[], None],
    check_active: Callable[[], None],
) -> tuple[MemoryOutboxRepository, MemoryTimerRepository]:
    """The outbox and timer repositories of one memory unit of work."""
    view = _View(tables, overlay, begin_write, check_active)
    return MemoryOutboxRepository(view), MemoryTimerRepository(view)
