"""The code the converters generate per model, tested against stock cattrs: the same documents, the same models
and the same errors with the same paths, on custdata's models and on users' own.

The reference is a plain ``cattrs.Converter`` set up the way cattrs documents it: hooks for the leaf values of
the format (Decimals, timestamps, emails, phone numbers, ids) registered with ``register_*_hook``, collections
by ``unstruct_collection_overrides`` and ``cattrs.cols``, and cattrs' own code (``cattrs.gen``) for models,
optional values and lists; lists and models take only JSON lists and objects, as the format says. None of custdata's generated functions or per-type bindings take part in it. The strict leaf checks
(what a valid Decimal or timestamp is, and the message when it is not) are the format's definition, not a fast
path, so the reference registers the same ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Any, get_args, get_origin

import attrs
import cattrs
import pytest
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Customer, ValidationError, from_dict, make_converter, to_dict
from custdata.domain.contact import EmailAddress, PhoneNumber
from custdata.domain.ids import Identifier
from custdata.serialization import _hooks as leaf
from custdata.serialization._shapes import kind_of
from custdata.testing import strategies as cst

# -- the reference: stock cattrs -----------------------------------------------------------------------------


def _reference_writer(c: cattrs.Converter) -> None:
    c.register_unstructure_hook(Decimal, str)
    for moment in (datetime, date, time):
        c.register_unstructure_hook(moment, moment.isoformat)
    c.register_unstructure_hook(EmailAddress, lambda email: email.value)
    c.register_unstructure_hook(PhoneNumber, lambda phone: {"e164": phone.e164, "region": phone.region})
    c.register_unstructure_hook(Identifier, str)
    for enum in (Enum, StrEnum):  # enums as their values (stock cattrs passes a StrEnum through as a str)
        c.register_unstructure_hook(enum, lambda member: member.value)


def _is_collection(t: Any) -> bool:
    return get_origin(t) in (tuple, list, frozenset, set)


def _guarded_collection(t: Any, c: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """A JSON list (nothing else iterable), read by cattrs' own list code, then made the field's collection."""
    origin, item = get_origin(t), get_args(t)[0]
    stock = list_structure_factory(list[item], c)  # type: ignore[valid-type]

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise ValidationError.single("", f"must be a list, not {kind_of(value)}")
        if len(value) > 100_000:
            raise ValidationError.single("", "has more than 100000 entries")
        items = stock(value, list[item])  # type: ignore[valid-type]
        try:
            return origin(items)
        except TypeError:
            raise ValidationError.single("", "holds values that cannot be in a set") from None

    return structure


def _model(cls: type, c: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """cattrs' own structuring function for a model, for a JSON object only (stock cattrs would index anything)."""
    stock: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, c, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
    )

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValidationError.single("", f"must be an object, not {kind_of(value)}")
        return stock(value, cls)

    return structure


def reference_converter(*, trusted: bool = False) -> cattrs.Converter:
    """Stock cattrs with the format's leaf hooks: checked reading, or quick reading when ``trusted``."""
    c = cattrs.Converter(
        detailed_validation=not trusted,
        forbid_extra_keys=not trusted,
        unstruct_collection_overrides={AbstractSet: sorted, Sequence: list},
    )
    _reference_writer(c)
    if trusted:
        c.register_structure_hook(Decimal, leaf._decimal)
        for moment in (datetime, date, time):
            c.register_structure_hook(moment, lambda value, cls: cls.fromisoformat(value))
        c.register_structure_hook(EmailAddress, lambda value, _: EmailAddress(value))
        c.register_structure_hook(PhoneNumber, lambda value, _: PhoneNumber(value["e164"], value["region"]))
        c.register_structure_hook(Identifier, lambda value, cls: cls(value))
        return c
    for kind, hook in (
        (str, leaf._strict_str),
        (int, leaf._strict_int),
        (bool, leaf._strict_bool),
        (Decimal, leaf._decimal),
        (datetime, leaf._datetime),
        (date, leaf._date),
        (time, leaf._time),
        (EmailAddress, leaf._email),
        (PhoneNumber, leaf._phone),
        (Enum, leaf._enum),
        (StrEnum, leaf._enum),
        (Identifier, leaf._identifier),
    ):
        c.register_structure_hook(kind, hook)
    c.register_structure_hook_factory(_is_collection, _guarded_collection)
    c.register_structure_hook_factory(attrs.has, _model)
    c.register_structure_hook_func(leaf.is_json_object, leaf._json_object)
    return c


