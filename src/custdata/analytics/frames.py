"""Stored customers, orders, order lines, communication events and activity events as records and pandas
DataFrames.

Each ``*_records`` function streams a store (or an open unit of work) a page at a time and yields one dict of
plain values per record: ids as strings, enums as their values, Money as its Decimal amount next to a
``currency`` column, times as aware datetimes. Each ``*_frame`` function builds a ``pandas.DataFrame`` from
the same records, column by column, so the dicts are not all held at once (pandas is imported only then; it
comes with ``pip install 'custdata[notebook]'``). :func:`custdata.notebook.to_records` and ``to_pandas`` build
the same rows from models already in hand.

Personal data is what the models mark personal (:mod:`custdata.domain.personal`: names, email addresses, phone
numbers, birthdays, message subjects, bodies and delivery errors); the ``personal`` keyword says what the rows do
with it (:mod:`custdata.analytics.policy`): ``"omit"`` (the default) leaves those columns out, ``"mask"`` masks
their values, ``"reveal"`` shows them. A column is personal exactly when the model field it holds is marked
personal. Street addresses, metadata and activity properties are never columns; the shipping country is.

>>> from datetime import datetime, timezone
>>> ann = Customer("cus_1", datetime(2024, 1, 1, tzinfo=timezone.utc), given_name="Ann")
>>> "given_name" in customer_record(ann)
False
>>> customer_record(ann, personal="mask")["given_name"], customer_record(ann, personal="reveal")["given_name"]
('A***', 'Ann')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, TypeVar

from custdata._errors import ProgrammingError, ValidationError
from custdata.analytics._input import optional_module
from custdata.analytics.policy import DEFAULT_POLICY, PersonalPolicy, masked_value, personal_policy
from custdata.analytics.store import Source, check_page_size, reading
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Order, OrderLine, Personal, classification
from custdata.domain.order_rules import refunded, return_counts
from custdata.storage.ports import CustomerQuery, Page, Store, UnitOfWork, walk

__all__ = [
    "ACTIVITY_COLUMNS",
    "COMMUNICATION_COLUMNS",
    "CUSTOMER_COLUMNS",
    "ORDER_COLUMNS",
    "ORDER_LINE_COLUMNS",
    "PERSONAL_ACTIVITY_COLUMNS",
    "PERSONAL_COMMUNICATION_COLUMNS",
    "PERSONAL_CUSTOMER_COLUMNS",
    "PERSONAL_ORDER_COLUMNS",
    "PERSONAL_ORDER_LINE_COLUMNS",
    "activities_frame",
    "activity_record",
    "activity_records",
    "communication_record",
    "communication_records",
    "communications_frame",
    "customer_record",
    "customer_records",
    "customers_frame",
    "frame_columns",
    "order_line_records",
    "order_line_records_of",
    "order_lines_frame",
    "order_record",
    "order_records",
    "orders_frame",
    "records_frame",
]

T = TypeVar("T")


# -- columns ----------------------------------------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _enum_value(value: Any) -> Any:
    return value.value


def _amount(value: Any) -> Any:
    return value.amount


class _Column(NamedTuple):
    """One column of a record: its name, how the value is read from what the row is about, and whether it is
    personal, which it is exactly when it holds a model field marked personal."""

    name: str
    read: Callable[[Any], Any]
    plain: Callable[[Any], Any] = _same
    #: ``Model.field`` for a column that holds a field's value; None for a figure computed from the record.
    source: str | None = None
    personal: bool = False

    def value(self, row: Any, policy: PersonalPolicy) -> Any:
        """The plain value of this column for ``row``, masked when the column is personal and ``policy`` masks."""
        raw = self.read(row)
        return masked_value(raw) if self.personal and policy == "mask" else self.plain(raw)


def _field(
    model: type,
    name: str,
    *,
    column: str | None = None,
    plain: Callable[[Any], Any] = _same,
    via: Callable[[Any], Any] = _same,
) -> _Column:
    """A column holding field ``name`` of ``model`` (reached from the row by ``via``); personal when the field is
    marked personal."""
    kind = classification(model, name)
    if kind is None or kind is Personal.NESTED:
        raise ProgrammingError(f"{model.__name__}.{name} is {kind} and cannot be a column as it is")

    def read(row: Any) -> Any:
        return getattr(via(row), name)

    return _Column(column or name, read, plain, f"{model.__name__}.{name}", kind is Personal.PERSONAL)


def _fact(name: str, read: Callable[[Any], Any]) -> _Column:
    """A column computed from the record that holds no personal value (a count, a flag, a country)."""
    return _Column(name, read)


def _country(address: Any) -> str | None:
    return None if address is None else str(address.country_code)


def _returned_items(order: Order) -> dict[str, int]:
    returned: dict[str, int] = {}
    for ret in order.returns:
        if return_counts(ret):
            for line in ret.lines:
                returned[line.line_id] = returned.get(line.line_id, 0) + line.quantity
    return returned


_CUSTOMER = (
    _field(Customer, "id", column="customer_id", plain=str),
    _field(Customer, "created_at"),
    _field(Customer, "updated_at"),
    _field(Customer, "version"),
    _field(Customer, "is_guest"),
    _field(Customer, "locale"),
    _field(Customer, "timezone"),
    _fact("country", lambda c: _country(c.shipping_address)),
    _fact("company_id", lambda c: None if c.company is None else str(c.company.company.id)),
    _field(Customer, "tags", plain=sorted),
    _field(Customer, "groups", plain=sorted),
    _fact("has_email", lambda c: c.email is not None),
    _fact("has_phone", lambda c: c.phone is not None),
    _field(Customer, "email_verified_at"),
    _field(Customer, "phone_verified_at"),
    _field(Customer, "redacted_at"),
    _field(Customer, "merged_into", plain=_text),
    _field(Customer, "given_name"),
    _field(Customer, "family_name"),
    _field(Customer, "display_name"),
    _field(Customer, "email", plain=_text),
    _field(Customer, "phone", plain=_text),
    _field(Customer, "birthday"),
)
_ORDER = (
    _field(Order, "id", column="order_id", plain=str),
    _field(Order, "customer_id", plain=str),
    _field(Order, "placed_at"),
    _field(Order, "updated_at"),
    _field(Order, "version"),
    _field(Order, "status", plain=_enum_value),
    _field(Order, "currency"),
    _field(Order, "subtotal", plain=_amount),
    _field(Order, "shipping", plain=_amount),
    _field(Order, "tax", plain=_amount),
    _field(Order, "discount", plain=_amount),
    _field(Order, "total", plain=_amount),
    _fact("refunds", refunded),
    _fact("lines", lambda o: len(o.lines)),
    _fact("items", lambda o: o.item_count),
    _fact("items_returned", lambda o: sum(_returned_items(o).values())),
    _fact("returns", lambda o: len(o.returns)),
    _fact("shipments", lambda o: len(o.shipments)),
    _fact("country", lambda o: _country(o.shipping_address)),
    _fact("platform", lambda o: None if o.external_ref is None else o.external_ref.platform),
    _fact("external_id", lambda o: None if o.external_ref is None else o.external_ref.id),
)


def _of_order(row: tuple[Order, OrderLine, dict[str, int]]) -> Order:
    return row[0]


def _of_line(row: tuple[Order, OrderLine, dict[str, int]]) -> OrderLine:
    return row[1]


_ORDER_LINE = (
    _field(Order, "id", column="order_id", plain=str, via=_of_order),
    _field(Order, "customer_id", plain=str, via=_of_order),
    _field(Order, "placed_at", via=_of_order),
    _field(Order, "status", plain=_enum_value, via=_of_order),
    _field(OrderLine, "id", column="line_id", via=_of_line),
    _field(OrderLine, "sku", via=_of_line),
    _field(OrderLine, "product_name", via=_of_line),
    _field(OrderLine, "variant", plain=dict, via=_of_line),
    _field(OrderLine, "quantity", via=_of_line),
    _fact("currency", lambda row: row[1].unit_price.currency),
    _field(OrderLine, "unit_price", plain=_amount, via=_of_line),
    _fact("amount", lambda row: row[1].unit_price.amount * row[1].quantity),
    _fact("returned", lambda row: row[2].get(row[1].id, 0)),
)
_COMMUNICATION = (
    _field(CommunicationEvent, "id", column="communication_id", plain=str),
    _field(CommunicationEvent, "customer_id", plain=str),
    _field(CommunicationEvent, "order_id", plain=_text),
    _field(CommunicationEvent, "channel", plain=_enum_value),
    _field(CommunicationEvent, "topic", plain=_enum_value),
    _field(CommunicationEvent, "direction", plain=_enum_value),
    _field(CommunicationEvent, "status", plain=_enum_value),
    _field(CommunicationEvent, "template"),
    _field(CommunicationEvent, "created_at"),
    _field(CommunicationEvent, "sent_at"),
    _field(CommunicationEvent, "updated_at"),
    _field(CommunicationEvent, "version"),
    _field(CommunicationEvent, "ticket_id"),
    _field(CommunicationEvent, "idempotency_key"),
    _field(CommunicationEvent, "provider_id"),
    _field(CommunicationEvent, "subject"),
    _field(CommunicationEvent, "body"),
    _field(CommunicationEvent, "error"),  # a notifier's reply may quote the address
    _field(CommunicationEvent, "suppression_reason"),
)
_ACTIVITY = (
    _field(ActivityEvent, "id", column="activity_id", plain=str),
    _field(ActivityEvent, "event"),
    _field(ActivityEvent, "customer_id", plain=_text),
    _field(ActivityEvent, "anonymous_id"),
    _field(ActivityEvent, "occurred_at"),
    _field(ActivityEvent, "source"),
)

#: The columns of each kind of record, by the model a row is about.
_COLUMNS: dict[type, tuple[_Column, ...]] = {
    Customer: _CUSTOMER,
    Order: _ORDER,
    OrderLine: _ORDER_LINE,
    CommunicationEvent: _COMMUNICATION,
    ActivityEvent: _ACTIVITY,
}


def _kept(columns: tuple[_Column, ...]) -> tuple[str, ...]:
    return tuple(c.name for c in columns if not c.personal)


def _personal(columns: tuple[_Column, ...]) -> tuple[str, ...]:
    return tuple(c.name for c in columns if c.personal)


#: The columns of each kind of record with personal data omitted, and the columns of its fields marked personal
#: (added, masked or revealed, by the other policies).
CUSTOMER_COLUMNS = _kept(_CUSTOMER)
PERSONAL_CUSTOMER_COLUMNS = _personal(_CUSTOMER)
ORDER_COLUMNS = _kept(_ORDER)
PERSONAL_ORDER_COLUMNS = _personal(_ORDER)
ORDER_LINE_COLUMNS = _kept(_ORDER_LINE)
PERSONAL_ORDER_LINE_COLUMNS = _personal(_ORDER_LINE)
COMMUNICATION_COLUMNS = _kept(_COMMUNICATION)
PERSONAL_COMMUNICATION_COLUMNS = _personal(_COMMUNICATION)
ACTIVITY_COLUMNS = _kept(_ACTIVITY)
PERSONAL_ACTIVITY_COLUMNS = _personal(_ACTIVITY)


def frame_columns(kind: type, personal: PersonalPolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """The columns, in order, of the records of ``kind`` (``Customer``, ``Order``, ``OrderLine``,
    ``CommunicationEvent`` or ``ActivityEvent``) under the ``personal`` policy.

    >>> frame_columns(Customer, "reveal")[-3:]
    ('email', 'phone', 'birthday')
    """
    columns = _COLUMNS.get(kind) if isinstance(kind, type) else None
    if columns is None:
        raise ValidationError.single("kind", "must be Customer, Order, OrderLine, CommunicationEvent or ActivityEvent")
    policy = personal_policy(personal)
    return tuple(c.name for c in columns if policy != "omit" or not c.personal)


def _record(columns: tuple[_Column, ...], row: object, policy: PersonalPolicy) -> dict[str, Any]:
    return {c.name: c.value(row, policy) for c in columns if policy != "omit" or not c.personal}


# -- streams --------------------------------------------------------------------------------------------------


def _stream(source: Source, page_size: int, fetch: Callable[[UnitOfWork, int, str | None], Page[T]]) -> Iterator[T]:
    """Every record ``fetch`` pages through; the arguments are checked now, the store is read when iterated."""
    if not isinstance(source, UnitOfWork | Store):
        raise ValidationError.single("source", f"must be a store or a unit of work, not {type(source).__name__}")
    size = check_page_size(page_size)

    def pages() -> Iterator[T]:
        with reading(source) as uow:
            yield from walk(lambda cursor: fetch(uow, size, cursor))

    return pages()


def _optional_id(name: str, value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError.single(name, "must be a non-empty string or None")
    return value


# -- records ----------------------------------------------------------------------------------------------


def customer_record(customer: Customer, *, personal: PersonalPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """One customer as a dict of plain values (the columns of :func:`frame_columns`)."""
    return _record(_CUSTOMER, customer, personal_policy(personal))


def order_record(order: Order, *, personal: PersonalPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """One order as a dict of plain values: its money figures, counts of lines, items, returns and shipments."""
    return _record(_ORDER, order, personal_policy(personal))


def order_line_records_of(order: Order, *, personal: PersonalPolicy = DEFAULT_POLICY) -> Iterator[dict[str, Any]]:
    """One dict per line of ``order``, with the quantity returned on counted returns."""
    policy = personal_policy(personal)
    returned = _returned_items(order)
    return (_record(_ORDER_LINE, (order, line, returned), policy) for line in order.lines)


def communication_record(event: CommunicationEvent, *, personal: PersonalPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """One communication event as a dict of plain values (its subject, body, the provider's error and the reason it
    was suppressed, which may quote the recipient, are personal)."""
    return _record(_COMMUNICATION, event, personal_policy(personal))


def activity_record(event: ActivityEvent, *, personal: PersonalPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """One activity event as a dict of plain values (its properties are never part of it)."""
    return _record(_ACTIVITY, event, personal_policy(personal))


# -- streams of records --------------------------------------------------------------------------------------


def customer_records(
    source: Source,
    query: CustomerQuery | None = None,
    *,
    personal: PersonalPolicy = DEFAULT_POLICY,
    page_size: int = 1000,
) -> Iterator[dict[str, Any]]:
    """The customers matching ``query`` (all when None), in id order, as records; see :func:`customer_record`."""
    if query is not None and not isinstance(query, CustomerQuery):
        raise ValidationError.single("query", f"must be a CustomerQuery or None, not {type(query).__name__}")
    policy = personal_policy(personal)
    customers = _stream(source, page_size, lambda uow, size, c: uow.customers.search(query, limit=size, cursor=c))
    return (_record(_CUSTOMER, customer, policy) for customer in customers)


def _orders(source: Source, customer_id: str | None, page_size: int) -> Iterator[Order]:
    customer_id = _optional_id("customer_id", customer_id)
    if customer_id is None:
        return _stream(source, page_size, lambda uow, size, c: uow.orders.page(limit=size, cursor=c))
    return _stream(source, page_size, lambda uow, size, c: uow.orders.for_customer(customer_id, limit=size, cursor=c))


def order_records(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every order (in id order), or one customer's (by time placed), as records; see :func:`order_record`."""
    policy = personal_policy(personal)
    return (_record(_ORDER, order, policy) for order in _orders(source, customer_id, page_size))


