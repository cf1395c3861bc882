"""Preview, apply and undo merges inside the caller's unit of work, and resolve merged ids to their survivor.

Every function works in the unit of work it is given and does not commit: the caller commits, so a merge
with everything it moves is one transaction. When a function fails half-way it rolls the unit of work back
before raising, so that a later ``commit()`` cannot write half a merge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs

from custdata._errors import ConflictError, Problem, ValidationError
from custdata.domain import ActivityEvent, ActivityId, Customer, CustomerId
from custdata.merge.model import MERGE_EVENT, MergePlan, MergeRecord, MovedRecord, UndoRefusedError
from custdata.merge.rules import MergeRules, combine
from custdata.storage.merges import MAX_CHAIN as MAX_CHAIN
from custdata.storage.merges import follow_merges as follow_merges
from custdata.storage.merges import resolve as resolve
from custdata.storage.merges import skeleton
from custdata.storage.merges import strip_undone_merge as strip_undone_merge
from custdata.storage.ports import Page, UnitOfWork, walk
from custdata.storage.records import holds_value

_log = logging.getLogger("custdata.merge")

_PAGE = 1000


class _Owned(Protocol):
    id: Any
    customer_id: Any


def preview(
    uow: UnitOfWork,
    survivor_id: str,
    merged_ids: Iterable[str],
    *,
    rules: MergeRules | None = None,
    at: datetime | None = None,
) -> MergePlan:
    """What merging ``merged_ids`` into ``survivor_id`` would do; writes nothing.

    Refuses (:class:`custdata.ValidationError`) an empty or repeated list, the survivor among the merged,
    and customers that were merged or redacted already; unknown ids raise :class:`custdata.NotFoundError`.
    """
    rules = MergeRules() if rules is None else rules
    if not isinstance(rules, MergeRules):
        raise ValidationError.single("rules", "must be MergeRules")
    if isinstance(merged_ids, str):
        raise ValidationError.single("merged_ids", "must be a list of customer ids, not one string")
    ids = list(merged_ids)
    problems: list[Problem] = []
    if not ids:
        problems.append(Problem("merged_ids", "must name at least one customer"))
    for i, item in enumerate(ids):
        if item == survivor_id:
            problems.append(Problem(f"merged_ids[{i}]", "is the survivor itself"))
        elif item in ids[:i]:
            problems.append(Problem(f"merged_ids[{i}]", "is listed twice"))
    if problems:
        raise ValidationError(problems)
    survivor = uow.customers.get(survivor_id)
    others = [uow.customers.get(item) for item in ids]
    for path, customer in (("survivor_id", survivor), *((f"merged_ids[{i}]", c) for i, c in enumerate(others))):
        if customer.merged_into is not None:
            problems.append(Problem(path, "was merged into another customer already"))
        if customer.redacted_at is not None:
            problems.append(Problem(path, "was redacted; its data cannot be merged"))
    if problems:
        raise ValidationError(problems)
    result, provenance = combine(survivor, others, rules, _now(at))
    return MergePlan(
        survivor_id=survivor.id,
        merged_ids=tuple(c.id for c in others),
        before=(survivor, *others),
        result=result,
        provenance=provenance,
        rules=rules,
        orders=sum(uow.orders.count(customer_id=c.id) for c in others),
        communications=sum(uow.communications.count(customer_id=c.id) for c in others),
        activity=sum(uow.activity.count(customer_id=c.id) for c in others),
    )


def merge(uow: UnitOfWork, plan: MergePlan, *, at: datetime | None = None) -> MergeRecord:
    """Carry out ``plan``: the survivor takes the merged fields, the others keep only their id, creation time
    and ``merged_into``; their orders, communication events and activity move to the survivor, and a
    :data:`~custdata.merge.MERGE_EVENT` on the survivor's timeline records it all. The caller commits.

    Raises :class:`custdata.ConflictError` when a customer changed since the preview.
    """
    if not isinstance(plan, MergePlan):
        raise ValidationError.single("plan", "must be a MergePlan from custdata.merge.preview")
    when = _now(at)
    with _rollback_on_error(uow):
        current = uow.customers.get_many([c.id for c in plan.before])
        for before in plan.before:
            found = current.get(before.id)
            if found is None or found.version != before.version:
                raise ConflictError("customer", before.id, before.version, None if found is None else found.version)
        survivor = attrs.evolve(plan.result)
        uow.customers.update(survivor)
        versions = {str(survivor.id): survivor.version}
        for before in plan.before[1:]:
            tombstone = Customer(
                id=before.id,
                created_at=before.created_at,
                updated_at=max(when, before.updated_at),
                is_guest=before.is_guest,
                merged_into=plan.survivor_id,
                version=before.version,
            )
            uow.customers.update(tombstone)
            versions[str(before.id)] = tombstone.version
        moved: dict[str, tuple[MovedRecord, ...]] = {}
        for kind, repository, versioned in _kinds(uow):
            items = [item for source in plan.merged_ids for item in _all(repository.for_customer, source)]
            moved[kind] = tuple(_move(repository, items, plan.survivor_id, versioned))
        record = MergeRecord(
            id=ActivityId.new(),
            survivor_id=plan.survivor_id,
            merged_ids=plan.merged_ids,
            merged_at=when,
            before=plan.before,
            versions=versions,
            orders=moved["orders"],
            communications=moved["communications"],
            activity=moved["activity"],
            provenance=plan.provenance,
        )
        uow.activity.add(record.to_event())
        _log.info(
            "merge %s: %d customers into %s, moving %d orders, %d communication events, %d activity events",
            record.id,
            len(record.merged_ids),
            record.survivor_id,
            len(record.orders),
            len(record.communications),
            len(record.activity),
        )
        return record


def undo(uow: UnitOfWork, merge_id: str | MergeRecord, *, at: datetime | None = None) -> MergeRecord:
    """Undo a merge from its record (or the id of its timeline event): the customers get back every field as
    it was, and the orders, communication events and activity that moved go back to their customers. The
    merge event stays on the timeline, marked with ``undone_at``; it keeps the ids, versions and moved records
    but no longer the snapshots of the customers (``before`` keeps only their ids and creation times): once
    apart again, they are separate people, and one's timeline and data export must not show the other's data.
    The caller commits.

    Refuses with :class:`UndoRefusedError` (a :class:`custdata.ConflictError`) when the merge was undone
    already, when its record was erased (:func:`custdata.privacy.erase_customer` of any of its customers), when
    any customer in it was erased or when any record it touched changed since; nothing is written then.
    """
    event_id = merge_id.id if isinstance(merge_id, MergeRecord) else merge_id
    with _rollback_on_error(uow):
        event_id = str(event_id)
        event = uow.activity.get(event_id)
        try:
            record = MergeRecord.from_event(event)
        except ValidationError:
            raise UndoRefusedError(event_id, "its record cannot be read (erased or not a merge record)") from None
        if record.undone_at is not None:
            raise UndoRefusedError(event_id, f"it was undone already at {record.undone_at.isoformat()}")
        current = uow.customers.get_many([c.id for c in record.before])
        for before in record.before:
            found = current.get(before.id)
            expected = record.versions[str(before.id)]
            if found is not None and found.redacted_at is not None:
                raise UndoRefusedError(event_id, f"customer {str(before.id)!r} was erased since")
            if found is None or found.version != expected:
                now = "it no longer exists" if found is None else f"now at version {found.version}"
                raise UndoRefusedError(
                    event_id, f"customer {str(before.id)!r} changed since (version {expected}, {now})"
                )
        plans = []
        for kind, repository, versioned in _kinds(uow):
            moved: Sequence[MovedRecord] = getattr(record, kind)
            stored = repository.get_many([m.id for m in moved])
            for m in moved:
                item = stored.get(m.id)
                if item is None:
                    raise UndoRefusedError(event_id, f"{kind} record {m.id!r} no longer exists")
                if item.customer_id != record.survivor_id or (versioned and item.version != m.version):
                    raise UndoRefusedError(event_id, f"{kind} record {m.id!r} changed since the merge")
            plans.append((repository, moved, stored))
        for before in record.before:
            restored = attrs.evolve(before, version=current[before.id].version)
            uow.customers.update(restored)
        for repository, moved, stored in plans:
            for m in moved:
                item = stored[m.id]
                item.customer_id = m.from_customer
                repository.update(item)
        done = attrs.evolve(record, undone_at=max(_now(at), record.merged_at), before=_skeletons(record.before))
        uow.activity.update(done.to_event())
        _log.info("merge %s undone: %s restored", record.id, ", ".join(str(c.id) for c in record.before))
        return done


def merges_of(uow: UnitOfWork, customer_id: str) -> list[MergeRecord]:
    """The merge records on a customer's timeline, oldest first (undone ones included; records whose
    properties were erased are left out)."""
    return [
        MergeRecord.from_event(event)
        for event in _all(uow.activity.for_customer, customer_id)
        if isinstance(event, ActivityEvent) and event.event == MERGE_EVENT and event.properties
    ]


# -- helpers ------------------------------------------------------------------------------------------------


def _now(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValidationError.single("at", "must be a timezone-aware datetime")
    return at


def _skeletons(customers: Iterable[Customer], only: Collection[str] | None = None) -> tuple[Customer, ...]:
    """What an undone merge record keeps of its snapshots: the ids, creation times and guest flags (of the
    customers in ``only``, when given; the others stay as they are)."""
    return tuple(skeleton(c) if only is None or c.id in only else c for c in customers)


def without_snapshots(record: MergeRecord, customer_ids: Iterable[str] | None = None) -> MergeRecord:
    """``record`` with the snapshots in ``before`` cut down to ids, creation times and guest flags, as an undone
    merge keeps them: those of ``customer_ids`` (erased customers, say), or all of them when None. The same
    record when there was nothing to cut."""
    only = None if customer_ids is None else frozenset(str(i) for i in customer_ids)
    before = _skeletons(record.before, only)
    return record if before == record.before else attrs.evolve(record, before=before)


def merge_events_naming(uow: UnitOfWork, customer_id: str) -> list[ActivityEvent]:
    """The merge records, on any timeline, whose properties name ``customer_id`` (as survivor, merged customer,
    or the source of a moved record), in id order. Uses ``uow.activity.mentioning``; a store without it (one
    written for an earlier release) has its activity read page by page."""
    key = str(customer_id)
    mentioning = getattr(uow.activity, "mentioning", None)
    if callable(mentioning):
        found: list[ActivityEvent] = mentioning(MERGE_EVENT, key)
    else:
        found = [e for e in _all_activity(uow) if e.event == MERGE_EVENT]
    return [e for e in found if e.event == MERGE_EVENT and holds_value(e.properties, key)]


def _all_activity(uow: UnitOfWork) -> Iterator[ActivityEvent]:
    return walk(lambda cursor: uow.activity.page(limit=_PAGE, cursor=cursor))


def _kinds(uow: UnitOfWork) -> list[tuple[str, Any, bool]]:
    return [
        ("orders", uow.orders, True),
        ("communications", uow.communications, True),
        ("activity", uow.activity, False),
    ]


def _all(fetch: Callable[..., Page[Any]], customer_id: str) -> list[Any]:
    return list(walk(lambda cursor: fetch(customer_id, limit=_PAGE, cursor=cursor)))


def _move(repository: Any, items: list[_Owned], survivor: CustomerId, versioned: bool) -> Iterator[MovedRecord]:
    for item in items:
        source = item.customer_id
        item.customer_id = survivor
        repository.update(item)
        yield MovedRecord(str(item.id), source, item.version if versioned else None)  # type: ignore[attr-defined]


@contextmanager
def _rollback_on_error(uow: UnitOfWork) -> Iterator[None]:
    try:
        yield
    except BaseException:
        uow.rollback()
        raise
