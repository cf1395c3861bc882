"""Answering "where is my order?" from the order's tracking, or saying why a person has to.

:func:`find_order` looks only among the asking customer's own orders: an order number in the text is compared with
the numbers of those orders (the order id and the shop's own number), so another customer's order is never even
looked up. Without a number, the customer's one undelivered order is the answer; with several, none, or a number
that is not theirs, the question goes to a person. :func:`tracking_answer` writes the reply in the customer's
language, or returns the reason it must not be answered automatically (a failed or attempted delivery, a
cancelled or delivered order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import attrs

from custdata.domain import Order, OrderStatus, Shipment, TrackingStatus
from custdata.domain.personal import NESTED, NOT_PERSONAL, PERSONAL

#: Order statuses of an order still on its way.
UNDELIVERED = frozenset(
    {OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.PACKED, OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY}
)
#: Something that looks like an order number: an id, or a number after a number sign (read in the text as written).
_NUMBERISH = re.compile(r"(?i)(?:\bord_\w+|#\s?[A-Z0-9][A-Z0-9-]{2,})")
#: A number after a word for "order", read in text whose white space is single spaces (see :func:`_spaced`): each
#: optional piece between the word and the number takes at most one space, so the pattern runs in linear time (with
#: runs of white space it would try every way of sharing a run between the pieces).
_NUMBER_AFTER_WORD = re.compile(
    r"(?i)\b(?:order|bestellung|bestellnummer|commande|pedido|auftrag|n[°ºo]\.?)"
    r" ?(?:(?:number|no\.?|nr\.?|num[eé]ro|n[°º]|#) ?)?(?:: ?)?[A-Z]{0,4}-?\d[A-Z0-9-]{2,}"
)


def _spaced(text: str) -> str:
    """``text`` with every run of white space made one space."""
    return " ".join(text.split())


@attrs.frozen
class OrderLookup:
    """The order a question is about, or why none could be chosen (``reason``)."""

    order: Order | None = attrs.field(metadata=NESTED)
    reason: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)


def order_numbers(order: Order) -> set[str]:
    """The numbers a customer may quote for ``order``, folded: its id and the shop's own number."""
    numbers = {str(order.id).casefold()}
    if order.external_ref is not None:
        numbers.add(order.external_ref.id.strip().lstrip("#").casefold())
    return {n for n in numbers if len(n) >= 3}


