"""Follow ``merged_into`` links from a customer id to the customer it ended up in (a read helper).

Merging (:mod:`custdata.merge`, guest registration) leaves the merged customers behind as tombstones whose
``merged_into`` names the survivor. Anything that is handed a customer id (the outbox, workflows, the
customer 360 view, privacy requests) reads it through :func:`resolve` so that an old id still reaches the
person's data. :mod:`custdata.merge` exports the same functions.
"""

from __future__ import annotations

from custdata._errors import IntegrityError
from custdata.domain import Customer, CustomerId
from custdata.storage.ports import UnitOfWork

#: How many ``merged_into`` links :func:`resolve` follows before it calls the chain broken.
MAX_CHAIN = 64


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


__all__ = ["MAX_CHAIN", "follow_merges", "resolve"]
