"""The support desk on real stores: conversations, routing, and "where is my order?" answered from tracking only
when it is sure, only about the customer's own orders, and through the outbox."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import attrs
import pytest
from support_builders import T0, customer, order

from custdata import Channel, Direction, OrderStatus, TrackingStatus
from custdata.customer360 import customer_360
from custdata.merge import merge, preview
from custdata.privacy.erasure import erase_customer
from custdata.privacy.export import export_customer
from custdata.storage import Store
from custdata.storage.outbox.ports import has_outbox
from custdata.support import (
    Classification,
    ConversationState,
    RoutingRules,
    Rule,
    SupportDesk,
    SupportError,
)
from custdata.workflows import Policy


def fill(store: Store, *orders: Any, people: tuple[Any, ...] = ()) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.customers.add(customer("cus_bob", "bob@example.org"))
        for person in people:
            uow.customers.add(person)
        for o in orders:
            uow.orders.add(o)
        uow.commit()


def ask(store: Store, text: str, desk: SupportDesk | None = None, **options: Any) -> Any:
    options.setdefault("customer_id", "cus_ada")
    options.setdefault("channel", Channel.EMAIL)
    options.setdefault("received_at", T0)
    with store.unit_of_work() as uow:
        assert has_outbox(uow)
        got = (desk or SupportDesk()).receive(uow, text=text, **options)
        uow.commit()
    return got


def outbox(store: Store, customer_id: str = "cus_ada") -> list[Any]:
    with store.unit_of_work() as uow:
        return list(uow.outbox.for_customer(customer_id))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, where is my order 1042?", "Your order 1042 is on its way."),
        ("Hallo, wo ist meine Bestellung #1042? Danke", "Ihre Bestellung 1042 ist unterwegs."),
        ("Bonjour, où est ma commande 1042 ?", "Votre commande 1042 est en route."),
        ("Hola, ¿dónde está mi pedido 1042?", "Su pedido 1042 está en camino."),
    ],
)
def test_a_question_about_the_customers_order_is_answered_from_its_tracking_through_the_outbox(
    store: Store, text: str, expected: str
) -> None:
    fill(store, order("ord_1", "cus_ada", number="1042", tracking=(TrackingStatus.IN_TRANSIT, TrackingStatus.DELAYED)))
    got = ask(store, text)
    assert got.answered and got.handoff_reason is None
    [entry] = outbox(store)
    assert entry.message.text.splitlines()[0] == expected
    assert "https://www.dhl.com/track?id=00340434" in entry.message.text and "DHL" in entry.message.text
    assert (T0 + timedelta(days=3)).date().isoformat() in entry.message.text  # the estimate after the delay
    assert entry.message.recipient == "ada@example.org" and entry.order_id == "ord_1"
    conversation = got.conversation
    assert conversation.state is ConversationState.SOLVED and conversation.order_id == "ord_1"
    assert [m.direction for m in conversation.messages] == [Direction.INBOUND, Direction.OUTBOUND]
    assert conversation.first_response_at == T0 and conversation.solved_at == T0


def test_another_customers_order_number_is_never_answered_nor_looked_up(store: Store) -> None:
    fill(
        store,
        order("ord_1", "cus_ada", number="1042"),
        order("ord_2", "cus_bob", number="2077"),
    )
    got = ask(store, "Where is my order 2077?")
    assert not got.answered
    assert got.handoff_reason == "the order number given is not one of this customer's orders"
    assert got.conversation.state is ConversationState.OPEN and got.conversation.order_id is None
    assert outbox(store) == [] and outbox(store, "cus_bob") == []
    got = ask(store, "Where is my order ord_2?", message_key="second")
    assert not got.answered and outbox(store) == []


@pytest.mark.parametrize(
    ("orders", "reason"),
    [
        ((), "the customer has no order on its way"),
        (
            (order("ord_1", "cus_ada"), order("ord_2", "cus_ada", placed=T0 - timedelta(days=1))),
            "2 orders of the customer are on their way",
        ),
        (
            (order("ord_1", "cus_ada", tracking=(TrackingStatus.IN_TRANSIT, TrackingStatus.FAILURE)),),
            "the carrier reports a failed delivery",
        ),
        ((order("ord_1", "cus_ada", status=OrderStatus.DELIVERED),), "the customer has no order on its way"),
    ],
)
def test_when_unsure_the_conversation_goes_to_a_person_with_the_reason(
    store: Store, orders: tuple[Any, ...], reason: str
) -> None:
    fill(store, *orders)
    got = ask(store, "Where is my order? It has not arrived.")
    assert (got.answered, got.handoff_reason) == (False, reason)
    assert got.conversation.is_open and outbox(store) == []


def test_without_a_number_the_one_order_on_its_way_is_answered(store: Store) -> None:
    fill(store, order("ord_old", "cus_ada", status=OrderStatus.DELIVERED), order("ord_1", "cus_ada", number="1042"))
    got = ask(store, "Mein Paket ist noch nicht angekommen.")
    assert got.answered and outbox(store)[0].message.text.startswith("Ihre Bestellung 1042")


def test_a_classifier_of_your_own_decides_and_low_confidence_goes_to_a_person(store: Store) -> None:
    fill(store, order("ord_1", "cus_ada", number="1042"))
    seen: list[tuple[str, str | None]] = []

    def unsure(text: str, language: str | None) -> Classification:
        seen.append((text, language))
        return Classification("wismo", 0.4)

    got = ask(store, "Where is my order 1042?", desk=SupportDesk(classifier=unsure))
    assert not got.answered and got.handoff_reason is not None and "confidence 0.40" in got.handoff_reason
    assert seen and seen[0][1] == "en"
    sure = SupportDesk(classifier=lambda text, language: Classification("wismo", 0.99))
    assert ask(store, "1042 ??", desk=sure, message_key="k2").answered


def test_routing_first_matching_rule_wins_else_the_default_team(store: Store) -> None:
    vip = customer("cus_vip", "vip@example.org", tags=frozenset({"vip"}), locale="fr-FR")
    fill(store, order("ord_1", "cus_ada", number="1042"), people=(vip,))
    rules = RoutingRules(
        (
            Rule("vip-desk", segments={"vip"}),
            Rule("returns", intents={"returns"}),
            Rule("french", languages={"fr"}),
            Rule("logistics", intents={"wismo"}, order_statuses={OrderStatus.SHIPPED}),
        ),
        default_team="front",
    )
    desk = SupportDesk(routing=rules, auto_answer=False)
    assert ask(store, "I want to return the tent", desk).conversation.team == "returns"
    assert ask(store, "Je voudrais renvoyer la tente", desk, message_key="a").conversation.team == "returns"
    assert ask(store, "Bonjour, avez-vous la tente en bleu ?", desk, message_key="b").conversation.team == "french"
    assert ask(store, "Where is my order 1042?", desk, message_key="c").conversation.team == "logistics"
    assert ask(store, "Do you sell socks?", desk, message_key="d").conversation.team == "front"
    assert ask(store, "I want to return it", desk, customer_id="cus_vip").conversation.team == "vip-desk"
    with pytest.raises(Exception, match="team"):
        Rule("")


def test_quiet_hours_hold_back_an_sms_reply(store: Store) -> None:
    night = T0.replace(hour=23)
    fill(store, order("ord_1", "cus_ada", number="1042", placed=night - timedelta(days=3)))
    desk = SupportDesk(policy=Policy(default_quiet_hours=(time(22), time(7)), default_timezone="UTC"))
    got = ask(store, "where is my order 1042", desk, channel=Channel.SMS, received_at=night)
    [entry] = outbox(store)
    assert got.answered and entry.channel is Channel.SMS and entry.message.recipient == "+4930901820"
    assert entry.available_at == (night + timedelta(days=1)).replace(hour=7)
    email = ask(store, "where is my order 1042", desk, received_at=night, message_key="by mail")
    [by_mail] = [e for e in outbox(store) if e.channel is Channel.EMAIL]
    assert email.answered and by_mail.available_at == night  # email is not held back


def test_a_customer_who_cannot_be_reached_is_handed_to_a_person(store: Store) -> None:
    fill(store, order("ord_1", "cus_ada", number="1042"))
    with store.unit_of_work() as uow:
        ada = uow.customers.get("cus_ada")
        uow.customers.update(attrs.evolve(ada, email=None))
        uow.commit()
    got = ask(store, "where is my order 1042", channel=Channel.CHAT)
    assert not got.answered and got.handoff_reason is not None and "no email address" in got.handoff_reason


def test_the_same_message_is_recorded_once_and_its_key_is_bound_to_its_customer(store: Store) -> None:
    fill(store, order("ord_1", "cus_ada", number="1042"))
    first = ask(store, "where is my order 1042", message_key="<m1@example.org>")
    again = ask(store, "where is my order 1042", message_key="<m1@example.org>")
    assert again.duplicate and again.conversation.id == first.conversation.id and len(outbox(store)) == 1
    with pytest.raises(SupportError, match="another customer"):
        ask(store, "where is my order 1042", message_key="<m1@example.org>", customer_id="cus_bob")
    with pytest.raises(SupportError, match="not a conversation of this customer"):
        ask(store, "hello", customer_id="cus_bob", conversation_id=first.conversation.id)


def test_a_persons_reply_waits_on_the_customer_and_a_new_message_reopens(store: Store) -> None:
    fill(store)
    desk = SupportDesk()
    got = ask(store, "Do you have the tent in blue?", desk)
    cid = got.conversation.id
    with store.unit_of_work() as uow:
        assert has_outbox(uow)
        reply = desk.reply(
            uow, customer_id="cus_ada", conversation_id=cid, text="Yes, we do.", now=T0 + timedelta(hours=2)
        )
        uow.commit()
    assert reply is not None
    with store.unit_of_work() as uow:
        conversation = desk.conversation(uow, "cus_ada", cid)
    assert conversation.state is ConversationState.WAITING_ON_CUSTOMER
    assert conversation.first_response_at == T0 + timedelta(hours=2)
    later = ask(store, "Great, and in green?", desk, conversation_id=cid, received_at=T0 + timedelta(hours=5))
    assert later.conversation.id == cid and later.conversation.state is ConversationState.OPEN
    with store.unit_of_work() as uow:
        solved = desk.set_state(
            uow, customer_id="cus_ada", conversation_id=cid, state="solved", now=T0 + timedelta(hours=6)
        )
        uow.commit()
    assert solved.state is ConversationState.SOLVED and solved.solved_at == T0 + timedelta(hours=6)
    view = customer_360(store, "cus_ada", now=T0 + timedelta(days=1))
    assert [c.id for c in view.conversations] == [cid] and view.open_conversations == ()


def test_open_conversations_show_in_the_customer_view(store: Store) -> None:
    fill(store)
    got = ask(store, "Can I pay by invoice?")
    view = customer_360(store, "cus_ada", now=T0 + timedelta(days=1))
    assert [c.id for c in view.open_conversations] == [got.conversation.id]
    assert view.open_conversations[0].handoff_reason == "the message is about billing"


def test_a_merged_customers_message_goes_to_the_survivor(store: Store) -> None:
    fill(store, order("ord_1", "cus_ada", number="1042"))
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, "cus_ada", ["cus_bob"]), at=T0 - timedelta(days=1))
        uow.commit()
    got = ask(store, "where is my order 1042", customer_id="cus_bob")
    assert got.conversation.customer_id == "cus_ada" and got.answered


def test_erasure_removes_the_content_of_inbound_messages_and_refuses_new_ones(store: Store) -> None:
    fill(store, order("ord_1", "cus_ada", number="1042"))
    ask(store, "Ada here, at Hauptstr. 1: where is my order 1042?", subject="My tent for Ada")
    ask(store, "Call me on 0301234, it is about the invoice", message_key="second")
    exported = export_customer(store, "cus_ada", clock=lambda: T0)
    assert any("Hauptstr. 1" in (m.get("body") or "") for m in exported["communications"])
    erase_customer(store, "cus_ada", clock=lambda: T0 + timedelta(days=1))
    with store.unit_of_work() as uow:
        messages = list(uow.communications.for_customer("cus_ada"))
    inbound = [m for m in messages if m.direction is Direction.INBOUND]
    assert len(inbound) == 2
    for message in messages:
        assert message.body is None and message.subject is None and message.metadata == {}
    with store.unit_of_work() as uow:
        conversations = SupportDesk().conversations(uow, "cus_ada")
    assert conversations and all(c.handoff_reason is None and c.intent is None for c in conversations)
    with pytest.raises(SupportError, match="erased"):
        ask(store, "hello again", message_key="third")


def test_bad_input_is_refused_with_the_field_named(store: Store) -> None:
    fill(store)
    with pytest.raises(Exception, match="channel"):
        ask(store, "hi", channel="pigeon")
    with pytest.raises(Exception, match="text"):
        ask(store, "bad\x00text")
    with pytest.raises(Exception, match="received_at"):
        ask(store, "hi", received_at=T0.replace(tzinfo=None))
