"""Round trips for every model, and untrusted input that always ends in a ValidationError with paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import custdata
from custdata import (
    SCHEMA_VERSION,
    Address,
    Customer,
    Money,
    Order,
    PhoneNumber,
    ValidationError,
    from_dict,
    from_json,
    make_converter,
    to_dict,
    to_json,
)
from custdata.testing import strategies as cst

MODELS = {
    "customer": cst.customers(),
    "order": cst.orders(),
    "communication event": cst.communication_events(),
    "activity event": cst.activity_events(),
    "address": cst.addresses(),
    "money": cst.money(),
    "company": cst.companies(),
    "consent record": cst.consent_records(),
    "preferences": cst.preferences(),
    "tracking event": cst.tracking_events(),
    "email address": cst.email_addresses(),
    "phone number": cst.phone_numbers(),
}


@pytest.mark.parametrize("name", MODELS)
def test_round_trip(name: str) -> None:
    @given(MODELS[name])
    def check(obj: Any) -> None:
        cls = type(obj)
        data = to_dict(obj) if name not in ("email address", "phone number") else None
        if data is not None:
            assert data["schema_version"] == SCHEMA_VERSION
            assert from_dict(cls, data) == obj
            assert from_dict(cls, data, trusted=True) == obj
            assert from_json(cls, to_json(obj)) == obj
            assert from_json(cls, to_json(obj), trusted=True) == obj
            assert json.loads(to_json(obj)) == json.loads(json.dumps(data))
        else:
            converter = make_converter()
            assert converter.structure(converter.unstructure(obj), cls) == obj

    check()


def test_serialized_form() -> None:
    order = Order(
        "o1",
        "c1",
        "JPY",
        (custdata.OrderLine("1", "S", "Tea", 2, Money("1200", "JPY")),),
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    data = to_dict(order)
    assert data["total"] == {"amount": "2400", "currency": "JPY"}
    assert data["placed_at"] == "2024-05-01T12:00:00+00:00"
    assert data["status"] == "placed"
    assert isinstance(data["id"], str) and type(data["id"]) is str
    phone = to_dict(
        Address(
            street_address_1="Hauptstr. 1",
            city="Berlin",
            postal_code="10115",
            country_code="DE",
            phone=PhoneNumber.parse("+49 30 1234567"),
        )
    )
    assert phone["phone"] == {"e164": "+49301234567", "region": "DE"}


def test_lenient_inputs() -> None:
    c = from_dict(
        Customer,
        {
            "id": "c1",
            "created_at": "2024-05-01 14:00:00+02:00",
            "email": "ADA@Example.com",
            "phone": "+49 30 1234567",
            "tags": ["vip", "vip"],
            "addresses": [
                {"street_address_1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country_code": "de"}
            ],
        },
    )
    assert c.created_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert c.phone is not None and c.phone.e164 == "+49301234567"
    assert c.tags == frozenset({"vip"})
    assert c.addresses[0].country_code == "DE"


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        ([], {"": "must be an object, not a list"}),
        ({"id": "c1"}, {"created_at": "is required"}),
        ({"id": 1, "created_at": "2024-01-01T00:00:00Z"}, {"id": "must be a string, not int"}),
        (
            {"id": "c1", "created_at": "2024-01-01T00:00:00"},
            {"created_at": "must be timezone-aware (include an offset such as +00:00)"},
        ),
        (
            {"id": "c1", "created_at": "yesterday-ish"},
            {"created_at": "is not a timestamp (use ISO 8601 with an offset, e.g. 2024-05-01T12:00:00+00:00)"},
        ),
        (
            {"id": "c1", "created_at": "2024-01-01T00:00:00Z", "is_guest": "yes"},
            {"is_guest": "must be true or false, not str"},
        ),
        ({"id": "c1", "created_at": "2024-01-01T00:00:00Z", "nickname": "x"}, {"nickname": "is not a known field"}),
        (
            {"id": "c1", "created_at": "2024-01-01T00:00:00Z", "schema_version": 99},
            {"schema_version": f"is 99, newer than this release understands ({SCHEMA_VERSION}); upgrade custdata"},
        ),
        (
            {"id": "c1", "created_at": "2024-01-01T00:00:00Z", "addresses": [{"country_code": "DE", "city": ["x"]}]},
            {"addresses[0].city": "must be a string, not a list"},
        ),
        (
            {"id": "c1", "created_at": "2024-01-01T00:00:00Z", "preferences": {"channels": ["fax"]}},
            {"preferences.channels[0]": "must be one of email, sms, push, chat, phone, social, portal, webhook"},
        ),
        (
            {"id": "c1", "created_at": "2024-01-01T00:00:00Z", "phone": {"e164": "+4930", "extra": 1}},
            {"phone.extra": "is not a known field"},
        ),
    ],
)
def test_untrusted_problems_have_paths(data: Any, problems: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(Customer, data)
    assert {p.path: p.message for p in info.value.problems} == problems


def test_money_from_float_is_refused_with_path() -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(Money, {"amount": 1.5, "currency": "EUR"})
    assert info.value.problems[0].path == "amount"
    assert "float" in info.value.problems[0].message


def test_malformed_json() -> None:
    with pytest.raises(ValidationError, match="is not valid JSON"):
        from_json(Customer, "{")
    with pytest.raises(ValidationError, match="is not valid JSON"):
        from_json(Customer, "[" * 100_000)


def test_custom_converter() -> None:
    converter = make_converter()
    converter.register_unstructure_hook(Decimal, float)
    assert to_dict(Money("1.50", "EUR"), converter=converter)["amount"] == 1.5


def test_trusted_path_does_not_reparse() -> None:
    # trusted loads accept what the library wrote without running the checks again
    data = to_dict(Address(street_address_1="Hauptstr. 1", city="Berlin", postal_code="10115", country_code="DE"))
    data["postal_code"] = "not checked"
    assert from_dict(Address, data, trusted=True).postal_code == "not checked"
    with pytest.raises(ValidationError):
        from_dict(Address, data)


def _mutations(draw: Callable[[st.SearchStrategy[Any]], Any], value: Any, depth: int = 0) -> Any:
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=10),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.just("\x00"),
        st.just("9" * 400),
    )
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["replace", "recurse", "delete", "add"]))
        out = dict(value)
        if action == "delete":
            del out[key]
        elif action == "add":
            out[draw(st.text(max_size=6))] = draw(junk)
        elif action == "recurse" and depth < 6:
            out[key] = _mutations(draw, value[key], depth + 1)
        else:
            out[key] = draw(junk)
        return out
    if isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        out_list = list(value)
        out_list[i] = _mutations(draw, value[i], depth + 1) if draw(st.booleans()) else draw(junk)
        return out_list
    return draw(junk)


@pytest.mark.parametrize("name", ["customer", "order", "communication event", "activity event"])
def test_mutated_input_fails_cleanly(name: str) -> None:
    strategy = MODELS[name]

    @given(strategy, st.data())
    def check(obj: Any, data: st.DataObject) -> None:
        raw = to_dict(obj)
        broken = _mutations(data.draw, raw)
        try:
            result = from_dict(type(obj), broken)
        except ValidationError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.message
        else:
            assert isinstance(result, type(obj))

    check()


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda x: st.lists(x, max_size=3) | st.dictionaries(st.text(max_size=5), x, max_size=3),
    )
)
def test_arbitrary_json_never_escapes_as_another_error(data: Any) -> None:
    for cls in (Customer, Order, Address, Money):
        try:
            from_dict(cls, data)
        except ValidationError:
            pass
