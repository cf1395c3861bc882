"""The in-memory store, for tests and notebooks: the same behaviour as the SQLite store, no file.

Records are kept as serialized documents (so nothing handed out aliases stored data), with the indexed
columns and search keys of :mod:`custdata.storage.records`. A unit of work collects its writes in an
overlay and applies them on commit; like SQLite, its first write takes the store's single write lock
(waiting up to ``timeout`` seconds, then :class:`~custdata.OperationalError`) until commit or rollback.
Data lives as long as the store object; ``memory://`` URLs always open a new, empty store.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from custdata._errors import (
    OperationalError,
    ProgrammingError,
)
from custdata.storage.memory.data import TABLES, Record, _Committed, unique_values
from custdata.storage.memory.repositories import (
    MemoryActivityRepository,
    MemoryCommunicationRepository,
    MemoryCustomerRepository,
    MemoryOrderRepository,
)
from custdata.storage.outbox.memory import OutboxOverlay, OutboxTables
from custdata.storage.outbox.memory import repositories as outbox_repositories
from custdata.storage.outbox.ports import OutboxStore


class MemoryStore:
    """A store in this process's memory. Thread-safe; ``timeout`` bounds the wait for the write lock."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._data = _Committed()
        self._outbox = OutboxTables()
        self._state = threading.RLock()
        self._writer = threading.Lock()
        self._timeout = timeout
        self._closed = False

    @property
    def url(self) -> str:
        return "memory://"

    def unit_of_work(self) -> MemoryUnitOfWork:
        if self._closed:
            raise ProgrammingError("the store is closed")
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        self._closed = True

    def purge_residue(self) -> None:
        """Nothing to do: the memory store has no files and keeps no old versions of what it deleted or replaced."""
        if self._closed:
            raise ProgrammingError("the store is closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MemoryStore({'closed' if self._closed else 'open'})"


class MemoryUnitOfWork:
    """A unit of work of a :class:`MemoryStore`: an overlay of pending writes over the committed data."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._pending: dict[str, dict[str, Record | None]] = {t.name: {} for t in TABLES}
        self._pending_unique: dict[tuple[str, tuple[Any, ...]], set[str]] = {}
        self._pending_suppressions: set[str] = set()
        self._pending_unsuppressions: set[str] = set()
        self._state = "new"
        self._writing = False
        self.customers = MemoryCustomerRepository(self)
        self.orders = MemoryOrderRepository(self)
        self.communications = MemoryCommunicationRepository(self)
        self.activity = MemoryActivityRepository(self)
        self._outbox_writes = OutboxOverlay()
        self.outbox, self.timers = outbox_repositories(
            store._outbox, self._outbox_writes, self.begin_write, self.check_active
        )

    # -- transaction ----------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._state != "new":
            raise ProgrammingError("a unit of work can be used for one with block only; open a new one")
        self._state = "active"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._state == "active":
            self._end(apply=False)
        self._state = "done"

    def check_active(self) -> None:
        if self._state != "active":
            state = "has ended" if self._state == "done" else "was not entered (use it in a with block)"
            raise ProgrammingError(f"this unit of work {state}")
        if self._store._closed:
            raise ProgrammingError("the store is closed")

    def commit(self) -> None:
        self.check_active()
        self._end(apply=True)

    def rollback(self) -> None:
        self.check_active()
        self._end(apply=False)

    def _end(self, *, apply: bool) -> None:
        if self._writing:
            try:
                if apply:
                    self._apply()
            finally:
                for changes in self._pending.values():
                    changes.clear()
                self._pending_unique.clear()
                self._pending_suppressions.clear()
                self._pending_unsuppressions.clear()
                self._outbox_writes.clear()
                self._writing = False
                self._store._writer.release()

    def _apply(self) -> None:
        """Make the pending writes the committed state (overridable for testing the contract)."""
        data = self._store._data
        with self._store._state:
            for table, changes in self._pending.items():
                for key, record in changes.items():
                    data.put(table, key, record)
            data.suppressions.difference_update(self._pending_unsuppressions)
            data.suppressions.update(self._pending_suppressions)
            self._outbox_writes.apply(self._store._outbox)

    def begin_write(self) -> None:
        """Take the store's write lock for this unit of work (the first write does it)."""
        self.check_active()
        if not self._writing:
            if not self._store._writer.acquire(timeout=self._store._timeout):
                raise OperationalError("the memory store is locked by another writer (timed out waiting)")
            self._writing = True

    # -- the view: committed data overlaid with the pending writes ------------------------------------------

    def record(self, table: str, key: str) -> Record | None:
        self.check_active()
        changes = self._pending[table]
        if key in changes:
            return changes[key]
        with self._store._state:
            return self._store._data.rows[table].get(key)

    def write(self, table: str, key: str, record: Record | None) -> None:
        self._pending[table][key] = record
        if record is not None:
            for item in unique_values(table, record):
                self._pending_unique.setdefault(item, set()).add(key)

    def with_unique(self, table: str, values: tuple[Any, ...]) -> list[str]:
        """Ids in the view whose unique column group holds ``values``, in id order."""
        item = (table, values)
        with self._store._state:
            ids = set(self._store._data.unique.get(item, ()))
        ids.update(self._pending_unique.get(item, ()))
        return sorted(k for k in ids if (r := self.record(table, k)) is not None and item in unique_values(table, r))

    def sorted_ids(self, table: str, candidates: set[str] | None = None) -> list[str]:
        """Ids present in the view, in code point order; only ``candidates`` when given."""
        self.check_active()
        changes = self._pending[table]
        with self._store._state:
            if candidates is None and not changes:
                return self._store._data.sorted_ids(table)
            if candidates is None:
                ids = set(self._store._data.rows[table])
                ids.update(changes)
            else:
                ids = set(candidates)
        return sorted(k for k in ids if self.record(table, k) is not None)

    def with_key(self, item: tuple[str, str]) -> set[str]:
        """Customer ids whose search keys include ``item``."""
        with self._store._state:
            ids = set(self._store._data.keys.get(item, ()))
        ids.update(k for k, r in self._pending["customers"].items() if r is not None and item in r.keys)
        return {k for k in ids if (r := self.record("customers", k)) is not None and item in r.keys}

    def suppress(self, digests: list[str]) -> int:
        """Add the digests to the pending suppression list; how many were not on the list in this view."""
        self.begin_write()
        new = set(digests) - self.suppressed(digests)
        self._pending_unsuppressions -= new
        self._pending_suppressions |= new
        return len(new)

    def unsuppress(self, digests: list[str]) -> int:
        """Take the digests off the list in this view; how many were on it."""
        self.begin_write()
        found = self.suppressed(digests)
        self._pending_suppressions -= found
        self._pending_unsuppressions |= found
        return len(found)

    def suppressed(self, digests: list[str]) -> set[str]:
        """The digests on the suppression list in this view: committed and not taken off, or added."""
        self.check_active()
        with self._store._state:
            found = {d for d in digests if d in self._store._data.suppressions}
        return (found - self._pending_unsuppressions) | (set(digests) & self._pending_suppressions)

    def children(self, table: str, customer_id: str) -> set[str]:
        with self._store._state:
            ids = set(self._store._data.children[table].get(customer_id, ()))
        ids.update(k for k, r in self._pending[table].items() if r is not None and r.cols["customer_id"] == customer_id)
        return {k for k in ids if (r := self.record(table, k)) is not None and r.cols["customer_id"] == customer_id}


def open_url(url: str) -> MemoryStore:
    """A new, empty :class:`MemoryStore` for ``memory://``."""
    if url.rstrip("/") not in {"memory:", "memory:/"}:
        raise ProgrammingError("a memory store URL is just memory://")
    return MemoryStore()


#: The memory store offers the outbox port (checked by the type checker).
_OUTBOX_STORE: type[OutboxStore] = MemoryStore
