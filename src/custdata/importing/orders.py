"""Orders from input records: flat rows (one per order line, the rows of an order one after another) and
Shopify's order JSON (with its customer, shipping address, fulfilments and tracking).

A converted order names its customer by the id derived from the customer's reference in the source system.
An order that names only an email address (a guest checkout) and a Shopify order bring their customer along,
to be added when the store does not have it yet. Orders are never attached to a registered customer by email
alone (anyone who knows an address could then see that person's orders): a guest's orders go to a guest
record (:attr:`ImportedOrder.guest_email` says which address; the importer reuses a stored guest record with
that address, never a registered customer), which :mod:`custdata.privacy.guests` turns into a registration
after a verified step. A guest record gets a random id: an id derived from the address would identify the person.

Quantities and amounts are bounded (:data:`custdata.importing.convert.MAX_QUANTITY`, ``MAX_AMOUNT``) and the
order's sums are checked against the lines, so no row ends up stored with a wrong total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

import attrs

from custdata._errors import ValidationError
from custdata.domain import (
    Address,
    Customer,
    CustomerId,
    EmailAddress,
    ExternalRef,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    StatusChange,
    TrackingEvent,
    TrackingStatus,
)
from custdata.importing.convert import (
    IMPORTED_FROM,
    CustomerFields,
    Problems,
    amount,
    customer_from_fields,
    field,
    flag,
    looks_like_email,
    moment,
    order_id_for,
    past_moment,
    source_customer_id,
    text,
    whole,
)


@attrs.frozen
class ImportedOrder:
    """A validated order, and the customer to add with it if the store lacks it (a guest, a Shopify customer).

    ``guest_email`` is set for a guest checkout: ``new_customer`` is then a fresh guest record with that address,
    to be used only when the store (or the import) has no guest record with the address yet."""

    order: Order
    new_customer: Customer | None = None
    guest_email: EmailAddress | None = None


def order_from_rows(rows: Sequence[Mapping[str, Any]], *, platform: str, now: datetime | None = None) -> ImportedOrder:
    """One order from its flat rows (fields as in :data:`custdata.importing.ORDER_FIELDS`); order-level
    fields are read from the first row. Problems on line fields are named ``lines[i].field``. ``placed_at``
    may not lie after ``now`` (the import's time, by default the current time)."""
    now = now or datetime.now(UTC)
    problems = Problems()
    head = rows[0]
    reference = field(problems, head, "order_id", text)
    if reference is None and not problems.items:
        problems.add("order_id", "is required: it recognises the order when the file is imported again")
    currency = (field(problems, head, "currency", text) or "").upper()
    if not currency:
        problems.add("currency", "is required (an ISO 4217 code such as EUR)")
    placed = field(problems, head, "placed_at", lambda v: past_moment(v, now))
    if placed is None and not any(p.path == "placed_at" for p in problems.items):
        problems.add("placed_at", "is required")
    customer_id, guest_email = _customer_of(problems, head, platform)
    status = _status(problems, field(problems, head, "status", text))
    lines = []
    for index, row in enumerate(rows):
        sub = Problems()
        sku = field(sub, row, "sku", text)
        name = field(sub, row, "product_name", text) or sku
        count = field(sub, row, "quantity", whole)
        price = field(sub, row, "unit_price", lambda v: amount(v, currency)) if currency else None
        if price is None and count and currency and not sub.items:
            price = _unit_price(sub, field(sub, row, "line_total", lambda v: amount(v, currency)), count)
        variant = {k: v for k in ("size", "colour") if (v := field(sub, row, k, text)) is not None}
        line_id = field(sub, row, "line_id", text) or f"l{index + 1}"
        if sub.items:
            problems.items += [attrs.evolve(p, path=f"lines[{index}].{p.path}") for p in sub.items]
            continue
        try:
            lines.append(OrderLine(line_id, sku or "", name or "", count or 0, price or Money(0, currency), variant))
        except ValidationError as exc:
            problems.take(f"lines[{index}]", exc)
    money: dict[str, Any] = {}
    for name in ("shipping", "tax", "discount"):
        value = field(problems, head, name, lambda v: amount(v, currency)) if currency else None
        if value is not None:
            money[name] = value
    taxes_included = field(problems, head, "taxes_included", flag)
    stated = field(problems, head, "total", lambda v: amount(v, currency)) if currency else None
    problems.done()
    assert reference is not None and placed is not None and customer_id is not None
    if stated is not None and taxes_included is None:
        taxes_included = _taxes_in_prices(lines, money, stated)
    guest = None
    if guest_email is not None:
        guest = Customer(
            id=customer_id,
            created_at=min(placed, now),
            updated_at=max(placed, now),
            email=guest_email,
            is_guest=True,
            metadata={IMPORTED_FROM: platform},
        )
    try:
        order = Order(
            id=order_id_for(platform, reference),
            customer_id=customer_id,
            currency=currency,
            lines=tuple(lines),
            placed_at=placed,
            status=status,
            external_ref=ExternalRef(platform, reference),
            taxes_included=bool(taxes_included),
            history=(StatusChange(status, placed),),
            **money,
        )
    except ValidationError as exc:
        problems.take("", exc)
        problems.done()
        raise
    _check_sums(problems, order)
    if stated is not None and order.total.amount != stated.amount:
        problems.add(
            "total",
            f"is {stated.amount} but the order's lines, shipping, tax and discount add up to {order.total.amount}",
        )
        problems.done()
    return ImportedOrder(order, guest, guest_email)


def _taxes_in_prices(lines: Sequence[OrderLine], money: Mapping[str, Money], stated: Money) -> bool:
    """True when an export that does not say whether its prices include tax states a total that only adds up
    with the tax inside the prices (lines + shipping - discount, without the tax added again)."""
    with localcontext(prec=200):
        base = sum((line.unit_price.amount * line.quantity for line in lines), Decimal(0))
        for name, sign in (("shipping", 1), ("discount", -1)):
            if name in money:
                base += sign * money[name].amount
        tax = money["tax"].amount if "tax" in money else Decimal(0)
        return bool(tax) and base == stated.amount and base + tax != stated.amount


def _unit_price(problems: Problems, line_total: Money | None, count: int) -> Money | None:
    """The price of one item of a line whose export states the line's total (WooCommerce's ``item_subtotal``):
    the total divided by the quantity, refused unless that is an exact amount in the currency."""
    if line_total is None:
        return None
    with localcontext(prec=200):
        each = line_total.amount / count
    try:
        price = Money(each, line_total.currency)
    except ValidationError:
        price = None
    if price is None or price.amount * count != line_total.amount:
        problems.add("line_total", f"is not {count} times an amount in {line_total.currency}")
        return None
    return price


def _check_sums(problems: Problems, order: Order) -> None:
    """The order's subtotal and total, worked out again in plain decimals: an amount the model could not hold
    must never be stored as a wrong (such as zero) total."""
    with localcontext(prec=200):  # exact for any amount a Money may hold
        subtotal = sum((line.unit_price.amount * line.quantity for line in order.lines), Decimal(0))
        total = subtotal + order.shipping.amount - order.discount.amount
        if not order.taxes_included:
            total += order.tax.amount
        wrong = order.subtotal.amount != subtotal or order.total.amount != total
    if wrong:
        problems.add("lines", "the order's amounts add up to more than an amount of money can hold")
        problems.done()


def _customer_of(
    problems: Problems, row: Mapping[str, Any], platform: str
) -> tuple[CustomerId | None, EmailAddress | None]:
    """The customer's id, and the email when the order is a guest's (known only by the email; the id is then
    a fresh random one, for a guest record to be added unless the store has one with that address)."""
    reference = field(problems, row, "customer_id", text)
    if reference is not None and looks_like_email(reference):
        problems.add(
            "customer_id",
            "holds an email address; name the customer by its id, or give customer_email for a guest checkout",
        )
        return None, None
    if reference is not None:
        return source_customer_id(platform, reference), None
    raw = field(problems, row, "customer_email", text)
    if raw is None:
        problems.add("customer_id", "is required (or customer_email for a guest checkout): whose order is it?")
        return None, None
    email = field(problems, {"customer_email": raw}, "customer_email", EmailAddress.parse)
    if email is None:
        return None, None
    return CustomerId.new(), email


def _status(problems: Problems, value: str | None) -> OrderStatus:
    if value is None:
        return OrderStatus.PLACED
    try:
        return OrderStatus(value.lower())
    except ValueError:
        problems.add("status", f"must be one of {', '.join(s.value for s in OrderStatus)}")
        return OrderStatus.PLACED


# -- Shopify's order JSON -------------------------------------------------------------------------------------

_PAID = ("paid", "partially_refunded", "refunded", "partially_paid")


def order_from_shopify(data: Mapping[str, Any], *, now: datetime, platform: str = "shopify") -> ImportedOrder:
    """One order from Shopify's order JSON (the Admin API's ``order`` object)."""
    problems = Problems()
    reference = field(problems, data, "id", text)
    if reference is None and not problems.items:
        problems.add("id", "is required")
    currency = (field(problems, data, "currency", text) or "").upper()
    if not currency:
        problems.add("currency", "is required")
    placed = field(problems, data, "created_at", lambda v: past_moment(v, now))
    if placed is None and not any(p.path == "created_at" for p in problems.items):
        problems.add("created_at", "is required")
    lines = _shopify_lines(problems, data.get("line_items"), currency)
    shipping = Money(0, currency) if currency else None
    for index, item in enumerate(_list(problems, data, "shipping_lines")):
        if not isinstance(item, Mapping):
            problems.add(f"shipping_lines[{index}]", "must be an object")
            continue
        price = field(problems, item, "price", lambda v: amount(v, currency)) if currency else None
        if price is not None and shipping is not None:
            shipping = shipping + price
    tax = field(problems, data, "total_tax", lambda v: amount(v, currency)) if currency else None
    discount = field(problems, data, "total_discounts", lambda v: amount(v, currency)) if currency else None
    total = field(problems, data, "total_price", lambda v: amount(v, currency)) if currency else None
    taxes_included = bool(field(problems, data, "taxes_included", flag))
    address = _shopify_address(problems, data.get("shipping_address"), "shipping_address")
    customer = _shopify_customer(problems, data, now, platform)
    shipments = _shopify_shipments(problems, data.get("fulfillments"), {line.id for line in lines})
    cancelled = field(problems, data, "cancelled_at", moment)
    problems.done()
    assert reference is not None and placed is not None and customer is not None
    status = _shopify_status(data, shipments, cancelled)
    money: dict[str, Any] = {
        k: v for k, v in (("shipping", shipping), ("tax", tax), ("discount", discount)) if v is not None
    }
    try:
        order = Order(
            id=order_id_for(platform, reference),
            customer_id=customer.id,
            currency=currency,
            lines=tuple(lines),
            placed_at=placed,
            status=status,
            external_ref=ExternalRef(platform, reference),
            shipping_address=address,
            taxes_included=taxes_included,
            shipments=tuple(shipments),
            history=(StatusChange(status, cancelled or placed),),
            metadata={"name": str(data["name"])} if isinstance(data.get("name"), str) else {},
            **money,
        )
    except ValidationError as exc:
        problems.take("", exc)
        problems.done()
        raise
    _check_sums(problems, order)
    if total is not None and total != order.total:
        problems.add("total_price", f"is {total} but the lines, shipping, tax and discounts make {order.total}")
        problems.done()
    guest_email = customer.email if customer.is_guest and customer.metadata.get(IMPORTED_FROM) else None
    return ImportedOrder(order, customer, guest_email)


def _list(problems: Problems, data: Mapping[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(name, "must be a list")
        return []
    return value


def _shopify_lines(problems: Problems, items: Any, currency: str) -> list[OrderLine]:
    if not isinstance(items, list) or not items:
        problems.add("line_items", "must list at least one item")
        return []
    lines = []
    for index, item in enumerate(items):
        path = f"line_items[{index}]"
        if not isinstance(item, Mapping):
            problems.add(path, "must be an object")
            continue
        sub = Problems()
        item_id = field(sub, item, "id", text) or str(index + 1)
        sku = field(sub, item, "sku", text) or field(sub, item, "variant_id", text) or f"item-{item_id}"
        title = field(sub, item, "title", text) or field(sub, item, "name", text) or sku
        quantity = field(sub, item, "quantity", whole)
        price = field(sub, item, "price", lambda v: amount(v, currency)) if currency else None
        variant_title = field(sub, item, "variant_title", text)
        if sub.items:
            problems.items += [attrs.evolve(p, path=f"{path}.{p.path}") for p in sub.items]
            continue
        try:
            lines.append(
                OrderLine(
                    f"li{item_id}",
                    sku,
                    title,
                    quantity if quantity is not None else 0,
                    price or Money(0, currency or "XXX"),
                    {"variant": variant_title} if variant_title else {},
                )
            )
        except ValidationError as exc:
            problems.take(path, exc)
    return lines


def _shopify_address(problems: Problems, data: Any, path: str) -> Address | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        problems.add(path, "must be an object")
        return None
    sub = Problems()
    parts = {
        "first_name": "first_name",
        "last_name": "last_name",
        "company_name": "company",
        "street_address_1": "address1",
        "street_address_2": "address2",
        "city": "city",
        "postal_code": "zip",
        "country_code": "country_code",
        "country_area": "province_code",
    }
    values: dict[str, Any] = {ours: field(sub, data, theirs, text) or "" for ours, theirs in parts.items()}
    if sub.items:
        problems.items += [attrs.evolve(p, path=f"{path}.{p.path}") for p in sub.items]
        return None
    try:
        return Address(**values)
    except ValidationError as exc:
        theirs = {ours: f"{path}.{name}" for ours, name in parts.items()}
        for problem in exc.problems:
            problems.add(theirs.get(problem.path, f"{path}.{problem.path}"), problem.message)
        return None


def _shopify_customer(problems: Problems, data: Mapping[str, Any], now: datetime, platform: str) -> Customer | None:
    """The order's customer: Shopify's ``customer`` object, or a guest known only by the order's email.

    The order's own email (typed at checkout, never verified) becomes the customer's address only for a guest:
    a registered account keeps the addresses its own record gives."""
    embedded = data.get("customer")
    values: dict[str, Any]
    if isinstance(embedded, Mapping) and embedded.get("id") is not None:
        found = embedded.get("default_address")
        address: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        registered = embedded.get("state") in ("enabled", "invited")
        values = {
            "id": embedded.get("id"),
            "email": embedded.get("email") or (None if registered else data.get("email")),
            "phone": embedded.get("phone"),
            "given_name": embedded.get("first_name"),
            "family_name": embedded.get("last_name"),
            "created_at": embedded.get("created_at"),
            "is_guest": not registered,
            "tags": embedded.get("tags"),
            "company": address.get("company"),
            "street_address_1": address.get("address1"),
            "street_address_2": address.get("address2"),
            "city": address.get("city"),
            "postal_code": address.get("zip"),
            "country_code": address.get("country_code"),
            "country_area": address.get("province_code"),
        }
        path = "customer"
    elif data.get("email"):
        values = {"email": data.get("email"), "is_guest": True, "created_at": data.get("created_at")}
        path = ""
    else:
        problems.add("customer", "the order names no customer and no email")
        return None
    try:
        customer = customer_from_fields(values, CustomerFields(platform, now))
    except ValidationError as exc:
        problems.take(path, exc)
        return None
    return customer


def _shopify_shipments(problems: Problems, fulfillments: Any, line_ids: set[str]) -> list[Shipment]:
    if fulfillments is None:
        return []
    if not isinstance(fulfillments, list):
        problems.add("fulfillments", "must be a list")
        return []
    shipments = []
    for index, item in enumerate(fulfillments):
        path = f"fulfillments[{index}]"
        if not isinstance(item, Mapping) or item.get("status") in ("cancelled", "error", "failure"):
            continue
        sub = Problems()
        shipped = field(sub, item, "created_at", moment)
        updated = field(sub, item, "updated_at", moment) or shipped
        carried = _carried(sub, item.get("line_items"), line_ids)
        carrier = field(sub, item, "tracking_company", text) or "unknown"
        number = field(sub, item, "tracking_number", text)
        url = field(sub, item, "tracking_url", text)
        events: tuple[TrackingEvent, ...] = ()
        if item.get("shipment_status") == "delivered" and updated is not None:
            events = (TrackingEvent(TrackingStatus.DELIVERED, updated),)
        if sub.items:
            problems.items += [attrs.evolve(p, path=f"{path}.{p.path}") for p in sub.items]
            continue
        try:
            shipments.append(
                Shipment(
                    id=f"f{field(sub, item, 'id', text) or index + 1}",
                    carrier=carrier,
                    lines=carried,
                    tracking_number=number,
                    tracking_url=url,
                    shipped_at=shipped,
                    events=events,
                )
            )
        except ValidationError as exc:
            problems.take(path, exc)
    return shipments


def _carried(problems: Problems, items: Any, line_ids: set[str]) -> dict[str, int]:
    """Which order lines (and how many of each) a fulfilment holds."""
    if items is None:
        return {}
    if not isinstance(items, list):
        problems.add("line_items", "must be a list")
        return {}
    carried: dict[str, int] = {}
    for index, entry in enumerate(items):
        if not isinstance(entry, Mapping):
            problems.add(f"line_items[{index}]", "must be an object")
            continue
        line_id = f"li{field(problems, entry, 'id', text)}"
        quantity = field(problems, entry, "quantity", whole)
        if line_id in line_ids:
            carried[line_id] = quantity if quantity is not None else 1
    return carried


def _shopify_status(data: Mapping[str, Any], shipments: list[Shipment], cancelled: datetime | None) -> OrderStatus:
    if cancelled is not None:
        return OrderStatus.CANCELLED
    if shipments and all(s.events and s.events[-1].status == TrackingStatus.DELIVERED for s in shipments):
        return OrderStatus.DELIVERED
    if shipments or data.get("fulfillment_status") in ("fulfilled", "partial"):
        return OrderStatus.SHIPPED
    if data.get("financial_status") in _PAID:
        return OrderStatus.PAID
    return OrderStatus.PLACED
