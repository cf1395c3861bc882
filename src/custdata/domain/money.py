"""Money: a Decimal amount in one ISO 4217 currency, never a float."""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from functools import cache

import attrs
import iso4217
import pycountry

from custdata._errors import CurrencyMismatchError, ErrorCode, Problem, ValidationError
from custdata.domain.checks import trusted
from custdata.domain.personal import NOT_PERSONAL

#: A Money amount has at most this many digits before the decimal point (it is below 10**26 in size) ...
MAX_AMOUNT_DIGITS = 26
#: ... and at most this many after it; fewer where the currency has minor units (2 for EUR, 0 for JPY).
MAX_AMOUNT_PLACES = 10
#: The message of an amount beyond :data:`MAX_AMOUNT_DIGITS`.
OUT_OF_RANGE = f"is out of range (at most {MAX_AMOUNT_DIGITS} digits before the decimal point)"

#: Adds, subtracts, multiplies and rounds Decimals exactly whatever their size (never divide in it): results are
#: checked against the bounds afterwards instead of being rounded to the precision of the ambient context.
EXACT = Context(
    prec=MAX_PREC,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, Overflow, DivisionByZero],
)
_LIMIT = Decimal(10) ** MAX_AMOUNT_DIGITS
_TYPE = ErrorCode.INVALID_TYPE


def amount_problem(amount: Decimal, exponent: int | None, currency: str = "the currency") -> str | None:
    """Why ``amount`` cannot be an amount of a currency with ``exponent`` minor units (None: ISO 4217 gives
    none), or None when it can."""
    if not amount.is_finite():
        return "must be a finite number"
    if amount.copy_abs() >= _LIMIT:
        return OUT_OF_RANGE
    places = -int(amount.as_tuple().exponent)
    if exponent is not None and places > exponent:
        return f"has more decimal places than {currency} allows ({exponent})"
    if exponent is None and places > MAX_AMOUNT_PLACES:
        return f"has more than {MAX_AMOUNT_PLACES} decimal places"
    return None


def checked_amount(amount: Decimal, currency: str, path: str = "amount") -> Decimal:
    """``amount`` (a finite Decimal) rounded half-even, exactly, to ``currency``'s minor unit (to
    :data:`MAX_AMOUNT_PLACES` places where ISO 4217 gives none); a :class:`custdata.ValidationError` at ``path``
    when the result is beyond :data:`MAX_AMOUNT_DIGITS`."""
    exponent = currency_exponent(currency)
    places = MAX_AMOUNT_PLACES if exponent is None else exponent
    rounded = amount
    if amount.is_finite() and amount.copy_abs() < _LIMIT:  # (a larger one is refused below, unrounded)
        if exponent is not None or -int(amount.as_tuple().exponent) > places:
            rounded = EXACT.quantize(amount, _quantum(places))
    problem = amount_problem(rounded, exponent, currency)
    if problem:
        raise ValidationError.single(path, problem, ErrorCode.OUT_OF_RANGE)
    return rounded


@cache
def currency_exponent(code: str) -> int | None:
    """Minor units of ``code`` (2 for EUR, 0 for JPY, 3 for BHD); None where ISO 4217 defines none (XAU).

    Raises :class:`custdata.ValidationError` for a code that is not a current ISO 4217 currency.
    """
    if not isinstance(code, str) or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError.single("currency", "is not an ISO 4217 currency code", ErrorCode.CURRENCY_CODE)
    exponent: int | None = iso4217.Currency(code).exponent
    return exponent


