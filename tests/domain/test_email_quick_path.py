"""The quick path of email validation (``_plain_email``) against its reference, email-validator itself: the same
normalised address whenever the quick path answers, on generated addresses and on junk."""

from __future__ import annotations

import email_validator
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from custdata import ValidationError
from custdata.domain.contact import EmailAddress, _plain_email

ATEXT = "abcxyzABCXYZ0189_!#$%&'*+-/=?^`{|}~"
ROLES = ["info", "Postmaster", "ABUSE", "www", "Sales", "noc"]
TLDS = ["com", "de", "COM", "co.uk", "local", "localhost", "test", "invalid", "onion", "x", "1", "c0m", "xn--p1ai"]


def reference(text: str) -> str | None:
    """What email-validator makes of the address, as custdata calls it; None when it refuses it."""
    try:
        return str(email_validator.validate_email(text, check_deliverability=False).normalized)
    except email_validator.EmailNotValidError:
        return None


locals_ = st.one_of(
    st.text(st.sampled_from(ATEXT + "."), min_size=0, max_size=70),
    st.sampled_from(ROLES),
    st.text(min_size=0, max_size=10),
    st.just("a" * 64),
    st.just("a" * 65),
)
labels = st.text(st.sampled_from("abcXYZ019-"), min_size=0, max_size=64)
domains = st.one_of(
    st.builds(
        lambda parts, tld: ".".join([*parts, tld]), st.lists(labels, min_size=0, max_size=4), st.sampled_from(TLDS)
    ),
    st.text(min_size=0, max_size=20),
    st.just("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"),
    st.sampled_from(["münchen.de", "[127.0.0.1]", "example.com.", ".example.com", "exa mple.com", "ex@mple.com"]),
)
addresses = st.one_of(
    st.emails(),
    st.builds(lambda local, domain: f"{local}@{domain}", locals_, domains),
    st.text(max_size=40),
)


@settings(max_examples=300)
@given(text=addresses)
@example("Postmaster@example.com")
@example("jane.doe@Example.COM")
@example("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 50 + ".com")
@example("j@münchen.de")
@example("a" * 65 + "@example.com")
def test_the_quick_path_gives_email_validators_answer(text: str) -> None:
    quick = _plain_email(text)
    if quick is not None:
        assert quick == reference(text)


@settings(max_examples=200)
@given(text=addresses)
def test_email_address_accepts_and_refuses_what_email_validator_does(text: str) -> None:
    expected = reference(text.strip()) if len(text.strip()) <= 320 else None
    try:
        value = EmailAddress.parse(text).value
    except ValidationError:
        assert expected is None
    else:
        assert value == expected


def test_the_quick_path_answers_the_common_address() -> None:
    assert _plain_email("Jane.Doe@Example.COM") == "Jane.Doe@example.com"
    assert _plain_email("customer42@mail.example.co.uk") == "customer42@mail.example.co.uk"


@pytest.mark.parametrize("text", ["postmaster@example.com", "j@münchen.de", "a@localhost", "a..b@example.com"])
def test_the_quick_path_leaves_the_rest_to_email_validator(text: str) -> None:
    assert _plain_email(text) is None
