"""The committed data of a memory store: records, their indexes and unique values."""

from __future__ import annotations

from typing import Any, NamedTuple

from custdata.storage.records import (
    ACTIVITY,
    COMMUNICATIONS,
    CUSTOMERS,
    ORDERS,
    Table,
)

TABLES: tuple[Table[Any], ...] = (CUSTOMERS, ORDERS, COMMUNICATIONS, ACTIVITY)


class Record(NamedTuple):
    """A stored entity: version (None for activity), document, indexed columns and search keys."""

    version: int | None
    doc: str
    cols: dict[str, Any]
    keys: frozenset[tuple[str, str]]


class _Committed:
    """The committed data with its indexes; guarded by the store's state lock."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Record]] = {t.name: {} for t in TABLES}
        self.keys: dict[tuple[str, str], set[str]] = {}
        self.children: dict[str, dict[str, set[str]]] = {t.name: {} for t in TABLES}
        self.sorted: dict[str, list[str] | None] = {t.name: None for t in TABLES}
        self.unique: dict[tuple[str, tuple[Any, ...]], set[str]] = {}
        self.suppressions: set[str] = set()

    def sorted_ids(self, table: str) -> list[str]:
        ids = self.sorted[table]
        if ids is None:
            ids = self.sorted[table] = sorted(self.rows[table])
        return ids

    def put(self, table: str, key: str, record: Record | None) -> None:
        rows = self.rows[table]
        old = rows.pop(key, None)
        if old is not None:
            self._index(table, key, old, remove=True)
        if record is not None:
            rows[key] = record
            self._index(table, key, record, remove=False)
        if (old is None) != (record is None):
            self.sorted[table] = None

    def _index(self, table: str, key: str, record: Record, *, remove: bool) -> None:
        for item in record.keys:
            ids = self.keys.setdefault(item, set())
            if remove:
                ids.discard(key)
                if not ids:
                    del self.keys[item]
            else:
                ids.add(key)
        for entry in unique_values(table, record):
            uniq = self.unique.setdefault(entry, set())
            if remove:
                uniq.discard(key)
                if not uniq:
                    del self.unique[entry]
            else:
                uniq.add(key)
        owner = record.cols.get("customer_id")
        if owner is not None:
            members = self.children[table].setdefault(owner, set())
            if remove:
                members.discard(key)
                if not members:
                    del self.children[table][owner]
            else:
                members.add(key)


_UNIQUE = {t.name: t.unique for t in TABLES}
UNIQUE_NAMES = {"orders": "external reference", "communications": "idempotency key"}


def unique_values(table: str, record: Record) -> list[tuple[str, tuple[Any, ...]]]:
    """The ``(table, values)`` entries of a record for its table's unique column groups (nulls skipped)."""
    out = []
    for columns in _UNIQUE[table]:
        values = tuple(record.cols[c] for c in columns)
        if all(v is not None for v in values):
            out.append((table, values))
    return out