def _to_decimal(value: Decimal | str | int) -> Decimal:
    """Accept ints and numeric strings; leave anything else for the checks to report."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
    return value  # type: ignore[return-value]  # reported by the checks


@attrs.frozen(order=False)
class Money:
    """An amount of one currency.

    Amounts are :class:`~decimal.Decimal` and may not carry more decimal places than the currency's
    minor units (at most :data:`MAX_AMOUNT_PLACES` where ISO 4217 gives none), nor more than
    :data:`MAX_AMOUNT_DIGITS` digits before the decimal point. Arithmetic works only between equal
    currencies and is exact; products round half-even to the minor unit. A result beyond the bounds
    raises :class:`custdata.ValidationError` (path ``amount``), never a rounded or wrapped number.

    >>> Money("19.99", "EUR") + Money("5.01", "EUR")
    Money(amount=Decimal('25.00'), currency='EUR')
    >>> Money("3.50", "EUR") * 3
    Money(amount=Decimal('10.50'), currency='EUR')
    """

    amount: Decimal = attrs.field(converter=_to_decimal, metadata=NOT_PERSONAL)
    currency: str = attrs.field(metadata=NOT_PERSONAL)

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        problems = []
        if not isinstance(self.currency, str):
            problems.append(("currency", "must be a string such as 'EUR'", ErrorCode.INVALID_TYPE))
            exponent = None
        else:
            if self.currency != self.currency.upper():
                object.__setattr__(self, "currency", self.currency.upper())
            try:
                exponent = currency_exponent(self.currency)
            except ValidationError as exc:
                problems.append(("currency", exc.problems[0].message, exc.problems[0].code))
                exponent = None
        if isinstance(self.amount, float):
            problems.append(("amount", "must be a Decimal or a string, never a float (floats are inexact)", _TYPE))
        elif isinstance(self.amount, str):
            problems.append(("amount", "is not a number", ErrorCode.INVALID_FORMAT))
        elif not isinstance(self.amount, Decimal):
            problems.append(("amount", f"must be a Decimal, not {type(self.amount).__name__}", _TYPE))
        elif (problem := amount_problem(self.amount, exponent, str(self.currency))) is not None:
            problems.append(("amount", problem, ErrorCode.OUT_OF_RANGE))
        elif exponent is not None:
            object.__setattr__(self, "amount", EXACT.quantize(self.amount, _quantum(exponent)))
        if problems:
            raise ValidationError(Problem(p, m, code=c) for p, m, c in problems)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(checked_amount(EXACT.add(self.amount, other.amount), self.currency), self.currency)

    def __radd__(self, other: object) -> Money:
        # lets sum(moneys, start) and sum() of a non-empty list work
        if other == 0:
            return self
        return self.__add__(other)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(checked_amount(EXACT.subtract(self.amount, other.amount), self.currency), self.currency)

    def __neg__(self) -> Money:
        return Money(self.amount.copy_negate(), self.currency)

    def __abs__(self) -> Money:
        return Money(self.amount.copy_abs(), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, (int, Decimal)):
            return NotImplemented
        if isinstance(factor, Decimal) and not factor.is_finite():
            raise ValidationError.single("factor", "must be a finite number")
        try:
            product = EXACT.multiply(self.amount, Decimal(factor))
        except ArithmeticError:  # an exponent beyond even the exact context's: far out of range
            raise ValidationError.single("amount", OUT_OF_RANGE, ErrorCode.OUT_OF_RANGE) from None
        return Money(self.rounded(product), self.currency)

    __rmul__ = __mul__

    def rounded(self, amount: Decimal) -> Decimal:
        """``amount`` rounded half-even to this currency's minor unit, exactly; a
        :class:`custdata.ValidationError` (path ``amount``) when that is no Money amount (see the bounds)."""
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise ValidationError.single("amount", "must be a finite Decimal")
        return checked_amount(amount, self.currency)

    def _cmp(self, other: object) -> int:
        if not isinstance(other, Money):
            raise TypeError(f"cannot compare Money with {type(other).__name__}")
        self._same(other)
        return (self.amount > other.amount) - (self.amount < other.amount)  # exact, unlike a difference

    def __lt__(self, other: object) -> bool:
        return self._cmp(other) < 0

    def __le__(self, other: object) -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: object) -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: object) -> bool:
        return self._cmp(other) >= 0

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@cache
def _quantum(exponent: int) -> Decimal:
    return Decimal(1).scaleb(-exponent)
