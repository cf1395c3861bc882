"""The support desk: record inbound messages into conversations, route them, and answer "where is my order?".

Every method works inside a unit of work the caller opened (and commits), like the outbox service: the inbound
message, the conversation's new state and any reply in the outbox are written together or not at all.

Replies go through :func:`custdata.outbox.service.enqueue` after a :class:`~custdata.workflows.Policy` decision:
the reply goes to the address the customer has on file (never to the sender of the message, which anyone can
forge), on the channel the question came in on when the customer can be reached there, else by email; quiet
hours hold it back on interrupting channels such as SMS; the dispatcher sends it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import attrs

from custdata._errors import ValidationError
from custdata.domain import (
    Channel,
    CommunicationEvent,
    CommunicationId,
    CommunicationStatus,
    Customer,
    Direction,
    Order,
    OrderId,
    Topic,
)
from custdata.domain.checks import Checker
from custdata.domain.personal import IDENTIFIER, LINKED, NESTED, NOT_PERSONAL
from custdata.notify import Message
from custdata.outbox.service import enqueue
from custdata.storage.merges import resolve
from custdata.storage.outbox.ports import OutboxUnitOfWork
from custdata.storage.ports import MAX_LIMIT, UnitOfWork, walk
from custdata.workflows.policy import Policy

from .intent import WISMO, Classification, Classifier, KeywordClassifier, detect_language
from .model import (
    STATE_KEY,
    Conversation,
    ConversationState,
    build_conversations,
    new_conversation_id,
    opening,
    state_of,
)
from .routing import RoutingFacts, RoutingRules
from .text import clean_line, clean_text
from .wismo import find_order, order_number, tracking_answer

#: The subject of a person's email reply to a conversation that came in without one.
_SUBJECTS = {"en": "Your question", "de": "Ihre Anfrage", "fr": "Votre question", "es": "Su consulta"}
#: Channels a reply can go back on; a question taken on the phone is answered by email.
_REPLYABLE = frozenset({Channel.EMAIL, Channel.SMS, Channel.CHAT, Channel.SOCIAL, Channel.PORTAL})


class SupportError(ValidationError):
    """A support request that cannot be taken: an erased customer, a conversation of another customer."""


@attrs.frozen
class Received:
    """What became of one inbound message: the conversation afterwards, the stored message, whether it was
    answered automatically (``answered``), the reply's outbox id and otherwise why a person has to look at it."""

    conversation: Conversation = attrs.field(metadata=NESTED)
    message: CommunicationEvent = attrs.field(metadata=NESTED)
    classification: Classification = attrs.field(metadata=LINKED)
    answered: bool = attrs.field(default=False, metadata=NOT_PERSONAL)
    reply_id: CommunicationId | None = attrs.field(default=None, metadata=IDENTIFIER)
    handoff_reason: str | None = attrs.field(default=None, metadata=LINKED)
    duplicate: bool = attrs.field(default=False, metadata=NOT_PERSONAL)


def _default_segments(customer: Customer) -> Iterable[str]:
    return customer.tags | customer.groups


