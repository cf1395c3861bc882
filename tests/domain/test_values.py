"""Email addresses, phone numbers and money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import CurrencyMismatchError, EmailAddress, Money, PhoneNumber, ValidationError
from custdata.testing import strategies as cst


class TestEmailAddress:
    def test_normalises_domain_and_keeps_local_part(self) -> None:
        email = EmailAddress.parse("  Jane.Doe@EXAMPLE.Com ")
        assert email.value == "Jane.Doe@example.com"
        assert email.canonical == "jane.doe@example.com"
        assert str(email) == "Jane.Doe@example.com"

    def test_unicode_is_nfc_normalised(self) -> None:
        decomposed = "jose\u0301@example.com"
        assert EmailAddress.parse(decomposed).value == "jos\u00e9@example.com"

    def test_international_domain(self) -> None:
        assert EmailAddress.parse("info@BÜCHER.de").domain == "bücher.de"

    @pytest.mark.parametrize(
        "bad", ["", "plain", "a@", "@b.com", "a b@c.com", "a@b..com", "a@-b.com", "x" * 400 + "@b.com"]
    )
    def test_rejects_invalid(self, bad: str) -> None:
        with pytest.raises(ValidationError, match="is not a valid email address"):
            EmailAddress.parse(bad)

    def test_message_does_not_quote_the_address(self) -> None:
        with pytest.raises(ValidationError) as info:
            EmailAddress.parse("secret.person@@example.com")
        assert "secret.person" not in str(info.value)

    def test_repr_is_masked(self) -> None:
        assert "jane" not in repr(EmailAddress.parse("jane@example.com"))

    def test_rejects_non_strings(self) -> None:
        with pytest.raises(ValidationError, match="must be a string"):
            EmailAddress(42)  # type: ignore[arg-type]

    @given(st.text(max_size=60))
    def test_any_text_parses_or_raises_validation_error(self, text: str) -> None:
        try:
            email = EmailAddress.parse(text)
        except ValidationError:
            return
        assert EmailAddress.parse(email.value) == email

    @given(cst.email_addresses())
    def test_canonical_is_idempotent(self, email: EmailAddress) -> None:
        assert EmailAddress.parse(email.canonical).canonical == email.canonical


class TestPhoneNumber:
    def test_national_with_region(self) -> None:
        number = PhoneNumber.parse("030 1234567", region="de")
        assert (number.e164, number.region) == ("+49301234567", "DE")
        assert number.national == "030 1234567"
        assert number.international == "+49 30 1234567"
        assert number.is_valid

    def test_international_without_region(self) -> None:
        number = PhoneNumber.parse("+44 20 7946 0958")
        assert number.region == "GB"
        assert number.country_code == 44

    def test_shared_calling_code_keeps_given_region(self) -> None:
        assert PhoneNumber.parse("(416) 555-0123", region="CA", strict=False).region == "CA"

    def test_possible_but_not_valid(self) -> None:
        with pytest.raises(ValidationError, match="not a valid phone number"):
            PhoneNumber.parse("+1 200 555 0100")
        loose = PhoneNumber.parse("+1 200 555 0100", strict=False)
        assert not loose.is_valid

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("12345", "no valid country calling code"),
            ("+49 1", "too short"),
            ("+49 30 123456789012345", "not a possible|too long"),
            ("hello", "not a phone number"),
            ("+" + "9" * 70, "longer"),
        ],
    )
    def test_rejects_invalid(self, text: str, message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            PhoneNumber.parse(text)

    def test_constructor_checks_e164(self) -> None:
        with pytest.raises(ValidationError, match=r"e164: is not in E\.164"):
            PhoneNumber("+49 30 1234567")
        with pytest.raises(ValidationError, match="region: does not match"):
            PhoneNumber("+49301234567", "FR")

    def test_repr_is_masked(self) -> None:
        assert "1234567" not in repr(PhoneNumber.parse("+49 30 1234567"))

    @given(cst.phone_numbers())
    def test_formats_reparse_to_the_same_number(self, number: PhoneNumber) -> None:
        assert PhoneNumber.parse(number.international) == PhoneNumber.parse(number.e164)
        assert PhoneNumber.parse(number.national, region=number.region).e164 == number.e164

    @given(st.text(max_size=30), st.sampled_from([None, "DE", "US", "IN"]))
    def test_any_text_parses_or_raises_validation_error(self, text: str, region: str | None) -> None:
        try:
            PhoneNumber.parse(text, region)
        except ValidationError:
            pass


class TestMoney:
    def test_minor_units(self) -> None:
        assert Money("10", "EUR").amount == Decimal("10.00")
        assert Money("100", "JPY").amount == Decimal("100")
        assert Money("1.234", "BHD").amount == Decimal("1.234")
        with pytest.raises(ValidationError, match="more decimal places than JPY allows"):
            Money("1.5", "JPY")
        with pytest.raises(ValidationError, match="more decimal places than EUR allows"):
            Money("1.001", "EUR")

    def test_currency_must_exist(self) -> None:
        with pytest.raises(ValidationError, match="currency: is not an ISO 4217"):
            Money("1", "EUX")
        assert Money("1", "eur").currency == "EUR"

    def test_float_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="never a float"):
            Money(1.5, "EUR")  # type: ignore[arg-type]

    def test_bad_amounts_are_reported_with_every_problem(self) -> None:
        with pytest.raises(ValidationError) as info:
            Money("abc", "???")
        assert {p.path for p in info.value.problems} == {"amount", "currency"}

    def test_arithmetic_within_one_currency(self) -> None:
        assert Money("19.99", "EUR") + Money("0.01", "EUR") == Money("20", "EUR")
        assert Money("5", "EUR") - Money("7.50", "EUR") == Money("-2.50", "EUR")
        assert Money("3.33", "EUR") * 3 == Money("9.99", "EUR")
        assert Money("0.05", "EUR") * Decimal("0.5") == Money("0.02", "EUR")  # half-even
        assert sum([Money("1", "USD"), Money("2", "USD")]) == Money("3", "USD")
        assert -Money("1", "USD") < Money("0", "USD")

    def test_currencies_do_not_mix(self) -> None:
        with pytest.raises(CurrencyMismatchError):
            Money("1", "EUR") + Money("1", "USD")
        with pytest.raises(CurrencyMismatchError):
            _ = Money("1", "EUR") < Money("1", "USD")

    def test_no_arithmetic_with_floats(self) -> None:
        with pytest.raises(TypeError):
            Money("1", "EUR") * 1.5  # type: ignore[operator]

    @given(cst.money(("EUR",)), cst.money(("EUR",)))
    def test_addition_commutes_and_subtraction_inverts(self, a: Money, b: Money) -> None:
        assert a + b == b + a
        assert (a + b) - b == a
