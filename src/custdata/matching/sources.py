"""Where records to match come from: customers streamed out of a store, page by page.

Only the small :class:`CustomerRecord` of each customer is kept, so matching a large store needs memory for
the records, not for the customers. A store that offers the customer-document reader
(:class:`custdata.storage.aggregates.CustomerDocuments`: the SQLite and PostgreSQL stores) is read as plain
documents, page by page, without building a :class:`custdata.Customer` for each; other stores are paged through
their customer repository. Both give the same records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from custdata._errors import ValidationError
from custdata.matching.records import MAX_FIELD_LENGTH, CustomerRecord

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
    return StoreRecords(source, page_size, include_merged)


class StoreRecords(Iterator[CustomerRecord]):
    """The iterator :func:`store_records` returns. A matching engine that only needs the plain values of each
    record reads them with :meth:`fields`, without building a :class:`CustomerRecord` for each."""

    def __init__(self, source: Store | UnitOfWork, page_size: int, include_merged: bool) -> None:
        self._source, self._page_size, self._include_merged = source, page_size, include_merged
        self._started: Iterator[CustomerRecord] | None = None

    def __next__(self) -> CustomerRecord:
        if self._started is None:
            self._started = self._read(_records)
        return next(self._started)

    def fields(self) -> Iterator[RecordFields]:
        """The plain values of each record (:data:`RecordFields`), in the same order as iterating."""
        if self._started is not None:
            raise RuntimeError("the records are already being read")
        self._started = iter(())
        return self._read(_fields)

    def _read(self, reader: Any) -> Iterator[Any]:
        from custdata.storage.ports import Store, UnitOfWork, check_limit

        source, page_size, include_merged = self._source, self._page_size, self._include_merged
        check_limit(page_size)
        if isinstance(source, UnitOfWork):
            yield from reader(source, page_size, include_merged)
        elif isinstance(source, Store):
            with source.unit_of_work() as uow:
                yield from reader(uow, page_size, include_merged)
        else:
            raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")


#: What a record holds for matching, as plain values: id, given name, family name, emails (the first one first),
#: phones (likewise), street, postal code, city, country, birthday, guest flag.
RecordFields: TypeAlias = tuple[
    str, str | None, str | None, tuple[str, ...], tuple[str, ...], str | None, str | None, str | None, str | None,
    str | None, bool | None,
]  # fmt: skip


def record_fields(record: CustomerRecord) -> RecordFields:
    """The plain values of ``record`` that normalisation reads."""
    emails = record.other_emails if record.email is None else (record.email, *record.other_emails)
    phones = record.other_phones if record.phone is None else (record.phone, *record.other_phones)
    return (
        record.id,
        record.given_name,
        record.family_name,
        emails,
        phones,
        record.street,
        record.postal_code,
        record.city,
        record.country,
        record.birthday,
        record.is_guest,
    )


def _fields(uow: UnitOfWork, page_size: int, include_merged: bool) -> Iterator[RecordFields]:
    from custdata.storage.aggregates import customer_documents_of

    documents = customer_documents_of(uow)
    if documents is None:
        yield from map(record_fields, _records(uow, page_size, include_merged))
        return
    for doc in documents.customer_documents(page_size=page_size):
        if doc.get("redacted_at") is not None or (doc.get("merged_into") is not None and not include_merged):
            continue
        fields = fields_from_document(doc)
        if not _plainly_valid(fields):
            fields = record_fields(record_from_document(doc))  # raises as iterating the records does
        yield fields


def _plainly_valid(fields: RecordFields) -> bool:
    """Whether :class:`CustomerRecord` accepts these values (else building one names the problem)."""
    record_id, emails, phones = fields[0], fields[3], fields[4]
    for item in (*emails, *phones):
        if type(item) is not str or len(item) > MAX_FIELD_LENGTH or "\x00" in item:
            return False
    for value in (record_id, fields[1], fields[2], *fields[5:10]):
        if value is not None and (type(value) is not str or len(value) > MAX_FIELD_LENGTH or "\x00" in value):
            return False
    guest = fields[10]
    return bool(record_id.strip()) and (guest is None or type(guest) is bool)


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


def fields_from_document(doc: Mapping[str, Any]) -> RecordFields:
    """:func:`record_fields` of :func:`record_from_document` of ``doc``, without building the record."""
    addresses = doc.get("addresses") or []
    index = doc.get("default_shipping_address")
    if index is None:
        index = doc.get("default_billing_address")
    address: Mapping[str, Any] | None = addresses[index] if index is not None else None
    if address is None and addresses:
        address = addresses[0]
    emails = tuple(e for e in (doc.get("email"), *(doc.get("other_emails") or ())) if e is not None)
    phones = tuple(p["e164"] for p in (doc.get("phone"), *(doc.get("other_phones") or ())) if p is not None)
    if address is None:
        street = postal_code = city = country = None
        given = doc.get("given_name") or None
        family = doc.get("family_name") or None
    else:
        street = " ".join(s for s in (address.get("street_address_1"), address.get("street_address_2")) if s) or None
        postal_code = address.get("postal_code") or None
        city = address.get("city") or None
        country = address.get("country_code") or None
        given = doc.get("given_name") or address.get("first_name") or None
        family = doc.get("family_name") or address.get("last_name") or None
    birthday = doc.get("birthday") or None
    return (
        str(doc["id"]),
        given,
        family,
        emails,
        phones,
        street,
        postal_code,
        city,
        country,
        birthday,
        doc.get("is_guest"),
    )


def record_from_document(doc: Mapping[str, Any]) -> CustomerRecord:
    """:meth:`CustomerRecord.from_customer` of the customer whose stored document (as plain data) is ``doc``."""
    record_id, given, family, emails, phones, street, postal_code, city, country, birthday, guest = (
        fields_from_document(doc)
    )
    return CustomerRecord(
        id=record_id,
        given_name=given,
        family_name=family,
        email=emails[0] if emails else None,
        phone=phones[0] if phones else None,
        street=street,
        postal_code=postal_code,
        city=city,
        country=country,
        birthday=birthday,
        other_emails=emails[1:],
        other_phones=phones[1:],
        is_guest=guest,
    )
