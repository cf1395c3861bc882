"""Where records to match come from: customers streamed out of a store, page by page.

Only the small :class:`CustomerRecord` of each customer is kept, so matching a large store needs memory for
the records, not for the customers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from custdata._errors import ValidationError
from custdata.matching.records import CustomerRecord

if TYPE_CHECKING:
    from custdata.storage.ports import Store, UnitOfWork

#: Customers read per page when streaming a store.
PAGE_SIZE = 1000


def store_records(
    source: Store | UnitOfWork, *, page_size: int = PAGE_SIZE, include_merged: bool = False
) -> Iterator[CustomerRecord]:
    """The matching view of every customer in ``source`` (a store, or an open unit of work), in id order.

    Customers merged into another one and redacted customers are skipped: the first are duplicates already
    handled, the second hold no personal data left to compare. ``include_merged=True`` keeps the merged ones.

    >>> from custdata import Customer
    >>> from custdata.storage import open_store
    >>> from datetime import datetime, UTC
    >>> with open_store("memory://") as store:
    ...     with store.unit_of_work() as uow:
    ...         uow.customers.add(Customer("cus_1", created_at=datetime(2025, 1, 1, tzinfo=UTC), given_name="Ana"))
    ...         uow.commit()
    ...     [record.id for record in store_records(store)]
    ['cus_1']
    """
    from custdata.storage.ports import Store, UnitOfWork, check_limit

    check_limit(page_size)
    if isinstance(source, UnitOfWork):
        yield from _records(source, page_size, include_merged)
    elif isinstance(source, Store):
        with source.unit_of_work() as uow:
            yield from _records(uow, page_size, include_merged)
    else:
        raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")


def _records(uow: UnitOfWork, page_size: int, include_merged: bool) -> Iterator[CustomerRecord]:
    cursor: str | None = None
    while True:
        page = uow.customers.search(limit=page_size, cursor=cursor)
        for customer in page.items:
            if customer.redacted_at is not None or (customer.merged_into is not None and not include_merged):
                continue
            yield CustomerRecord.from_customer(customer)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
