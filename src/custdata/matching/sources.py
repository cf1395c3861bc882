"""Where records to match come from: customers streamed out of a store, page by page.

Only the small :class:`CustomerRecord` of each customer is kept, so matching a large store needs memory for
the records, not for the customers. A store that offers the customer-document reader
(:class:`custdata.storage.aggregates.CustomerDocuments`: the SQLite and PostgreSQL stores) is read as plain
documents, page by page, without building a :class:`custdata.Customer` for each; other stores are paged through
their customer repository. Both give the same records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

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
    from custdata.storage.aggregates import customer_documents_of

    documents = customer_documents_of(uow)
    if documents is not None:
        for doc in documents.customer_documents(page_size=page_size):
            if doc.get("redacted_at") is not None or (doc.get("merged_into") is not None and not include_merged):
                continue
            yield record_from_document(doc)
        return
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


def record_from_document(doc: Mapping[str, Any]) -> CustomerRecord:
    """:meth:`CustomerRecord.from_customer` of the customer whose stored document (as plain data) is ``doc``."""
    addresses = doc.get("addresses") or []
    index = doc.get("default_shipping_address")
    if index is None:
        index = doc.get("default_billing_address")
    address: Mapping[str, Any] | None = addresses[index] if index is not None else None
    if address is None and addresses:
        address = addresses[0]
    emails = [e for e in (doc.get("email"), *(doc.get("other_emails") or ())) if e is not None]
    phones = [p["e164"] for p in (doc.get("phone"), *(doc.get("other_phones") or ())) if p is not None]
    street = None
    if address is not None:
        street = " ".join(s for s in (address.get("street_address_1"), address.get("street_address_2")) if s) or None
    given = doc.get("given_name") or (address.get("first_name") if address else None) or None
    family = doc.get("family_name") or (address.get("last_name") if address else None) or None
    return CustomerRecord(
        id=str(doc["id"]),
        given_name=given,
        family_name=family,
        email=emails[0] if emails else None,
        phone=phones[0] if phones else None,
        street=street,
        postal_code=(address.get("postal_code") or None) if address else None,
        city=(address.get("city") or None) if address else None,
        country=(address.get("country_code") or None) if address else None,
        birthday=doc.get("birthday") or None,
        other_emails=tuple(emails[1:]),
        other_phones=tuple(phones[1:]),
        is_guest=doc.get("is_guest"),
    )
