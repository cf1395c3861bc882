"""Any merge rules or overrides either work or fail with a ValidationError naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from custdata import Customer, EmailAddress, ValidationError
from custdata.merge import CHOSEN_FIELDS, MergeRules, Rule
from custdata.merge.rules import OVERRIDABLE, combine

T0 = datetime(2025, 1, 1, tzinfo=UTC)
A = Customer("cus_a", created_at=T0, given_name="Ana", email=EmailAddress("ana@example.com"))
B = Customer("cus_b", created_at=T0, family_name="Ruiz")

#: Strings carry a marker, so that a value echoed in an error message is easy to spot.
anything = (
    st.none()
    | st.integers()
    | st.text(max_size=30).map(lambda s: s + "\u03a97q")
    | st.lists(st.integers(), max_size=2)
    | st.dates()
)
field_names = st.sampled_from(sorted({*CHOSEN_FIELDS, *OVERRIDABLE, "tags", "id", "version", "nonsense"}))


@given(st.dictionaries(field_names, st.sampled_from(list(Rule)) | anything, max_size=4))
def test_rules_are_accepted_or_refused_by_field(fields: dict[str, Any]) -> None:
    try:
        rules = MergeRules(fields=fields)
    except ValidationError as exc:
        assert all(p.path.startswith("fields.") and p.path[7:] in fields for p in exc.problems)
        return
    assert all(rules.rule(name) in CHOSEN_FIELDS[name] for name in CHOSEN_FIELDS)


@given(st.dictionaries(field_names, anything, max_size=3))
def test_overrides_are_applied_or_refused_by_field(overrides: dict[str, Any]) -> None:
    try:
        result, provenance = combine(A, [B], MergeRules(overrides=overrides), T0)
    except ValidationError as exc:
        assert all(p.path.startswith("overrides.") for p in exc.problems)
        assert "\u03a97q" not in str(exc)
        return
    by_field = {p.field: p for p in provenance}
    for name in overrides:
        assert by_field[name].rule == "override"
    assert {e.canonical for e in result.emails} == {"ana@example.com"}
