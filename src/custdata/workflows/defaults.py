"""The default rule set for the whole order flow, and English (plus some German) templates for it.

Override any template by registering one for the same topic, channel and locale; change a timing with the
arguments of :func:`default_rules`; or build your own list of rules from these.
"""

from __future__ import annotations

from datetime import timedelta

from custdata.domain import OrderStatus, Topic
from custdata.lifecycle.events import (
    DeliveryDelayed,
    DeliveryFailed,
    OrderCancelled,
    OrderPacked,
    OrderPlaced,
    OrderShipped,
    OutForDelivery,
    RefundIssued,
    ReturnRequested,
    ReturnUpdated,
    ShipmentDelivered,
)
from custdata.storage.ports import walk
from custdata.workflows.replenishment import REPLENISHMENT_DUE, replenishment_rule
from custdata.workflows.rules import Due, Rule
from custdata.workflows.templates import Template, TemplateRegistry

_T = Topic
#: Every order topic that a cancelled order makes obsolete.
ORDER_UPDATES = frozenset(
    {
        _T.ORDER_CONFIRMATION,
        _T.ORDER_PACKED,
        _T.ORDER_SHIPPED,
        _T.OUT_FOR_DELIVERY,
        _T.DELIVERED,
        _T.DELIVERY_DELAYED,
        _T.DELIVERY_FAILED,
        _T.REVIEW_REQUEST,
    }
)


def no_order_since(due: Due) -> str | None:
    """A guard: drop the message if the customer ordered after the trigger happened."""
    since = due.trigger.occurred_at
    exclude = str(getattr(due.trigger, "order_id", ""))
    orders = walk(lambda cursor: due.uow.orders.for_customer(due.customer.id, cursor=cursor, limit=500))
    if any(o.placed_at > since and str(o.id) != exclude for o in orders):
        return "the customer ordered again since"
    return None


def order_still_delivered(due: Due) -> str | None:
    """A guard: drop a review request if the order is gone or was not delivered after all."""
    order_id = getattr(due.trigger, "order_id", None)
    found = due.uow.orders.get_many([str(order_id)]) if order_id is not None else {}
    order = next(iter(found.values()), None)
    if order is None:
        return "the order no longer exists"
    if order.status != OrderStatus.DELIVERED:
        return f"the order is {order.status.value}, not delivered"
    return None


def default_rules(
    *,
    review_after: timedelta = timedelta(days=7),
    re_engagement_after: timedelta = timedelta(days=90),
    cart_reminder_after: timedelta = timedelta(hours=2),
    cart_event: str = "Cart Abandoned",
    replenishment_event: str = REPLENISHMENT_DUE,
) -> list[Rule]:
    """The rules for the whole flow: confirmation, packed, shipped, out for delivery, delivered, review request,
    delay and failed-delivery notices, cancellation, returns, refunds, re-engagement, cart reminders and
    replenishment reminders (on the activity events :mod:`custdata.commerce.replenishment` records)."""
    parcel_news = frozenset({_T.ORDER_PACKED, _T.ORDER_SHIPPED, _T.OUT_FOR_DELIVERY, _T.DELIVERY_DELAYED})
    return [
        Rule(name="order_confirmation", on=OrderPlaced, topic=_T.ORDER_CONFIRMATION, cancels={_T.CART_REMINDER}),
        Rule(
            name="re_engagement",
            on=OrderPlaced,
            topic=_T.RE_ENGAGEMENT,
            delay=re_engagement_after,
            reschedule=True,
            guard=no_order_since,
        ),
        Rule(name="order_packed", on=OrderPacked, topic=_T.ORDER_PACKED),
        Rule(name="order_shipped", on=OrderShipped, topic=_T.ORDER_SHIPPED, cancels={_T.ORDER_PACKED}),
        Rule(
            name="out_for_delivery",
            on=OutForDelivery,
            topic=_T.OUT_FOR_DELIVERY,
            cancels=parcel_news - {_T.OUT_FOR_DELIVERY},
        ),
        Rule(name="delivered", on=ShipmentDelivered, topic=_T.DELIVERED, cancels=parcel_news | {_T.DELIVERY_FAILED}),
        Rule(
            name="review_request",
            on=ShipmentDelivered,
            topic=_T.REVIEW_REQUEST,
            delay=review_after,
            when=lambda event: event.order_delivered,
            guard=order_still_delivered,
        ),
        Rule(name="delivery_delayed", on=DeliveryDelayed, topic=_T.DELIVERY_DELAYED),
        Rule(name="delivery_failed", on=DeliveryFailed, topic=_T.DELIVERY_FAILED),
        Rule(name="order_cancelled", on=OrderCancelled, topic=_T.ORDER_CANCELLED, cancels=ORDER_UPDATES),
        Rule(name="return_requested", on=ReturnRequested, topic=_T.RETURN_UPDATE),
        Rule(name="return_updated", on=ReturnUpdated, topic=_T.RETURN_UPDATE),
        Rule(name="refund_issued", on=RefundIssued, topic=_T.REFUND_ISSUED),
        Rule(
            name="cart_reminder",
            on=cart_event,
            topic=_T.CART_REMINDER,
            delay=cart_reminder_after,
            guard=no_order_since,
        ),
        replenishment_rule(replenishment_event),
    ]


