"""What a merge looks like before it is written (:class:`MergePlan`) and the record it leaves (:class:`MergeRecord`).

The record is kept on the survivor's timeline as an :class:`custdata.ActivityEvent` named
:data:`MERGE_EVENT`; its properties hold everything needed to undo the merge: the customers as they were,
their versions right after the merge, and which orders, communication events and activity moved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from custdata._errors import ConflictError, StoreError, ValidationError
from custdata.domain import ActivityEvent, ActivityId, Customer, CustomerId
from custdata.merge.rules import FieldProvenance, MergeRules
from custdata.serialization import from_dict, to_json
from custdata.storage.merges import MERGE_EVENT as _MERGE_EVENT

#: Name of the timeline event that holds a merge record.
MERGE_EVENT = _MERGE_EVENT
#: The ``source`` of merge events.
MERGE_SOURCE = "custdata.merge"


class UndoRefusedError(ConflictError):
    """A merge cannot be undone: it was undone already, or records it touched changed since (undoing would
    lose those changes). Nothing was written."""

    def __init__(self, merge_id: str, reason: str) -> None:
        self.kind, self.key, self.expected, self.actual = "merge", merge_id, 0, None
        self.reason = reason
        StoreError.__init__(self, f"cannot undo merge {str(merge_id)!r}: {reason}")


@attrs.frozen(repr=False)
class MergePlan:
    """A preview of a merge: the survivor as it would be, where each field comes from, and how many orders,
    communication events and activity events would move. Nothing is written until it is passed to
    :func:`custdata.merge.merge`, which refuses it if any of the customers changed in between."""

    survivor_id: CustomerId
    merged_ids: tuple[CustomerId, ...]
    before: tuple[Customer, ...]
    result: Customer
    provenance: tuple[FieldProvenance, ...]
    rules: MergeRules
    orders: int
    communications: int
    activity: int

    def field(self, name: str) -> FieldProvenance:
        """Where the merged value of ``name`` comes from."""
        for item in self.provenance:
            if item.field == name:
                return item
        raise ValidationError.single("name", "is not a field of the merged customer")

    @property
    def changed_fields(self) -> tuple[str, ...]:
        """The survivor's fields that the merge changes, in field order."""
        survivor = self.before[0]
        return tuple(
            a.name
            for a in attrs.fields(Customer)
            if a.name != "version" and getattr(survivor, a.name) != getattr(self.result, a.name)
        )

    def __repr__(self) -> str:
        return (
            f"MergePlan(survivor_id={self.survivor_id!r}, merged_ids={self.merged_ids!r}, "
            f"changed_fields={self.changed_fields!r}, orders={self.orders}, communications={self.communications}, "
            f"activity={self.activity})"
        )


@attrs.frozen
class MovedRecord:
    """An order, communication event or activity event that moved to the survivor: its id, the customer it
    belonged to, and its version right after the move (``None`` for activity, which has no version)."""

    id: str
    from_customer: CustomerId
    version: int | None = None


@attrs.frozen(repr=False)
class MergeRecord:
    """What a merge did, kept on the survivor's timeline so that it can be audited and undone.

    ``before`` holds the customers as they were (the survivor first), ``versions`` their versions right
    after the merge; ``undone_at`` is set once the merge was undone.
    """

    id: ActivityId
    survivor_id: CustomerId
    merged_ids: tuple[CustomerId, ...]
    merged_at: datetime
    before: tuple[Customer, ...]
    versions: dict[str, int]
    orders: tuple[MovedRecord, ...]
    communications: tuple[MovedRecord, ...]
    activity: tuple[MovedRecord, ...]
    provenance: tuple[FieldProvenance, ...]
    undone_at: datetime | None = None

    def to_event(self) -> ActivityEvent:
        """The timeline event that holds this record."""
        properties: dict[str, Any] = json.loads(to_json(self))
        properties.pop("id")
        return ActivityEvent(
            id=self.id,
            event=MERGE_EVENT,
            occurred_at=self.merged_at,
            customer_id=self.survivor_id,
            properties=properties,
            source=MERGE_SOURCE,
        )

    @classmethod
    def from_event(cls, event: ActivityEvent) -> MergeRecord:
        """Read the record back from its timeline event; anything else is a :class:`custdata.ValidationError`."""
        if not isinstance(event, ActivityEvent) or event.event != MERGE_EVENT:
            raise ValidationError.single("event", f"is not a {MERGE_EVENT!r} event")
        return from_dict(cls, {**event.properties, "id": str(event.id)})

    def moved_from(self, customer_id: str) -> Mapping[str, int]:
        """How many records of each kind moved away from ``customer_id``."""
        return {
            kind: sum(1 for m in getattr(self, kind) if m.from_customer == customer_id)
            for kind in ("orders", "communications", "activity")
        }

    def __repr__(self) -> str:
        state = f", undone_at={self.undone_at.isoformat()}" if self.undone_at else ""
        return (
            f"MergeRecord(id={self.id!r}, survivor_id={self.survivor_id!r}, merged_ids={self.merged_ids!r}, "
            f"orders={len(self.orders)}, communications={len(self.communications)}, "
            f"activity={len(self.activity)}{state})"
        )
