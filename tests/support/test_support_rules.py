"""The parts without a store: the keyword rules, finding the order (never another customer's), the tracking
answer, and response times."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any, cast

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support_builders import T0, order

from custdata import Channel, CommunicationEvent, CommunicationStatus, Direction, OrderStatus, Topic, TrackingStatus
from custdata.analytics.response import median, response_times
from custdata.support import (
    WISMO,
    Classification,
    Classifier,
    KeywordClassifier,
    build_conversations,
    detect_language,
    find_order,
    tracking_answer,
)
from custdata.support.model import STATE_KEY

WISMO_TEXTS = {
    "en": ["Where is my order?", "My parcel has not arrived yet", "When will my order arrive?"],
    "de": ["Wo bleibt meine Bestellung?", "Mein Paket ist noch nicht angekommen", "Wann kommt meine Lieferung?"],
    "fr": ["Où est ma commande ?", "Je n'ai toujours pas reçu mon colis", "Ma commande n'est pas arrivée"],
    "es": ["¿Dónde está mi pedido?", "Mi paquete no ha llegado", "Todavía no he recibido mi pedido"],
}
OTHER_TEXTS = {
    "en": ["I want to return these shoes", "Please send me the invoice", "Cancel my order please"],
    "de": ["Ich möchte die Schuhe zurückschicken", "Bitte senden Sie mir die Rechnung", "Bitte stornieren"],
    "fr": ["Je veux renvoyer ces chaussures", "Envoyez-moi la facture", "Je veux annuler"],
    "es": ["Quiero devolver estos zapatos", "Envíenme la factura", "Quiero cancelar el pedido"],
}


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es"])
def test_the_keyword_rules_know_the_question_in_four_languages(lang: str) -> None:
    classify = KeywordClassifier()
    assert isinstance(classify, Classifier)
    for text in WISMO_TEXTS[lang]:
        assert detect_language(text) == lang, text
        got = classify(text, lang)
        assert got.intent == WISMO and got.confidence >= 0.6, text
    for text in OTHER_TEXTS[lang]:
        assert classify(text, lang).intent != WISMO, text


@settings(max_examples=60)
@given(st.text(max_size=300), st.sampled_from([None, "en", "de", "fr", "es", "xx"]))
def test_the_keyword_rules_take_any_text(text: str, lang: str | None) -> None:
    got = KeywordClassifier()(text, lang)
    assert 0 <= got.confidence <= 1 and got.intent


def test_a_classification_is_checked() -> None:
    with pytest.raises(Exception, match="confidence"):
        Classification("wismo", 1.5)
    with pytest.raises(Exception, match="intent"):
        Classification("", 0.5)


numbers = st.from_regex(r"[0-9]{3,6}", fullmatch=True)


noise_text = st.text(st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="#_"), max_size=60)


@settings(max_examples=60)
@given(
    st.lists(numbers, min_size=1, max_size=4, unique=True),
    st.lists(numbers, min_size=0, max_size=4, unique=True),
    st.lists(st.sampled_from(list(OrderStatus)), min_size=8, max_size=8),
    noise_text,
    st.integers(0, 7),
)
def test_the_order_found_is_always_the_customers_own(
    own: list[str], others: list[str], statuses: list[OrderStatus], noise: str, pick: int
) -> None:
    mine = [order(f"ord_a{i}", "cus_ada", number=n, status=statuses[i]) for i, n in enumerate(own)]
    theirs = [order(f"ord_b{i}", "cus_bob", number=n) for i, n in enumerate(others) if n not in own]
    everyone = theirs + mine
    quoted = everyone[pick % len(everyone)]
    assert quoted.external_ref is not None
    got = find_order(mine, f"{noise} where is my order #{quoted.external_ref.id}? {noise}")
    if quoted in theirs:
        assert got.order is None and got.reason == "the order number given is not one of this customer's orders"
    else:
        assert got.order == quoted
    unnumbered = find_order(mine, f"{noise} where is my order?")
    waiting = [o for o in mine if o.status not in (OrderStatus.DELIVERED, OrderStatus.CANCELLED)]
    assert unnumbered.order == (waiting[0] if len(waiting) == 1 else None)


def test_the_answer_says_status_carrier_link_estimate_and_a_delay() -> None:
    delayed = order("ord_1", "cus_ada", number="77", tracking=(TrackingStatus.IN_TRANSIT, TrackingStatus.DELAYED))
    answer = tracking_answer(delayed, "es")
    assert answer.reason is None and answer.text is not None
    assert answer.text.splitlines() == [
        "Su pedido 77 está en camino.",
        "Transportista: DHL.",
        "Seguimiento: https://www.dhl.com/track?id=00340434",
        f"Entrega prevista: {(T0 + timedelta(days=3)).date().isoformat()}.",
        "El transportista informa de un retraso.",
    ]
    assert repr(tracking_answer(delayed, "en")) == "TrackingAnswer(<reply>)"  # the text stays out of logs
    assert tracking_answer(order("o", "c", status=OrderStatus.CANCELLED), "en").reason == "the order was cancelled"
    attempted = order("o", "c", tracking=(TrackingStatus.IN_TRANSIT, TrackingStatus.ATTEMPTED_DELIVERY))
    assert tracking_answer(attempted, "en").reason == "the carrier reports an attempted delivery"
    assert (
        tracking_answer(order("o", "c", status=OrderStatus.PAID), "xx").text
        == "Your order o is paid and being prepared."
    )


def event(
    n: int, cid: str, direction: Direction, minutes: int, state: dict[str, object] | None = None
) -> CommunicationEvent:
    return CommunicationEvent(
        id=f"msg_{n}",
        customer_id="cus_ada",
        channel=Channel.CHAT if cid.endswith("c") else Channel.EMAIL,
        topic=Topic.SUPPORT,
        created_at=T0 + timedelta(minutes=minutes),
        direction=direction,
        status=CommunicationStatus.RECEIVED if direction is Direction.INBOUND else CommunicationStatus.QUEUED,
        ticket_id=cid,
        metadata={} if state is None else {STATE_KEY: state},
    )


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.one_of(st.none(), st.integers(0, 10_000)),
            st.one_of(st.none(), st.integers(0, 20_000)),
            st.sampled_from(["logistics", "billing"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_response_times_are_the_medians_of_each_conversation(
    spec: list[tuple[int, int | None, int | None, str]],
) -> None:
    events = []
    expected: dict[str, list[timedelta]] = {}
    for i, (opened, reply, solved, team) in enumerate(spec):
        cid = f"conv_{i}{'c' if i % 2 else 'e'}"
        state: dict[str, object] = {"state": "open", "team": team}
        if solved is not None:
            state.update(state="solved", solved_at=(T0 + timedelta(minutes=opened + solved)).isoformat())
            expected.setdefault(f"resolution {team}", []).append(timedelta(minutes=solved))
        events.append(event(2 * i, cid, Direction.INBOUND, opened, state))
        if reply is not None:
            events.append(event(2 * i + 1, cid, Direction.OUTBOUND, opened + reply))
            expected.setdefault(f"first {team}", []).append(timedelta(minutes=reply))
    times = response_times(build_conversations(events))
    assert len(times.conversations) == len(spec)
    for team, medians in times.by_team.items():
        assert medians.first_response == (
            statistics.median(cast(Any, expected[f"first {team}"])) if f"first {team}" in expected else None
        )
        assert medians.resolution == (
            statistics.median(cast(Any, expected[f"resolution {team}"])) if f"resolution {team}" in expected else None
        )
    assert sum(m.conversations for m in times.by_channel.values()) == len(spec)
    assert times.overall.answered == sum(r is not None for _, r, _, _ in spec)


def test_median_of_nothing_is_none() -> None:
    assert median([]) is None
    assert median([timedelta(1), timedelta(3)]) == timedelta(2)


def test_a_reply_queued_at_the_moment_its_question_arrived_comes_after_it() -> None:
    question = attrs.evolve(event(9, "conv_x", Direction.INBOUND, 0, {"state": "solved"}), id="msg_9")
    answer = attrs.evolve(event(1, "conv_x", Direction.OUTBOUND, 0), id="msg_1")  # an id that sorts first
    [conversation] = build_conversations([answer, question])
    assert [m.direction for m in conversation.messages] == [Direction.INBOUND, Direction.OUTBOUND]
    assert conversation.first_response_at == T0 and conversation.opened_at == T0
