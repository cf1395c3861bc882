"""One chronological timeline of everything that happened to a customer, built from the stored records.

Each entry says when, what kind of thing happened, a short description made only of ids, statuses,
amounts and carriers (never names, addresses, message bodies or carrier free text, so it is safe to log
and to show), and the record it came from. Entries sort by time, then by kind (in :class:`EntryKind`
order), then by order and reference, so the same data always gives the same timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from custdata.domain import (
    ActivityEvent,
    CommunicationEvent,
    Customer,
    Direction,
    Order,
    OrderId,
    OrderStatus,
    Topic,
    TrackingStatus,
)


class EntryKind(StrEnum):
    """What a timeline entry records; entries at the same moment sort in this order."""

    CUSTOMER_CREATED = "customer_created"
    ORDER_PLACED = "order_placed"
    ORDER_STATUS = "order_status"
    SHIPMENT_SHIPPED = "shipment_shipped"
    TRACKING = "tracking"
    RETURN_REQUESTED = "return_requested"
    RETURN_UPDATED = "return_updated"
    MESSAGE = "message"
    SUPPORT_CONTACT = "support_contact"
    ACTIVITY = "activity"


_RANK = {kind: rank for rank, kind in enumerate(EntryKind)}


@attrs.frozen
class TimelineEntry:
    """Something that happened at ``at``: its kind, a PII-free description, the order it concerns (if any)
    and ``ref``, the id of the record it came from (order, shipment, return, message or activity id).

    ``record`` is that record itself (an Order, Shipment, TrackingEvent, Return, CommunicationEvent,
    ActivityEvent or the Customer), for drilling down; it takes no part in equality.
    """

    at: datetime
    kind: EntryKind
    description: str
    ref: str
    order_id: OrderId | None = None
    record: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def sort_key(self) -> tuple[datetime, int, str, str, str]:
        """(time, kind rank, order id, ref, description): the order of the timeline. Aware datetimes compare
        as instants, whatever their offsets."""
        return _key(self)


def _key(entry: TimelineEntry) -> tuple[datetime, int, str, str, str]:
    return (entry.at, _RANK[entry.kind], entry.order_id or "", entry.ref, entry.description)


_TRACKING = {status: status.value.replace("_", " ") for status in TrackingStatus}


def is_support_contact(event: CommunicationEvent) -> bool:
    """An inbound support message: what the customer asked the shop (the analytics count the same)."""
    return event.direction is Direction.INBOUND and event.topic is Topic.SUPPORT


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def _order_entries(order: Order) -> Iterator[TimelineEntry]:
    oid = order.id
    yield TimelineEntry(
        order.placed_at,
        EntryKind.ORDER_PLACED,
        f"Order {oid} placed: {_items(order.item_count)}, {order.total}",
        str(oid),
        oid,
        order,
    )
    for change in order.history:
        if change.status is not OrderStatus.PLACED:
            yield TimelineEntry(
                change.at, EntryKind.ORDER_STATUS, f"Order {oid} {change.status.value}", str(oid), oid, change
            )
    for shipment in order.shipments:
        if shipment.shipped_at is not None:
            yield TimelineEntry(  # no tracking number: it is personal data (see custdata.domain.personal)
                shipment.shipped_at,
                EntryKind.SHIPMENT_SHIPPED,
                f"Shipment {shipment.id} of order {oid} shipped with {shipment.carrier}",
                shipment.id,
                oid,
                shipment,
            )
        for event in shipment.events:
            yield TimelineEntry(
                event.happened_at,
                EntryKind.TRACKING,
                f"Shipment {shipment.id} ({shipment.carrier}): {_TRACKING[event.status]}",
                shipment.id,
                oid,
                event,
            )
    for ret in order.returns:
        reasons = ", ".join(sorted({line.reason.value.replace("_", " ") for line in ret.lines}))
        count = sum(line.quantity for line in ret.lines)
        yield TimelineEntry(
            ret.requested_at,
            EntryKind.RETURN_REQUESTED,
            f"Return {ret.id} of order {oid} requested: {_items(count)} ({reasons})",
            ret.id,
            oid,
            ret,
        )
        if ret.updated_at is not None and ret.updated_at != ret.requested_at:
            refund = f", refund {ret.refund}" if ret.refund is not None else ""
            yield TimelineEntry(
                ret.updated_at,
                EntryKind.RETURN_UPDATED,
                f"Return {ret.id} of order {oid} {ret.status.value}{refund}",
                ret.id,
                oid,
                ret,
            )


def _message_entry(event: CommunicationEvent) -> TimelineEntry:
    if is_support_contact(event):
        ticket = f" (ticket {event.ticket_id})" if event.ticket_id else ""
        text = f"Support contact by {event.channel.value}{ticket}"
        kind = EntryKind.SUPPORT_CONTACT
    else:
        arrow = "to" if event.direction is Direction.OUTBOUND else "from"
        text = (
            f"{event.channel.value.capitalize()} {arrow} customer: {event.topic.value.replace('_', ' ')}, "
            f"{event.status.value}"
        )
        kind = EntryKind.MESSAGE
    return TimelineEntry(event.created_at, kind, text, str(event.id), event.order_id, event)


def _activity_entry(event: ActivityEvent) -> TimelineEntry:
    return TimelineEntry(event.occurred_at, EntryKind.ACTIVITY, event.event, str(event.id), None, event)


def build_timeline(
    customers: Iterable[Customer],
    orders: Iterable[Order],
    communications: Iterable[CommunicationEvent],
    activity: Iterable[ActivityEvent],
) -> tuple[TimelineEntry, ...]:
    """Every entry of these records, sorted by :attr:`TimelineEntry.sort_key`."""
    entries: list[TimelineEntry] = [
        TimelineEntry(c.created_at, EntryKind.CUSTOMER_CREATED, f"Customer {c.id} created", str(c.id), None, c)
        for c in customers
    ]
    for order in orders:
        entries.extend(_order_entries(order))
    entries.extend(_message_entry(event) for event in communications)
    entries.extend(_activity_entry(event) for event in activity)
    entries.sort(key=_key)
    return tuple(entries)
