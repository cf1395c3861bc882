"""Right to erasure: a customer's personal data removed, the order financials kept for the accounts.

:func:`erase_customer` does, in one unit of work:

- **the customer**: names, emails, phones, address book, birthday, company, tags, locale, time zone,
  preferences and both metadata dicts are cleared; the consent ledger becomes one ``redacted`` record per
  purpose and channel (sources dropped); ``redacted_at`` is set. The id, ``created_at``, ``is_guest``, groups
  and ``merged_into`` stay, so that orders still add up per (now anonymous) customer;
- **orders** are pseudonymised: the shipping address copy, tracking numbers and links, carrier messages and
  locations, return notes and the metadata (except keys listed in ``keep_order_metadata``) go; amounts,
  currency, dates, SKUs, product names, quantities, statuses and external references stay;
- **communication events** are scrubbed: subject, body, error, provider id and metadata go; channel, topic,
  status, template, idempotency key and times stay (so a message is still never sent twice);
- **activity** is scrubbed: the anonymous id and the properties (except ``keep_activity_properties``) go;
- **the outbox**: every entry and timer of the person, in any state, whether filed under its id or under the id
  of a record merged into it (messages keep the id they were queued under), about one of its orders or recorded
  as one of its communication events: pending messages are cancelled, also while a dispatcher holds their lease
  (their events become ``suppressed``), pending timers too; every entry loses its rendered message and provider
  replies, every timer its triggering event (the idempotency keys stay, so nothing is sent again);
- customer records **merged into** this one, directly or through a chain of merges, or absorbed at verification
  (found by their ``merged_into`` links, ``CustomerQuery(merged_into=...)``, and by the merge records on its
  timeline), are erased the same way, whatever they hold (a guest record with nothing but a pending cart reminder
  included). Asked to erase a record that was merged into another, it erases the customer it ended up in (see
  :func:`custdata.merge.resolve`): that is where the person's data now is. The merge records on the timeline
  lose all their properties (the snapshots of the customers), whatever ``keep_activity_properties`` says, so
  that no undo can bring the data back; merge records on other timelines that name an erased record (undone
  merges, also those earlier versions left with whole snapshots) keep no snapshot of it;
- **ids made from an email address** by earlier versions (see :func:`custdata.importing.rekey_customer`): such a
  record of the person gets a fresh random id first, with everything that refers to it, so that the address no
  longer leads to it; the report's ``rekeyed`` lists the new ids.

An id no customer has any more, under which the outbox still keeps entries or timers, has those erased (the
report says ``customer_missing``).

Then, with ``purge=True`` (the default), the store's purge removes what the database may still keep of the
old values (SQLite: the write-ahead log and free pages; PostgreSQL: dead row versions).

Erasing is idempotent: running it again changes nothing that is already erased, keeps the first
``redacted_at``, and scrubs anything recorded for the customer since.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

import attrs

from custdata._errors import IntegrityError, NotFoundError, ProgrammingError, ValidationError
from custdata._telemetry import log_event
from custdata.domain import (
    CommunicationEvent,
    ConsentState,
    Customer,
    CustomerId,
    Order,
)
from custdata.domain.checks import Checker
from custdata.domain.ids import to_customer_id
from custdata.domain.personal import IDENTIFIER, NOT_PERSONAL, erased_values
from custdata.domain.redaction import pseudonymise_order as pseudonymise_order
from custdata.domain.redaction import scrub_activity as scrub_activity
from custdata.domain.redaction import scrub_communication as scrub_communication
from custdata.importing.rekey import email_derived, rekey_customer
from custdata.merge import MERGE_EVENT, MergeRecord, merges_of
from custdata.merge.service import merge_events_naming, without_snapshots
from custdata.outbox.service import Forgotten, forget
from custdata.privacy._clock import Clock, read, utc_now
from custdata.privacy.consent import redact_ledger
from custdata.storage.merges import follow_merges, resolve
from custdata.storage.outbox.ports import has_outbox
from custdata.storage.ports import CustomerQuery, Store, UnitOfWork, walk
from custdata.storage.suppression import check_key, keeping, suppress_emails

log = logging.getLogger("custdata.privacy")
_REASON = "the customer's personal data was erased"


@attrs.frozen
class ErasureReport:
    """What :func:`erase_customer` changed in this run (all zero when everything was already erased).

    ``customer_id`` is the customer erased (for an id that was merged into another, that other one);
    ``customers`` the customer records changed, ``erased_at`` when the customer was first erased.
    ``cancelled_messages`` counts the messages stopped before they went (leased ones included);
    ``outbox_entries`` and ``timers`` the outbox entries and timers whose personal data went (the cancelled
    messages among them). ``customer_missing`` is True when no customer has the id any more (deleted by a
    retention sweep, say) and only what the outbox still kept under it was erased. ``rekeyed`` lists the new ids
    of the records whose ids were derived from an email address and were replaced (``customer_id`` is then the
    new id of the customer). ``suppressed`` counts the addresses added to the suppression list (with
    ``suppression_key``).
    """

    customer_id: CustomerId = attrs.field(metadata=IDENTIFIER)
    erased_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    customers: tuple[CustomerId, ...] = attrs.field(default=(), metadata=IDENTIFIER)
    orders: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    communications: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    activity: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    purged: bool = attrs.field(default=False, metadata=NOT_PERSONAL)
    cancelled_messages: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    outbox_entries: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    timers: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    customer_missing: bool = attrs.field(default=False, metadata=NOT_PERSONAL)
    rekeyed: tuple[CustomerId, ...] = attrs.field(default=(), metadata=IDENTIFIER)
    suppressed: int = attrs.field(default=0, metadata=NOT_PERSONAL)

    @property
    def changed(self) -> bool:
        """True when this run changed anything (a record scrubbed, a message cancelled)."""
        return bool(
            self.customers
            or self.orders
            or self.communications
            or self.activity
            or self.cancelled_messages
            or self.outbox_entries
            or self.timers
            or self.rekeyed
            or self.suppressed
        )


def erase_customer(
    store: Store,
    customer_id: str,
    *,
    purge: bool = True,
    keep_order_metadata: Collection[str] = (),
    keep_activity_properties: Collection[str] = (),
    clock: Clock = utc_now,
    suppression_key: bytes | None = None,
) -> ErasureReport:
    """Erase one customer's personal data (see the module docstring) and report what changed.

    With ``suppression_key``, the digests of every email address the erased records had go on the store's
    suppression list first, in the same unit of work, so that imports given the same key do not bring the person
    back (see :mod:`custdata.storage.suppression`; a store without a suppression list is a ValidationError, before
    anything is written). Give the key on the first erasure: a run again finds no addresses left to add.

    An id that no customer has any more, but under which the store's outbox still keeps entries or timers (a
    customer deleted by a retention sweep before it cleaned the outbox), has those erased: the report says
    ``customer_missing``. Raises :class:`custdata.NotFoundError` for an id that is found nowhere; on any error
    nothing is written.
    """
    check = Checker()
    check.boolean("purge", purge)
    order_keys = _keys(check, "keep_order_metadata", keep_order_metadata)
    activity_keys = _keys(check, "keep_activity_properties", keep_activity_properties)
    check.done()
    key = None if suppression_key is None else check_key(suppression_key)
    now = read(clock)
    with store.unit_of_work() as uow:
        if key is not None:
            keeping(uow.customers)
        try:
            customer = resolve(uow, customer_id)
        except NotFoundError:
            leftovers = _erase_leftovers(uow, customer_id, now)
            uow.commit()
            purged = _purge(store) if purge else False
            # not the id asked for: an id no customer has may be anything (an email address, say)
            log_event(
                log,
                "privacy.erased_leftovers",
                outbox_entries=leftovers.entries,
                cancelled_messages=leftovers.cancelled,
                timers=leftovers.timers,
            )
            return ErasureReport(
                to_customer_id(customer_id),
                now,
                purged=purged,
                cancelled_messages=leftovers.cancelled,
                outbox_entries=leftovers.entries,
                timers=leftovers.timers,
                customer_missing=True,
            )
        records = _Records(uow)
        targets, others = _identities(uow, customer, customer_id, records)
        rekeyed = _rekey(uow, targets, now)
        if rekeyed:
            records = _Records(uow)  # the re-keyed records moved their orders and events to the new ids
            customer = uow.customers.get(rekeyed.get(customer.id, customer.id))
            targets, more = _identities(uow, customer, customer.id, records)
            others = sorted({*others, *more})
        erased_at = customer.redacted_at or now
        counts = [0, 0, 0]
        changed: list[CustomerId] = []
        order_ids: set[str] = set()
        event_ids: set[str] = set()
        for target in targets:
            order_ids.update(str(o.id) for o in records.orders(target.id))
            event_ids.update(str(e.id) for e in records.events(target.id))
        outbox = Forgotten()
        if has_outbox(uow):
            outbox = forget(
                uow,
                now=now,
                reason=_REASON,
                customer_ids=[*(str(t.id) for t in targets), *others],
                order_ids=order_ids,
                entry_ids=event_ids,
            )
            records.reread_events()  # cancelling a message records it on its event
        suppressed = 0
        if key is not None:
            suppressed = suppress_emails(uow.customers, key, [email for t in targets for email in t.emails])
        for target in targets:
            if redact_customer(target, at=now):
                uow.customers.update(target)
                changed.append(target.id)
            for i, n in enumerate(_scrub_records(uow, records, target.id, order_keys, activity_keys)):
                counts[i] += n
        counts[2] += _strip_merge_records(uow, [t.id for t in targets])
        uow.commit()
    purged = _purge(store) if purge else False
    orders, communications, activity = counts
    report = ErasureReport(
        customer.id,
        erased_at,
        tuple(changed),
        orders,
        communications,
        activity,
        purged,
        outbox.cancelled,
        outbox.entries,
        outbox.timers,
        rekeyed=tuple(rekeyed.values()),
        suppressed=suppressed,
    )
    log_event(
        log,
        "privacy.erased",
        customer=customer.id,
        customer_records=len(changed),
        orders=orders,
        communications=communications,
        activity=activity,
        outbox_entries=outbox.entries,
        cancelled_messages=outbox.cancelled,
        timers=outbox.timers,
        rekeyed=len(rekeyed),
        suppressed=suppressed,
    )
    return report


def redact_customer(customer: Customer, *, at: datetime) -> bool:
    """Clear the customer's personal data in place (see the module docstring); False when there was none left."""
    before = copy.deepcopy(customer)
    # every field marked personal or linked (see custdata.domain.personal) goes; the address book and the company
    # go as a whole, and the consent ledger is replaced by its redaction
    cleared = erased_values(customer, addresses=(), company=None, consents=customer.consents)
    for name, value in cleared.items():
        setattr(customer, name, value)
    if any(r.state != ConsentState.REDACTED or r.source != "erasure" for r in customer.consents):
        redact_ledger(customer, at=at)
    if customer == before and customer.redacted_at is not None:
        return False
    if customer.redacted_at is None:
        customer.redacted_at = at
    customer.updated_at = max(customer.updated_at, at)
    return True


