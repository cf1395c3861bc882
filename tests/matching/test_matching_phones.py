"""The fast phone path gives exactly what phonenumbers itself gives, on phone-like text and on junk, in every
region phonenumbers knows.

The reference below calls phonenumbers' own ``parse``, ``is_possible_number`` and ``format_number`` directly; it
shares no code with :mod:`custdata.matching.phones` but the rule it documents: placeholders and text with fewer
than six digits are no number, a possible number is E.164, anything else its digits.
"""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata.matching import generate_customers
from custdata.matching.phones import _fast_e164, normalise_phone
from custdata.matching.text import present

REGIONS = tuple(sorted(phonenumbers.SUPPORTED_REGIONS))
SOME_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "AT", "CH", "NL", "BE", "AR", "MX", "BR", "JP", "IN", "MN")
ANY_REGION = st.sampled_from(REGIONS) | st.sampled_from((None, "de", "ZZ", "001", "", "XK"))
COUNTRY_CODES = tuple(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))


def reference(text: str | None, region: str | None) -> str | None:
    """What phonenumbers makes of ``text``, by its own functions."""
    text = present(text)
    if text is None:
        return None
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) < 6:
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return digits
    if not phonenumbers.is_possible_number(parsed):
        return digits
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@st.composite
def phone_texts(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=6, max_size=16))
    separated = "".join(d + draw(st.sampled_from(("", "", "", " ", "-", ".", "/"))) for d in digits)
    start = draw(st.sampled_from(("", "", "+", "00", "0", "011", "(0)", "+49 (0)", "1", " ", "++", "+0", "8~10")))
    if draw(st.booleans()):
        start += f"+{draw(st.sampled_from(COUNTRY_CODES))} "
    return start + separated + draw(st.sampled_from(("", "", " ", " ext. 12", "#", "x")))


@st.composite
def library_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A number phonenumbers gives as an example of its region, written in one of its own formats."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from(phonenumbers.PhoneNumberType.values()))
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        number = phonenumbers.example_number(region) or phonenumbers.parse("+49301234567")
    style = draw(
        st.sampled_from(
            (
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.RFC3966,
            )
        )
    )
    return phonenumbers.format_number(number, style), region


JUNK = st.text(max_size=24) | st.text(st.sampled_from("0123456789 +-()./\u0663\u00b2\uff10ext#*"), max_size=24)


@settings(max_examples=400)
@given(phone_texts(), st.sampled_from((*SOME_REGIONS, None)))
def test_phone_like_text_in_common_regions_is_read_as_phonenumbers_reads_it(text: str, region: str | None) -> None:
    assert normalise_phone(text, region) == reference(text, region)


@settings(max_examples=300)
@given(phone_texts() | JUNK, ANY_REGION)
def test_any_text_in_any_region_is_read_as_phonenumbers_reads_it(text: str, region: str | None) -> None:
    assert normalise_phone(text, region) == reference(text, region)


@settings(max_examples=300)
@given(library_numbers(), ANY_REGION)
def test_phonenumbers_own_examples_are_read_as_it_reads_them(written: tuple[str, str], region: str | None) -> None:
    text, home = written
    assert normalise_phone(text, home) == reference(text, home)
    assert normalise_phone(text, region) == reference(text, region)


def test_the_fast_path_takes_most_synthetic_numbers_and_agrees() -> None:
    texts = [(r.phone, r.country.upper()) for r in generate_customers(3000, seed=4).records if r.phone and r.country]
    fast = 0
    for text, region in texts:
        digits = "".join(c for c in text if c.isdigit())
        result = _fast_e164(text, digits, region)
        if result is not None:
            fast += 1
            assert result == reference(text, region), text
        assert normalise_phone(text, region) == reference(text, region), text
    assert fast > 0.8 * len(texts)


def test_the_fast_path_takes_phonenumbers_own_examples_in_most_regions() -> None:
    """The examples above exercise the fast path, not only the full parser behind it."""
    taken = 0
    for region in REGIONS:
        number = phonenumbers.example_number(region)
        if number is None:
            continue
        for style in (phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.NATIONAL):
            text = phonenumbers.format_number(number, style)
            digits = "".join(c for c in text if c.isdigit())
            if _fast_e164(text, digits, region) is not None:
                taken += 1
    assert taken > len(REGIONS)
