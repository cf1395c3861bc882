"""Checks for what analytics functions are given: iterables of the right model, aware times, fractions.

Every function in :mod:`custdata.analytics` walks its input once and checks each item as it goes, so a
wrong item is reported with its position (``orders[3]: must be Order, not dict``) instead of failing
somewhere deep inside a computation.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import TypeVar

from custdata._errors import MissingExtraError, ValidationError
from custdata.domain import ActivityEvent, CommunicationEvent, Customer, Money, Order

T = TypeVar("T")

_MODELS = (Order, Customer, CommunicationEvent, ActivityEvent, Money, str, bytes, Mapping)


def each(items: Iterable[T], cls: type[T], name: str) -> Iterator[T]:
    """Yield the items of ``items``, checking that each is a ``cls``; ``name`` is used in error paths."""
    if isinstance(items, _MODELS) or not isinstance(items, Iterable):
        raise ValidationError.single(name, f"must be an iterable of {cls.__name__}, not {type(items).__name__}")
    for i, item in enumerate(items):
        if not isinstance(item, cls):
            raise ValidationError.single(f"{name}[{i}]", f"must be {cls.__name__}, not {type(item).__name__}")
        yield item


def moment(name: str, value: object) -> datetime:
    """``value`` if it is a timezone-aware datetime, else a :class:`ValidationError` about ``name``."""
    if not isinstance(value, datetime):
        raise ValidationError.single(name, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError.single(name, "must be timezone-aware (include an offset such as +00:00)")
    return value


def duration(name: str, value: object, *, positive: bool = True) -> timedelta:
    if not isinstance(value, timedelta):
        raise ValidationError.single(name, f"must be a timedelta, not {type(value).__name__}")
    if value < timedelta(0) or (positive and value == timedelta(0)):
        raise ValidationError.single(name, "must be positive" if positive else "must not be negative")
    return value


def number(
    name: str,
    value: object,
    *,
    minimum: Decimal | None = Decimal(0),
    maximum: Decimal | None = None,
    above_minimum: bool = False,
) -> Decimal:
    """``value`` (Decimal, int, numeric string or float) as a finite Decimal within the bounds."""
    if isinstance(value, bool):
        raise ValidationError.single(name, "must be a number, not bool")
    try:
        if isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, (Decimal, int, str)):
            result = Decimal(value)
        else:
            raise ValidationError.single(name, f"must be a number, not {type(value).__name__}")
    except InvalidOperation:
        raise ValidationError.single(name, "is not a number") from None
    if not result.is_finite():
        raise ValidationError.single(name, "must be a finite number")
    if minimum is not None and (result < minimum or (above_minimum and result == minimum)):
        raise ValidationError.single(name, f"must be {'greater than' if above_minimum else 'at least'} {minimum}")
    if maximum is not None and result > maximum:
        raise ValidationError.single(name, f"must be at most {maximum}")
    return result


def whole(name: str, value: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError.single(name, f"must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise ValidationError.single(name, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ValidationError.single(name, f"must be at most {maximum}")
    return value


def currency_code(name: str, value: object, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError.single(name, f"must be a currency code such as 'EUR', not {type(value).__name__}")
    try:
        return Money.zero(value).currency
    except ValidationError as exc:
        raise exc.prefixed(name) from None


def one_currency(seen: Iterable[str], chosen: str | None) -> str | None:
    """The currency to report in: ``chosen``, or the only one ``seen``; several without a choice is an error."""
    if chosen is not None:
        return chosen
    found = sorted(set(seen))
    if len(found) > 1:
        raise ValidationError.single(
            "currency",
            f"the orders are in {len(found)} currencies ({', '.join(found)}), which are never added together; "
            "choose one with currency=",
        )
    return found[0] if found else None


def optional_module(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or raise :class:`MissingExtraError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module.partition(".")[0], extra) from None
