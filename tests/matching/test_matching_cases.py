"""Hand-made duplicate cases: each pins one thing a shop's data really does (nicknames, swapped names,
abbreviated streets, phone formats, households) and the decision and explanation it must get."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from custdata import ValidationError
from custdata.matching import CandidatePair, CustomerRecord, Decision, Level, Matcher, MatchModel, Outcome

MATCHER = Matcher(default_region="DE")

BASE: dict[str, str | None] = {
    "first_name": "John",
    "last_name": "Smith",
    "email": "john.smith@example.com",
    "phone": "+44 7700 900123",
    "street": "12 Main Street",
    "zip": "SW1A 1AA",
    "city": "London",
    "country": "GB",
}


def compare(left: dict[str, str | None], right: dict[str, str | None]) -> CandidatePair:
    return MATCHER.compare({"id": "a", **left}, {"id": "b", **right})


def test_jon_and_john_smith_at_the_same_address_are_one_customer() -> None:
    pair = compare({**BASE, "email": None, "phone": None}, {**BASE, "first_name": "Jon", "email": None, "phone": None})
    assert pair.field("given_name").level == "nickname"
    assert pair.field("given_name").outcome is Outcome.PARTIAL
    assert pair.decision in (Decision.REVIEW, Decision.AUTO_MERGE)


def test_jon_and_john_with_the_same_email_and_phone_are_merged() -> None:
    pair = compare(BASE, {**BASE, "first_name": "Jon", "phone": "07700 900123", "email": "John.Smith@EXAMPLE.com"})
    assert pair.decision is Decision.AUTO_MERGE
    assert pair.field("email").level == "exact"
    assert pair.field("phone").level == "exact"


def test_bill_and_william_are_nicknames_but_john_and_jonathan_are_not() -> None:
    assert compare({"first_name": "Bill"}, {"first_name": "William"}).field("given_name").level == "nickname"
    assert compare({"first_name": "John"}, {"first_name": "Jonathan"}).field("given_name").level != "nickname"
    assert compare({"first_name": "Paco"}, {"first_name": "Francisco"}).field("given_name").level == "nickname"
    assert compare({"first_name": "Hans"}, {"first_name": "Johannes"}).field("given_name").level == "nickname"


def test_swapped_given_and_family_names_are_recognised() -> None:
    pair = compare(BASE, {**BASE, "first_name": "Smith", "last_name": "John"})
    assert pair.field("given_name").level == "exact"
    assert pair.field("family_name").level == "exact"
    assert "swapped" in pair.field("given_name").note
    assert pair.decision is Decision.AUTO_MERGE


def test_hauptstrasse_abbreviated_is_the_same_street() -> None:
    left: dict[str, str | None] = {
        "first_name": "Jürgen",
        "last_name": "Müller",
        "street": "Hauptstr. 5",
        "zip": "10115",
        "country": "DE",
    }
    right = {**left, "first_name": "Juergen", "last_name": "Mueller", "street": "Hauptstraße 5", "zip": "D-10115"}
    pair = compare(left, right)
    assert pair.field("street").level == "exact"
    assert pair.field("locality").level == "exact"
    assert pair.field("given_name").level == "exact"
    assert pair.field("family_name").level == "exact"
    assert pair.decision is not Decision.DISTINCT


def test_another_house_number_on_the_same_street_is_not_the_same_address() -> None:
    pair = compare(BASE, {**BASE, "street": "14 Main St"})
    assert pair.field("street").level == "other_house"
    assert pair.field("street").outcome is Outcome.DISAGREE


def test_a_household_sharing_address_and_landline_is_not_merged() -> None:
    shared = {
        "last_name": "Smith",
        "phone": "020 7946 0000",
        "street": "12 Main St",
        "zip": "SW1A 1AA",
        "country": "GB",
    }
    pair = compare({**shared, "first_name": "John"}, {**shared, "first_name": "Mary"})
    assert pair.decision is Decision.DISTINCT
    assert "household" in pair.field("family_name").note
    assert "household" in pair.field("phone").note


def test_spanish_second_surname_left_out_is_a_partial_match() -> None:
    pair = compare({"last_name": "García López"}, {"last_name": "Garcia"})
    assert pair.field("family_name").level == "partial"


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("1984-03-07", "07.03.1984", "exact"),
        ("1984-03-07", "1948-03-07", "typo"),  # transposed digits
        ("1984-03-07", "1984-03-08", "typo"),
        ("1984-03-07", "1984-07-03", "day_month_swapped"),
        ("1984-03-07", "1990-11-23", "different"),
        ("1984-03-07", "not a date", "missing"),
    ],
)
def test_birthdays_with_typos(left: str, right: str, level: str) -> None:
    pair = compare({"birthday": left, "country": "DE"}, {"birthday": right, "country": "DE"})
    assert pair.field("birthday").level == level


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ("(415) 555-0132", "+1 415-555-0132", "exact"),
        ("4155550132", "+14155550132", "exact"),
        ("+1 415 555 0132", "+1 415 555 0123", "typo"),
        ("+1 415 555 0132", "+1 212 999 1234", "different"),
    ],
)
def test_phone_formats(left: str, right: str, level: str) -> None:
    pair = compare({"phone": left, "country": "US"}, {"phone": right, "country": "US"})
    assert pair.field("phone").level == level


def test_email_slips_but_not_other_numbers() -> None:
    assert compare({"email": "jane.doe@example.com"}, {"email": "jane.deo@example.com"}).field("email").level == "typo"
    assert (
        compare({"email": "jsmith1@example.com"}, {"email": "jsmith2@example.com"}).field("email").level == "different"
    )


def test_missing_fields_add_nothing() -> None:
    pair = compare({"first_name": "Ada"}, {"first_name": "Ada", "email": "ada@example.com"})
    email = pair.field("email")
    assert (email.outcome, email.weight) == (Outcome.MISSING, 0)
    assert pair.fields_with(Outcome.AGREE) == ("given_name",)


def test_explanation_lists_every_field_without_personal_data() -> None:
    pair = compare(BASE, {**BASE, "first_name": "Jon"})
    text = pair.explain()
    for value in BASE.values():
        assert value is not None and value not in text
    assert "given_name" in text and "nickname" in text
    assert f"{pair.score:+.2f}" in text


def test_thresholds_decide() -> None:
    left, right = {"id": "a", **BASE}, {"id": "b", **BASE, "email": None, "phone": None}
    score = MATCHER.compare(left, right).score
    assert Matcher(auto_merge=score, review=score - 1).compare(left, right).decision is Decision.AUTO_MERGE
    assert Matcher(auto_merge=score + 1, review=score).compare(left, right).decision is Decision.REVIEW
    assert Matcher(auto_merge=score + 2, review=score + 1).compare(left, right).decision is Decision.DISTINCT


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValidationError, match="review: must not be above auto_merge"):
        Matcher(auto_merge=10, review=20)
    with pytest.raises(ValidationError, match="default_region"):
        Matcher(default_region="Germany")
    with pytest.raises(ValidationError, match="max_block_size"):
        Matcher(max_block_size=1)
    with pytest.raises(ValidationError, match="must be a probability"):
        Level(m=0.0, u=0.5)
    with pytest.raises(ValidationError, match=r"probabilities\.email\.nope: is not a level of email"):
        MatchModel.default().with_level("email", "nope", m=0.5, u=0.5)
    with pytest.raises(ValidationError, match="only family_name and phone"):
        MatchModel.default().with_level("email", "exact", m=0.5, u=0.5, same_address=True)


def test_a_model_change_changes_the_weight() -> None:
    model = MatchModel.default().with_level("email", "exact", m=0.5, u=0.5)
    pair = Matcher(model).compare({"id": "a", "email": "a@example.com"}, {"id": "b", "email": "a@example.com"})
    assert pair.field("email").weight == 0
    assert pair.score == 0


def test_find_duplicates_orders_pairs_and_reports_the_work() -> None:
    rows = [
        {"id": "1", **BASE},
        {"id": "2", **BASE, "first_name": "Jon"},
        {"id": "3", "first_name": "Mary", "last_name": "Jones", "email": "mary@example.org"},
        CustomerRecord("4", given_name="John", family_name="Smith", email="JOHN.SMITH@example.com"),
    ]
    result = MATCHER.find_duplicates(rows)
    assert result.records == 4
    assert [p.ids for p in result] == sorted([p.ids for p in result], key=lambda ids: -result_score(result, ids))
    assert {p.ids for p in result} == {("1", "2"), ("1", "4"), ("2", "4")}
    assert result.compared <= 6
    assert result.blocking is not None and result.blocking.pairs == result.compared
    assert set(result.with_decision(Decision.AUTO_MERGE)) | set(result.with_decision(Decision.REVIEW)) == set(result)


def result_score(result: Iterable[CandidatePair], ids: tuple[str, str]) -> float:
    return next(float(p.score) for p in result if p.ids == ids)


def test_blocking_off_compares_every_pair() -> None:
    rows = [{"id": str(i), "first_name": f"Name{i}"} for i in range(6)]
    assert MATCHER.find_duplicates(rows, blocking=False).compared == 15


def test_errors_name_the_row_and_field() -> None:
    with pytest.raises(ValidationError) as caught:
        MATCHER.find_duplicates([{"id": "1"}, {"id": "2", "phone": 3.5}, {"id": "1"}, "not a row"])
    paths = [p.path for p in caught.value.problems]
    assert paths == ["[1].phone", "[2].id", "[3]"]
    assert "must be text, not float" in str(caught.value)
    with pytest.raises(ValidationError, match=r"\[1\]"):
        MATCHER.compare({"id": "a"}, {"id": "b", "email": ["not", "text"]})
