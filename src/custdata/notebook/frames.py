"""Repository query results as plain records and pandas DataFrames: one row per customer, order, message or
activity event, with personal data masked unless revealed.

``to_pandas(uow.orders.for_customer(customer_id))`` gives a DataFrame to group and plot;
``to_records(...)`` gives the same rows as dicts of plain values (Decimal amounts, aware datetimes, str ids)
without pandas. Like the HTML renderings, the fields marked personal (:mod:`custdata.domain.personal`: names,
emails, phones) are masked unless ``reveal=True``, and free text (addresses, message subjects and bodies,
activity properties) is not part of the rows: a frame shared in a notebook should not carry personal data by
accident.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from custdata._errors import MissingExtraError, ValidationError
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, EmailAddress, Order, PhoneNumber
from custdata.notebook.masking import field_value
from custdata.storage.ports import Page


def _plain(obj: object, name: str, reveal: bool) -> Any:
    """Field ``name`` of ``obj`` as a plain value: masked when it is marked personal (unless ``reveal``), email
    addresses and phone numbers as their text."""
    value = field_value(obj, name, reveal)
    return str(value) if isinstance(value, (EmailAddress, PhoneNumber)) else value


def _customer(c: Customer, reveal: bool) -> dict[str, Any]:
    return {
        "id": str(c.id),
        **{name: _plain(c, name, reveal) for name in ("given_name", "family_name", "display_name", "email", "phone")},
        "countries": sorted({a.country_code for a in c.addresses}),
        "is_guest": c.is_guest,
        "groups": sorted(c.groups),
        "tags": sorted(c.tags),
        "locale": _plain(c, "locale", reveal),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "merged_into": None if c.merged_into is None else str(c.merged_into),
        "redacted_at": c.redacted_at,
    }


def _order(o: Order, reveal: bool) -> dict[str, Any]:
    return {
        "id": str(o.id),
        "customer_id": str(o.customer_id),
        "status": o.status.value,
        "placed_at": o.placed_at,
        "currency": o.currency,
        "items": o.item_count,
        "subtotal": o.subtotal.amount,
        "shipping": o.shipping.amount,
        "tax": o.tax.amount,
        "discount": o.discount.amount,
        "total": o.total.amount,
        "shipments": len(o.shipments),
        "returns": len(o.returns),
        "country": None if o.shipping_address is None else o.shipping_address.country_code,
        "external_ref": None if o.external_ref is None else str(o.external_ref),
    }


def _message(e: CommunicationEvent, reveal: bool) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "customer_id": str(e.customer_id),
        "channel": e.channel.value,
        "direction": e.direction.value,
        "topic": e.topic.value,
        "status": e.status.value,
        "order_id": None if e.order_id is None else str(e.order_id),
        "ticket_id": _plain(e, "ticket_id", reveal),
        "created_at": e.created_at,
        "sent_at": e.sent_at,
    }


def _activity(e: ActivityEvent, reveal: bool) -> dict[str, Any]:
    return {
        "id": str(e.id),
        "event": e.event,
        "customer_id": None if e.customer_id is None else str(e.customer_id),
        "anonymous_id": _plain(e, "anonymous_id", reveal),
        "occurred_at": e.occurred_at,
        "source": _plain(e, "source", reveal),
    }


_ROWS: dict[type[Any], Callable[[Any, bool], dict[str, Any]]] = {
    Customer: _customer,
    Order: _order,
    CommunicationEvent: _message,
    ActivityEvent: _activity,
}


def _kind(items: list[object]) -> Callable[[Any, bool], dict[str, Any]] | None:
    if not items:
        return None
    for kind, row in _ROWS.items():
        if isinstance(items[0], kind):
            for i, item in enumerate(items):
                if not isinstance(item, kind):
                    raise ValidationError.single(f"items[{i}]", f"must be {kind.__name__} like the first item")
            return row
    raise ValidationError.single(
        "items[0]", f"must be a Customer, Order, CommunicationEvent or ActivityEvent, not {type(items[0]).__name__}"
    )


def _items(items: object) -> list[object]:
    if isinstance(items, Page):
        return list(items.items)
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ValidationError.single("items", f"must be a Page or an iterable of records, not {type(items).__name__}")
    return list(items)


def to_records(items: Page[Any] | Iterable[Any], *, reveal: bool = False) -> list[dict[str, Any]]:
    """One dict of plain values per customer, order, message or activity event (all of one kind).

    >>> from datetime import datetime, timezone
    >>> from custdata import Customer
    >>> to_records([Customer("cus_1", datetime(2024, 1, 1, tzinfo=timezone.utc), given_name="Ann")])[0]["given_name"]
    'A***'
    """
    records = _items(items)
    row = _kind(records)
    return [] if row is None else [row(item, reveal) for item in records]


def to_pandas(items: Page[Any] | Iterable[Any], *, reveal: bool = False) -> Any:
    """The rows of :func:`to_records` as a ``pandas.DataFrame`` (needs ``pip install 'custdata[notebook]'``)."""
    try:
        pandas = importlib.import_module("pandas")
    except ImportError:
        raise MissingExtraError("pandas", "notebook") from None
    return pandas.DataFrame.from_records(to_records(items, reveal=reveal))
