"""The quick tests the checks run first agree with the detailed ones that say where a problem is."""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import (
    Address,
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    PhoneNumber,
    ValidationError,
)
from custdata.domain.address import _LIMITS, _TEXT_FIELDS, _tidy
from custdata.domain.address import _plain as plain_fields
from custdata.domain.checks import MAX_JSON_DEPTH, Checker, _check_json, _is_json, trusting
from custdata.testing import strategies as cst

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=5)
    | st.sampled_from(["\x00", "a\x00b", ""])
    | st.builds(object)
    | st.binary(max_size=2)
)


def _nest(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    keys = st.text(max_size=3) | st.integers(0, 3) | st.none()
    return (
        st.lists(children, max_size=3)
        | st.tuples(children)
        | st.dictionaries(keys, children, max_size=3)
        | st.builds(OrderedDict, st.dictionaries(st.text(max_size=2), children, max_size=2))
    )


_VALUES = st.recursive(_SCALARS, _nest, max_leaves=12)


def _deep(depth: int, leaf: object) -> object:
    value: object = leaf
    for _ in range(depth):
        value = [value]
    return value


def _control(char: str) -> bool:
    return (ord(char) < 32 and char not in "\t\n\r") or ord(char) == 127


def _problems(value: object) -> list[object]:
    checker = Checker()
    _check_json(checker, "m", value, 0)
    return list(checker.problems)


@given(_VALUES)
def test_the_quick_json_test_accepts_only_what_the_detailed_check_accepts(value: object) -> None:
    if _is_json(value, 0):
        assert _problems(value) == []


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5), _nest, max_leaves=12))
def test_the_quick_json_test_accepts_plain_json(value: object) -> None:
    plain = _problems(value) == []
    if plain and all(type(k) is str for k in _keys(value)) and not _has_tuple(value):
        assert _is_json(value, 0)


def _keys(value: object) -> list[object]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, (list, tuple)):
        return [k for v in value for k in _keys(v)]
    return []


def _has_tuple(value: object) -> bool:
    if isinstance(value, tuple) or (isinstance(value, dict) and type(value) is not dict):
        return True
    if isinstance(value, dict):
        return any(_has_tuple(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_tuple(v) for v in value)
    return False


def test_depth_is_judged_alike_at_the_limit() -> None:
    for depth in (MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, MAX_JSON_DEPTH + 2):
        leaf: object
        for leaf in (1, "x", None, []):
            value = _deep(depth, leaf)
            assert _is_json(value, 0) == (_problems(value) == []), (depth, leaf)


@given(
    st.text(max_size=300),
    st.booleans(),
    st.booleans(),
    st.integers(0, 300),
)
def test_the_quick_text_test_agrees_with_the_detailed_one(
    value: str, optional: bool, multiline: bool, limit: int
) -> None:
    quick = Checker()
    accepted = quick.text("f", value, optional=optional, multiline=multiline, max_length=limit)
    expected = (
        len(value) <= limit
        and (optional or bool(value.strip()))
        and "\x00" not in value
        and (multiline or not any(map(_control, value)))
    )
    assert accepted == expected
    assert accepted == (quick.problems == [])


@given(st.frozensets(st.text(max_size=120), max_size=4))
def test_tags_are_checked_whatever_their_order(tags: frozenset[str]) -> None:
    good = all(t.strip() and len(t) <= 100 and not any(map(_control, t)) for t in tags)
    created = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        Customer(id="cus_1", created_at=created, tags=tags)
    except ValidationError as exc:
        assert not good
        assert [p.path for p in exc.problems] == ["tags"]
    else:
        assert good


_FIELD_TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from(" \u00a0\u2003\t\x1f\u200d"), max_size=30)


@given(st.lists(_FIELD_TEXT | st.integers(), min_size=9, max_size=9))
def test_address_fields_that_look_plain_and_tidy_pass_the_detailed_checks_unchanged(values: list[object]) -> None:
    fields = tuple(values)
    if plain_fields(fields):
        checker = Checker()
        for value, limit in zip(fields, _LIMITS, strict=True):
            assert checker.text("f", value, optional=True, max_length=limit)
        if _tidy("\n".join(fields)):  # type: ignore[arg-type]
            assert all(" ".join(v.split()) == v for v in fields)  # type: ignore[attr-defined]


_ADDRESS_TEXT = (
    st.sampled_from(["", "Ada", "Main Street 1", "berlin", "Tokyo", "ca", "California", "10115", "ec1y 8sy", "X" * 21])
    | _FIELD_TEXT
    | st.integers()
)


@settings(max_examples=300)
@given(
    st.lists(_ADDRESS_TEXT, min_size=9, max_size=9),
    st.sampled_from(["US", "us", "DE", "GB", "JP", " FR", "ZZ", "", 5]),
    st.sampled_from([None, PhoneNumber.parse("+49 30 1234567"), "+49 30 1234567"]),
)
def test_an_address_comes_out_of_the_quick_path_as_out_of_the_detailed_one(
    values: list[object], country: object, phone: object
) -> None:
    fields = dict(zip(_TEXT_FIELDS, values, strict=True)) | {"country_code": country, "phone": phone}

    def outcome(build: object) -> object:
        try:
            address = build()  # type: ignore[operator]
        except ValidationError as exc:
            return sorted(map(str, exc.problems))
        return attrs.astuple(address, recurse=False)

    def detailed() -> Address:
        with trusting():
            address = Address(**fields)  # type: ignore[arg-type]
        address._check_each_field(tuple(values))
        return address

    assert outcome(lambda: Address(**fields)) == outcome(detailed)  # type: ignore[arg-type]


