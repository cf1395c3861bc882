"""The customer 360 view: everything known about one customer, read from a store in one call.

:func:`customer_360` follows merges (a customer whose ``merged_into`` is set stands for the survivor, so an
old id still leads to the whole picture), reads the survivor's profile, orders (with shipments, tracking and
returns), communication events and activity, and returns them together with one chronological timeline and
the summary figures. Merging (:mod:`custdata.merge`, guest registration) moves records to the survivor; any
record still filed under an id that was followed to reach it is included too, as it belongs to the same
person.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import attrs

from custdata._errors import MissingExtraError, ValidationError
from custdata.customer360.figures import Figures, OpenIssue, figures
from custdata.customer360.timeline import EntryKind, TimelineEntry, build_timeline, is_support_contact
from custdata.domain import (
    ActivityEvent,
    Address,
    CommunicationEvent,
    Customer,
    CustomerId,
    Order,
    Return,
    Shipment,
)
from custdata.storage.merges import MAX_CHAIN, follow_merges
from custdata.storage.ports import MAX_LIMIT, Page, Store, UnitOfWork, walk
from custdata.support.model import Conversation, build_conversations

T = TypeVar("T")

#: How many ``merged_into`` links are followed before the chain is declared broken (:data:`custdata.merge.MAX_CHAIN`).
MAX_MERGE_HOPS = MAX_CHAIN
#: The columns of :meth:`Customer360.to_records` and ``to_pandas``.
RECORD_COLUMNS = ("at", "kind", "description", "ref", "order_id")


@attrs.frozen(repr=False)
class Customer360:
    """One customer's profile, orders, messages and activity, with a timeline and summary figures.

    ``customer`` is the surviving profile; ``requested_id`` the id asked for and ``merged_ids`` the ids that
    were followed to reach the survivor (empty when the requested customer was not merged). ``orders`` are
    in ``placed_at`` order, ``communications`` in ``created_at`` order, ``activity`` in ``occurred_at``
    order; ``timeline`` is everything together, oldest first.
    """

    customer: Customer
    requested_id: CustomerId
    merged_ids: tuple[CustomerId, ...]
    orders: tuple[Order, ...]
    communications: tuple[CommunicationEvent, ...]
    activity: tuple[ActivityEvent, ...]
    timeline: tuple[TimelineEntry, ...]
    figures: Figures

    @property
    def addresses(self) -> tuple[Address, ...]:
        """The survivor's address book."""
        return self.customer.addresses

    @property
    def shipments(self) -> tuple[Shipment, ...]:
        """Every shipment of every order, with its tracking events, in order of the orders."""
        return tuple(s for order in self.orders for s in order.shipments)

    @property
    def returns(self) -> tuple[Return, ...]:
        """Every return of every order, in order of the orders."""
        return tuple(r for order in self.orders for r in order.returns)

    @property
    def support_contacts(self) -> tuple[CommunicationEvent, ...]:
        """The inbound support messages, oldest first."""
        return tuple(e for e in self.communications if is_support_contact(e))

    @property
    def conversations(self) -> tuple[Conversation, ...]:
        """The customer's support conversations (:mod:`custdata.support`), oldest first."""
        return tuple(build_conversations(self.communications))

    @property
    def open_conversations(self) -> tuple[Conversation, ...]:
        """The conversations not solved yet: open, or waiting on the customer."""
        return tuple(c for c in self.conversations if c.is_open)

    @property
    def open_issues(self) -> tuple[OpenIssue, ...]:
        """Late or failed deliveries and open returns (the same as ``figures.open_issues``)."""
        return self.figures.open_issues

    def entries(self, *kinds: EntryKind | str) -> tuple[TimelineEntry, ...]:
        """The timeline entries of the given kinds (all when none are given), oldest first."""
        if not kinds:
            return self.timeline
        wanted = set()
        for i, kind in enumerate(kinds):
            try:
                wanted.add(EntryKind(kind))
            except ValueError:
                choices = ", ".join(k.value for k in EntryKind)
                raise ValidationError.single(f"kinds[{i}]", f"must be one of {choices}") from None
        return tuple(e for e in self.timeline if e.kind in wanted)

    def to_records(self) -> list[dict[str, Any]]:
        """The timeline as a list of dicts of plain values (``at``, ``kind``, ``description``, ``ref``,
        ``order_id``), oldest first; like the descriptions, free of personal data."""
        return [
            {
                "at": e.at,
                "kind": e.kind.value,
                "description": e.description,
                "ref": e.ref,
                "order_id": None if e.order_id is None else str(e.order_id),
            }
            for e in self.timeline
        ]

    def to_pandas(self) -> Any:
        """The timeline as a ``pandas.DataFrame`` (needs ``pip install 'custdata[notebook]'``)."""
        try:
            pandas = importlib.import_module("pandas")
        except ImportError:
            raise MissingExtraError("pandas", "notebook") from None
        return pandas.DataFrame.from_records(self.to_records(), columns=list(RECORD_COLUMNS))

    def __repr__(self) -> str:
        merged = f", merged from {list(self.merged_ids)}" if self.merged_ids else ""
        return (
            f"Customer360(customer_id={self.customer.id!r}{merged}, orders={len(self.orders)}, "
            f"timeline={len(self.timeline)} entries, open_issues={len(self.open_issues)})"
        )