REFERENCE = reference_converter()
REFERENCE_TRUSTED = reference_converter(trusted=True)


def typed(value: Any) -> Any:
    """``value`` with the exact type of every part spelled out, models field by field (``==`` alone takes an id
    for its string, and a StrEnum member for its value)."""
    if attrs.has(type(value)):
        return (type(value).__name__, [(f.name, typed(getattr(value, f.name))) for f in attrs.fields(type(value))])
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, frozenset):
        return ("frozenset", sorted(map(repr, map(typed, value))))
    return (type(value).__name__, value)


def outcome(read: Callable[[], Any]) -> Any:
    """What reading gives: the model with its fields' types, or the problems in the order they are reported."""
    try:
        result = read()
    except ValidationError as exc:
        return ("problems", [(p.path, p.message) for p in exc.problems])
    return ("model", typed(result))


ENTITIES = st.one_of(
    cst.customers(),
    cst.orders(),
    cst.communication_events(),
    cst.activity_events(),
    cst.addresses(),
    cst.money(),
    cst.companies(),
    cst.consent_records(),
    cst.preferences(),
    cst.tracking_events(),
)


# -- writing ------------------------------------------------------------------------------------------------


@given(ENTITIES)
def test_the_writer_writes_what_stock_cattrs_writes(obj: Any) -> None:
    expected = {"schema_version": 1, **REFERENCE.unstructure(obj)}
    for written in (to_dict(obj), to_dict(obj, converter=make_converter())):
        assert typed(written) == typed(expected)  # same keys in the same order, same values of the same types
    assert json.loads(json.dumps(to_dict(obj))) == to_dict(obj)  # and JSON data


# -- reading ------------------------------------------------------------------------------------------------


@given(ENTITIES)
def test_the_readers_read_what_stock_cattrs_reads(obj: Any) -> None:
    data = to_dict(obj)
    cls = type(obj)
    checked = outcome(lambda: from_dict(cls, data, converter=REFERENCE))
    assert checked == ("model", typed(obj))
    assert outcome(lambda: from_dict(cls, data)) == checked
    assert outcome(lambda: from_dict(cls, MappingProxyType(data))) == checked
    trusted = outcome(lambda: from_dict(cls, data, trusted=True, converter=REFERENCE_TRUSTED))
    assert trusted == checked
    assert outcome(lambda: from_dict(cls, data, trusted=True)) == trusted
    assert data == to_dict(obj)  # the input is left as it was


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["", "\x00", "9" * 400, "2024-05-01", "2024-05-01T12:00:00", "+49 30 1234567", "EUR", "x@y"]),
    st.lists(st.integers(), max_size=2),
    st.lists(st.text(max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(MappingProxyType, st.dictionaries(st.text(max_size=3), st.integers(), max_size=1)),
    st.sampled_from([b"x", 3.5, Decimal("1.5"), ("a",), frozenset({"a"}), object()]),
)


def _mutated(draw: Callable[[st.SearchStrategy[Any]], Any], value: Any, depth: int = 0) -> Any:
    """``value`` with one part somewhere inside replaced, removed or added to, or recursed into."""
    if isinstance(value, dict) and value and depth < 6:
        out = dict(value)
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["replace", "recurse", "recurse", "delete", "add"]))
        if action == "delete":
            del out[key]
        elif action == "add":
            out[draw(st.text(max_size=6) | st.sampled_from(sorted(value)))] = draw(_JUNK)
        elif action == "recurse":
            out[key] = _mutated(draw, value[key], depth + 1)
        else:
            out[key] = draw(_JUNK)
        return out
    if isinstance(value, list) and value and depth < 6:
        out_list = list(value)
        i = draw(st.integers(0, len(value) - 1))
        out_list[i] = _mutated(draw, value[i], depth + 1) if draw(st.booleans()) else draw(_JUNK)
        return out_list
    return draw(_JUNK)


