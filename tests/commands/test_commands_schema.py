"""Each command's JSON Schema and its ``from_payload`` agree: every valid payload passes both, and a payload
broken in its structure (an unknown field, a value of the wrong type, a required field left out) fails both,
with the command naming the path and the stable code."""

from __future__ import annotations

from typing import Any

import pytest
from command_payloads import shape, unknown_names, wrong_values
from hypothesis import given, settings
from hypothesis import strategies as st
from required_extras import require

from custdata import ErrorCode, ValidationError
from custdata.commands import COMMANDS, Command, openapi_schemas

jsonschema = require("jsonschema", "test")

NAMES = sorted(COMMANDS)


def _validator(cls: type[Command]) -> Any:
    schema = cls.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _refused(cls: type[Command], payload: object) -> list[tuple[str, ErrorCode]]:
    with pytest.raises(ValidationError) as caught:
        cls.from_payload(payload)
    return [(p.path, p.code) for p in caught.value.problems]


@pytest.mark.parametrize("name", NAMES)
def test_every_schema_is_a_closed_draft_2020_12_object(name: str) -> None:
    schema = COMMANDS[name].json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)

    def closed(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node["additionalProperties"] is False
            for child in node.values():
                closed(child)
        elif isinstance(node, list):
            for child in node:
                closed(child)

    closed(schema)


def test_openapi_schemas_name_every_command_without_a_dialect() -> None:
    schemas = openapi_schemas()
    assert set(schemas) == set(COMMANDS)
    assert all("$schema" not in s and s["type"] == "object" for s in schemas.values())


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20)
@given(data=st.data())
def test_valid_payloads_pass_the_command_and_the_schema(name: str, data: st.DataObject) -> None:
    cls = COMMANDS[name]
    payload = data.draw(shape(cls.SHAPE))
    assert list(_validator(cls).iter_errors(payload)) == []
    cls.from_payload(payload)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20)
@given(data=st.data())
def test_an_unknown_field_is_refused_by_both_with_its_path(name: str, data: st.DataObject) -> None:
    cls = COMMANDS[name]
    payload = data.draw(shape(cls.SHAPE))
    key = data.draw(unknown_names(cls.SHAPE))
    payload[key] = data.draw(st.none() | st.integers() | st.text(max_size=5))
    assert not _validator(cls).is_valid(payload)
    problems = _refused(cls, payload)
    assert (key, ErrorCode.UNKNOWN_FIELD) in problems or "." in key or "[" in key
    assert all(code == ErrorCode.UNKNOWN_FIELD for _, code in problems)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20)
@given(data=st.data())
def test_a_server_managed_field_is_refused_by_both(name: str, data: st.DataObject) -> None:
    cls = COMMANDS[name]
    if not cls.SHAPE.forbidden:
        return
    payload = data.draw(shape(cls.SHAPE))
    key = data.draw(st.sampled_from(sorted(cls.SHAPE.forbidden)))
    payload[key] = data.draw(st.none() | st.integers() | st.text(max_size=5) | st.booleans())
    assert not _validator(cls).is_valid(payload)
    assert _refused(cls, payload) == [(key, ErrorCode.FORBIDDEN_FIELD)]


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20)
@given(data=st.data())
def test_a_value_of_the_wrong_type_is_refused_by_both(name: str, data: st.DataObject) -> None:
    cls = COMMANDS[name]
    payload = data.draw(shape(cls.SHAPE))
    field = data.draw(st.sampled_from(cls.SHAPE.fields))
    payload[field.name] = data.draw(st.sampled_from(wrong_values(field)))
    assert not _validator(cls).is_valid(payload)
    assert (field.name, ErrorCode.INVALID_TYPE) in _refused(cls, payload)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20)
@given(data=st.data())
def test_a_missing_required_field_is_refused_by_both(name: str, data: st.DataObject) -> None:
    cls = COMMANDS[name]
    required = [f.name for f in cls.SHAPE.fields if f.required]
    payload = data.draw(shape(cls.SHAPE))
    left_out = data.draw(st.sampled_from(required))
    del payload[left_out]
    assert not _validator(cls).is_valid(payload)
    assert (left_out, ErrorCode.REQUIRED) in _refused(cls, payload)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("payload", [None, [], "{}", 3])
def test_a_payload_that_is_no_object_is_refused_by_both(name: str, payload: object) -> None:
    cls = COMMANDS[name]
    assert not _validator(cls).is_valid(payload)
    assert _refused(cls, payload) == [("", ErrorCode.INVALID_TYPE)]


_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30)
@given(data=st.data())
def test_every_problem_with_junk_has_a_specific_code(name: str, data: st.DataObject) -> None:
    cls = COMMANDS[name]
    payload = data.draw(shape(cls.SHAPE))
    names = [f.name for f in cls.SHAPE.fields]
    for key in data.draw(st.lists(st.sampled_from(names) | st.text(max_size=10), max_size=3)):
        payload[key] = data.draw(_junk)
    try:
        cls.from_payload(payload)
    except ValidationError as exc:
        assert all(p.code is not ErrorCode.INVALID for p in exc.problems), exc.problems
        if _validator(cls).is_valid(payload):  # then the payload is sound in its structure: only values are wrong
            structural = {ErrorCode.UNKNOWN_FIELD, ErrorCode.FORBIDDEN_FIELD, ErrorCode.INVALID_TYPE}
            missing = [p for p in exc.problems if p.code is ErrorCode.REQUIRED and p.message == "is required"]
            assert not missing and not [p for p in exc.problems if p.code in structural]
