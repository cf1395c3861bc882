"""Hostile strings stored in every indexed column come back unchanged and are found by exactly themselves.

The contract already feeds hostile strings to every search path of an almost empty store; here they are the
stored values, side by side with near misses, so that quoting, placeholders (``%s``, ``$1``), LIKE wildcards and
collation all have something to get wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custdata import ExternalRef, ValidationError
from custdata.storage import CustomerQuery
from custdata.storage.postgres import PostgresStore
from custdata.testing.store_contract import HOSTILE, make_customer, make_message, make_order

NewStore = Callable[..., PostgresStore]

SQLISH = (
    "'",
    "''",
    '"',
    "\\",
    "%",
    "%%",
    "_",
    "%s",
    "%(id)s",
    "$1",
    ":id",
    "{doc}",
    "?::jsonb",
    "' OR '1'='1",
    "x'); DROP TABLE customers; --",
    "Robert'); DELETE FROM customer_keys; --",
    "\u202eevil",
    "ß",
    "SS",
    "İ",
    "🙂",
    "a b",
    "A",
)


def _storable(text: str) -> bool:
    """True when the model accepts ``text`` as a tag (non-empty, short, no control characters) and it is
    Unicode text at all (a lone surrogate is not; see the refusal test below)."""
    try:
        text.encode("utf-8")
        make_customer(tags=frozenset({text}))
    except (ValidationError, UnicodeEncodeError):
        return False
    return True


@pytest.fixture(scope="module")
def store(pg_url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(pg_url, schema="hostile_values")
    yield opened
    opened.close()


def _store_side_by_side(store: PostgresStore, texts: list[str]) -> dict[str, Any]:
    """One customer (with an order and a message) per text, each text in every indexed field it can go in."""
    made: dict[str, Any] = {}
    with store.unit_of_work() as uow:
        for text in texts:
            customer = make_customer(tags=frozenset({text}), groups=frozenset({text}), display_name=text)
            order = make_order(customer.id, external_ref=ExternalRef("shopify", text))
            message = make_message(customer.id, idempotency_key=text)
            uow.customers.add(customer)
            uow.orders.add(order)
            uow.communications.add(message)
            made[text] = (customer, order, message)
        uow.commit()
    return made


def _check_found_exactly(store: PostgresStore, made: dict[str, Any]) -> None:
    with store.unit_of_work() as uow:
        for text, (customer, order, message) in made.items():
            assert uow.customers.search(CustomerQuery(tag=text)).items == (customer,), repr(text)
            assert uow.customers.count(CustomerQuery(group=text)) == 1, repr(text)
            assert uow.orders.find_by_external_ref(ExternalRef("shopify", text)) == order, repr(text)
            assert uow.communications.find_by_idempotency_key(text) == message, repr(text)
            assert uow.customers.get(customer.id) == customer
            by_name = {c.id for c in uow.customers.search(CustomerQuery(name_prefix=text), limit=1000)}
            assert customer.id in by_name, repr(text)


def test_sql_lookalikes_are_stored_and_found_exactly(store: PostgresStore) -> None:
    texts = [f"{text} [{i}]" for i, text in enumerate(SQLISH)] + [text for text in SQLISH if text.strip()]
    texts = list(dict.fromkeys(t for t in texts if _storable(t)))
    made = _store_side_by_side(store, texts)
    _check_found_exactly(store, made)


def test_the_contracts_hostile_strings_are_stored_where_the_model_allows_them(store: PostgresStore) -> None:
    texts = [text[:98] for text in HOSTILE]
    accepted = list(dict.fromkeys(t for t in texts if _storable(t)))
    assert "' OR '1'='1" in accepted and "%s" in accepted
    made = _store_side_by_side(store, [f"h:{t}" for t in accepted])
    _check_found_exactly(store, made)


@given(texts=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4, unique=True))
@settings(max_examples=30, deadline=None)
def test_generated_strings_are_stored_and_found_exactly(store: PostgresStore, texts: list[str]) -> None:
    accepted = [t for t in texts if _storable(t)]
    assume(accepted)
    with store.unit_of_work() as uow:
        taken = {t for t in accepted if uow.customers.count(CustomerQuery(tag=t))}
    fresh = [t for t in accepted if t not in taken]
    assume(fresh)
    made = _store_side_by_side(store, fresh)
    _check_found_exactly(store, made)


def test_a_lone_surrogate_is_refused_and_nothing_of_it_is_stored(store: PostgresStore) -> None:
    with store.unit_of_work() as uow:
        before = uow.customers.count()
        for fields in ({"tags": frozenset({"\ud800"})}, {"display_name": "x\udfff"}, {"metadata": {"\ud800": 1}}):
            with pytest.raises(ValidationError):
                uow.customers.add(make_customer(**fields))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.count() == before