@settings(max_examples=150)
@given(ENTITIES, st.data())
def test_junk_is_refused_as_stock_cattrs_refuses_it(obj: Any, data: st.DataObject) -> None:
    cls = type(obj)
    document = to_dict(obj)
    for _ in range(data.draw(st.integers(1, 3))):
        document = _mutated(data.draw, document)
    expected = outcome(lambda: from_dict(cls, document, converter=REFERENCE))
    assert outcome(lambda: from_dict(cls, document)) == expected
    assert outcome(lambda: from_dict(cls, document, converter=make_converter())) == expected


#: One value of each JSON kind, and a few look-alikes: each goes in every place of a document in turn.
_KINDS: tuple[object, ...] = (None, True, 0, 7, 1.5, "", "x", "2024-05-01T12:00:00+00:00", [], ["x"], {}, {"x": 1})


def _places(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(document, dict):
        return [p for key, value in document.items() for p in [(*path, key), *_places(value, (*path, key))]]
    if isinstance(document, list):
        return [p for i, value in enumerate(document) for p in [(*path, i), *_places(value, (*path, i))]]
    return []


def _replaced(document: Any, path: tuple[Any, ...], value: object) -> Any:
    if not path:
        return value
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[path[0]] = _replaced(document[path[0]], path[1:], value)
    return copy


@settings(max_examples=15, deadline=None)
@given(ENTITIES)
def test_every_kind_of_value_in_every_place_is_judged_as_stock_cattrs_judges_it(obj: Any) -> None:
    cls, document = type(obj), to_dict(obj)
    for place in _places(document):
        for value in _KINDS:
            changed = _replaced(document, place, value)
            expected = outcome(lambda: from_dict(cls, changed, converter=REFERENCE))  # noqa: B023 - called at once
            assert outcome(lambda: from_dict(cls, changed)) == expected, (place, value)  # noqa: B023


@given(ENTITIES, st.data())
def test_the_trusted_reader_skips_what_stock_cattrs_skips(obj: Any, data: st.DataObject) -> None:
    """Unknown keys (the schema version among them) are ignored, absent defaults taken, like stock cattrs does
    without forbid_extra_keys."""
    cls = type(obj)
    document = dict(to_dict(obj))
    document[data.draw(st.text(max_size=6).filter(lambda k: k not in document))] = data.draw(_JUNK)
    defaulted = [f.name for f in attrs.fields(cls) if f.default is not attrs.NOTHING and f.name in document]
    for name in data.draw(st.lists(st.sampled_from(defaulted), unique=True) if defaulted else st.just([])):
        del document[name]
    expected = outcome(lambda: from_dict(cls, document, trusted=True, converter=REFERENCE_TRUSTED))
    assert outcome(lambda: from_dict(cls, document, trusted=True)) == expected


_FIELDS = [
    "id",
    "created_at",
    "given_name",
    "email",
    "other_emails",
    "phone",
    "addresses",
    "default_shipping_address",
    "is_guest",
    "tags",
    "locale",
    "preferences",
    "metadata",
    "version",
]


@settings(max_examples=40)
@given(cst.customers(), st.sampled_from(_FIELDS), st.sampled_from([3.5, b"x", object(), [{}]]))
def test_a_wrong_value_is_reported_at_its_field(customer: Customer, field: str, junk: object) -> None:
    data = to_dict(customer)
    data[field] = junk
    with pytest.raises(ValidationError) as caught:
        from_dict(Customer, data)
    assert any(p.path == field or p.path.startswith((f"{field}[", f"{field}.")) for p in caught.value.problems)


def test_missing_and_unknown_keys_are_all_reported() -> None:
    document = {"given_name": 1, "surname": "x", "addresses": [{"city": "x", "zip": 1}]}
    with pytest.raises(ValidationError) as caught:
        from_dict(Customer, document)
    assert {(p.path, p.message) for p in caught.value.problems} >= {
        ("id", "is required"),
        ("created_at", "is required"),
        ("given_name", "must be a string, not int"),
        ("surname", "is not a known field"),
        ("addresses[0].zip", "is not a known field"),
    }
    assert outcome(lambda: from_dict(Customer, document)) == outcome(
        lambda: from_dict(Customer, document, converter=REFERENCE)
    )


# -- users' own models through make_converter ----------------------------------------------------------------


class Size(StrEnum):
    SMALL = "s"
    LARGE = "l"


@attrs.frozen
class Part:
    name: str
    note: str | None = None
    when: datetime | None = None
    price: Decimal | None = None
    size: Size = Size.SMALL
    count: int = 0
    labels: frozenset[str] = frozenset()


@attrs.frozen
class Node:
    label: str
    children: tuple[Node, ...] = ()
    part: Part | None = None
    parts: tuple[Part, ...] = ()
    flag: bool | None = None


PARTS = st.builds(
    Part,
    name=st.text(max_size=5),
    note=st.none() | st.text(max_size=5),
    when=st.none() | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3))])),
    price=st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=2),
    size=st.sampled_from(Size),
    count=st.integers(),
    labels=st.frozensets(st.text(max_size=3), max_size=3),
)
NODES = st.recursive(
    st.builds(Node, label=st.text(max_size=5)),
    lambda kids: st.builds(
        Node,
        label=st.text(max_size=5),
        children=st.lists(kids, max_size=3).map(tuple),
        part=st.none() | PARTS,
        parts=st.lists(PARTS, max_size=2).map(tuple),
        flag=st.none() | st.booleans(),
    ),
    max_leaves=10,
)