_SIGN = "\n\n{{ shop_name }}\n{{ shop_url }}"
_HELLO = "Hello{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
_HALLO = "Hallo{% if customer_name %} {{ customer_name }}{% endif %},\n\n"
_TRACK = "{% if tracking_url %}\nTrack it: {{ tracking_url }}{% endif %}"
_VERFOLGEN = "{% if tracking_url %}\nSendungsverfolgung: {{ tracking_url }}{% endif %}"

_EN_EMAIL: dict[Topic, tuple[str, str]] = {
    _T.ORDER_CONFIRMATION: (
        "Thank you for your order {{ order_number }}",
        _HELLO + "thank you for your order {{ order_number }} of {{ order_date }}:\n"
        "{% for item in items %}\n- {{ item.quantity }} x {{ item.name }}{% if item.variant %} ({{ item.variant }})"
        "{% endif %}: {{ item.price }}{% endfor %}\n\nTotal: {{ order_total }}\n\n"
        "We will let you know when it ships: {{ order_url }}" + _SIGN,
    ),
    _T.ORDER_PACKED: (
        "Your order {{ order_number }} is packed",
        _HELLO + "your order {{ order_number }} is packed and will leave us soon.\n{{ order_url }}" + _SIGN,
    ),
    _T.ORDER_SHIPPED: (
        "Your order {{ order_number }} is on its way",
        _HELLO + "your order {{ order_number }} has shipped with {{ carrier }}."
        "{% if tracking_number %}\nTracking number: {{ tracking_number }}{% endif %}"
        "{% if estimated_delivery %}\nExpected delivery: {{ estimated_delivery }}{% endif %}" + _TRACK + _SIGN,
    ),
    _T.OUT_FOR_DELIVERY: (
        "{% if pickup %}Your parcel is ready for pick-up{% else %}Your parcel arrives today{% endif %}",
        _HELLO + "{% if pickup %}your parcel for order {{ order_number }} is waiting for you at the pick-up point."
        "{% else %}your parcel for order {{ order_number }} is out for delivery with {{ carrier }} today."
        "{% endif %}" + _TRACK + _SIGN,
    ),
    _T.DELIVERED: (
        "Your order {{ order_number }} has arrived",
        _HELLO + "{% if order_complete %}your order {{ order_number }} has been delivered.{% else %}"
        "a parcel of your order {{ order_number }} has been delivered; the rest is on its way.{% endif %}\n"
        "Enjoy it! Something wrong? {{ order_url }}" + _SIGN,
    ),
    _T.DELIVERY_DELAYED: (
        "Your order {{ order_number }} is delayed",
        _HELLO + "we are sorry: {{ carrier }} reports a delay for your order {{ order_number }}."
        "{% if estimated_delivery %}\nThe new expected delivery date is {{ estimated_delivery }}.{% endif %}"
        + _TRACK
        + _SIGN,
    ),
    _T.DELIVERY_FAILED: (
        "We could not deliver your order {{ order_number }}",
        _HELLO + "{% if problem == 'address_invalid' %}the shipping address of your order {{ order_number }} "
        "seems incomplete. Please check it: {{ order_url }}{% elif problem == 'attempted' %}"
        "{{ carrier }} tried to deliver your order {{ order_number }} but nobody was there."
        "{% else %}the delivery of your order {{ order_number }} failed. We are on it.{% endif %}"
        "{% if detail %}\n({{ detail }}){% endif %}" + _TRACK + _SIGN,
    ),
    _T.ORDER_CANCELLED: (
        "Your order {{ order_number }} is cancelled",
        _HELLO + "your order {{ order_number }} has been cancelled.{% if reason %}\nReason: {{ reason }}{% endif %}\n"
        "Any payment will be refunded." + _SIGN,
    ),
    _T.RETURN_UPDATE: (
        "Your return for order {{ order_number }}: {{ return_status }}",
        _HELLO + "{% if return_status == 'requested' %}we have your return request for order {{ order_number }}"
        "{% if item_count %} ({{ item_count }} item{% if item_count != 1 %}s{% endif %}){% endif %}.{% elif "
        "return_status == 'received' %}your return for order {{ order_number }} has arrived at our warehouse."
        "{% else %}your return for order {{ order_number }} is now {{ return_status }}.{% endif %}\n{{ order_url }}"
        + _SIGN,
    ),
    _T.REFUND_ISSUED: (
        "Your refund of {{ refund_amount }}",
        _HELLO + "we have refunded {{ refund_amount }} for your return on order {{ order_number }}." + _SIGN,
    ),
    _T.REVIEW_REQUEST: (
        "How do you like your order?",
        _HELLO + "your order {{ order_number }} arrived a few days ago. Would you tell others what you think?\n"
        "{{ review_url }}" + _SIGN,
    ),
    _T.RE_ENGAGEMENT: (
        "We miss you at {{ shop_name }}",
        _HELLO + "it has been {{ days_since_order }} days since your last order. Come and see what is new:\n"
        "{{ shop_url }}" + _SIGN,
    ),
    _T.CART_REMINDER: (
        "You left something in your cart",
        _HELLO + "{% if item_count %}{{ item_count }} item{% if item_count != 1 %}s are{% else %} is{% endif %}"
        "{% else %}your picks are{% endif %} still waiting in your cart:\n{{ cart_url }}" + _SIGN,
    ),
    _T.REPLENISHMENT: (
        "Time for more {{ product_name }}?",
        _HELLO + "it has been {{ days_since_purchase }} days since you last ordered {{ product_name }}, about when "
        "customers order it again. Running low?\n{{ shop_url }}" + _SIGN,
    ),
}

