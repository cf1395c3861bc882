"""The repositories of a memory store's unit of work: the operations of every repository, then one per entity."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from custdata._errors import (
    ConflictError,
    ErrorCode,
    IntegrityError,
    NotFoundError,
    ValidationError,
)
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, EmailAddress, ExternalRef, Order, PhoneNumber
from custdata.storage.memory.data import UNIQUE_NAMES, Record, unique_values
from custdata.storage.ports import DEFAULT_LIMIT, CustomerQuery, Page, check_limit, suppression_digests
from custdata.storage.records import (
    ACTIVITY,
    COMMUNICATIONS,
    CUSTOMERS,
    ORDERS,
    Table,
    check_entity,
    check_id,
    check_mention,
    customer_keys,
    decode_cursor,
    decode_timed_cursor,
    document,
    email_term,
    email_terms,
    encode_cursor,
    entity_ids,
    holds_value,
    literal_in_json,
    load_documents,
    micros,
    name_key,
    phone_term,
    storable,
)

if TYPE_CHECKING:
    from custdata.storage.memory.store import MemoryUnitOfWork

E = TypeVar("E", Customer, Order, CommunicationEvent, ActivityEvent)
K = TypeVar("K", bound=str)


class MemoryRepository(Generic[E, K]):
    """The operations of every repository, over a unit of work's view."""

    def __init__(self, uow: MemoryUnitOfWork, table: Table[E]) -> None:
        self._uow = uow
        self._table: Table[E] = table

    def _record(self, entity: E, version: int | None) -> Record:
        keys: frozenset[tuple[str, str]] = (
            frozenset(customer_keys(entity)) if isinstance(entity, Customer) else frozenset()
        )
        cols = dict(zip(self._table.columns, self._table.values(entity), strict=True))
        doc = document(entity, version)
        try:
            doc.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError.single("", "contains a lone surrogate character, which cannot be stored") from None
        return Record(version, doc, cols, keys)

    def _checked(self, entity: object) -> E:
        checked: E = check_entity(entity, self._table.cls)
        checked.validate()
        return checked

    def _check_references(self, key: str, record: Record) -> None:
        table = self._table
        if table.belongs_to_customer:
            owner = record.cols["customer_id"]
            if owner is not None and self._uow.record("customers", owner) is None:
                raise IntegrityError(f"the customer referred to by {table.kind} {key!r} does not exist")
        for _, values in unique_values(table.name, record):
            if any(other != key for other in self._uow.with_unique(table.name, values)):
                message = f"another {table.kind} has the same {UNIQUE_NAMES[table.name]}"
                raise IntegrityError(message, code=ErrorCode.DUPLICATE)

    # -- writes -------------------------------------------------------------------------------------------

    def add(self, entity: E) -> None:
        checked = self._checked(entity)
        key = str(checked.id)
        self._uow.begin_write()
        if self._uow.record(self._table.name, key) is not None:
            raise IntegrityError(f"a {self._table.kind} with this id already exists", code=ErrorCode.DUPLICATE)
        record = self._record(checked, getattr(checked, "version", None) if self._table.versioned else None)
        self._check_references(key, record)
        self._uow.write(self._table.name, key, record)

    def add_many(self, entities: Iterable[E]) -> int:
        if isinstance(entities, (str, bytes)) or not isinstance(entities, Iterable):
            raise ValidationError.single("", f"must be an iterable of {self._table.cls.__name__}")
        count = 0
        for entity in entities:
            self.add(entity)
            count += 1
        return count

    def update(self, entity: E) -> None:
        checked = self._checked(entity)
        key = str(checked.id)
        self._uow.begin_write()
        stored = self._uow.record(self._table.name, key)
        if stored is None:
            raise NotFoundError(self._table.kind, key)
        if not self._table.versioned:
            record = self._record(checked, None)
            self._check_references(key, record)
            self._uow.write(self._table.name, key, record)
            return
        expected: int = getattr(checked, "version")  # noqa: B009 - activity has no version attribute
        self._check_version(key, expected, stored)
        record = self._record(checked, expected + 1)
        self._check_references(key, record)
        self._uow.write(self._table.name, key, record)
        _set_version(checked, expected + 1)

    def _check_version(self, key: str, expected: int, stored: Record) -> None:
        if stored.version != expected:
            raise ConflictError(self._table.kind, key, expected, stored.version)

    def _delete(self, entity_id: object, version: int | None) -> None:
        key = check_id(entity_id)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ValidationError.single("version", "must be an integer")
        self._uow.begin_write()
        stored = self._uow.record(self._table.name, key)
        if stored is None:
            raise NotFoundError(self._table.kind, key)
        if version is not None and stored.version != version:
            raise ConflictError(self._table.kind, key, version, stored.version)
        if self._table is CUSTOMERS:
            for child in (ORDERS, COMMUNICATIONS, ACTIVITY):
                if self._uow.children(child.name, key):
                    raise IntegrityError(f"customer {key!r} still has {child.name}; delete or move them first")
        self._uow.write(self._table.name, key, None)

    # -- reads ----------------------------------------------------------------------------------------------

    def _first(self, keys: list[str]) -> E | None:
        record = self._uow.record(self._table.name, keys[0]) if keys else None
        return None if record is None else load_documents(self._table.cls, [record.doc])[0]

    def get(self, entity_id: str) -> E:
        key = check_id(entity_id)
        record = self._uow.record(self._table.name, key)
        if record is None:
            raise NotFoundError(self._table.kind, key)
        return load_documents(self._table.cls, [record.doc])[0]

    def get_many(self, ids: Iterable[str]) -> dict[K, E]:
        keys = entity_ids(ids)
        docs = [r.doc for k in keys if (r := self._uow.record(self._table.name, k)) is not None]
        return {e.id: e for e in load_documents(self._table.cls, docs)}  # type: ignore[misc]

    def _paged(
        self, listing: str, ids: list[str], match: Callable[[Record], bool], limit: int, cursor: str | None
    ) -> Page[E]:
        size = check_limit(limit)
        start = 0 if cursor is None else bisect.bisect_right(ids, decode_cursor(listing, cursor))
        found: list[tuple[str, Record]] = []
        for key in ids[start:]:
            record = self._uow.record(self._table.name, key)
            if record is not None and match(record):
                found.append((key, record))
                if len(found) > size:
                    break
        more = len(found) > size
        found = found[:size]
        next_cursor = self._next_cursor(listing, [k for k, _ in found]) if more else None
        return Page(tuple(load_documents(self._table.cls, [r.doc for _, r in found])), next_cursor)

    def _next_cursor(self, listing: str, page_ids: list[str]) -> str:
        """The cursor continuing after a page holding ``page_ids`` (overridable for testing the contract)."""
        return encode_cursor(listing, page_ids[-1])

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[E]:
        return self._paged(self._table.name, self._uow.sorted_ids(self._table.name), _always, limit, cursor)

    def for_customer(self, customer_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[E]:
        owner = check_id(customer_id, "customer_id")
        size = check_limit(limit)
        listing = f"{self._table.name}.for_customer"
        after = None if cursor is None else decode_timed_cursor(listing, cursor)
        time = str(self._table.time_column)
        rows = []
        for key in self._uow.children(self._table.name, owner):
            record = self._uow.record(self._table.name, key)
            if record is not None:
                rows.append(((int(record.cols[time]), key), record))
        rows.sort(key=lambda item: item[0])
        start = 0 if after is None else bisect.bisect_right([k for k, _ in rows], after)
        chosen = rows[start : start + size + 1]
        more = len(chosen) > size
        chosen = chosen[:size]
        next_cursor = encode_cursor(listing, chosen[-1][0]) if more else None
        return Page(tuple(load_documents(self._table.cls, [r.doc for _, r in chosen])), next_cursor)

    def count(self, *, customer_id: str | None = None) -> int:
        if customer_id is None:
            return len(self._uow.sorted_ids(self._table.name))
        return len(self._uow.children(self._table.name, check_id(customer_id, "customer_id")))


def _always(record: Record) -> bool:
    return True


def _set_version(entity: Any, version: int) -> None:
    entity.version = version


class MemoryCustomerRepository(MemoryRepository[Customer, Any]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, CUSTOMERS)

    def delete(self, customer_id: str, *, version: int | None = None) -> None:
        self._delete(customer_id, version)

    def _by_key(self, field: str, value: str | None) -> list[Customer]:
        if value is None:
            return []
        docs = [r.doc for k in sorted(self._uow.with_key((field, value))) if (r := self._uow.record("customers", k))]
        return load_documents(Customer, docs)

    def find_by_email(self, email: str | EmailAddress) -> list[Customer]:
        return self._by_key("email", email_term(email))

    def find_by_emails(self, emails: Iterable[str | EmailAddress]) -> dict[str, list[Customer]]:
        return {term: self._by_key("email", term) for term in email_terms(emails)}

    def find_by_phone(self, phone: str | PhoneNumber, *, region: str | None = None) -> list[Customer]:
        return self._by_key("phone", phone_term(phone, region))

    def suppress(self, digests: Iterable[str]) -> int:
        return self._uow.suppress(suppression_digests(digests))

    def suppressed(self, digests: Iterable[str]) -> set[str]:
        return self._uow.suppressed(suppression_digests(digests))

    def unsuppress(self, digests: Iterable[str]) -> int:
        return self._uow.unsuppress(suppression_digests(digests))

    def _query(self, query: CustomerQuery | None) -> tuple[set[str] | None, Callable[[Record], bool]] | None:
        """Candidate ids (None for all) and a predicate for ``query``; None when nothing can match."""
        if query is None:
            return None, _always
        if not isinstance(query, CustomerQuery):
            raise ValidationError.single("query", f"must be a CustomerQuery, not {type(query).__name__}")
        candidates: set[str] | None = None
        for field, raw in (
            ("tag", query.tag),
            ("group", query.group),
            ("country", query.country),
            ("merged_into", query.merged_into),
        ):
            if raw is not None:
                value = storable(raw.strip().upper() if field == "country" else raw)
                if value is None:
                    return None
                found = self._uow.with_key((field, value))
                candidates = found if candidates is None else candidates & found
        prefix = None
        if query.name_prefix is not None:
            prefix = storable(name_key(query.name_prefix))
            if not prefix:
                return None
        bounds = [
            (column, None if low is None else micros(low), None if high is None else micros(high))
            for column, low, high in (
                ("created_us", query.created_from, query.created_to),
                ("updated_us", query.updated_from, query.updated_to),
            )
        ]

        def match(record: Record) -> bool:
            for column, low, high in bounds:
                value = record.cols[column]
                if (low is not None and value < low) or (high is not None and value >= high):
                    return False
            return prefix is None or any(f == "name" and v.startswith(prefix) for f, v in record.keys)

        return candidates, match

    def search(
        self, query: CustomerQuery | None = None, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Customer]:
        check_limit(limit)
        plan = self._query(query)
        if plan is None:
            if cursor is not None:
                decode_cursor("customers", cursor)
            return Page(())
        candidates, match = plan
        return self._paged("customers", self._uow.sorted_ids("customers", candidates), match, limit, cursor)

    def count(self, query: CustomerQuery | None = None) -> int:  # type: ignore[override]
        plan = self._query(query)
        if plan is None:
            return 0
        candidates, match = plan
        ids = self._uow.sorted_ids("customers", candidates)
        return sum(1 for k in ids if (r := self._uow.record("customers", k)) is not None and match(r))


class MemoryOrderRepository(MemoryRepository[Order, Any]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, ORDERS)

    def delete(self, order_id: str, *, version: int | None = None) -> None:
        self._delete(order_id, version)

    def find_by_external_ref(self, ref: ExternalRef) -> Order | None:
        check_entity(ref, ExternalRef, "ref")
        return self._first(self._uow.with_unique("orders", (ref.platform, ref.id)))


class MemoryCommunicationRepository(MemoryRepository[CommunicationEvent, Any]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, COMMUNICATIONS)

    def delete(self, event_id: str, *, version: int | None = None) -> None:
        self._delete(event_id, version)

    def find_by_idempotency_key(self, key: str) -> CommunicationEvent | None:
        if not isinstance(key, str):
            raise ValidationError.single("key", f"must be a string, not {type(key).__name__}")
        return self._first(self._uow.with_unique("communications", (key,)))


class MemoryActivityRepository(MemoryRepository[ActivityEvent, Any]):
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, ACTIVITY)

    def delete(self, event_id: str) -> None:
        self._delete(event_id, None)

    def mentioning(self, event: str, value: str) -> list[ActivityEvent]:
        name, wanted = check_mention(event, value)
        if storable(name) is None or storable(wanted) is None:
            return []
        text = wanted if literal_in_json(wanted) else ""
        found = [
            item
            for key in self._uow.sorted_ids("activity")
            if (record := self._uow.record("activity", key)) is not None and text in record.doc
            for item in load_documents(ActivityEvent, [record.doc])
        ]
        return [e for e in found if e.event == name and holds_value(e.properties, wanted)]