@attrs.frozen
class SupportDesk:
    """Settings of the desk: routing rules, the classifier, the minimum confidence for an automatic answer, the
    send policy, and a function naming a customer's segments for routing (their tags and groups by default).
    ``auto_answer=False`` routes every question to a person."""

    routing: RoutingRules = attrs.field(factory=RoutingRules)
    classifier: Classifier = attrs.field(factory=KeywordClassifier)
    min_confidence: float = 0.6
    policy: Policy = attrs.field(factory=Policy)
    segments: Callable[[Customer], Iterable[str]] = _default_segments
    auto_answer: bool = True

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.instance("routing", self.routing, RoutingRules)
        if not callable(self.classifier):
            check.add("classifier", "must be a function (text, language) -> Classification")
        if not isinstance(self.min_confidence, int | float) or not 0 <= self.min_confidence <= 1:
            check.add("min_confidence", "must be a number from 0 to 1")
        check.instance("policy", self.policy, Policy)
        if not callable(self.segments):
            check.add("segments", "must be a function (customer) -> segment names")
        check.done()

    # -- reading -----------------------------------------------------------------------------------------------

    def conversations(self, uow: UnitOfWork, customer_id: str) -> list[Conversation]:
        """The customer's conversations (a merged id leads to the survivor), oldest first."""
        customer = resolve(uow, customer_id)
        return build_conversations(_events(uow, customer.id))

    def conversation(self, uow: UnitOfWork, customer_id: str, conversation_id: str) -> Conversation:
        """One conversation of the customer; :class:`SupportError` when the customer has no such conversation."""
        for found in self.conversations(uow, customer_id):
            if found.id == conversation_id:
                return found
        raise SupportError.single("conversation_id", "is not a conversation of this customer")

    # -- writing -----------------------------------------------------------------------------------------------

    def receive(
        self,
        uow: OutboxUnitOfWork,
        *,
        customer_id: str,
        channel: Channel | str,
        text: str,
        received_at: datetime,
        subject: str | None = None,
        conversation_id: str | None = None,
        message_key: str | None = None,
        provider_id: str | None = None,
        language: str | None = None,
    ) -> Received:
        """Record an inbound message of the customer and act on it.

        The message joins ``conversation_id`` (one of this customer's) or opens a conversation. ``message_key``
        names the message at its source (an email's Message-ID, a chat message id): the same key twice records
        it once. A "where is my order?" question is answered from the order's tracking when it is sure;
        everything else is routed to a team with the reason a person has to look.
        """
        check = Checker()
        try:
            channel = Channel(channel)
        except ValueError:
            check.add("channel", f"must be one of {', '.join(c.value for c in Channel)}")
        check.identifier("customer_id", customer_id)
        check.text("text", text, max_length=1_000_000, multiline=True)
        check.timestamp("received_at", received_at)
        check.text("subject", subject, optional=True, max_length=10_000)
        check.text("conversation_id", conversation_id, optional=True, max_length=128)
        check.text("message_key", message_key, optional=True, max_length=10_000)
        check.text("provider_id", provider_id, optional=True, max_length=512)
        check.text("language", language, optional=True, max_length=16)
        check.done()
        assert isinstance(channel, Channel)
        customer = resolve(uow, customer_id)
        if customer.redacted_at is not None:
            raise SupportError.single("customer_id", "names a customer whose personal data was erased")
        key = inbound_key(message_key) if message_key else None
        if key is not None:
            known = uow.communications.find_by_idempotency_key(key)
            if known is not None:
                owner = resolve(uow, known.customer_id)
                if owner.id != customer.id:  # never say anything about another customer's conversation
                    raise SupportError.single("message_key", "names a message recorded for another customer")
                return self._known(uow, known)
        body = clean_text(text)
        events = _events(uow, customer.id)
        conversations = {c.id: c for c in build_conversations(events)}
        current = None
        if conversation_id is not None:
            current = conversations.get(conversation_id)
            if current is None:
                raise SupportError.single("conversation_id", "is not a conversation of this customer")
        orders = list(walk(lambda c: uow.orders.for_customer(customer.id, limit=MAX_LIMIT, cursor=c)))
        lang = language or detect_language(body, (customer.locale or "en")[:2])
        classification = self.classifier(f"{subject or ''}\n{body}", lang)
        if not isinstance(classification, Classification):
            raise ValidationError.single("classifier", "must return a Classification")
        lookup = find_order(orders, f"{subject or ''}\n{body}")
        order = lookup.order
        linked = order or _linked_order(current, orders)
        team = self.routing.route(
            RoutingFacts(
                intent=classification.intent,
                order_status=None if linked is None else linked.status,
                segments=frozenset(self.segments(customer)),
                language=lang,
            )
        )
        cid = current.id if current is not None else new_conversation_id()
        with_person = current is not None and current.state is ConversationState.OPEN
        message = CommunicationEvent(
            id=CommunicationId.new(),
            customer_id=customer.id,
            channel=channel,
            topic=Topic.SUPPORT,
            created_at=received_at,
            direction=Direction.INBOUND,
            status=CommunicationStatus.RECEIVED,
            idempotency_key=key,
            order_id=None if order is None else order.id,
            ticket_id=cid,
            subject=None if subject is None else clean_line(subject, 998),
            body=body,
            provider_id=None if provider_id is None else clean_line(provider_id, 512),
        )
        reason = self._why_not(classification, lookup.reason, with_person)
        answer = None
        if reason is None and order is not None:
            answer = tracking_answer(order, lang)
            reason = answer.reason
        reply_id = None
        if reason is None and answer is not None and order is not None:
            reply_id, reason = self._send(uow, customer, channel, answer.subject, answer.text, lang, order, received_at)
        head = None if current is None else opening(current.messages)
        previous = (state_of(head) if head is not None else None) or {}
        entry: dict[str, Any] = dict(previous)
        entry.update(team=previous.get("team") if with_person else team, intent=classification.intent, language=lang)
        if reply_id is not None:
            entry.update(state=ConversationState.SOLVED.value, solved_at=received_at.isoformat(), handoff_reason=None)
        elif with_person:
            entry.update(state=ConversationState.OPEN.value)
        else:
            entry.update(state=ConversationState.OPEN.value, handoff_reason=reason, solved_at=None)
        if head is None:
            message = attrs.evolve(message, metadata={STATE_KEY: entry})
            uow.communications.add(message)
        else:
            uow.communications.add(message)
            link = head.order_id if head.order_id is not None else (None if order is None else order.id)
            uow.communications.update(
                attrs.evolve(
                    head,
                    metadata={**head.metadata, STATE_KEY: entry},
                    order_id=link,
                    updated_at=_later(head, received_at),
                )
            )
        if reply_id is not None:
            _join(uow, reply_id, cid)
        after = build_conversations(_events(uow, customer.id))
        conversation = next(c for c in after if c.id == cid)
        return Received(
            conversation=conversation,
            message=message,
            classification=classification,
            answered=reply_id is not None,
            reply_id=reply_id,
            handoff_reason=None if reply_id is not None else conversation.handoff_reason,
        )

    def reply(
        self,
        uow: OutboxUnitOfWork,
        *,
        customer_id: str,
        conversation_id: str,
        text: str,
        now: datetime,
        subject: str | None = None,
        solve: bool = False,
    ) -> CommunicationId | None:
        """A person's reply: through the outbox like any message (None when the send policy holds it back, for
        example when the customer has no address on the channel). The conversation then waits on the customer, or
        is solved with ``solve=True``."""
        check = Checker()
        check.text("text", text, max_length=1_000_000, multiline=True)
        check.timestamp("now", now)
        check.text("subject", subject, optional=True, max_length=998)
        check.done()
        conversation = self.conversation(uow, customer_id, conversation_id)
        customer = resolve(uow, customer_id)
        if customer.redacted_at is not None:
            raise SupportError.single("customer_id", "names a customer whose personal data was erased")
        order = _own_order(uow, customer, conversation.order_id)
        if subject is None:
            asked = next((m.subject for m in conversation.inbound if m.subject), None)
            subject = clean_line(f"Re: {asked}", 998) if asked else _SUBJECTS.get(conversation.language or "", "Re:")
        reply_id, _ = self._send(
            uow, customer, conversation.channel, subject, clean_text(text), conversation.language, order, now
        )
        if reply_id is not None:
            _join(uow, reply_id, conversation.id)
        state = ConversationState.SOLVED if solve else ConversationState.WAITING_ON_CUSTOMER
        self.set_state(uow, customer_id=customer_id, conversation_id=conversation_id, state=state, now=now)
        return reply_id

    def set_state(
        self,
        uow: UnitOfWork,
        *,
        customer_id: str,
        conversation_id: str,
        state: ConversationState | str,
        now: datetime,
        team: str | None = None,
    ) -> Conversation:
        """Move the conversation to ``state`` (and to ``team`` when given)."""
        try:
            state = ConversationState(state)
        except ValueError:
            raise ValidationError.single(
                "state", f"must be one of {', '.join(s.value for s in ConversationState)}"
            ) from None
        check = Checker()
        check.timestamp("now", now)
        check.text("team", team, optional=True, max_length=128)
        check.done()
        conversation = self.conversation(uow, customer_id, conversation_id)
        head = opening(conversation.messages)
        if head is None:
            raise SupportError.single("conversation_id", "names a conversation whose content was erased")
        entry = dict(state_of(head) or {})
        entry["state"] = state.value
        if state is ConversationState.SOLVED:
            entry.update(solved_at=now.isoformat(), handoff_reason=None)
        if team is not None:
            entry["team"] = team
        uow.communications.update(
            attrs.evolve(head, metadata={**head.metadata, STATE_KEY: entry}, updated_at=_later(head, now))
        )
        return self.conversation(uow, customer_id, conversation_id)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _why_not(self, classification: Classification, lookup_reason: str | None, with_person: bool) -> str | None:
        if with_person:
            return "a person is handling the conversation"
        if not self.auto_answer:
            return "automatic answers are off"
        if classification.intent != WISMO:
            return f"the message is about {classification.intent}"
        if classification.confidence < self.min_confidence:
            return f"not sure it asks where an order is (confidence {classification.confidence:.2f})"
        return lookup_reason

    def _send(
        self,
        uow: OutboxUnitOfWork,
        customer: Customer,
        channel: Channel,
        subject: str | None,
        text: str | None,
        language: str | None,
        order: Order | None,
        now: datetime,
    ) -> tuple[CommunicationId | None, str | None]:
        channels = (
            [channel, Channel.EMAIL] if channel in _REPLYABLE and channel is not Channel.EMAIL else [Channel.EMAIL]
        )
        decision = self.policy.decide(customer, Topic.SUPPORT, channels, now)
        if not decision.send or decision.recipient is None or not text:
            return None, f"the reply cannot be sent: {decision.reason or 'nothing to say'}"
        message = Message(
            idempotency_key=f"support-reply:{CommunicationId.new()}",
            channel=decision.channel,
            topic=Topic.SUPPORT,
            recipient=decision.recipient,
            text=text,
            subject=subject if decision.channel is Channel.EMAIL else None,
            locale=language or "en",
            customer_id=customer.id,
            order_id=None if order is None else order.id,
            metadata={} if order is None else {"order_number": order_number(order)},
        )
        entry = enqueue(uow, message, customer_id=customer.id, now=now, available_at=decision.not_before)
        return (None, "the reply was sent already") if entry is None else (entry.id, None)

    def _known(self, uow: UnitOfWork, known: CommunicationEvent) -> Received:
        conversations = build_conversations(_events(uow, resolve(uow, known.customer_id).id))
        conversation = next(c for c in conversations if c.id == known.ticket_id)
        return Received(
            conversation=conversation,
            message=known,
            classification=Classification(conversation.intent or "other", 1.0),
            handoff_reason=conversation.handoff_reason,
            duplicate=True,
        )


