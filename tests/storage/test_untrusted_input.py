"""Text from outside never makes a store raise anything but a custdata error, on every store.

Cursors are handed to clients and come back from them, so any string may arrive: forged JSON nested thousands
deep, numbers too large for a 64-bit column, valid base64 of nonsense. Text written into records may hold lone
surrogates, NUL and every control character. Each is a :class:`custdata.ValidationError` (path ``cursor`` for a
cursor) or a stored value that reads back equal; nothing half-written stays behind.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custdata import CustdataError, ValidationError
from custdata.storage import Store, open_store
from custdata.storage.records import encode_cursor
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.store_builders import make_activity, make_customer, make_message, make_order

FIXTURE_OK = settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        yield request.getfixturevalue("new_store")()
        return
    opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


LISTINGS = ("customers", "orders", "orders.for_customer", "communications", "communications.for_customer", "activity")
#: Cursors shaped like real ones, holding what a client could forge inside.
forged_keys = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: [n, "cus_1"]),
    st.just([2**63, "x"]),
    st.just([-(2**63) - 1, "x"]),
    st.text(max_size=20),
    st.lists(st.integers() | st.text(max_size=5) | st.none() | st.floats(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
forged_cursors = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(_b64),
    st.integers(1, 4000).map(lambda depth: _b64(b"[" * depth + b"]" * depth)),
    st.integers(1, 3000).map(lambda depth: _b64(b'["customers",' + b"[" * depth)),
    st.integers(4301, 6000).map(lambda digits: _b64(b'["customers",[' + b"9" * digits + b',"a"]]')),
    st.tuples(st.sampled_from(LISTINGS), forged_keys).map(lambda p: _b64(json.dumps(list(p)).encode())),
)


def _every_listing(uow: Any) -> list[Callable[[str], object]]:
    return [
        lambda c: uow.customers.search(cursor=c),
        lambda c: uow.orders.page(cursor=c),
        lambda c: uow.orders.for_customer("cus_1", cursor=c),
        lambda c: uow.communications.page(cursor=c),
        lambda c: uow.communications.for_customer("cus_1", cursor=c),
        lambda c: uow.activity.page(cursor=c),
        lambda c: uow.activity.for_customer("cus_1", cursor=c),
    ]


@FIXTURE_OK
@given(cursor=forged_cursors)
@example(cursor=_b64(b"[" * 3000 + b"]" * 3000))  # deeper than the JSON parser's recursion limit
@example(cursor=_b64(json.dumps(["orders.for_customer", [2**64, "ord_1"]]).encode()))  # no 64-bit column holds it
@example(cursor=_b64(json.dumps(["orders.for_customer", [-(2**63) - 1, "ord_1"]]).encode()))
@example(cursor=_b64(b'["customers",' + b"9" * 5000 + b"]"))  # beyond the int-from-text limit
@example(cursor=_b64(json.dumps(["customers", "a\ud800"]).encode()))
def test_any_cursor_string_is_a_validation_error_at_cursor(store: Store, cursor: str) -> None:
    with store.unit_of_work() as uow:
        for listing in _every_listing(uow):
            try:
                listing(cursor)
            except ValidationError as exc:
                assert [p.path for p in exc.problems] == ["cursor"]
            except CustdataError as exc:  # pragma: no cover - reported with its type below
                pytest.fail(f"{type(exc).__name__} instead of a ValidationError: {exc}")


def test_forged_cursors_shaped_like_real_ones_but_out_of_range_are_refused(store: Store) -> None:
    real = encode_cursor("orders.for_customer", (1, "ord_1"))
    with store.unit_of_work() as uow:
        uow.orders.for_customer("cus_1", cursor=real)  # a genuine shape is accepted
        for moment in (2**63, -(2**63) - 1, 10**30):
            with pytest.raises(ValidationError) as caught:
                uow.orders.for_customer("cus_1", cursor=encode_cursor("orders.for_customer", (moment, "ord_1")))
            assert caught.value.problems[0].path == "cursor"


hostile_text = st.text(st.characters(codec=None, categories=None), max_size=30)


def _builders(text: str) -> list[Callable[[], object]]:
    return [
        lambda: make_customer(display_name=text),
        lambda: make_customer(tags=frozenset({text})),
        lambda: make_customer(metadata={text: text}),
        lambda: make_customer(given_name=text),
    ]


@FIXTURE_OK
@given(text=hostile_text)
@example(text="\x00")
@example(text="\ud800")
@example(text="a\udfffb")
@example(text="\u2028\u2029\x85\r\n")
def test_hostile_text_in_records_is_stored_exactly_or_refused_whole(store: Store, text: str) -> None:
    for build in _builders(text):
        try:
            customer = build()
        except ValidationError:
            continue
        assert isinstance(customer, object)
        with store.unit_of_work() as uow:
            try:
                uow.customers.add(customer)  # type: ignore[arg-type]
                uow.orders.add(make_order(customer.id, metadata={"note": text}))  # type: ignore[attr-defined]
                uow.communications.add(make_message(customer.id, metadata={"k": text}))  # type: ignore[attr-defined]
                uow.activity.add(make_activity(customer.id, properties={"q": text}))  # type: ignore[attr-defined]
                uow.commit()
            except ValidationError:
                uow.rollback()
                stored = None
            else:
                stored = customer
        with store.unit_of_work() as uow:
            if stored is None:
                assert uow.customers.get_many([customer.id]) == {}  # type: ignore[attr-defined]
            else:
                assert uow.customers.get(customer.id) == stored  # type: ignore[attr-defined]
