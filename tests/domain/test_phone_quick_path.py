"""The quick path of phone parsing (a number valid for the region it is read in, when that region is the first of
its country calling code) against its reference: phonenumbers' own ``region_code_for_number`` and
``is_valid_number_for_region``, called in the test the way ``PhoneNumber.parse`` called them before the quick
path. The same number and region, or the same refusal, on phonenumbers' example numbers of every region, read in
every region, and on digits and junk."""

from __future__ import annotations

import phonenumbers
from hypothesis import example, given, settings
from hypothesis import strategies as st

from custdata import ValidationError
from custdata.domain.contact import PhoneNumber, _first_region, _read

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
#: phonenumbers' example numbers (every type) of each region, in international and national notation
EXAMPLES = sorted(
    {
        phonenumbers.format_number(number, style)
        for region in REGIONS
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
        for style in (phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.NATIONAL)
    }
)


def reference(text: str, region: str | None) -> tuple[str, str | None] | str:
    """What ``PhoneNumber.parse(text, region)`` answered with the plain steps: (E.164, region), or "refused"."""
    wanted = region.upper() if region else None
    try:
        parsed = phonenumbers.parse(text, wanted)
    except phonenumbers.NumberParseException:
        return "refused"
    found = phonenumbers.region_code_for_number(parsed)
    if found is None or not phonenumbers.is_valid_number_for_region(parsed, found):
        return "refused"
    code = parsed.country_code
    if wanted and wanted != found and code is not None and wanted in phonenumbers.region_codes_for_country_code(code):
        found = wanted
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), found


def quick(text: str, region: str | None) -> tuple[str, str | None] | str:
    try:
        number = PhoneNumber.parse(text, region=region)
    except ValidationError:
        return "refused"
    return number.e164, number.region


def tweak(text: str, position: int, digit: str) -> str:
    """``text`` with one of its digits replaced (numbers beside the valid ranges)."""
    places = [i for i, c in enumerate(text) if c.isdigit()]
    if not places:
        return text
    at = places[position % len(places)]
    return text[:at] + digit + text[at + 1 :]


numbers = st.one_of(
    st.sampled_from(EXAMPLES),
    st.builds(tweak, st.sampled_from(EXAMPLES), st.integers(0, 20), st.sampled_from("0123456789")),
    st.builds(lambda d: "+1" + d, st.text("0123456789 ", min_size=6, max_size=14)),
    st.builds(lambda d: "+44" + d, st.text("0123456789 ", min_size=6, max_size=14)),
    st.text("0123456789 +-()", max_size=20),
    st.text(max_size=12),
)
regions = st.one_of(st.sampled_from(REGIONS), st.sampled_from(["US", "GB", "CA", "JE", "IM", "001", "ZZ"]), st.none())


@settings(max_examples=300)
@given(text=numbers, region=regions)
@example("+1 415 555 0123", "US")
@example("+1 416 555 0123", "US")  # Canada's area code, read in the United States
@example("+1 268 460 1234", "US")  # Antigua's
@example("+44 1534 456789", "GB")  # Jersey's, read in the United Kingdom
@example("+44 20 7946 0123", "GB")
@example("+800 1234 5678", "001")
def test_the_quick_path_gives_the_plain_steps_answer(text: str, region: str | None) -> None:
    assert quick(text, region) == reference(text, region)


def test_every_example_number_reads_the_same_in_its_region_and_the_first_of_its_code() -> None:
    for region in REGIONS:
        first = phonenumbers.region_codes_for_country_code(phonenumbers.country_code_for_region(region))[0]
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            for text, where in ((national, region), (national, first), (international, first), (international, None)):
                assert quick(text, where) == reference(text, where), (text, where)


def test_the_quick_path_is_taken_only_for_the_first_region_of_a_code() -> None:
    assert _first_region(1, "US") and _first_region(44, "GB") and _first_region(49, "DE")
    assert not _first_region(1, "CA") and not _first_region(44, "JE") and not _first_region(49, "US")


# -- a number's digits read once: the answer for digits in groups is remembered by the digits alone --------------


def _grouped(plus: bool, groups: list[str], separators: list[str]) -> str:
    parts = [groups[0]]
    for group, separator in zip(groups[1:], separators, strict=False):
        parts += [separator, group]
    return ("+" if plus else "") + "".join(parts)


grouped = st.builds(
    _grouped,
    st.booleans(),
    st.lists(st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=6),
    st.lists(st.sampled_from([" ", "-", "."]), min_size=5, max_size=5),
)
grouped_examples = st.builds(
    lambda text, separator: text.replace(" ", separator), st.sampled_from(EXAMPLES), st.sampled_from([" ", "-", "."])
)


def problems(text: str, region: str | None, strict: bool) -> tuple[str, str | None] | list[tuple[str, str]]:
    """``PhoneNumber.parse``'s answer, its problems when it refuses."""
    try:
        number = PhoneNumber.parse(text, region=region, strict=strict)
    except ValidationError as exc:
        return [(p.path, p.message) for p in exc.problems]
    return number.e164, number.region


def detailed(text: str, region: str | None, strict: bool) -> tuple[str, str | None] | list[tuple[str, str]]:
    """The same read step by step on the text as written, nothing remembered."""
    try:
        return _read(text, region.upper() if region else None, strict)
    except ValidationError as exc:
        return [(p.path, p.message) for p in exc.problems]


@settings(max_examples=200)
@given(text=st.one_of(grouped, grouped_examples), region=regions, strict=st.booleans())
@example("+1 415-555.0123", "US", True)
@example("030 1234567", "DE", True)
@example("0049 30 1234567", "DE", True)
@example("+44 20 7946 0123", "GB", False)
def test_numbers_in_groups_read_as_phonenumbers_reads_them(text: str, region: str | None, strict: bool) -> None:
    if strict:
        assert quick(text, region) == reference(text, region)
    first = problems(text, region, strict)
    assert first == detailed(text, region, strict)
    assert problems(text, region, strict) == first  # a second time, remembered: the same answer
