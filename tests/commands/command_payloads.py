"""Hypothesis strategies for command payloads, walked from the commands' own field definitions: valid payloads,
and the structural mutations of one (an unknown field, a value of the wrong JSON type, a required field left out).

Values the model checks beyond their JSON type (a country's address rules, locales, time zones, quiet hours in
pairs) come from small lists of real ones, so that every generated payload is one the command accepts.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from custdata.commands import _base
from custdata.commands._fields import (
    Boolean,
    Choice,
    Day,
    DecimalText,
    Email,
    Field,
    Integer,
    JsonObject,
    Kind,
    ListOf,
    Phone,
    Shape,
    Text,
    TimeOfDay,
)

PHONES = ("+49301234567", "+14155552671", "+442071838750", "+33142685300")
ADDRESSES = (
    {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "street_address_1": "Hauptstr. 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country_code": "DE",
    },
    {
        "first_name": "Alan",
        "last_name": "Turing",
        "street_address_1": "1600 Amphitheatre Pkwy",
        "city": "Mountain View",
        "postal_code": "94043",
        "country_code": "US",
        "country_area": "CA",
    },
    {
        "last_name": "Hopper",
        "street_address_1": "10 Downing Street",
        "city": "London",
        "postal_code": "SW1A 2AA",
        "country_code": "GB",
        "phone": "+442071838750",
    },
)
LOCALES = ("en", "de-AT", "pt-BR", "fr")
TIMEZONES = ("Europe/Berlin", "UTC", "America/New_York")

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÄÖÜäöüéè", min_size=1, max_size=12)
_json_leaf = st.none() | st.booleans() | st.integers(-1000, 1000) | _names
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=3),
    max_leaves=6,
)
_json_object = st.dictionaries(_names, _json, max_size=4)

#: Fields whose valid values are narrower than their JSON type, by name.
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "locale": st.sampled_from(LOCALES),
    "timezone": st.sampled_from(TIMEZONES),
    "currency": st.just("EUR"),
    "unit_price": st.decimals(0, 10_000, places=2).map(str),
    "expected_version": st.integers(0, 50),
    "index": st.integers(0, 3),
    "shipping": st.integers(0, 3),
    "billing": st.integers(0, 3),
}


def value(kind: Kind) -> st.SearchStrategy[Any]:
    """Valid JSON values of ``kind``."""
    if isinstance(kind, Shape):
        if kind is _base.ADDRESS:
            return st.sampled_from(ADDRESSES)
        if {f.name for f in kind.fields} >= {"quiet_hours_start", "quiet_hours_end"}:
            return _pairs_of_quiet_hours(kind)
        return shape(kind)
    if isinstance(kind, Text):
        return _names.map(lambda s: s[: kind.max_length])
    if isinstance(kind, Email):
        return st.builds(
            lambda local, domain: f"{local}@{domain}.example.com",
            st.from_regex(r"[a-z][a-z0-9.]{0,15}[a-z]", fullmatch=True).filter(lambda s: ".." not in s),
            st.sampled_from(["shop", "mail", "post"]),
        )
    if isinstance(kind, Phone):
        return st.sampled_from(PHONES)
    if isinstance(kind, Choice):
        return st.sampled_from(kind.allowed())
    if isinstance(kind, Boolean):
        return st.booleans()
    if isinstance(kind, Integer):
        return st.integers(kind.minimum, min(kind.maximum, kind.minimum + 1000))
    if isinstance(kind, DecimalText):
        return st.decimals(0, 10_000, places=2).map(str)
    if isinstance(kind, Day):
        return st.dates().map(lambda d: d.isoformat())
    if isinstance(kind, TimeOfDay):
        return st.times().map(lambda t: t.strftime("%H:%M"))
    if isinstance(kind, JsonObject):
        return _json_object
    if isinstance(kind, ListOf):
        if isinstance(kind.item, Choice):  # the model keeps each choice once
            return st.lists(value(kind.item), min_size=kind.min_items, max_size=3, unique=True)
        return st.lists(value(kind.item), min_size=kind.min_items, max_size=min(3, kind.max_items))
    raise AssertionError(f"no strategy for {kind!r}")


def field_value(field: Field) -> st.SearchStrategy[Any]:
    strategy = BY_NAME[field.name] if field.name in BY_NAME else value(field.kind)
    if field.nullable:
        strategy = strategy | st.none()
    return strategy


def shape(kind: Shape) -> st.SearchStrategy[dict[str, Any]]:
    required = {f.name: field_value(f) for f in kind.fields if f.required}
    optional = {f.name: field_value(f) for f in kind.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


def _pairs_of_quiet_hours(kind: Shape) -> st.SearchStrategy[dict[str, Any]]:
    others = Shape(tuple(f for f in kind.fields if not f.name.startswith("quiet_hours")))
    hours = st.times().map(lambda t: t.strftime("%H:%M"))
    pair = st.one_of(
        st.just({}),
        st.builds(lambda a, b: {"quiet_hours_start": a, "quiet_hours_end": b}, hours, hours),
    )
    return st.builds(lambda rest, quiet: {**rest, **quiet}, shape(others), pair)


#: One JSON value of each type, to put where another type belongs.
JSON_SAMPLES: dict[str, Any] = {
    "string": "text",
    "integer": 7,
    "boolean": True,
    "array": [1],
    "object": {"a": 1},
}


def json_types(kind: Kind) -> set[str]:
    """The JSON types a field of ``kind`` accepts."""
    schema = kind.schema()
    return {schema["type"]}


def wrong_values(field: Field) -> list[Any]:
    """JSON values of a type the field does not accept."""
    accepted = json_types(field.kind)
    return [sample for name, sample in JSON_SAMPLES.items() if name not in accepted]


def unknown_names(kind: Shape) -> st.SearchStrategy[str]:
    """Keys the shape does not know and does not forbid: typos of its fields and other names."""
    known = {f.name for f in kind.fields} | set(kind.forbidden)
    typos = st.sampled_from([f.name for f in kind.fields]).map(lambda n: n[:-1] + "_" if len(n) > 1 else n + "x")
    return (typos | st.text(min_size=1, max_size=20)).filter(lambda n: n not in known)