_NAIVE = datetime(2024, 1, 1)
_PAST = datetime(2024, 1, 1, tzinfo=UTC)
_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


def _consent(at: object, state: ConsentState = ConsentState.SUBSCRIBED) -> ConsentRecord:
    """A consent record as a store might hold it (built without its own checks, so its date may be anything)."""
    with trusting():
        return ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, state, at)  # type: ignore[arg-type]


_JUNK: tuple[object, ...] = (
    None,
    "",
    " ",
    "x\x01y",
    "x" * 300,
    5,
    -1,
    True,
    3.5,
    _NAIVE,
    datetime(1999, 1, 1, tzinfo=UTC),
    datetime(2999, 1, 1, tzinfo=UTC),
    "Mars/Base",
    "Europe/Berlin",
    "xx",
    "pt_br",
    "de-AT",
    "bad id",
    "cus_1",
    (),
    ("x",),
    frozenset(),
    frozenset({""}),
    frozenset({"vip"}),
    {},
    {"a": float("nan")},
    {"a": [1, {"b": "\x00"}]},
    {1: "x"},
    [],
    OrderedDict(a=1),
    (_consent(_PAST),),
    (_consent(_PAST), _consent(_PAST, ConsentState.UNSUBSCRIBED)),
    (_consent(_FUTURE),),  # a grant dated ahead would lock the consent in place
    (_consent(_FUTURE), _consent(_FUTURE, ConsentState.UNSUBSCRIBED)),  # ... unless a withdrawal ends it
    (_consent(_FUTURE, ConsentState.REDACTED),),
    (_consent(_NAIVE),),
    (_consent(_PAST), "x"),
    [_consent(_PAST)],
)
_CUSTOMER_FIELDS = [f.name for f in attrs.fields(Customer)]


def _plain(customer: Customer) -> Customer:
    """The customer without what always takes the detailed path (second emails, a company...); its consent
    records, dated in the past, stay."""
    with trusting():
        return attrs.evolve(
            customer,
            other_emails=(),
            other_phones=(),
            company=None,
            birthday=None,
            merged_into=None,
            redacted_at=None,
        )


@settings(max_examples=25)
@given(cst.customers())
def test_a_customer_that_passes_the_quick_test_passes_every_check(customer: Customer) -> None:
    base = _plain(customer)
    assert base._plainly_valid()
    for field in _CUSTOMER_FIELDS:  # every junk value in every field, and in pairs with the timestamps
        for junk in _JUNK:
            with trusting():
                change: dict[str, Any] = {field: junk}
                changed = attrs.evolve(base, **change)
            if changed._plainly_valid():
                changed._check_each_field(arriving=True)  # raises if the quick test let a problem through


@settings(max_examples=30)
@given(cst.customers())
def test_generated_customers_take_the_quick_path(customer: Customer) -> None:
    assert _plain(customer)._plainly_valid()


class _Text(str):
    """A str that the quick tests (``type(value) is str``) pass on to the detailed checks, which judge it alike."""

    __slots__ = ()


@settings(max_examples=200)
@given(
    st.text(st.sampled_from("aZ \u00e9\u00a0"), max_size=40)
    | st.text(st.sampled_from("aZ \u00e9\u00a0\u2003\x00\x01\x1f\x7f\t\n") | st.characters(codec="utf-8"), max_size=40)
    | st.sampled_from([None, 5, b"x", 1.5]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([-2, -1, 0, 1, 2, 300]),
)
def test_the_quick_text_test_gives_what_the_detailed_checks_give(
    value: object, optional: bool, multiline: bool, shift: int
) -> None:
    limit = max(0, len(value) + shift) if isinstance(value, str) else shift % 7  # lengths at the limit and beside it
    quick, detailed = Checker(), Checker()
    slow_value = _Text(value) if isinstance(value, str) else value
    args = {"optional": optional, "multiline": multiline, "max_length": limit}
    assert quick.text("f", value, **args) == detailed.text("f", slow_value, **args)  # type: ignore[arg-type]
    assert quick.problems == detailed.problems


_ANY_JUNK = st.sampled_from(_JUNK) | _VALUES
_NOW = re.compile(r"\(later than [^)]*\)")


@settings(max_examples=40)
@given(cst.customers(), st.dictionaries(st.sampled_from(_CUSTOMER_FIELDS), _ANY_JUNK, max_size=3))
def test_a_customer_comes_out_of_the_quick_path_as_out_of_the_detailed_one(
    customer: Customer, junk: dict[str, object]
) -> None:
    base = _plain(customer)
    fields = {f: getattr(base, f) for f in _CUSTOMER_FIELDS} | junk

    def outcome(build: object) -> object:
        try:
            made = build()  # type: ignore[operator]
        except ValidationError as exc:
            return sorted(_NOW.sub("<now>", str(problem)) for problem in exc.problems)  # each path reads its clock
        return [(type(v), v) for v in attrs.astuple(made, recurse=False)]

    def detailed() -> Customer:
        with trusting():
            made = Customer(**fields)
        made._check_each_field(arriving=True)  # as the constructor checks a customer arriving from outside
        return made

    def quick() -> Customer:
        return Customer(**fields)

    assert outcome(quick) == outcome(detailed)