def _quotes(text: str, number: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", text) is not None


def find_order(orders: Iterable[Order], text: str) -> OrderLookup:
    """The order of ``orders`` (one customer's) that ``text`` asks about."""
    own = list(orders)
    folded = text[:20_000].casefold().replace("#", " ")
    quoted = [o for o in own if any(_quotes(folded, n) for n in order_numbers(o))]
    if len(quoted) == 1:
        return OrderLookup(quoted[0])
    if len(quoted) > 1:
        return OrderLookup(None, "the message names several of the customer's orders")
    head = text[:20_000]
    if _NUMBERISH.search(head) or _NUMBER_AFTER_WORD.search(_spaced(head)):
        return OrderLookup(None, "the order number given is not one of this customer's orders")
    waiting = [o for o in own if o.status in UNDELIVERED]
    if len(waiting) == 1:
        return OrderLookup(waiting[0])
    if waiting:
        return OrderLookup(None, f"{len(waiting)} orders of the customer are on their way")
    return OrderLookup(None, "the customer has no order on its way")


_STATUS = {
    "en": {
        OrderStatus.PLACED: "has been received and is being prepared",
        OrderStatus.PAID: "is paid and being prepared",
        OrderStatus.PACKED: "is packed and will leave us soon",
        OrderStatus.SHIPPED: "is on its way",
        OrderStatus.OUT_FOR_DELIVERY: "is out for delivery today",
    },
    "de": {
        OrderStatus.PLACED: "ist eingegangen und wird vorbereitet",
        OrderStatus.PAID: "ist bezahlt und wird vorbereitet",
        OrderStatus.PACKED: "ist gepackt und verlässt uns in Kürze",
        OrderStatus.SHIPPED: "ist unterwegs",
        OrderStatus.OUT_FOR_DELIVERY: "wird heute zugestellt",
    },
    "fr": {
        OrderStatus.PLACED: "a bien été reçue et est en préparation",
        OrderStatus.PAID: "est payée et en préparation",
        OrderStatus.PACKED: "est emballée et partira bientôt",
        OrderStatus.SHIPPED: "est en route",
        OrderStatus.OUT_FOR_DELIVERY: "est en cours de livraison aujourd'hui",
    },
    "es": {
        OrderStatus.PLACED: "se ha recibido y se está preparando",
        OrderStatus.PAID: "está pagado y se está preparando",
        OrderStatus.PACKED: "está empaquetado y saldrá pronto",
        OrderStatus.SHIPPED: "está en camino",
        OrderStatus.OUT_FOR_DELIVERY: "está en reparto hoy",
    },
}
_WORDS = {
    "en": (
        "Your order {n} {status}.",
        "Carrier: {carrier}.",
        "Track it here: {url}",
        "Expected delivery: {eta}.",
        "The carrier reports a delay.",
        "Where is my order {n}?",
    ),
    "de": (
        "Ihre Bestellung {n} {status}.",
        "Versanddienstleister: {carrier}.",
        "Sendungsverfolgung: {url}",
        "Voraussichtliche Zustellung: {eta}.",
        "Der Versanddienstleister meldet eine Verzögerung.",
        "Wo ist meine Bestellung {n}?",
    ),
    "fr": (
        "Votre commande {n} {status}.",
        "Transporteur : {carrier}.",
        "Suivi : {url}",
        "Livraison prévue : {eta}.",
        "Le transporteur signale un retard.",
        "Où est ma commande {n} ?",
    ),
    "es": (
        "Su pedido {n} {status}.",
        "Transportista: {carrier}.",
        "Seguimiento: {url}",
        "Entrega prevista: {eta}.",
        "El transportista informa de un retraso.",
        "¿Dónde está mi pedido {n}?",
    ),
}


@attrs.frozen(repr=False)
class TrackingAnswer:
    """The reply (subject and text), or the reason a person has to answer instead."""

    subject: str | None = attrs.field(default=None, metadata=PERSONAL)
    text: str | None = attrs.field(default=None, metadata=PERSONAL)
    reason: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    def __repr__(self) -> str:
        return f"TrackingAnswer(reason={self.reason!r})" if self.reason else "TrackingAnswer(<reply>)"


def order_number(order: Order) -> str:
    """The number the shop shows the customer."""
    return order.external_ref.id if order.external_ref is not None else str(order.id)


def _parcel_trouble(shipments: Iterable[Shipment]) -> str | None:
    for shipment in shipments:
        latest = shipment.latest_event
        if latest is not None and latest.status is TrackingStatus.FAILURE:
            return "the carrier reports a failed delivery"
        if latest is not None and latest.status is TrackingStatus.ATTEMPTED_DELIVERY:
            return "the carrier reports an attempted delivery"
    return None


def tracking_answer(order: Order, language: str | None) -> TrackingAnswer:
    """The reply to "where is my order?" for ``order``, in ``language`` (English when it is not one of the four)."""
    if order.status is OrderStatus.CANCELLED:
        return TrackingAnswer(reason="the order was cancelled")
    if order.status is OrderStatus.DELIVERED:
        return TrackingAnswer(reason="the order is marked delivered")
    trouble = _parcel_trouble(order.shipments)
    if trouble is not None:
        return TrackingAnswer(reason=trouble)
    lang = language if language in _WORDS else "en"
    line, carrier_line, url_line, eta_line, delay_line, subject = _WORDS[lang]
    number = order_number(order)
    lines = [line.format(n=number, status=_STATUS[lang][order.status])]
    eta: datetime | None = None
    delayed = False
    for shipment in order.shipments:
        lines.append(carrier_line.format(carrier=shipment.carrier))
        if shipment.tracking_url:
            lines.append(url_line.format(url=shipment.tracking_url))
        estimate = shipment.estimated_delivery_at
        if estimate is not None and (eta is None or estimate > eta):
            eta = estimate
        latest = shipment.latest_event
        delayed = delayed or (latest is not None and latest.status is TrackingStatus.DELAYED)
    if eta is not None:
        lines.append(eta_line.format(eta=eta.date().isoformat()))
    if delayed:
        lines.append(delay_line)
    return TrackingAnswer(subject=subject.format(n=number), text="\n".join(lines))
