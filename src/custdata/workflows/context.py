"""The shop's own details, and the template variables each kind of trigger provides.

Variables are plain, display-ready values (strings, numbers, booleans, a list of item dicts) or None when the
trigger lacks the datum (a parcel without tracking link). Which names each trigger provides is fixed
(:func:`available`), so that a rule whose templates need a variable its trigger cannot give is refused when
the workflows are set up, not when a customer is waiting for the message.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from datetime import datetime
from typing import Any

import attrs

from custdata._errors import ValidationError
from custdata.domain import ActivityEvent, Channel, Customer, Order, Topic
from custdata.domain.checks import Checker
from custdata.lifecycle.events import (
    DeliveryFailed,
    OrderCancelled,
    OrderEvent,
    OrderPlaced,
    OutForDelivery,
    RefundIssued,
    ReturnEvent,
    ReturnRequested,
    ShipmentDelivered,
    ShipmentEvent,
)
from custdata.notify.message import url_problem
from custdata.workflows.rules import Trigger
from custdata.workflows.templates import COMMON_VARIABLES

_URL_FIELDS = frozenset({"shop_url", "order_id", "customer_id", "channel", "token"})


def _check_url_template(check: Checker, path: str, value: object, *, https: bool = False) -> None:
    if not check.text(path, value, max_length=2048):
        return
    assert isinstance(value, str)
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError:
        check.add(path, "is not a valid format string (check the braces)")
        return
    unknown = sorted(fields - _URL_FIELDS)
    if unknown:
        check.add(path, f"uses {', '.join(unknown)}; the fields are {', '.join(sorted(_URL_FIELDS))}")
        return
    sample = value.format(shop_url="https://shop.example", order_id="o", customer_id="c", channel="e", token="t")
    problem = url_problem(sample, schemes=("https",) if https else ("http", "https"))
    if problem:
        check.add(path, problem)


@attrs.frozen(kw_only=True)
class Shop:
    """Who sends the messages, and the links they carry.

    Link templates are format strings with the fields ``{shop_url}``, ``{order_id}``, ``{customer_id}``,
    ``{channel}`` and ``{token}`` (an HMAC-SHA256 of customer and channel under ``secret``, so that an
    unsubscribe link cannot be forged for someone else). The unsubscribe link must be ``https``.
    """

    name: str
    url: str
    order_url: str = "{shop_url}/orders/{order_id}"
    review_url: str = "{shop_url}/orders/{order_id}/review"
    cart_url: str = "{shop_url}/cart"
    unsubscribe_url: str = "{shop_url}/unsubscribe?customer={customer_id}&channel={channel}&token={token}"
    secret: bytes | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.text("name", self.name, max_length=256)
        if check.text("url", self.url, max_length=2048):
            problem = url_problem(self.url, schemes=("http", "https"))
            if problem:
                check.add("url", problem)
            object.__setattr__(self, "url", self.url.rstrip("/"))
        for name in ("order_url", "review_url", "cart_url"):
            _check_url_template(check, name, getattr(self, name))
        _check_url_template(check, "unsubscribe_url", self.unsubscribe_url, https=True)
        if self.secret is not None and (not isinstance(self.secret, bytes) or len(self.secret) < 16):
            check.add("secret", "must be at least 16 random bytes")
        links = [getattr(self, n) for n in ("order_url", "review_url", "cart_url", "unsubscribe_url")]
        uses_token = any(isinstance(link, str) and "{token}" in link for link in links)
        if uses_token and self.secret is None:
            check.add("secret", "is required: a link template uses {token}")
        check.done()

    def token(self, customer_id: str, channel: Channel) -> str:
        if self.secret is None:
            raise ValidationError.single("secret", "is required for link tokens")
        digest = hmac.new(self.secret, f"{customer_id}:{channel.value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def link(self, template: str, *, customer_id: str, channel: Channel, order_id: str | None = None) -> str:
        """Fill a link template for one customer (and order)."""
        token = self.token(customer_id, channel) if "{token}" in template else ""
        return template.format(
            shop_url=self.url, order_id=order_id or "", customer_id=customer_id, channel=channel.value, token=token
        )


def _day(moment: datetime | None, timezone: str) -> str | None:
    if moment is None:
        return None
    from custdata.workflows.policy import _zone

    try:
        return moment.astimezone(_zone(timezone)).date().isoformat()
    except OverflowError:  # the customer's day would fall beyond the year 9999: the day where it was recorded
        return moment.date().isoformat()


_ORDER_NAMES = frozenset({"order_id", "order_number", "order_url", "order_total", "order_date", "items", "item_count"})
_PARCEL_NAMES = frozenset({"carrier", "tracking_number", "tracking_url", "estimated_delivery"})


def available(on: type[OrderEvent] | str, topic: Topic) -> frozenset[str]:
    """The variables a trigger of kind ``on`` provides for a message of ``topic``."""
    names = set(COMMON_VARIABLES)
    if isinstance(on, str):
        return frozenset(names | {"cart_url", "item_count"})
    names |= _ORDER_NAMES | {"review_url"}
    if topic == Topic.RE_ENGAGEMENT:
        names |= {"days_since_order", "last_order_number"}
    if issubclass(on, ShipmentEvent):
        names |= _PARCEL_NAMES
    if issubclass(on, OutForDelivery):
        names.add("pickup")
    if issubclass(on, ShipmentDelivered):
        names.add("order_complete")
    if issubclass(on, DeliveryFailed):
        names |= {"carrier", "tracking_url", "problem", "detail"}
    if issubclass(on, OrderCancelled):
        names.add("reason")
    if issubclass(on, ReturnEvent):
        names |= {"return_id", "return_status"}
    if issubclass(on, RefundIssued):
        names |= {"return_id", "refund_amount"}
    return frozenset(names)


def variables(
    trigger: Trigger,
    topic: Topic,
    customer: Customer,
    order: Order | None,
    shop: Shop,
    channel: Channel,
    timezone: str,
    now: datetime,
) -> dict[str, Any]:
    """Every variable ``trigger`` provides for ``topic`` (the names of :func:`available`)."""
    out: dict[str, Any] = {
        "customer_name": customer.name or None,
        "shop_name": shop.name,
        "shop_url": shop.url,
    }
    cid = str(customer.id)
    if isinstance(trigger, ActivityEvent):
        products = trigger.properties.get("products")
        given = trigger.properties.get("cart_url")
        usable = isinstance(given, str) and url_problem(given, schemes=("https",)) is None
        out["cart_url"] = given if usable else shop.link(shop.cart_url, customer_id=cid, channel=channel)
        out["item_count"] = len(products) if isinstance(products, list) else None
        return out
    oid = str(trigger.order_id)
    out["order_id"] = oid
    out["order_url"] = shop.link(shop.order_url, customer_id=cid, channel=channel, order_id=oid)
    out["review_url"] = shop.link(shop.review_url, customer_id=cid, channel=channel, order_id=oid)
    if order is not None:
        out["order_number"] = order.external_ref.id if order.external_ref is not None else oid
        out["order_total"] = str(order.total)
        out["order_date"] = _day(order.placed_at, timezone)
        out["item_count"] = order.item_count
        out["items"] = [
            {
                "name": line.product_name,
                "sku": line.sku,
                "quantity": line.quantity,
                "price": str(line.unit_price),
                "variant": ", ".join(f"{k}: {v}" for k, v in sorted(line.variant.items())),
            }
            for line in order.lines
        ]
    else:
        out.update(order_number=oid, order_total=None, order_date=None, item_count=None, items=[])
    if topic == Topic.RE_ENGAGEMENT:
        placed = order.placed_at if order is not None else trigger.occurred_at
        out["days_since_order"] = max(0, (now - placed).days)
        out["last_order_number"] = out["order_number"]
    if isinstance(trigger, ShipmentEvent):
        out["carrier"] = trigger.carrier
        out["tracking_number"] = trigger.tracking_number
        out["tracking_url"] = trigger.tracking_url
        out["estimated_delivery"] = _day(trigger.estimated_delivery_at, timezone)
    if isinstance(trigger, OutForDelivery):
        out["pickup"] = trigger.pickup
    if isinstance(trigger, ShipmentDelivered):
        out["order_complete"] = trigger.order_delivered
    if isinstance(trigger, DeliveryFailed):
        out.update(
            carrier=trigger.carrier,
            tracking_url=trigger.tracking_url,
            problem=trigger.problem.value,
            detail=trigger.detail,
        )
    if isinstance(trigger, OrderCancelled):
        out["reason"] = trigger.reason
    if isinstance(trigger, ReturnEvent):
        out["return_id"] = trigger.return_id
        out["return_status"] = trigger.status.value
        if isinstance(trigger, ReturnRequested):
            out["item_count"] = trigger.item_count
    if isinstance(trigger, RefundIssued):
        out["return_id"] = trigger.return_id
        out["refund_amount"] = str(trigger.amount)
    if isinstance(trigger, OrderPlaced) and order is None:
        out["order_total"] = str(trigger.total)
        out["item_count"] = trigger.item_count
    return out
