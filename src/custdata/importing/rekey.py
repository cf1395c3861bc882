"""New ids for customers whose id earlier versions derived from an email address.

Such an id (``cus_<platform>_`` and 24 hex digits of the SHA-256 of the address) tells anyone who knows the
address which customer record is that person's, even after the record was erased. :func:`rekey_customer` gives
one customer a fresh random id, in the caller's unit of work, and moves everything that refers to the old one:

- the customer record (added under the new id, the old one deleted);
- its orders, communication events and activity events, and the ``merged_into`` links of records merged into it;
- its outbox entries and timers (:meth:`custdata.outbox.OutboxRepository.reassign`), the old id also gone from
  their keys and rendered messages, and from the idempotency keys of its communication events;
- the merge records that name it, on any timeline: the ids in them, and the versions they keep of the records
  moved here, so that a merge that could be undone before still can.

:func:`rekey_email_ids` does so for every such customer of a store, one unit of work per customer.
:func:`custdata.privacy.erase_customer` re-keys the customers it erases on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import attrs

from custdata.domain import Customer, CustomerId, EmailAddress
from custdata.domain.checks import Checker
from custdata.importing.convert import legacy_email_id
from custdata.merge.model import MERGE_EVENT
from custdata.merge.service import merge_events_naming
from custdata.outbox.ports import has_outbox
from custdata.storage.ports import CustomerQuery, Store, UnitOfWork, walk
from custdata.storage.records import replace_id

_log = logging.getLogger("custdata.importing")


def email_derived(customer_id: str, emails: Iterable[EmailAddress]) -> bool:
    """True when ``customer_id`` is the id earlier versions derived from one of ``emails``."""
    key = str(customer_id)
    platform = key[len("cus_") : -25]
    if not key.startswith("cus_") or not platform:
        return False
    return any(key == legacy_email_id(platform, email) for email in emails)


def rekey_customer(uow: UnitOfWork, customer_id: str, *, now: datetime | None = None) -> CustomerId:
    """Give the customer ``customer_id`` a fresh random id and move everything that refers to it (see the module
    docstring); the new id. Works in ``uow`` and does not commit: the caller commits it all at once.

    Raises :class:`custdata.NotFoundError` for an unknown id.
    """
    at = _now(now)
    customer = uow.customers.get(customer_id)
    old = str(customer.id)
    new = CustomerId.new()
    uow.customers.add(attrs.evolve(customer, id=new))
    versions: dict[str, tuple[int, int]] = {}  # record id -> (version before, version after) of what was written
    query = CustomerQuery(merged_into=old)
    for merged in list(walk(lambda c: uow.customers.search(query, cursor=c, limit=1000))):
        if merged.merged_into is None or str(merged.merged_into) != old:
            continue  # a store of an earlier release may not know the filter
        before = merged.version
        merged.merged_into = new
        uow.customers.update(merged)
        versions[str(merged.id)] = (before, merged.version)
    for order in list(walk(lambda c: uow.orders.for_customer(old, cursor=c))):
        before = order.version
        order.customer_id = new
        uow.orders.update(order)
        versions[str(order.id)] = (before, order.version)
    for event in list(walk(lambda c: uow.communications.for_customer(old, cursor=c))):
        before = event.version
        event.customer_id = new
        if event.idempotency_key is not None:
            event.idempotency_key = replace_id(event.idempotency_key, old, new)
        event.metadata = replace_id(event.metadata, old, new)
        uow.communications.update(event)
        versions[str(event.id)] = (before, event.version)
    for item in list(walk(lambda c: uow.activity.for_customer(old, cursor=c))):
        properties = (
            _merge_record(item.properties, old, new, versions) if item.event == MERGE_EVENT else item.properties
        )
        uow.activity.update(attrs.evolve(item, customer_id=new, properties=replace_id(properties, old, new)))
    for item in merge_events_naming(uow, old):
        properties = _merge_record(item.properties, old, new, versions)
        uow.activity.update(attrs.evolve(item, properties=properties))
    if has_outbox(uow):
        uow.outbox.reassign(old, new, now=at)
        uow.timers.reassign(old, new)
    uow.customers.delete(old, version=customer.version)
    return new


def rekey_email_ids(store: Store, *, now: Callable[[], datetime] | None = None) -> dict[CustomerId, CustomerId]:
    """Give every customer whose id is derived from one of its email addresses a fresh random id (see
    :func:`rekey_customer`), one unit of work per customer; the old ids mapped to the new ones.

    Only customers that still hold the address their id was made from are recognised: a record erased by an
    earlier version, or merged away (it keeps no address), is re-keyed when the customer it ended up in is
    erased, or not at all.
    """
    clock = now or (lambda: datetime.now(UTC))
    found: list[CustomerId] = []
    with store.unit_of_work() as uow:
        for customer in walk(lambda c: uow.customers.search(cursor=c, limit=1000)):
            if _derived(customer):
                found.append(customer.id)
    moved: dict[CustomerId, CustomerId] = {}
    for customer_id in found:
        with store.unit_of_work() as uow:
            current = uow.customers.get_many([customer_id]).get(customer_id)
            if current is None or not _derived(current):
                continue
            moved[customer_id] = rekey_customer(uow, customer_id, now=clock())
            uow.commit()
    _log.info("gave %d customers with ids derived from email addresses new ids", len(moved))
    return moved


def _derived(customer: Customer) -> bool:
    return email_derived(customer.id, customer.emails)


def _merge_record(properties: dict[str, Any], old: str, new: str, versions: dict[str, tuple[int, int]]) -> Any:
    """A merge record's properties with ``old`` replaced by ``new``, and the versions it keeps of records written
    on the way brought up to date (only where they were current, so that a stale record stays stale)."""
    data = replace_id(properties, old, new)
    for kind in ("orders", "communications"):
        for moved in data.get(kind) or ():
            if isinstance(moved, dict):
                _bump(moved, "version", versions.get(str(moved.get("id"))))
    kept = data.get("versions")
    if isinstance(kept, dict):
        for key in list(kept):
            _bump(kept, key, versions.get(str(key)))
    return data


def _bump(data: dict[str, Any], key: str, change: tuple[int, int] | None) -> None:
    if change is not None and data.get(key) == change[0]:
        data[key] = change[1]


def _now(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    check = Checker()
    check.timestamp("now", value)
    check.done()
    return value
