"""Email addresses, phone numbers and money."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from custdata import CurrencyMismatchError, EmailAddress, Money, Order, OrderLine, PhoneNumber, ValidationError
from custdata.domain.money import MAX_AMOUNT_DIGITS
from custdata.serialization import from_dict, from_json, to_dict, to_json
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
            Money("1", "EUR") * 1.5

    @given(cst.money(("EUR",)), cst.money(("EUR",)))
    def test_addition_commutes_and_subtraction_inverts(self, a: Money, b: Money) -> None:
        assert a + b == b + a
        assert (a + b) - b == a


# -- Money bounds: exact results or a ValidationError at the field, never a silently wrong number -------------


LIMIT = Decimal(10) ** MAX_AMOUNT_DIGITS
big_amounts = st.decimals(min_value=-(10**40), max_value=10**40, places=2, allow_nan=False, allow_infinity=False)


def _order(quantity: int, price: str, **totals: Any) -> Order:
    line = OrderLine("l1", "SKU", "Thing", quantity, Money(price, "EUR"))
    return Order("ord_1", "cus_1", "EUR", (line,), datetime(2024, 1, 1, tzinfo=UTC), **totals)


def test_a_huge_quantity_is_an_error_at_the_quantity_not_a_total_of_zero() -> None:
    with pytest.raises(ValidationError) as caught:
        _order(10**30, "99.99")
    assert [p.path for p in caught.value.problems] == ["quantity"]
    good = to_dict(_order(2, "99.99"))
    good["lines"][0]["quantity"] = 10**30
    with pytest.raises(ValidationError) as caught:
        from_dict(Order, good)
    assert [p.path for p in caught.value.problems] == ["lines[0].quantity"]


def test_totals_beyond_the_bound_are_errors_at_subtotal_and_total() -> None:
    top = "9" * MAX_AMOUNT_DIGITS + ".99"
    with pytest.raises(ValidationError) as caught:
        _order(1, top, shipping=Money("1.00", "EUR"))
    assert [p.path for p in caught.value.problems] == ["total"]
    line = OrderLine("l1", "SKU", "Thing", 1, Money(top, "EUR"))
    with pytest.raises(ValidationError) as caught:
        Order("ord_1", "cus_1", "EUR", (line, OrderLine("l2", "SKU", "Thing", 1, Money(top, "EUR"))), datetime.now(UTC))
    assert [p.path for p in caught.value.problems] == ["subtotal"]


@given(a=big_amounts, b=big_amounts, factor=st.integers(-(10**20), 10**20))
@example(a=Decimal("9" * 26 + ".99"), b=Decimal("9" * 26 + ".99"), factor=3)  # sums beyond 28 digits
@example(a=Decimal("12345678901234.57"), b=Decimal("-0.01"), factor=10**12)
def test_money_arithmetic_is_exact_or_a_validation_error(a: Decimal, b: Decimal, factor: int) -> None:
    def money(amount: Decimal) -> Money | None:
        try:
            made = Money(amount, "EUR")
        except ValidationError as exc:
            assert abs(amount) >= LIMIT and [p.path for p in exc.problems] == ["amount"]
            return None
        assert abs(amount) < LIMIT and made.amount == amount
        return made

    x, y = money(a), money(b)
    if x is None or y is None:
        return
    cases: tuple[tuple[Callable[[], Money], Decimal], ...] = (
        (lambda: x + y, a + b),
        (lambda: x - y, a - b),
        (lambda: x * factor, a * factor),
    )
    for result, exact in cases:
        try:
            value = result()
        except ValidationError as exc:
            assert abs(exact) >= LIMIT and exc.problems[0].path == "amount"
        else:
            assert value.amount == exact  # compared exactly: Decimal equality does not round
    assert (x < y) == (a < b) and (x == y) == (a == b)


@given(digits=st.integers(1, 60), places=st.integers(0, 2))
def test_long_amounts_parse_and_round_trip_or_fail_at_the_amount(digits: int, places: int) -> None:
    text = "9" * digits + ("." + "9" * places if places else "")
    try:
        money = Money(text, "EUR")
    except ValidationError as exc:
        assert digits > MAX_AMOUNT_DIGITS and [p.path for p in exc.problems] == ["amount"]
        return
    assert from_json(Money, to_json(money)) == money and money.amount == Decimal(text)


def test_multiplying_by_a_factor_beyond_any_exponent_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        Money("1.00", "EUR") * Decimal("1E+999999999999999999")
    with pytest.raises(ValidationError):
        Money("1.00", "EUR") * Decimal("NaN")
    assert Money("1.00", "EUR") * Decimal("1E-999999999999999999") == Money("0.00", "EUR")