def inbound_key(message_key: str) -> str:
    """The idempotency key an inbound message is stored under (a digest, so the source's id is not stored)."""
    return "inbound:" + hashlib.sha256(message_key.strip().encode("utf-8", "replace")).hexdigest()[:40]


def _events(uow: UnitOfWork, customer_id: str) -> list[CommunicationEvent]:
    return list(walk(lambda c: uow.communications.for_customer(customer_id, limit=MAX_LIMIT, cursor=c)))


def _linked_order(current: Conversation | None, orders: list[Order]) -> Order | None:
    if current is None or current.order_id is None:
        return None
    return next((o for o in orders if o.id == current.order_id), None)


def _own_order(uow: UnitOfWork, customer: Customer, order_id: OrderId | None) -> Order | None:
    """The order ``order_id`` when it is the customer's now, else None: a conversation may name an order that went
    back to another customer since (a merge undone), and a reply never describes another customer's order."""
    if order_id is None:
        return None
    found = uow.orders.get_many([order_id]).get(order_id)
    return found if found is not None and found.customer_id == customer.id else None


def _later(event: CommunicationEvent, at: datetime) -> datetime:
    return max(event.updated_at, at)


def _join(uow: UnitOfWork, reply_id: CommunicationId, conversation_id: str) -> None:
    event = uow.communications.get(reply_id)
    uow.communications.update(attrs.evolve(event, ticket_id=conversation_id))


def all_conversations(uow: UnitOfWork) -> list[Conversation]:
    """Every conversation in the store (reads every communication event once), oldest first."""
    by_customer: dict[str, list[CommunicationEvent]] = {}
    for event in walk(lambda c: uow.communications.page(limit=MAX_LIMIT, cursor=c)):
        by_customer.setdefault(str(event.customer_id), []).append(event)
    found = [c for events in by_customer.values() for c in build_conversations(events)]
    found.sort(key=lambda c: (c.messages[0].created_at, c.id))
    return found
