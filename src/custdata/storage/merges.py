"""Follow ``merged_into`` links from a customer id to the customer it ended up in (a read helper), and what the
stores need to know of merge records to migrate them.

Merging (:mod:`custdata.merge`, guest registration) leaves the merged customers behind as tombstones whose
``merged_into`` names the survivor. Anything that is handed a customer id (the outbox, workflows, the
customer 360 view, privacy requests) reads it through :func:`resolve` so that an old id still reaches the
person's data. :mod:`custdata.merge` exports the same functions.
"""

from __future__ import annotations

from typing import Any

import attrs

from custdata._errors import IntegrityError, ValidationError
from custdata.domain import ActivityEvent, Customer, CustomerId
from custdata.serialization import SCHEMA_KEY, from_dict, to_dict
from custdata.storage.ports import UnitOfWork

#: How many ``merged_into`` links :func:`resolve` follows before it calls the chain broken.
MAX_CHAIN = 64
#: Name of the timeline event that holds a merge record (:data:`custdata.merge.MERGE_EVENT`).
MERGE_EVENT = "Customers Merged"


def resolve(uow: UnitOfWork, customer_id: str) -> Customer:
    """The customer that ``customer_id`` ends up in: itself, or the survivor it was merged into (following
    merges of merges). Raises :class:`custdata.NotFoundError` for an unknown id and
    :class:`custdata.IntegrityError` for a chain that loops or is longer than :data:`MAX_CHAIN`."""
    return follow_merges(uow, customer_id)[0]


def follow_merges(uow: UnitOfWork, customer_id: str) -> tuple[Customer, tuple[CustomerId, ...]]:
    """Like :func:`resolve`, with the merged ids followed on the way (oldest link first; empty for a customer that
    was never merged)."""
    customer = uow.customers.get(customer_id)
    followed: list[CustomerId] = []
    while customer.merged_into is not None:
        followed.append(customer.id)
        if len(followed) > MAX_CHAIN:
            raise IntegrityError(f"customer {str(customer_id)!r} is merged through more than {MAX_CHAIN} customers")
        if customer.merged_into in followed:
            raise IntegrityError(f"the merges of customer {str(customer_id)!r} form a loop")
        customer = uow.customers.get(customer.merged_into)
    return customer, tuple(followed)


def skeleton(customer: Customer) -> Customer:
    """What an undone merge record keeps of a customer's snapshot: the id, creation time and guest flag."""
    return Customer(id=customer.id, created_at=customer.created_at, is_guest=customer.is_guest)


def strip_undone_merge(event: ActivityEvent) -> ActivityEvent | None:
    """The merge event ``event`` rewritten the way an undo writes it when it is an undone merge record that still
    holds whole snapshots of the customers (as earlier versions left them): each snapshot cut down to its
    :func:`skeleton`. None when there is nothing to change or the record cannot be read."""
    properties = event.properties
    if event.event != MERGE_EVENT or not properties or properties.get("undone_at") is None:
        return None
    before = properties.get("before")
    if not isinstance(before, list):
        return None
    try:
        customers = [from_dict(Customer, item) for item in before]
    except ValidationError:
        return None
    skeletons = [skeleton(c) for c in customers]
    if skeletons == customers:
        return None
    return attrs.evolve(event, properties={**properties, "before": [_snapshot(c) for c in skeletons]})


def _snapshot(customer: Customer) -> dict[str, Any]:
    document = to_dict(customer)
    document.pop(SCHEMA_KEY, None)
    return document


__all__ = ["MAX_CHAIN", "MERGE_EVENT", "follow_merges", "resolve", "skeleton", "strip_undone_merge"]
