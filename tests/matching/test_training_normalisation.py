"""General improvements that public data (FEBRL) asked for: birth dates written without separators, Australian
postcodes, and a second address line on one side only. Each is a rule of shop data, not of one data set."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from custdata.matching import Matcher
from custdata.matching.compare import street
from custdata.matching.normalise import normalise_birthday, normalise_postal_code, street_keys


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)), st.sampled_from(["AU", "DE", "US", None]))
def test_compact_birth_dates_read_as_their_iso_spelling(day: date, country: str | None) -> None:
    iso = normalise_birthday(day.isoformat(), country)
    assert normalise_birthday(day.strftime("%Y%m%d"), country) == iso
    first = day.strftime("%m%d%Y") if country == "US" else day.strftime("%d%m%Y")
    assert normalise_birthday(first, country) == iso


def test_australian_postcodes_are_digits() -> None:
    assert normalise_postal_code("NSW 2000", "AU") == normalise_postal_code("2000", "AU") == "2000"


def test_a_second_address_line_on_one_side_only_is_the_same_street() -> None:
    plain, longer = street_keys("16 Haines Street"), street_keys("16 Haines Street, St John of God Hospital")
    assert street(plain, longer) == street(longer, plain) == "typo"
    # another house number, or a name that merely starts the same, is not a second line
    assert street(street_keys("14 Haines Street"), longer) == "different"
    assert street(street_keys("16 Hain"), street_keys("16 Hainesworth Boulevard")) == "different"


def test_febrl_style_records_match_on_compact_birth_dates_and_second_lines() -> None:
    born = date(1984, 3, 7) + timedelta(days=0)
    left = {"id": "a", "given_name": "tynan", "family_name": "abera", "street": "16 haines street",
            "postal_code": "2303", "city": "ballarat", "country": "AU", "birthday": born.strftime("%Y%m%d")}  # fmt: skip
    right = {**left, "id": "b", "street": "16 haines street st john of god hospital", "birthday": born.isoformat()}
    pair = Matcher().compare(left, right)
    assert pair.field("birthday").level == "exact" and pair.field("street").level == "typo"


def test_a_duplicate_with_both_names_and_the_postal_code_mistyped_is_still_compared_through_its_birthday() -> None:
    left = {"id": "a", "given_name": "Katharina", "family_name": "Schneider", "street": "Hauptstraße 5",
            "postal_code": "10115", "city": "Berlin", "country": "DE", "birthday": "1984-03-07"}  # fmt: skip
    right = {**left, "id": "b", "given_name": "Xatharina", "family_name": "Pchneider", "postal_code": "10151",
             "street": "Hauptstraße 7"}  # fmt: skip
    matcher = Matcher()
    assert matcher.compare(left, right).score >= matcher.review
    assert [pair.ids for pair in matcher.find_duplicates([left, right])] == [("a", "b")]