def _scrub_records(
    uow: UnitOfWork,
    records: _Records,
    customer_id: CustomerId,
    order_keys: frozenset[str],
    activity_keys: frozenset[str],
) -> tuple[int, int, int]:
    orders = communications = activity = 0
    for order in records.orders(customer_id):
        clean = pseudonymise_order(order, keep_metadata=order_keys)
        if clean != order:
            uow.orders.update(clean)
            orders += 1
    for event in records.events(customer_id):
        scrubbed = scrub_communication(event)
        if scrubbed != event:
            uow.communications.update(scrubbed)
            communications += 1
    for item in list(walk(lambda c: uow.activity.for_customer(customer_id, cursor=c))):
        # a merge record holds whole snapshots of customers: none of its properties may stay
        kept = frozenset() if item.event == MERGE_EVENT else activity_keys
        cleaned = scrub_activity(item, keep_properties=kept)
        if cleaned != item:
            uow.activity.update(cleaned)
            activity += 1
    return orders, communications, activity


class _Records:
    """Each customer's orders and communication events, read once per erasure: finding the person's records, the
    outbox entries about them and scrubbing them all need the same lists, and nothing else in the erasure's unit of
    work changes them before they are scrubbed, but for the events of the messages the outbox cancels."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._orders: dict[str, list[Order]] = {}
        self._events: dict[str, list[CommunicationEvent]] = {}

    def orders(self, customer_id: CustomerId) -> list[Order]:
        key = str(customer_id)
        if key not in self._orders:
            self._orders[key] = list(walk(lambda c: self._uow.orders.for_customer(customer_id, cursor=c)))
        return self._orders[key]

    def reread_events(self) -> None:
        self._events.clear()

    def events(self, customer_id: CustomerId) -> list[CommunicationEvent]:
        key = str(customer_id)
        if key not in self._events:
            self._events[key] = list(walk(lambda c: self._uow.communications.for_customer(customer_id, cursor=c)))
        return self._events[key]


def _identities(
    uow: UnitOfWork, customer: Customer, requested: str, records: _Records
) -> tuple[list[Customer], list[str]]:
    """The customer records that are this person (``customer`` first, then every record that ends up in it), and
    the other ids under which the outbox may keep this person's messages (ids no customer has any more).

    Records are found through the merges on the customer's timeline (a merge's records, its own merge records
    among them, move to the survivor, so a chain of merges is all there), the ids followed to reach it, the
    records sharing one of its contact points, and the outbox: entries about its orders or recorded as its
    events name the ids the person's messages were filed under (guest records absorbed at verification, say).
    """
    candidates = {str(requested), *(str(i) for i in follow_merges(uow, requested)[1])}
    for record in merges_of(uow, customer.id):
        if record.undone_at is None:
            candidates.update(str(i) for i in record.merged_ids)
            for kind in ("orders", "communications", "activity"):
                candidates.update(str(m.from_customer) for m in getattr(record, kind))
    for email in customer.emails:
        candidates.update(str(c.id) for c in uow.customers.find_by_email(email))
    for phone in customer.phones:
        candidates.update(str(c.id) for c in uow.customers.find_by_phone(phone))
    if has_outbox(uow):
        order_ids = [str(o.id) for o in records.orders(customer.id)]
        if order_ids:
            candidates.update(str(e.customer_id) for e in uow.outbox.for_orders(order_ids))
            candidates.update(str(t.customer_id) for t in uow.timers.for_orders(order_ids))
        for event in records.events(customer.id):
            try:
                candidates.add(str(uow.outbox.get(str(event.id)).customer_id))
            except NotFoundError:
                continue
    candidates.update(str(c.id) for c in _merged_into(uow, customer.id))
    candidates.discard(str(customer.id))
    found = uow.customers.get_many(candidates)
    targets: dict[str, Customer] = {}
    for key, other in found.items():
        if other.merged_into is not None and _ends_in(uow, other, customer.id):
            targets[str(key)] = other
    missing = sorted(candidates - {str(k) for k in found})
    return [customer, *(targets[k] for k in sorted(targets))], missing


def _merged_into(uow: UnitOfWork, survivor: CustomerId) -> list[Customer]:
    """Every record merged or absorbed into ``survivor``, directly or through records merged into those."""
    found: dict[str, Customer] = {}
    frontier = [str(survivor)]
    while frontier:
        for other in _merged_directly(uow, frontier.pop()):
            if str(other.id) not in found and other.id != survivor:
                found[str(other.id)] = other
                frontier.append(str(other.id))
    return [found[k] for k in sorted(found)]


def _merged_directly(uow: UnitOfWork, survivor: str) -> list[Customer]:
    query = CustomerQuery(merged_into=survivor)
    found = walk(lambda c: uow.customers.search(query, cursor=c, limit=1000))
    # checked again: a store of an earlier release that ignores the filter must not make everyone a target
    return [c for c in found if c.merged_into is not None and str(c.merged_into) == str(survivor)]


def _rekey(uow: UnitOfWork, targets: list[Customer], now: datetime) -> dict[CustomerId, CustomerId]:
    """Give every record of the person whose id was derived from one of the person's email addresses (as earlier
    versions made them) a fresh random id, so that the address no longer leads to the erased records."""
    # imported here: custdata.importing sits above privacy and imports this module

    emails = [email for target in targets for email in target.emails]
    rekeyed: dict[CustomerId, CustomerId] = {}
    for target in targets:
        if email_derived(target.id, emails):
            rekeyed[target.id] = rekey_customer(uow, target.id, now=now)
    return rekeyed


def _strip_merge_records(uow: UnitOfWork, erased: list[CustomerId]) -> int:
    """Cut the snapshots of the erased customers out of the merge records that name them on other timelines (an
    undone merge is kept on its survivor's timeline): an undone merge record keeps no snapshot at all, another
    keeps those of the customers not erased. How many records changed."""
    changed = 0
    seen: set[str] = set()
    for customer_id in erased:
        for event in merge_events_naming(uow, customer_id):
            if str(event.id) in seen:
                continue
            seen.add(str(event.id))
            try:
                record = MergeRecord.from_event(event)
            except ValidationError:
                continue
            stripped = without_snapshots(record, None if record.undone_at is not None else erased)
            if stripped is not record:
                uow.activity.update(attrs.evolve(event, properties=stripped.to_event().properties))
                changed += 1
    return changed


def _ends_in(uow: UnitOfWork, other: Customer, survivor: CustomerId) -> bool:
    try:
        return resolve(uow, other.id).id == survivor
    except (NotFoundError, IntegrityError):
        return False


def _erase_leftovers(uow: UnitOfWork, customer_id: str, now: datetime) -> Forgotten:
    """What the outbox keeps under an id no customer has; NotFoundError when it keeps nothing either."""
    if not has_outbox(uow) or not (uow.outbox.for_customer(customer_id) or uow.timers.for_customer(customer_id)):
        raise NotFoundError("customer", str(customer_id))
    return forget(uow, now=now, reason=_REASON, customer_ids=[customer_id])


def _purge(store: Store) -> bool:
    """Run the store's ``purge_residue()``; a store without one is refused rather than silently left dirty."""
    purge_residue = getattr(store, "purge_residue", None)
    if not callable(purge_residue):
        raise ProgrammingError(
            f"{type(store).__name__} has no purge_residue(); erase with purge=False and clear its files yourself"
        )
    purge_residue()
    return True


def _keys(check: Checker, path: str, value: Any) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Collection) or not all(isinstance(k, str) for k in value):
        check.add(path, "must be a collection of key names")
        return frozenset()
    return frozenset(value)
