"""Money: a Decimal amount in one ISO 4217 currency, never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

import attrs
import iso4217
import pycountry

from custdata._errors import CurrencyMismatchError, Problem, ValidationError
from custdata.domain._checks import trusted
from custdata.domain.personal import NOT_PERSONAL


@cache
def currency_exponent(code: str) -> int | None:
    """Minor units of ``code`` (2 for EUR, 0 for JPY, 3 for BHD); None where ISO 4217 defines none (XAU).

    Raises :class:`custdata.ValidationError` for a code that is not a current ISO 4217 currency.
    """
    if not isinstance(code, str) or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError.single("currency", "is not an ISO 4217 currency code")
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
    minor units. Arithmetic works only between equal currencies; products round half-even to the
    minor unit.

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
            problems.append(("currency", "must be a string such as 'EUR'"))
            exponent = None
        else:
            if self.currency != self.currency.upper():
                object.__setattr__(self, "currency", self.currency.upper())
            try:
                exponent = currency_exponent(self.currency)
            except ValidationError as exc:
                problems.append(("currency", exc.problems[0].message))
                exponent = None
        if isinstance(self.amount, float):
            problems.append(("amount", "must be a Decimal or a string, never a float (floats are inexact)"))
        elif isinstance(self.amount, str):
            problems.append(("amount", "is not a number"))
        elif not isinstance(self.amount, Decimal):
            problems.append(("amount", f"must be a Decimal, not {type(self.amount).__name__}"))
        elif not self.amount.is_finite():
            problems.append(("amount", "must be a finite number"))
        elif abs(self.amount.adjusted()) > 30:
            problems.append(("amount", "is out of range"))
        elif exponent is not None and -self.amount.as_tuple().exponent > exponent:  # type: ignore[operator]
            problems.append(("amount", f"has more decimal places than {self.currency} allows ({exponent})"))
        elif exponent is not None:
            object.__setattr__(self, "amount", self.amount.quantize(_quantum(exponent)))
        if problems:
            raise ValidationError(Problem(p, m) for p, m in problems)

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
        return Money(self.amount + other.amount, self.currency)

    def __radd__(self, other: object) -> Money:
        # lets sum(moneys, start) and sum() of a non-empty list work
        if other == 0:
            return self
        return self.__add__(other)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, (int, Decimal)):
            return NotImplemented
        return Money(self.rounded(self.amount * factor), self.currency)

    __rmul__ = __mul__

    def rounded(self, amount: Decimal) -> Decimal:
        """``amount`` rounded half-even to this currency's minor unit."""
        exponent = currency_exponent(self.currency)
        if exponent is None:
            return amount
        try:
            return amount.quantize(_quantum(exponent), rounding=ROUND_HALF_EVEN)
        except InvalidOperation:
            raise ValidationError.single("amount", "is out of range") from None

    def _cmp(self, other: object) -> Decimal:
        if not isinstance(other, Money):
            raise TypeError(f"cannot compare Money with {type(other).__name__}")
        self._same(other)
        return self.amount - other.amount

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