_EN_SMS: dict[Topic, str] = {
    _T.ORDER_CONFIRMATION: "{{ shop_name }}: thank you for order {{ order_number }} ({{ order_total }}).",
    _T.ORDER_PACKED: "{{ shop_name }}: order {{ order_number }} is packed.",
    _T.ORDER_SHIPPED: "{{ shop_name }}: order {{ order_number }} has shipped with {{ carrier }}."
    "{% if tracking_url %} {{ tracking_url }}{% endif %}",
    _T.OUT_FOR_DELIVERY: "{{ shop_name }}: {% if pickup %}your parcel is ready for pick-up.{% else %}"
    "your parcel arrives today.{% endif %}{% if tracking_url %} {{ tracking_url }}{% endif %}",
    _T.DELIVERED: "{{ shop_name }}: order {{ order_number }} has been delivered.",
    _T.DELIVERY_DELAYED: "{{ shop_name }}: order {{ order_number }} is delayed."
    "{% if estimated_delivery %} New date: {{ estimated_delivery }}.{% endif %}",
    _T.DELIVERY_FAILED: "{{ shop_name }}: we could not deliver order {{ order_number }}. Details: {{ order_url }}",
    _T.ORDER_CANCELLED: "{{ shop_name }}: order {{ order_number }} has been cancelled.",
    _T.RETURN_UPDATE: "{{ shop_name }}: your return for order {{ order_number }} is {{ return_status }}.",
    _T.REFUND_ISSUED: "{{ shop_name }}: we refunded {{ refund_amount }} for order {{ order_number }}.",
    _T.REVIEW_REQUEST: "{{ shop_name }}: how was order {{ order_number }}? {{ review_url }}",
    _T.RE_ENGAGEMENT: "{{ shop_name }}: it has been a while! See what is new: {{ shop_url }}",
    _T.CART_REMINDER: "{{ shop_name }}: your cart is waiting: {{ cart_url }}",
    _T.REPLENISHMENT: "{{ shop_name }}: running low on {{ product_name }}? {{ shop_url }}",
}

