"""The demo shop's inbound support messages, in English, German, French and Spanish, with their known truth, and
how well the support desk answers them.

Each message is written by a customer about one of their orders ("where is my order?", with or without its
number), about another customer's order number (which must never be answered), or about something else (a return,
an invoice, a size). :func:`run_support` passes them through a :class:`~custdata.support.SupportDesk` and
compares what the desk did with the truth: the share of messages answered automatically and, of those answers,
the share that answered a "where is my order?" question about the right order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from custdata.domain import Channel, Customer, Direction, Order, OrderId
from custdata.domain.personal import IDENTIFIER, LINKED, NOT_PERSONAL, PERSONAL
from custdata.storage.ports import MAX_LIMIT, Store, walk
from custdata.support import SupportDesk, all_conversations
from custdata.support.desk import inbound_key
from custdata.support.wismo import UNDELIVERED, order_number

#: How many inbound messages the demo writes at most.
MESSAGES = 240

_WITH_NUMBER = {
    "en": (
        "Hi, where is my order {n}? Thanks",
        "Order {n} has not arrived yet, can you check the tracking?",
        "Hello, when will my order {n} arrive?",
    ),
    "de": (
        "Hallo, wo ist meine Bestellung {n}?",
        "Meine Bestellung {n} ist noch nicht angekommen. Gruß",
        "Guten Tag, wann kommt meine Bestellung {n}?",
    ),
    "fr": (
        "Bonjour, où est ma commande {n} ?",
        "Ma commande {n} n'est pas arrivée, pouvez-vous vérifier le suivi ?",
        "Bonjour, quand vais-je recevoir ma commande {n} ?",
    ),
    "es": (
        "Hola, ¿dónde está mi pedido {n}?",
        "Mi pedido {n} no ha llegado todavía.",
        "Hola, ¿cuándo llegará mi pedido {n}? Gracias",
    ),
}
_WITHOUT_NUMBER = {
    "en": ("Where is my order? I ordered a few days ago.", "Hi, my parcel has not arrived yet. Any news?"),
    "de": ("Wo bleibt meine Bestellung? Ich warte noch.", "Hallo, mein Paket ist noch nicht angekommen."),
    "fr": ("Bonjour, où est ma commande ? Je l'attends toujours.", "Mon colis n'est pas encore arrivé."),
    "es": ("¿Dónde está mi pedido? Todavía no ha llegado.", "Hola, no he recibido mi paquete."),
}
_OTHER = {
    "en": (
        "I would like to return the jacket, it is too small.",
        "Can you send me the invoice for my last purchase?",
        "Do you have the trail shoes in size 44?",
    ),
    "de": (
        "Ich möchte die Jacke zurückschicken, sie ist zu klein.",
        "Können Sie mir die Rechnung schicken?",
        "Haben Sie die Wanderschuhe in Größe 44?",
    ),
    "fr": (
        "Je voudrais renvoyer la veste, elle est trop petite.",
        "Pouvez-vous m'envoyer la facture ?",
        "Avez-vous les chaussures en 44 ?",
    ),
    "es": (
        "Quiero devolver la chaqueta, es demasiado pequeña.",
        "¿Me pueden enviar la factura?",
        "¿Tienen las zapatillas en la talla 44?",
    ),
}
_LANGS = ("en", "de", "fr", "es")
_CHANNELS = (Channel.EMAIL, Channel.EMAIL, Channel.CHAT, Channel.SOCIAL)


@attrs.frozen(repr=False)
class InboundPlan:
    """One demo message and its truth: whether it asks where an order is, and which order."""

    key: str = attrs.field(metadata=IDENTIFIER)
    customer_id: str = attrs.field(metadata=IDENTIFIER)
    channel: Channel = attrs.field(metadata=NOT_PERSONAL)
    language: str = attrs.field(metadata=LINKED)
    text: str = attrs.field(metadata=PERSONAL)
    received_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    wismo: bool = attrs.field(metadata=NOT_PERSONAL)
    order_id: OrderId | None = attrs.field(metadata=IDENTIFIER)

    def __repr__(self) -> str:
        return f"InboundPlan(key={self.key!r}, wismo={self.wismo}, order_id={self.order_id!r})"


@attrs.frozen
class SupportFigures:
    """How the desk did on the demo's messages."""

    messages: int
    wismo: int
    answered: int
    correct: int

    @property
    def answered_share(self) -> float:
        return self.answered / self.messages if self.messages else 0.0

    @property
    def correct_share(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    def line(self) -> str:
        return (
            f"{self.messages} inbound messages ({self.wismo} asking where an order is): "
            f"{self.answered_share:.0%} answered automatically, {self.correct_share:.0%} of those correctly"
        )


def plan_inbound(
    customers: Sequence[Customer], orders: Sequence[Order], *, seed: int, now: datetime, count: int = MESSAGES
) -> list[InboundPlan]:
    """The demo's inbound messages: the same customers, orders and seed give the same messages."""
    rng = random.Random(f"support-{seed}")
    by_customer: dict[str, list[Order]] = {}
    for placed in sorted(orders, key=lambda o: (o.placed_at, str(o.id))):
        by_customer.setdefault(str(placed.customer_id), []).append(placed)
    people = [c for c in sorted(customers, key=lambda c: str(c.id)) if by_customer.get(str(c.id))]
    waiting = [p for p in people if any(o.status in UNDELIVERED for o in by_customer[str(p.id)])]
    plans: list[InboundPlan] = []
    for i in range(min(count, len(people))):
        roll = rng.random()
        person = rng.choice(waiting if waiting and roll < 0.65 else people)
        own = by_customer[str(person.id)]
        on_the_way = [o for o in own if o.status in UNDELIVERED]
        lang = (person.locale or "")[:2] if (person.locale or "")[:2] in _LANGS else rng.choice(_LANGS)
        at = now - timedelta(minutes=rng.randint(10, 72 * 60))
        wismo = True
        order: Order | None = None
        if roll < 0.45 and on_the_way:  # about an order on its way, by its number
            order = rng.choice(on_the_way)
            text = rng.choice(_WITH_NUMBER[lang]).format(n=order_number(order))
        elif roll < 0.65 and on_the_way:  # the same without a number: the truth is the latest order on its way
            order = on_the_way[-1]
            text = rng.choice(_WITHOUT_NUMBER[lang])
        elif roll < 0.72:  # about an order the carrier reports delivered, or one of the last few
            order = own[-1]
            text = rng.choice(_WITH_NUMBER[lang]).format(n=order_number(order))
        elif roll < 0.77:  # another customer's order number: must never be answered
            others = [o for o in orders if o.customer_id != person.id]
            if not others:
                continue
            text = rng.choice(_WITH_NUMBER[lang]).format(n=order_number(rng.choice(others)))
        else:
            wismo, text = False, rng.choice(_OTHER[lang])
        plans.append(
            InboundPlan(
                key=f"demo-inbound-{seed}-{i}",
                customer_id=str(person.id),
                channel=rng.choice(_CHANNELS),
                language=lang,
                text=text,
                received_at=at,
                wismo=wismo,
                order_id=None if order is None else order.id,
            )
        )
    plans.sort(key=lambda p: (p.received_at, p.key))
    return plans


def run_support(store: Store, *, seed: int, now: datetime, desk: SupportDesk | None = None) -> SupportFigures:
    """Write the demo's inbound messages through ``desk`` (once: a second run finds them recorded) and measure
    the answers against the truth."""
    desk = desk or SupportDesk()
    with store.unit_of_work() as uow:
        customers = list(walk(lambda c: uow.customers.search(limit=MAX_LIMIT, cursor=c)))
        orders = list(walk(lambda c: uow.orders.page(limit=MAX_LIMIT, cursor=c)))
    plans = plan_inbound(customers, orders, seed=seed, now=now)
    for start in range(0, len(plans), 100):
        with store.unit_of_work() as uow:
            for plan in plans[start : start + 100]:
                desk.receive(
                    uow,  # type: ignore[arg-type]  # the built-in stores' units of work hold an outbox
                    customer_id=plan.customer_id,
                    channel=plan.channel,
                    text=plan.text,
                    received_at=plan.received_at,
                    message_key=plan.key,
                )
            uow.commit()
    with store.unit_of_work() as uow:
        conversations = all_conversations(uow)
    keys = {inbound_key(p.key): p for p in plans}
    answered = correct = 0
    for conversation in conversations:
        for i, message in enumerate(conversation.messages):
            truth = keys.get(message.idempotency_key or "")
            if truth is None:
                continue
            reply = next(
                (m for m in conversation.messages[i + 1 :] if m.direction is Direction.OUTBOUND),
                None,
            )
            if reply is None:
                continue
            answered += 1
            correct += truth.wismo and reply.order_id is not None and reply.order_id == truth.order_id
    return SupportFigures(messages=len(plans), wismo=sum(p.wismo for p in plans), answered=answered, correct=correct)