def order_line_records(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """One record per order line, orders in the order of :func:`order_records`."""
    policy = personal_policy(personal)
    return (
        record
        for order in _orders(source, customer_id, page_size)
        for record in order_line_records_of(order, personal=policy)
    )


def communication_records(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every communication event (in id order), or one customer's (by time created), as records."""
    customer_id = _optional_id("customer_id", customer_id)
    policy = personal_policy(personal)
    if customer_id is None:
        events = _stream(source, page_size, lambda uow, size, c: uow.communications.page(limit=size, cursor=c))
    else:
        events = _stream(
            source, page_size, lambda uow, size, c: uow.communications.for_customer(customer_id, limit=size, cursor=c)
        )
    return (_record(_COMMUNICATION, event, policy) for event in events)


def activity_records(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every activity event (in id order), or one customer's, as records; see :func:`activity_record`."""
    customer_id = _optional_id("customer_id", customer_id)
    policy = personal_policy(personal)
    if customer_id is None:
        events = _stream(source, page_size, lambda uow, size, c: uow.activity.page(limit=size, cursor=c))
    else:
        events = _stream(
            source, page_size, lambda uow, size, c: uow.activity.for_customer(customer_id, limit=size, cursor=c)
        )
    return (_record(_ACTIVITY, event, policy) for event in events)


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
    source: Source,
    query: CustomerQuery | None = None,
    *,
    personal: PersonalPolicy = DEFAULT_POLICY,
    page_size: int = 1000,
) -> Any:
    """The customers matching ``query`` as a ``pandas.DataFrame``, one row per customer."""
    policy = personal_policy(personal)
    records = customer_records(source, query, personal=policy, page_size=page_size)
    return records_frame(records, frame_columns(Customer, policy))


def orders_frame(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Any:
    """Every order, or one customer's, as a ``pandas.DataFrame``, one row per order."""
    policy = personal_policy(personal)
    records = order_records(source, customer_id=customer_id, personal=policy, page_size=page_size)
    return records_frame(records, frame_columns(Order, policy))


def order_lines_frame(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Any:
    """Every order line, or one customer's, as a ``pandas.DataFrame``, one row per line."""
    policy = personal_policy(personal)
    records = order_line_records(source, customer_id=customer_id, personal=policy, page_size=page_size)
    return records_frame(records, frame_columns(OrderLine, policy))


def communications_frame(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Any:
    """Every communication event, or one customer's, as a ``pandas.DataFrame``, one row per event."""
    policy = personal_policy(personal)
    records = communication_records(source, customer_id=customer_id, personal=policy, page_size=page_size)
    return records_frame(records, frame_columns(CommunicationEvent, policy))


def activities_frame(
    source: Source, *, customer_id: str | None = None, personal: PersonalPolicy = DEFAULT_POLICY, page_size: int = 1000
) -> Any:
    """Every activity event, or one customer's, as a ``pandas.DataFrame``, one row per event."""
    policy = personal_policy(personal)
    records = activity_records(source, customer_id=customer_id, personal=policy, page_size=page_size)
    return records_frame(records, frame_columns(ActivityEvent, policy))