@given(NODES, st.data())
def test_a_users_models_are_written_and_read_as_stock_cattrs_does(node: Node, data: st.DataObject) -> None:
    strict, trusted = make_converter(), make_converter(trusted=True)
    document = to_dict(node, converter=strict)
    assert typed(document) == typed({"schema_version": 1, **REFERENCE.unstructure(node)})
    assert outcome(lambda: from_dict(Node, document, converter=strict)) == outcome(
        lambda: from_dict(Node, document, converter=REFERENCE)
    )
    assert from_dict(Node, document, converter=strict) == node
    assert from_dict(Node, document, trusted=True, converter=trusted) == node
    assert from_dict(Node, document, trusted=True, converter=REFERENCE_TRUSTED) == node
    broken = _mutated(data.draw, document)
    assert outcome(lambda: from_dict(Node, broken, converter=strict)) == outcome(
        lambda: from_dict(Node, broken, converter=REFERENCE)
    )


def test_a_users_model_gets_paths_in_its_errors() -> None:
    strict = make_converter()
    with pytest.raises(ValidationError) as caught:
        from_dict(
            Node,
            {"label": "a", "children": [{"label": 1}, {"label": "b", "part": {"name": "x", "x": 1}}]},
            converter=strict,
        )
    assert {p.path for p in caught.value.problems} == {"children[0].label", "children[1].part.x"}


def test_a_hook_registered_for_a_model_wins_over_the_generated_code() -> None:
    converter = make_converter()
    converter.register_unstructure_hook(Part, lambda part: part.name)
    assert to_dict(Node("a", part=Part("p")), converter=converter)["part"] == "p"


@given(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])),
    st.sampled_from(["same", "equal elsewhere", "later", "none"]),
)
def test_timestamps_are_written_each_in_its_own_offset(created: datetime, relation: str) -> None:
    """The writer reuses the text of a timestamp that is the previous one; equal instants in other offsets and
    other instants are each written as stock cattrs writes them."""
    later = created + timedelta(seconds=1)
    updated = {
        "same": created,
        "equal elsewhere": created.astimezone(timezone(timedelta(hours=-5))),
        "later": later,
        "none": created,
    }[relation]
    verified = None if relation == "none" else updated
    customer = Customer(
        id="cus_1", created_at=created, updated_at=max(updated, created), email_verified_at=None, redacted_at=verified
    )
    data = to_dict(customer)
    assert typed(data) == typed({"schema_version": 1, **REFERENCE.unstructure(customer)})
    assert data["created_at"] == created.isoformat()
    assert data["redacted_at"] == (None if verified is None else verified.isoformat())
