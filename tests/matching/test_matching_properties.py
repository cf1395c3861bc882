"""Properties of matching, checked with Hypothesis on dirty rows and records built from realistic fragments:
scores are symmetric, a record matches itself best, bad rows fail with clear errors and never crash."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from custdata import ValidationError
from custdata.domain.contact import EmailAddress
from custdata.matching import CustomerRecord, Decision, Matcher, Outcome, normalise
from custdata.matching.normalise import normalise_email
from custdata.testing import strategies as cst

GIVEN = ["John", "Jon", "Bill", "William", "José", "Jürgen", "Anne", "Anna", "Zoë", "J.", "Ngozi", "Łukasz", "李"]
FAMILY = ["Smith", "Smyth", "Müller", "Mueller", "García López", "O'Brien", "Dupont", "Nowak", "Schmidt", "王"]
STREETS = [
    "Hauptstr. 5",
    "Hauptstraße 5",
    "12 Main St",
    "12 Main Street",
    "C/ Mayor, 5",
    "3 rue de la Paix",
    "Flat 2, 9 Rd",
]
EMAILS = ["john@example.com", "JOHN@example.com", "j.smith@example.org", "anne@exämple.de", "not-an-email", "x@y"]
PHONES = ["030 1234567", "+49 30 1234567", "(415) 555-0132", "+1 415 555 0132", "12", "n/a", "+44 7700 900123"]
POSTAL = ["10115", "D-10115", "SW1A 1AA", "sw1a1aa", "94043-1351", "94043", "75001"]
CITIES = ["Berlin", "BERLIN", "London", "Paris", "Mountain View", "Köln"]
COUNTRIES = ["DE", "de", "GB", "US", "FR", "Deutschland", "España", "Atlantis", None]
BIRTHDAYS = ["1984-03-07", "07.03.1984", "03/07/1984", "1984-07-03", "1948-03-07", "31.02.1990", "yesterday", None]


def _field(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(values), st.text(st.characters(exclude_characters="\x00"), max_size=20))


@st.composite
def records(draw: st.DrawFn, record_id: str | None = None) -> CustomerRecord:
    """A record mixing realistic values, junk text and gaps."""
    return CustomerRecord(
        record_id or draw(st.text("abcdef0123456789", min_size=1, max_size=8)),
        given_name=draw(_field(GIVEN)),
        family_name=draw(_field(FAMILY)),
        email=draw(_field(EMAILS)),
        phone=draw(_field(PHONES)),
        street=draw(_field(STREETS)),
        postal_code=draw(_field(POSTAL)),
        city=draw(_field(CITIES)),
        country=draw(st.sampled_from(COUNTRIES)),
        birthday=draw(st.sampled_from(BIRTHDAYS)),
    )


#: Values of any JSON-ish kind, for rows from untrusted sources.
cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.dates(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

COLUMNS = [
    "id", "first_name", "given_name", "Last Name", "email", "phone", "zip", "street", "city", "country", "birthday",
    "other_emails", "other_phones", "notes", "Customer ID",
]  # fmt: skip

rows = st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=8), cells, max_size=8)

MATCHER = Matcher(default_region="DE")


@given(records("a"), records("b"))
def test_score_is_symmetric(a: CustomerRecord, b: CustomerRecord) -> None:
    forward, backward = MATCHER.compare(a, b), MATCHER.compare(b, a)
    assert forward.score == pytest.approx(backward.score, abs=1e-9)
    assert forward.decision is backward.decision
    assert forward.ids == backward.ids == ("a", "b")


@given(records("a"), records("b"))
def test_a_record_matches_itself_at_least_as_well_as_anything_else(a: CustomerRecord, b: CustomerRecord) -> None:
    # Without a given name a shared address may be a household, which is scored differently (see the docs).
    assume(normalise(a).given.full)
    itself = MATCHER.compare(a, _copy(a, "a2"))
    assert itself.score >= MATCHER.compare(a, b).score - 1e-9
    assert all(item.outcome in (Outcome.AGREE, Outcome.MISSING) for item in itself.evidence)


@given(
    st.sampled_from(GIVEN),
    st.sampled_from(FAMILY),
    st.one_of(st.sampled_from(EMAILS[:4]).map(lambda e: ("email", e)), st.just(("phone", "+49 30 1234567"))),
    st.sampled_from(STREETS),
)
def test_identical_records_with_a_name_and_a_contact_point_are_merged(
    given_name: str, family_name: str, contact: tuple[str, str], street: str
) -> None:
    row = {"given_name": given_name, "family_name": family_name, contact[0]: contact[1], "street": street}
    pair = MATCHER.compare({"id": "1", **row}, {"id": "2", **row})
    assert pair.decision is Decision.AUTO_MERGE, pair.explain()


@given(records("a"), records("b"))
def test_evidence_covers_every_field_and_adds_up(a: CustomerRecord, b: CustomerRecord) -> None:
    pair = MATCHER.compare(a, b)
    assert [item.field for item in pair.evidence] == list(MATCHER_FIELDS)
    assert sum(item.weight for item in pair.evidence) == pytest.approx(pair.score, abs=1e-3)
    for item in pair.evidence:
        if item.outcome is Outcome.MISSING:
            assert item.weight == 0


@settings(max_examples=100)
@given(rows)
def test_any_row_gives_a_record_or_a_clear_error(row: dict[str, Any]) -> None:
    try:
        record = CustomerRecord.from_mapping(row, default_id="7")
    except ValidationError as exc:
        assert exc.problems
        assert all(problem.message for problem in exc.problems)
        return
    MATCHER.compare(record, record)


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, max_size=6))
def test_batches_of_dirty_rows_never_crash(batch: list[dict[str, Any]]) -> None:
    try:
        result = MATCHER.find_duplicates(batch)
    except ValidationError as exc:
        assert all(problem.path.startswith("[") for problem in exc.problems), exc
        return
    assert result.records == len(batch)
    for pair in result:
        assert pair.decision is not Decision.DISTINCT


@given(cst.email_addresses())
def test_email_keys_are_the_canonical_form_of_valid_addresses(email: EmailAddress) -> None:
    assert normalise_email(email.value) == email.canonical
    assert normalise_email(email.value.upper() if email.value.isascii() else email.value) == email.canonical


@settings(max_examples=25)
@given(cst.customers())
def test_customers_round_trip_through_the_adapter(customer: Any) -> None:
    record = CustomerRecord.from_customer(customer)
    assert record.id == str(customer.id)
    pair = MATCHER.compare(customer, _copy(record, "other"))
    assert all(item.outcome in (Outcome.AGREE, Outcome.MISSING) for item in pair.evidence), pair.explain()


MATCHER_FIELDS = ("given_name", "family_name", "birthday", "email", "phone", "street", "locality")


def _copy(record: CustomerRecord, new_id: str) -> CustomerRecord:
    import attrs

    return attrs.evolve(record, id=new_id)
