"""Any merge rules or overrides either work or fail with a ValidationError naming the field; and no rule gives a
registered account another record's unverified primary email or phone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from custdata import Customer, CustomerId, EmailAddress, PhoneNumber, ValidationError
from custdata.merge import CHOSEN_FIELDS, FieldProvenance, MergeRules, Rule
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


EMAILS = ("owner@example.com", "Owner@Example.com", "attacker@example.net", "second@example.org", "x@example.de")
PHONES = ("+49 30 2345678", "+49 170 1234567", "+1 415 555 0132")


@st.composite
def contacts_customer(draw: st.DrawFn, customer_id: str) -> Customer:
    """A guest or registered customer with a few contact points from a small pool (so they overlap), some
    verified, updated at any time."""
    emails = draw(
        st.lists(st.sampled_from(EMAILS).map(EmailAddress.parse), max_size=3, unique_by=lambda e: e.canonical)
    )
    phones = draw(st.lists(st.sampled_from(PHONES).map(PhoneNumber.parse), max_size=2, unique_by=lambda p: p.e164))
    created = T0 + timedelta(days=draw(st.integers(0, 300)))
    updated = created + timedelta(days=draw(st.integers(0, 300)))
    return Customer(
        customer_id,
        created_at=created,
        updated_at=updated,
        email=emails[0] if emails else None,
        other_emails=tuple(emails[1:]),
        phone=phones[0] if phones else None,
        other_phones=tuple(phones[1:]),
        email_verified_at=draw(st.none() | st.just(updated)) if emails else None,
        phone_verified_at=draw(st.none() | st.just(updated)) if phones else None,
        is_guest=draw(st.booleans()),
    )


contact_rules = st.builds(
    lambda email, phone: MergeRules(fields={"email": email, "phone": phone}),
    st.sampled_from(CHOSEN_FIELDS["email"]),
    st.sampled_from(CHOSEN_FIELDS["phone"]),
)


@given(
    st.integers(2, 4).flatmap(lambda n: st.tuples(*(contacts_customer(f"cus_{i}") for i in range(n)))), contact_rules
)
def test_a_registered_result_never_takes_an_unverified_foreign_primary(
    customers: tuple[Customer, ...], rules: MergeRules
) -> None:
    """Whatever the rules, a merge with a registered customer keeps a registered customer's own primary email and
    phone, or one verified on its own record; every other contact point is kept, but not as the primary."""
    survivor, *others = customers
    result, provenance = combine(survivor, others, rules, T0 + timedelta(days=700))
    registered = [c for c in customers if not c.is_guest]
    assert result.is_guest is (not registered)
    keys: tuple[tuple[str, Callable[[Any], str]], ...] = (("email", lambda e: e.canonical), ("phone", lambda p: p.e164))
    for name, key in keys:
        primary, stamp = getattr(result, name), getattr(result, f"{name}_verified_at")
        everything = {key(item) for c in customers for item in getattr(c, f"{name}s")}
        assert {key(item) for item in getattr(result, f"{name}s")} == everything
        verified = {key(getattr(c, name)) for c in customers if getattr(c, f"{name}_verified_at") is not None}
        if registered and primary is not None:
            own = {key(getattr(c, name)) for c in registered if getattr(c, name) is not None}
            assert key(primary) in own | verified, provenance
        if stamp is not None:
            assert primary is not None and key(primary) in verified
        if registered and not any(getattr(c, name) for c in registered) and primary is not None:
            assert key(primary) in verified


def test_a_person_may_choose_a_guest_address_as_the_primary() -> None:
    """An override is a person's explicit decision: it may pick any of the merged customers' own addresses."""
    account = Customer("cus_acc", created_at=T0, email=EmailAddress("owner@example.com"))
    guest = Customer(
        "cus_g", created_at=T0, updated_at=T0 + timedelta(days=1), email=EmailAddress("new@example.org"), is_guest=True
    )
    by_rule, provenance = combine(account, [guest], MergeRules(fields={"email": Rule.MOST_RECENT}), T0)
    assert str(by_rule.email) == "owner@example.com" and [str(e) for e in by_rule.other_emails] == ["new@example.org"]
    assert {p.field: p for p in provenance}["email"] == FieldProvenance(
        "email", "registered_account", (CustomerId("cus_acc"),)
    )
    chosen, provenance = combine(account, [guest], MergeRules(overrides={"email": "NEW@example.org"}), T0)
    assert str(chosen.email) == "new@example.org" and chosen.email_verified_at is None
    assert {p.field: p for p in provenance}["email"].rule == "override"
    # a registered guest-survivor merge: the account's identity wins though the guest survives
    flipped, _ = combine(guest, [account], MergeRules(fields={"email": Rule.SURVIVOR}), T0)
    assert str(flipped.email) == "owner@example.com" and not flipped.is_guest
