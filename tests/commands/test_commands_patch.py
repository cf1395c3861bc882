"""Partial updates follow JSON Merge Patch (RFC 7396): the RFC's own examples, and any profile patch on a stored
customer (a field left out stays, null clears, a value replaces)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from command_payloads import LOCALES, PHONES, TIMEZONES
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import PhoneNumber, open_store
from custdata.commands import RegisterCustomer, UpdateProfile
from custdata.commands._fields import merge_patch

#: RFC 7396, appendix A: target, patch, result.
RFC_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_EXAMPLES)
def test_merge_patch_gives_the_rfcs_results(target: Any, patch: Any, result: Any) -> None:
    before = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == before  # the target is not changed


_names = st.text(alphabet="abcdefghij", min_size=1, max_size=8)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "given_name": _names,
    "family_name": _names,
    "display_name": _names,
    "locale": st.sampled_from(LOCALES),
    "timezone": st.sampled_from(TIMEZONES),
    "birthday": st.dates().map(lambda d: d.isoformat()),
    "phone": st.sampled_from(PHONES),
}
_start = st.fixed_dictionaries({}, optional=FIELDS)
_patch = st.fixed_dictionaries({}, optional={k: v | st.none() for k, v in FIELDS.items()})


def _shown(value: object) -> object:
    if isinstance(value, PhoneNumber):
        return value.e164
    return value.isoformat() if hasattr(value, "isoformat") else value


@settings(max_examples=40)
@given(start=_start, patch=_patch)
def test_a_profile_patch_keeps_what_it_leaves_out_and_clears_nulls(
    start: dict[str, Any], patch: dict[str, Any]
) -> None:
    with open_store("memory://") as store:
        created = RegisterCustomer.from_payload({"email": "jane@example.com", **start}).apply(store)
        customer = created.customer
        assert customer is not None
        before = {name: _shown(getattr(customer, name)) for name in FIELDS}
        updated = UpdateProfile.from_payload({"expected_version": 0, **patch}).apply(
            store, customer.id, clock=lambda: datetime.now(UTC)
        )
        for name in FIELDS:
            now = _shown(getattr(updated, name))
            if name not in patch:
                assert now == before[name], name
            elif patch[name] is None:
                assert now is None, name
            elif name == "phone":
                assert now == PhoneNumber.parse(patch[name]).e164
            else:
                assert now == patch[name], name
