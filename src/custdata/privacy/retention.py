"""Retention: personal data kept no longer than needed, removed by a sweep that reports what it did.

A :class:`RetentionPolicy` gives, per kind of data, the age after which it goes (None: kept):

- ``activity``: activity events older than this are deleted;
- ``communications``: communication events older than this are scrubbed (subject, body, error, provider id,
  metadata go; see :func:`custdata.privacy.erasure.scrub_communication`), or deleted with
  ``delete_communications=True``; so are the outbox entries created before then, in every state (the rendered
  message, error and provider id go; one still pending is cancelled), and the triggers of timers created
  before then that have fired or were cancelled (pending timers keep theirs until they fall due);
- ``order_details``: orders placed longer ago are pseudonymised (shipping address copy, tracking, return notes,
  metadata go; amounts, SKUs and dates stay; see :func:`custdata.privacy.erasure.pseudonymise_order`);
- ``guests_without_orders``: guest customers created longer ago who never ordered are deleted, with their
  communication and activity events; their outbox entries and timers are cancelled and emptied (their keys
  stay, so nothing is sent again). Guests merged into another customer stay: their ids still resolve. The
  records merged into a deleted guest go with it (they keep only a link to it), unless one of them has orders.

:func:`sweep` walks each kind in pages, one unit of work per page, so a sweep over millions of records never
holds one long transaction and can be stopped and re-run at any time: it is idempotent. ``clock`` gives the
time the ages are measured from (inject a fixed one in tests). With ``purge=True`` the store's
``purge_residue()`` runs at the end when anything changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

from custdata._telemetry import log_event
from custdata.domain import Customer
from custdata.domain.checks import Checker
from custdata.domain.redaction import pseudonymise_order, scrub_communication
from custdata.outbox.service import forget
from custdata.privacy._clock import Clock, read, utc_now
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.ports import has_outbox
from custdata.storage.ports import MAX_LIMIT, CustomerQuery, Page, Store, UnitOfWork, walk

log = logging.getLogger("custdata.privacy")
T = TypeVar("T")
_GUEST_REASON = "the guest record was deleted by the retention policy"
_OLD_REASON = "older than the retention policy keeps messages"


def _age(check: Checker, path: str, value: object) -> None:
    if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
        check.add(path, "must be a positive timedelta, or None to keep that data")


@attrs.frozen(kw_only=True)
class RetentionPolicy:
    """How long each kind of data is kept (see the module docstring); None keeps it."""

    activity: timedelta | None = None
    communications: timedelta | None = None
    delete_communications: bool = False
    order_details: timedelta | None = None
    guests_without_orders: timedelta | None = None

    def __attrs_post_init__(self) -> None:
        check = Checker()
        for name in ("activity", "communications", "order_details", "guests_without_orders"):
            _age(check, name, getattr(self, name))
        check.boolean("delete_communications", self.delete_communications)
        check.done()


@attrs.frozen
class RetentionReport:
    """What one :func:`sweep` did, per kind, measured from ``ran_at``."""

    ran_at: datetime
    activity_deleted: int = 0
    communications_scrubbed: int = 0
    communications_deleted: int = 0
    orders_pseudonymised: int = 0
    guests_deleted: int = 0
    purged: bool = False
    outbox_entries_scrubbed: int = 0
    timers_scrubbed: int = 0

    @property
    def changed(self) -> int:
        """How many records were changed or deleted in all."""
        return (
            self.activity_deleted
            + self.communications_scrubbed
            + self.communications_deleted
            + self.orders_pseudonymised
            + self.guests_deleted
            + self.outbox_entries_scrubbed
            + self.timers_scrubbed
        )


def sweep(
    store: Store, policy: RetentionPolicy, *, clock: Clock = utc_now, purge: bool = True, page_size: int = 500
) -> RetentionReport:
    """Apply ``policy`` to everything in ``store`` as of ``clock()``; returns what was done."""
    check = Checker()
    check.instance("policy", policy, RetentionPolicy)
    check.boolean("purge", purge)
    check.integer("page_size", page_size, minimum=1)
    if isinstance(page_size, int) and page_size > MAX_LIMIT:
        check.add("page_size", f"must be at most {MAX_LIMIT}")
    check.done()
    now = read(clock)
    kinds = ("activity_deleted", "communications_scrubbed", "communications_deleted", "orders_pseudonymised")
    counts = dict.fromkeys((*kinds, "guests_deleted", "outbox_entries_scrubbed", "timers_scrubbed"), 0)
    if policy.activity is not None:
        cutoff = now - policy.activity
        for uow, page in _pages(store, lambda u, c: u.activity.page(limit=page_size, cursor=c)):
            for item in page:
                if item.occurred_at < cutoff:
                    uow.activity.delete(item.id)
                    counts["activity_deleted"] += 1
    if policy.communications is not None:
        cutoff = now - policy.communications
        for uow, events in _pages(store, lambda u, c: u.communications.page(limit=page_size, cursor=c)):
            for event in events:
                if event.created_at >= cutoff:
                    continue
                if policy.delete_communications:
                    uow.communications.delete(event.id)
                    counts["communications_deleted"] += 1
                elif (scrubbed := scrub_communication(event)) != event:
                    uow.communications.update(scrubbed)
                    counts["communications_scrubbed"] += 1
        _expire_outbox(store, cutoff, now, page_size, counts)
    if policy.order_details is not None:
        cutoff = now - policy.order_details
        for uow, orders in _pages(store, lambda u, c: u.orders.page(limit=page_size, cursor=c)):
            for order in orders:
                if order.placed_at < cutoff and (clean := pseudonymise_order(order)) != order:
                    uow.orders.update(clean)
                    counts["orders_pseudonymised"] += 1
    if policy.guests_without_orders is not None:
        query = CustomerQuery(created_to=now - policy.guests_without_orders)
        for uow, customers in _pages(store, lambda u, c: u.customers.search(query, limit=page_size, cursor=c)):
            for customer in customers:
                if not customer.is_guest or customer.merged_into is not None:
                    continue
                group = [*_merged_into(uow, str(customer.id)), customer]  # its merged records go with it
                if any(uow.orders.count(customer_id=member.id) for member in group):
                    continue
                for member in group:
                    _delete_customer(uow, member.id, member.version, now, counts)
                counts["guests_deleted"] += 1
    report = RetentionReport(
        now,
        counts["activity_deleted"],
        counts["communications_scrubbed"],
        counts["communications_deleted"],
        counts["orders_pseudonymised"],
        counts["guests_deleted"],
        outbox_entries_scrubbed=counts["outbox_entries_scrubbed"],
        timers_scrubbed=counts["timers_scrubbed"],
    )
    if purge and report.changed:
        store.purge_residue()
        report = attrs.evolve(report, purged=True)
    log_event(log, "privacy.retention_sweep", **counts, purged=report.purged)
    return report


def _pages(store: Store, fetch: Callable[[UnitOfWork, str | None], Page[T]]) -> Iterator[tuple[UnitOfWork, Page[T]]]:
    """Each page of a listing in its own unit of work, committed once the caller is done with the page.

    The next page is asked for with the cursor of the last, which stays valid while records of earlier pages
    are deleted or changed (pages follow immutable keys).
    """
    cursor: str | None = None
    while True:
        with store.unit_of_work() as uow:
            page = fetch(uow, cursor)
            yield uow, page
            uow.commit()
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _merged_into(uow: UnitOfWork, survivor: str) -> list[Customer]:
    """Every record merged into ``survivor``, directly or through others, deepest first: deleting a guest leaves no
    record whose ``merged_into`` names a customer that is gone."""
    found: list[Customer] = []
    frontier = [survivor]
    while frontier:
        target = frontier.pop()
        query = CustomerQuery(merged_into=target)
        for record in walk(lambda c, q=query: uow.customers.search(q, cursor=c)):  # type: ignore[misc]
            if record.merged_into == target and all(record.id != f.id for f in found):
                found.append(record)
                frontier.append(str(record.id))
    return found[::-1]


def _delete_customer(uow: UnitOfWork, customer_id: Any, version: int, now: datetime, counts: dict[str, int]) -> None:
    if has_outbox(uow):
        gone = forget(uow, now=now, reason=_GUEST_REASON, customer_ids=[str(customer_id)])
        counts["outbox_entries_scrubbed"] += gone.entries
        counts["timers_scrubbed"] += gone.timers
    for event in list(walk(lambda c: uow.communications.for_customer(customer_id, cursor=c))):
        uow.communications.delete(event.id)
    for item in list(walk(lambda c: uow.activity.for_customer(customer_id, cursor=c))):
        uow.activity.delete(item.id)
    uow.customers.delete(customer_id, version=version)


def _expire_outbox(store: Store, cutoff: datetime, now: datetime, page_size: int, counts: dict[str, int]) -> None:
    """Outbox entries created before ``cutoff`` (any state) and finished timers created before it lose their
    personal data, as the communication events of that age did."""
    with store.unit_of_work() as probe:
        if not has_outbox(probe):
            return
    for state in OutboxState:
        fetch = _state_page(state, page_size)
        for uow, entries in _pages(store, fetch):
            old = [str(e.id) for e in entries if e.created_at < cutoff and _holds_data(e)]
            if old and has_outbox(uow):
                counts["outbox_entries_scrubbed"] += forget(uow, now=now, reason=_OLD_REASON, entry_ids=old).entries
    for uow, timers in _pages(store, _timer_page(page_size)):
        for timer in timers:
            if timer.created_at < cutoff and timer.state != TimerState.PENDING and timer.trigger and has_outbox(uow):
                counts["timers_scrubbed"] += uow.timers.forget(timer.key, reason=_OLD_REASON)


def _holds_data(entry: OutboxEntry) -> bool:
    pending = entry.state == OutboxState.PENDING
    return pending or entry.message is not None or entry.last_error is not None or entry.provider_id is not None


def _state_page(state: OutboxState, size: int) -> Callable[[UnitOfWork, str | None], Page[OutboxEntry]]:
    def fetch(uow: UnitOfWork, cursor: str | None) -> Page[OutboxEntry]:
        assert has_outbox(uow)
        return uow.outbox.with_state(state, limit=size, cursor=cursor)

    return fetch


def _timer_page(size: int) -> Callable[[UnitOfWork, str | None], Page[Timer]]:
    def fetch(uow: UnitOfWork, cursor: str | None) -> Page[Timer]:
        assert has_outbox(uow)
        return uow.timers.page(limit=size, cursor=cursor)

    return fetch
