"""The fast phone path gives exactly what phonenumbers gives, on any phone-like text in many regions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from custdata.matching import generate_customers
from custdata.matching.phones import _fast_e164, _phone_by_library, normalise_phone

REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "AT", "CH", "NL", "BE", "AR", "MX", "BR", "JP", "IN", "MN", None)


@st.composite
def phone_texts(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=6, max_size=16))
    separated = "".join(d + draw(st.sampled_from(("", "", "", " ", "-", ".", "/"))) for d in digits)
    return draw(st.sampled_from(("", "", "+", "00", "0", "011", "(0)", "+49 (0)", "1"))) + separated


def _library(text: str, region: str | None) -> str | None:
    digits = "".join(c for c in text if c.isdigit())
    return None if len(digits) < 6 else _phone_by_library(text, region, digits)


@settings(max_examples=400)
@given(phone_texts(), st.sampled_from(REGIONS))
def test_fast_path_agrees_with_phonenumbers(text: str, region: str | None) -> None:
    assert normalise_phone(text, region) == _library(text, region)


def test_fast_path_takes_most_synthetic_numbers_and_agrees() -> None:
    texts = [(r.phone, r.country.upper()) for r in generate_customers(3000, seed=4).records if r.phone and r.country]
    fast = 0
    for text, region in texts:
        digits = "".join(c for c in text if c.isdigit())
        result = _fast_e164(text, digits, region)
        if result is not None:
            fast += 1
            assert result == _library(text, region), text
    assert fast > 0.8 * len(texts)
