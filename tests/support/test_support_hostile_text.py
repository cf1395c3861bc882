"""Text from outside reaches the support rules in any shape: every rule answers in linear time on 100 KB of
adversarial text, and the order-number rule that runs in linear time gives the answers of the plain pattern."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support_builders import T0, customer, order

from custdata.outbox.ports import has_outbox
from custdata.storage import open_store
from custdata.support import KeywordClassifier, SupportDesk, detect_language, find_order
from custdata.support.text import clean_line, clean_text

#: The plain pattern of "looks like an order number": white space anywhere between the word and the number.
PLAIN_NUMBERISH = re.compile(
    r"(?i)(?:\bord_\w+|#\s?[A-Z0-9][A-Z0-9-]{2,}|\b(?:order|bestellung|bestellnummer|commande|pedido|"
    r"auftrag|n[°ºo]\.?)\s*(?:number|no\.?|nr\.?|num[eé]ro|n[°º]|#)?\s*:?\s*[A-Z]{0,4}-?\d[A-Z0-9-]{2,})"
)

SIZE = 100_000
ADVERSARIAL = {
    "word then spaces": "order" + " " * SIZE,
    "word, spaces, colon, spaces": "order number" + " " * (SIZE // 2) + ":" + " " * (SIZE // 2) + "x",
    "mixed white space": "Bestellung" + " \t\u00a0\u2003\n" * (SIZE // 5),
    "words again and again": "order   no.   :   " * (SIZE // 18),
    "hash and letters": "#" + "A" * SIZE,
    "number sign then dashes": "n° " + "AB-1" + "-" * SIZE + "!",
    "ids": "ord_" + "x" * SIZE,
    "many words": "where is my order " * (SIZE // 18),
    "control characters": "\x00\x01\r\n\u2028" * (SIZE // 5),
}
RULES: dict[str, Callable[[str], Any]] = {
    "find_order": lambda text: find_order([order("ord_1", "cus_ada", number="1042")], text),
    "classifier": lambda text: KeywordClassifier()(text),
    "detect_language": detect_language,
    "clean_text": clean_text,
    "clean_line": lambda text: clean_line(text, 998),
}


@pytest.mark.parametrize("text", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_every_rule_reads_100_kb_of_adversarial_text_in_a_fraction_of_a_second(
    rule: Callable[[str], Any], text: str
) -> None:
    started = time.perf_counter()
    rule(text)
    assert time.perf_counter() - started < 2.0


def test_the_desk_takes_an_adversarial_message_in_a_fraction_of_a_second() -> None:
    with open_store("memory://") as store, store.unit_of_work() as uow:
        assert has_outbox(uow)
        uow.customers.add(customer())
        uow.orders.add(order("ord_1", "cus_ada", number="1042"))
        started = time.perf_counter()
        done = SupportDesk().receive(
            uow, customer_id="cus_ada", channel="email", text="order" + " " * SIZE, received_at=T0
        )
        assert time.perf_counter() - started < 3.0
        assert done.message.body is not None


pieces = st.sampled_from(
    ["order", "Bestellung", "n°", "no.", "No", "nr.", "numéro", "number", "#", ":", "-", "ord_", "AB", "x", "1042",
     "12", "7", " ", "  ", "\t", "\n", " \u00a0 ", "\x1c", "\u2028", "é", "_"]
)  # fmt: skip


@settings(max_examples=200)
@given(st.lists(pieces, max_size=12).map("".join))
def test_the_order_number_rule_answers_as_the_plain_pattern(text: str) -> None:
    on_its_way = [order("ord_1", "cus_ada", number="555")]  # never quoted: the pieces hold no 555
    got = find_order(on_its_way, text)
    assert (got.order is None) == (PLAIN_NUMBERISH.search(text) is not None)
