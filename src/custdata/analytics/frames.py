"""Stored customers, orders, order lines and communication events as records and pandas DataFrames.

Each ``*_records`` function streams a store (or an open unit of work) a page at a time and yields one dict of
plain values per record: ids as strings, enums as their values, Money as its Decimal amount next to a
``currency`` column, times as aware datetimes. Each ``*_frame`` function builds a ``pandas.DataFrame`` from
the same records, column by column, so the dicts are not all held at once (pandas is imported only then; it
comes with ``pip install 'custdata[notebook]'``).

Personal data, the fields marked personal in :mod:`custdata.domain.personal` (names, email addresses, phone numbers,
birthdays, message subjects, bodies and delivery errors), is left out unless asked for with ``personal=True``.
Street addresses are never included; the shipping country is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from custdata._errors import ValidationError
from custdata.analytics._input import optional_module
from custdata.analytics.store import Source, check_page_size, reading
from custdata.domain import CommunicationEvent, Customer, Order
from custdata.domain.order_rules import refunded, return_counts
from custdata.storage.ports import CustomerQuery, Page, Store, UnitOfWork, walk

__all__ = [
    "COMMUNICATION_COLUMNS",
    "CUSTOMER_COLUMNS",
    "ORDER_COLUMNS",
    "ORDER_LINE_COLUMNS",
    "PERSONAL_COMMUNICATION_COLUMNS",
    "PERSONAL_CUSTOMER_COLUMNS",
    "communication_record",
    "communication_records",
    "communications_frame",
    "customer_record",
    "customer_records",
    "customers_frame",
    "order_line_records",
    "order_lines_frame",
    "order_record",
    "order_records",
    "orders_frame",
    "records_frame",
]

T = TypeVar("T")

CUSTOMER_COLUMNS = (
    "customer_id",
    "created_at",
    "updated_at",
    "version",
    "is_guest",
    "locale",
    "timezone",
    "country",
    "company_id",
    "tags",
    "groups",
    "has_email",
    "has_phone",
    "email_verified_at",
    "phone_verified_at",
    "redacted_at",
    "merged_into",
)
PERSONAL_CUSTOMER_COLUMNS = ("given_name", "family_name", "display_name", "email", "phone", "birthday")
ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "placed_at",
    "updated_at",
    "version",
    "status",
    "currency",
    "subtotal",
    "shipping",
    "tax",
    "discount",
    "total",
    "refunds",
    "lines",
    "items",
    "items_returned",
    "returns",
    "shipments",
    "country",
    "platform",
    "external_id",
)
ORDER_LINE_COLUMNS = (
    "order_id",
    "customer_id",
    "placed_at",
    "status",
    "line_id",
    "sku",
    "product_name",
    "variant",
    "quantity",
    "currency",
    "unit_price",
    "amount",
    "returned",
)
COMMUNICATION_COLUMNS = (
    "communication_id",
    "customer_id",
    "order_id",
    "channel",
    "topic",
    "direction",
    "status",
    "template",
    "created_at",
    "sent_at",
    "updated_at",
    "version",
    "ticket_id",
    "idempotency_key",
    "provider_id",
)
PERSONAL_COMMUNICATION_COLUMNS = ("subject", "body", "error", "suppression_reason")


def _stream(source: Source, page_size: int, fetch: Callable[[UnitOfWork, int, str | None], Page[T]]) -> Iterator[T]:
    """Every record ``fetch`` pages through; the arguments are checked now, the store is read when iterated."""
    if not isinstance(source, UnitOfWork | Store):
        raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")
    size = check_page_size(page_size)

    def pages() -> Iterator[T]:
        with reading(source) as uow:
            yield from walk(lambda cursor: fetch(uow, size, cursor))

    return pages()


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError.single(name, "must be true or false")
    return value


def _optional_id(name: str, value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError.single(name, "must be a non-empty string or None")
    return value


# -- records ----------------------------------------------------------------------------------------------


def customer_record(customer: Customer, *, personal: bool = False) -> dict[str, Any]:
    """One customer as a dict of plain values (personal fields only with ``personal=True``)."""
    shipping = customer.shipping_address
    record: dict[str, Any] = {
        "customer_id": str(customer.id),
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "version": customer.version,
        "is_guest": customer.is_guest,
        "locale": customer.locale,
        "timezone": customer.timezone,
        "country": None if shipping is None else shipping.country_code,
        "company_id": None if customer.company is None else str(customer.company.company.id),
        "tags": sorted(customer.tags),
        "groups": sorted(customer.groups),
        "has_email": customer.email is not None,
        "has_phone": customer.phone is not None,
        "email_verified_at": customer.email_verified_at,
        "phone_verified_at": customer.phone_verified_at,
        "redacted_at": customer.redacted_at,
        "merged_into": None if customer.merged_into is None else str(customer.merged_into),
    }
    if personal:
        record.update(
            given_name=customer.given_name,
            family_name=customer.family_name,
            display_name=customer.display_name,
            email=None if customer.email is None else str(customer.email),
            phone=None if customer.phone is None else str(customer.phone),
            birthday=customer.birthday,
        )
    return record


def _returned_items(order: Order) -> dict[str, int]:
    returned: dict[str, int] = {}
    for ret in order.returns:
        if return_counts(ret):
            for line in ret.lines:
                returned[line.line_id] = returned.get(line.line_id, 0) + line.quantity
    return returned


def order_record(order: Order) -> dict[str, Any]:
    """One order as a dict of plain values: its money figures, counts of lines, items, returns and shipments."""
    ref = order.external_ref
    return {
        "order_id": str(order.id),
        "customer_id": str(order.customer_id),
        "placed_at": order.placed_at,
        "updated_at": order.updated_at,
        "version": order.version,
        "status": order.status.value,
        "currency": order.currency,
        "subtotal": order.subtotal.amount,
        "shipping": order.shipping.amount,
        "tax": order.tax.amount,
        "discount": order.discount.amount,
        "total": order.total.amount,
        "refunds": refunded(order),
        "lines": len(order.lines),
        "items": order.item_count,
        "items_returned": sum(_returned_items(order).values()),
        "returns": len(order.returns),
        "shipments": len(order.shipments),
        "country": None if order.shipping_address is None else order.shipping_address.country_code,
        "platform": None if ref is None else ref.platform,
        "external_id": None if ref is None else ref.id,
    }


def order_line_records_of(order: Order) -> Iterator[dict[str, Any]]:
    """One dict per line of ``order``, with the quantity returned on counted returns."""
    returned = _returned_items(order)
    for line in order.lines:
        yield {
            "order_id": str(order.id),
            "customer_id": str(order.customer_id),
            "placed_at": order.placed_at,
            "status": order.status.value,
            "line_id": line.id,
            "sku": line.sku,
            "product_name": line.product_name,
            "variant": dict(line.variant),
            "quantity": line.quantity,
            "currency": line.unit_price.currency,
            "unit_price": line.unit_price.amount,
            "amount": line.unit_price.amount * line.quantity,
            "returned": returned.get(line.id, 0),
        }


def communication_record(event: CommunicationEvent, *, personal: bool = False) -> dict[str, Any]:
    """One communication event as a dict of plain values (subject, body and the provider's error, which may quote
    the recipient, only with ``personal=True``)."""
    record: dict[str, Any] = {
        "communication_id": str(event.id),
        "customer_id": str(event.customer_id),
        "order_id": None if event.order_id is None else str(event.order_id),
        "channel": event.channel.value,
        "topic": event.topic.value,
        "direction": event.direction.value,
        "status": event.status.value,
        "template": event.template,
        "created_at": event.created_at,
        "sent_at": event.sent_at,
        "updated_at": event.updated_at,
        "version": event.version,
        "ticket_id": event.ticket_id,
        "idempotency_key": event.idempotency_key,
        "provider_id": event.provider_id,
    }
    if personal:  # a notifier's reason for not sending may quote the address
        record.update(
            subject=event.subject, body=event.body, error=event.error, suppression_reason=event.suppression_reason
        )
    return record


# -- streams of records --------------------------------------------------------------------------------------


def customer_records(
    source: Source, query: CustomerQuery | None = None, *, personal: bool = False, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """The customers matching ``query`` (all when None), in id order, as records; see :func:`customer_record`."""
    if query is not None and not isinstance(query, CustomerQuery):
        raise ValidationError.single("query", f"must be a CustomerQuery or None, not {type(query).__name__}")
    personal = _flag("personal", personal)
    customers = _stream(source, page_size, lambda uow, size, c: uow.customers.search(query, limit=size, cursor=c))
    return (customer_record(customer, personal=personal) for customer in customers)


def _orders(source: Source, customer_id: str | None, page_size: int) -> Iterator[Order]:
    customer_id = _optional_id("customer_id", customer_id)
    if customer_id is None:
        return _stream(source, page_size, lambda uow, size, c: uow.orders.page(limit=size, cursor=c))
    return _stream(source, page_size, lambda uow, size, c: uow.orders.for_customer(customer_id, limit=size, cursor=c))


def order_records(source: Source, *, customer_id: str | None = None, page_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Every order (in id order), or one customer's (by time placed), as records; see :func:`order_record`."""
    return (order_record(order) for order in _orders(source, customer_id, page_size))


