"""HTML for lists of records, such as a page from a repository query: one summary row per customer, order,
message or activity event, personal data masked unless revealed.

``show(uow.customers.search(query))`` or ``show(list_of_orders)`` gives a table of the records that a notebook
user can scan; open one record with ``show(record)`` for all its details.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Order
from custdata.notebook.masking import email_text, mask_text, phone_text
from custdata.notebook.tables import block, fmt, muted, table


def _customer(c: Customer, reveal: bool) -> list[str]:
    countries = sorted({a.country_code for a in c.addresses})
    return [
        str(c.id),
        (c.name if reveal else mask_text(c.name)) or "",
        email_text(c.email, reveal),
        phone_text(c.phone, reveal),
        ", ".join(countries),
        "guest" if c.is_guest else "registered",
        fmt(c.tags),
        fmt(c.created_at),
    ]


def _order(o: Order, reveal: bool) -> list[str]:
    return [str(o.id), str(o.customer_id), o.status.value, fmt(o.placed_at), str(o.item_count), fmt(o.total)]


def _message(e: CommunicationEvent, reveal: bool) -> list[str]:
    return [
        str(e.id),
        str(e.customer_id),
        e.channel.value,
        e.direction.value,
        e.topic.value,
        e.status.value,
        fmt(e.created_at),
    ]


def _activity(e: ActivityEvent, reveal: bool) -> list[str]:
    return [str(e.id), e.event, str(e.customer_id or ""), e.anonymous_id or "", fmt(e.occurred_at)]


_KINDS: tuple[tuple[type[Any], str, list[str], Callable[[Any, bool], list[str]]], ...] = (
    (Customer, "Customers", ["id", "name", "email", "phone", "countries", "status", "tags", "created"], _customer),
    (Order, "Orders", ["id", "customer", "status", "placed", "items", "total"], _order),
    (
        CommunicationEvent,
        "Messages",
        ["id", "customer", "channel", "direction", "topic", "status", "created"],
        _message,
    ),
    (ActivityEvent, "Activity", ["id", "event", "customer", "anonymous id", "occurred"], _activity),
)


def listing_html(items: Sequence[object], *, reveal: bool, max_rows: int, more: bool = False) -> str | None:
    """A table of ``items`` when they are all customers, all orders, all messages or all activity events
    (None otherwise); ``more`` notes that further pages exist."""
    for kind, title, headers, row in _KINDS:
        if items and all(isinstance(item, kind) for item in items):
            body = table(headers, (row(item, reveal) for item in items[:max_rows]), total=len(items))
            note = muted("more on the next page: pass next_cursor to the same query") if more else ""
            return block(f"{title} ({len(items)})", body + note)
    return None
