"""The code the converters generate per model: same documents, same errors and paths, users' own models too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Customer, ValidationError, from_dict, make_converter, to_dict
from custdata.testing import strategies as cst

ENTITIES = st.one_of(
    cst.customers(), cst.orders(), cst.communication_events(), cst.activity_events(), cst.addresses(), cst.money()
)


@given(ENTITIES)
def test_the_default_writer_writes_what_a_fresh_converter_writes(obj: Any) -> None:
    assert to_dict(obj) == to_dict(obj, converter=make_converter())
    assert next(iter(to_dict(obj))) == "schema_version"


@given(ENTITIES)
def test_the_trusted_reader_ignores_the_schema_version_and_reads_what_was_written(obj: Any) -> None:
    data = to_dict(obj)
    assert from_dict(type(obj), data, trusted=True) == obj
    assert from_dict(type(obj), MappingProxyType(data)) == obj
    assert data == to_dict(obj)  # the input is left as it was


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
    with pytest.raises(ValidationError) as caught:
        from_dict(Customer, {"given_name": 1, "surname": "x", "addresses": [{"city": "x", "zip": 1}]})
    assert {(p.path, p.message) for p in caught.value.problems} >= {
        ("id", "is required"),
        ("created_at", "is required"),
        ("given_name", "must be a string, not int"),
        ("surname", "is not a known field"),
        ("addresses[0].zip", "is not a known field"),
    }


# -- users' own models through make_converter ----------------------------------------------------------------


@attrs.frozen
class Part:
    name: str
    note: str | None = None
    when: datetime | None = None


@attrs.frozen
class Node:
    label: str
    children: tuple[Node, ...] = ()
    part: Part | None = None


NODES = st.recursive(
    st.builds(Node, label=st.text(max_size=5)),
    lambda kids: st.builds(
        Node,
        label=st.text(max_size=5),
        children=st.lists(kids, max_size=3).map(tuple),
        part=st.none()
        | st.builds(
            Part,
            name=st.text(max_size=5),
            note=st.none() | st.text(max_size=5),
            when=st.none() | st.datetimes(timezones=st.just(UTC)),
        ),
    ),
    max_leaves=10,
)


@given(NODES)
def test_a_users_recursive_models_round_trip_on_both_converters(node: Node) -> None:
    strict, trusted = make_converter(), make_converter(trusted=True)
    data = to_dict(node, converter=strict)
    assert from_dict(Node, data, converter=strict) == node
    assert from_dict(Node, data, trusted=True, converter=trusted) == node


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
    assert data["created_at"] == created.isoformat()
    assert data["updated_at"] == max(updated, created).isoformat()
    assert data["redacted_at"] == (None if verified is None else verified.isoformat())
    assert data["email_verified_at"] is None
