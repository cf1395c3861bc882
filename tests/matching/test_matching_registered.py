"""A pair with a registered account is never merged automatically, however sure the evidence: at most review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import Address, Customer, EmailAddress, PhoneNumber, ValidationError
from custdata.matching import REGISTERED_REASON, CustomerRecord, Decision, Matcher

T0 = datetime(2025, 1, 1, tzinfo=UTC)
MATCHER = Matcher()

GIVEN = ("Katharina", "Kathi", "Jon", "John", "Adelheid")
FAMILY = ("Müller", "Mueller", "Smith", "Quenstedt")
STREETS = ("Hauptstraße 5", "Hauptstr. 5", "Kastanienallee 17", "Ringstraße 9")
EMAILS = ("k.mueller@example.de", "K.Mueller@Example.de", "attacker@example.net", "jon@example.com")
PHONES = ("+49 30 2345678", "+49 30 901820", "+49 170 1234567")


@st.composite
def customer(draw: st.DrawFn, customer_id: str) -> Customer:
    street = draw(st.sampled_from(STREETS))
    home = Address(street_address_1=street, postal_code="10115", city="Berlin", country_code="DE")
    email = draw(st.none() | st.sampled_from(EMAILS))
    created = T0 + timedelta(days=draw(st.integers(0, 400)))
    return Customer(
        customer_id,
        created_at=created,
        updated_at=created + timedelta(days=draw(st.integers(0, 400))),
        given_name=draw(st.sampled_from(GIVEN)),
        family_name=draw(st.sampled_from(FAMILY)),
        email=EmailAddress.parse(email) if email else None,
        email_verified_at=draw(st.none() | st.just(created)) if email else None,
        phone=draw(st.none() | st.sampled_from(PHONES).map(PhoneNumber.parse)),
        addresses=(home,),
        default_shipping_address=0,
        is_guest=draw(st.booleans()),
    )


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Customer, Customer]:
    """Two customers; half the time the second copies the first's name, phone and street (a close copy scores
    as sure as a duplicate), with its own email and guest flag."""
    first = draw(customer("cus_a"))
    second = draw(customer("cus_b"))
    if draw(st.booleans()):
        second = Customer(
            "cus_b",
            created_at=second.created_at,
            updated_at=second.updated_at,
            given_name=first.given_name,
            family_name=first.family_name,
            email=second.email,
            phone=first.phone,
            addresses=first.addresses,
            default_shipping_address=0,
            is_guest=second.is_guest,
        )
    return first, second


def _by_score(score: float) -> Decision:
    if score >= MATCHER.auto_merge:
        return Decision.AUTO_MERGE
    return Decision.REVIEW if score >= MATCHER.review else Decision.DISTINCT


@given(pairs())
def test_a_pair_with_a_registered_customer_is_never_merged_automatically(pair: tuple[Customer, Customer]) -> None:
    a, b = pair
    found = MATCHER.compare(a, b)
    expected = _by_score(found.score)
    if a.is_guest and b.is_guest:
        assert (found.decision, found.reason) == (expected, "")
    elif expected is Decision.AUTO_MERGE:
        assert (found.decision, found.reason) == (Decision.REVIEW, REGISTERED_REASON)
        assert REGISTERED_REASON in found.explain()
    else:
        assert (found.decision, found.reason) == (expected, "")
    # find_duplicates decides the same way, and also through the records built from the customers
    for records in ((a, b), (CustomerRecord.from_customer(a), CustomerRecord.from_customer(b))):
        listed = MATCHER.find_duplicates(records, blocking=False).pairs
        assert [(p.decision, p.reason, p.score) for p in listed] == (
            [(found.decision, found.reason, found.score)] if found.decision is not Decision.DISTINCT else []
        )


def _row(row_id: str, **extra: object) -> dict[str, object]:
    return {
        "id": row_id,
        "first_name": "Katharina",
        "last_name": "Müller",
        "phone": "+49 30 2345678",
        "street": "Hauptstraße 5",
        "zip": "10115",
        "city": "Berlin",
        "country": "DE",
        **extra,
    }


@pytest.mark.parametrize(
    ("flags", "decision"),
    [
        ((None, None), Decision.AUTO_MERGE),
        ((True, "yes"), Decision.AUTO_MERGE),
        (("true", " 0 "), Decision.REVIEW),
        ((False, None), Decision.REVIEW),
        ((1, "No"), Decision.REVIEW),
    ],
)
def test_rows_say_whether_they_are_registered(flags: tuple[object, object], decision: Decision) -> None:
    """A row that does not say (most imported rows) is matched as before; one that says registered is held."""
    rows = [_row("r1", email="a@example.com", is_guest=flags[0]), _row("r2", email="b@example.net")]
    rows[1]["Is_Guest"] = flags[1]
    pair = MATCHER.compare(*rows)
    assert pair.score >= MATCHER.auto_merge
    assert pair.decision is decision
    assert pair.reason == ("" if decision is Decision.AUTO_MERGE else REGISTERED_REASON)


@pytest.mark.parametrize("bad", ["maybe", 2, 0.5, ["yes"]])
def test_a_bad_guest_flag_is_named(bad: object) -> None:
    with pytest.raises(ValidationError) as caught:
        MATCHER.find_duplicates([_row("r1"), _row("r2", is_guest=bad)])
    assert [p.path for p in caught.value.problems] == ["[1].is_guest"]
    with pytest.raises(ValidationError, match="is_guest"):
        CustomerRecord("r1", is_guest="no")  # type: ignore[arg-type]