@contextmanager
def _reading(source: Store | UnitOfWork) -> Iterator[UnitOfWork]:
    if isinstance(source, UnitOfWork):
        yield source
    elif isinstance(source, Store):
        with source.unit_of_work() as uow:
            yield uow
    else:
        raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")


def resolve_customer(uow: UnitOfWork, customer_id: str) -> tuple[Customer, tuple[CustomerId, ...]]:
    """The surviving customer for ``customer_id`` and the merged ids followed to reach it (oldest link first).

    Raises :class:`~custdata.NotFoundError` when an id in the chain does not exist, and
    :class:`~custdata.IntegrityError` when the chain loops or is longer than :data:`MAX_MERGE_HOPS`.
    """
    return follow_merges(uow, customer_id)


def _all(fetch: Callable[[str, str | None], Page[T]], ids: list[CustomerId]) -> list[T]:
    found: list[T] = []
    for cid in ids:
        found.extend(walk(partial(fetch, cid)))
    return found


def customer_360(source: Store | UnitOfWork, customer_id: str, *, now: datetime | None = None) -> Customer360:
    """Everything about one customer: profile, orders, shipments, returns, messages, activity, a timeline
    and summary figures as of ``now`` (a timezone-aware datetime; the current time when None).

    ``source`` is a store (read through a unit of work of its own, which writes nothing) or an open unit of
    work. A merged customer's id leads to the survivor. Raises :class:`~custdata.NotFoundError` for an
    unknown id and :class:`~custdata.ValidationError` for bad arguments.
    """
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise ValidationError.single("customer_id", "must be a non-empty string")
    if now is None:
        now = datetime.now(UTC)
    elif not isinstance(now, datetime):
        raise ValidationError.single("now", f"must be a datetime, not {type(now).__name__}")
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError.single("now", "must be timezone-aware (include an offset such as +00:00)")
    with _reading(source) as uow:
        customer, merged = resolve_customer(uow, customer_id)
        ids = [customer.id, *merged]
        merged_customers = list(uow.customers.get_many(merged).values())
        orders = _all(lambda cid, c: uow.orders.for_customer(cid, limit=MAX_LIMIT, cursor=c), ids)
        messages = _all(lambda cid, c: uow.communications.for_customer(cid, limit=MAX_LIMIT, cursor=c), ids)
        activity = _all(lambda cid, c: uow.activity.for_customer(cid, limit=MAX_LIMIT, cursor=c), ids)
    orders.sort(key=lambda o: (o.placed_at.astimezone(UTC), o.id))
    messages.sort(key=lambda e: (e.created_at.astimezone(UTC), e.id))
    activity.sort(key=lambda e: (e.occurred_at.astimezone(UTC), e.id))
    return Customer360(
        customer=customer,
        requested_id=merged[0] if merged else customer.id,
        merged_ids=merged,
        orders=tuple(orders),
        communications=tuple(messages),
        activity=tuple(activity),
        timeline=build_timeline([customer, *merged_customers], orders, messages, activity),
        figures=figures(orders, messages, as_of=now),
    )