def order_line_records(
    source: Source, *, customer_id: str | None = None, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """One record per order line, orders in the order of :func:`order_records`."""
    return (record for order in _orders(source, customer_id, page_size) for record in order_line_records_of(order))


def communication_records(
    source: Source, *, customer_id: str | None = None, personal: bool = False, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every communication event (in id order), or one customer's (by time created), as records."""
    customer_id = _optional_id("customer_id", customer_id)
    personal = _flag("personal", personal)
    if customer_id is None:
        events = _stream(source, page_size, lambda uow, size, c: uow.communications.page(limit=size, cursor=c))
    else:
        events = _stream(
            source, page_size, lambda uow, size, c: uow.communications.for_customer(customer_id, limit=size, cursor=c)
        )
    return (communication_record(event, personal=personal) for event in events)


# -- DataFrames -----------------------------------------------------------------------------------------------


def records_frame(records: Iterable[dict[str, Any]], columns: Iterable[str]) -> Any:
    """A ``pandas.DataFrame`` of ``records`` with these columns, filled a column at a time."""
    pandas = optional_module("pandas", "notebook")
    names = list(columns)
    data: dict[str, list[Any]] = {name: [] for name in names}
    for record in records:
        for name in names:
            data[name].append(record[name])
    return pandas.DataFrame(data, columns=names)


def customers_frame(
    source: Source, query: CustomerQuery | None = None, *, personal: bool = False, page_size: int = 1000
) -> Any:
    """The customers matching ``query`` as a ``pandas.DataFrame``, one row per customer."""
    records = customer_records(source, query, personal=personal, page_size=page_size)
    return records_frame(records, CUSTOMER_COLUMNS + (PERSONAL_CUSTOMER_COLUMNS if personal else ()))


def orders_frame(source: Source, *, customer_id: str | None = None, page_size: int = 1000) -> Any:
    """Every order, or one customer's, as a ``pandas.DataFrame``, one row per order."""
    return records_frame(order_records(source, customer_id=customer_id, page_size=page_size), ORDER_COLUMNS)


def order_lines_frame(source: Source, *, customer_id: str | None = None, page_size: int = 1000) -> Any:
    """Every order line, or one customer's, as a ``pandas.DataFrame``, one row per line."""
    return records_frame(order_line_records(source, customer_id=customer_id, page_size=page_size), ORDER_LINE_COLUMNS)


def communications_frame(
    source: Source, *, customer_id: str | None = None, personal: bool = False, page_size: int = 1000
) -> Any:
    """Every communication event, or one customer's, as a ``pandas.DataFrame``, one row per event."""
    records = communication_records(source, customer_id=customer_id, personal=personal, page_size=page_size)
    return records_frame(records, COMMUNICATION_COLUMNS + (PERSONAL_COMMUNICATION_COLUMNS if personal else ()))