_DE_EMAIL: dict[Topic, tuple[str, str]] = {
    _T.ORDER_CONFIRMATION: (
        "Vielen Dank für Ihre Bestellung {{ order_number }}",
        _HALLO + "vielen Dank für Ihre Bestellung {{ order_number }} vom {{ order_date }}:\n"
        "{% for item in items %}\n- {{ item.quantity }} x {{ item.name }}: {{ item.price }}{% endfor %}\n\n"
        "Summe: {{ order_total }}\n\n{{ order_url }}" + _SIGN,
    ),
    _T.ORDER_SHIPPED: (
        "Ihre Bestellung {{ order_number }} ist unterwegs",
        _HALLO + "Ihre Bestellung {{ order_number }} wurde mit {{ carrier }} verschickt."
        "{% if estimated_delivery %}\nVoraussichtliche Zustellung: {{ estimated_delivery }}{% endif %}"
        + _VERFOLGEN
        + _SIGN,
    ),
    _T.DELIVERED: (
        "Ihre Bestellung {{ order_number }} ist angekommen",
        _HALLO + "Ihre Bestellung {{ order_number }} wurde zugestellt. Viel Freude damit!" + _SIGN,
    ),
    _T.DELIVERY_DELAYED: (
        "Ihre Bestellung {{ order_number }} verspätet sich",
        _HALLO + "{{ carrier }} meldet leider eine Verzögerung bei Ihrer Bestellung {{ order_number }}."
        "{% if estimated_delivery %}\nNeuer voraussichtlicher Liefertermin: {{ estimated_delivery }}{% endif %}"
        + _VERFOLGEN
        + _SIGN,
    ),
}

_EN_HTML: dict[Topic, str] = {
    _T.ORDER_CONFIRMATION: "<p>Hello{% if customer_name %} {{ customer_name }}{% endif %},</p>"
    "<p>thank you for your order <b>{{ order_number }}</b>.</p><ul>{% for item in items %}"
    "<li>{{ item.quantity }} &times; {{ item.name }}: {{ item.price }}</li>{% endfor %}</ul>"
    '<p>Total: {{ order_total }}</p><p><a href="{{ order_url }}">Your order</a></p>',
    _T.ORDER_SHIPPED: "<p>Hello{% if customer_name %} {{ customer_name }}{% endif %},</p>"
    "<p>your order <b>{{ order_number }}</b> has shipped with {{ carrier }}.</p>"
    '{% if tracking_url %}<p><a href="{{ tracking_url }}">Track your parcel</a></p>{% endif %}',
}


def default_templates() -> list[Template]:
    """English email and SMS templates for every default rule, plus German email for a few topics."""
    out = []
    for topic, (subject, text) in _EN_EMAIL.items():
        out.append(Template(topic, "email", "en", text, subject=subject, html=_EN_HTML.get(topic)))
    out += [Template(topic, "sms", "en", text) for topic, text in _EN_SMS.items()]
    out += [Template(topic, "email", "de", text, subject=subject) for topic, (subject, text) in _DE_EMAIL.items()]
    return out


def default_registry() -> TemplateRegistry:
    """A :class:`TemplateRegistry` holding :func:`default_templates`, with English as the fallback."""
    return TemplateRegistry(default_templates())
