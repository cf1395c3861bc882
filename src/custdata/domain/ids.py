"""Typed identifiers: strings that know what they identify, with sortable generated values."""

from __future__ import annotations

import os
import time
from typing import ClassVar, TypeVar

T = TypeVar("T", bound="Identifier")


class Identifier(str):
    """Base of the typed ids. Any short printable string is accepted (so imported ids survive);
    ``new()`` makes a time-ordered one with the kind's prefix, such as ``cus_0192f0c3a1b24e5d...``."""

    __slots__ = ()
    prefix: ClassVar[str] = "id"

    @classmethod
    def new(cls: type[T]) -> T:
        millis = time.time_ns() // 1_000_000
        return cls(f"{cls.prefix}_{millis:012x}{os.urandom(8).hex()}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


class CustomerId(Identifier):
    """Identifies a :class:`~custdata.Customer` (generated ids start with ``cus_``)."""

    __slots__ = ()
    prefix = "cus"


class CompanyId(Identifier):
    """Identifies a :class:`~custdata.Company` (``com_``)."""

    __slots__ = ()
    prefix = "com"


class OrderId(Identifier):
    """Identifies an :class:`~custdata.Order` (``ord_``)."""

    __slots__ = ()
    prefix = "ord"


class CommunicationId(Identifier):
    """Identifies a :class:`~custdata.CommunicationEvent` (``msg_``)."""

    __slots__ = ()
    prefix = "msg"


class ActivityId(Identifier):
    """Identifies an :class:`~custdata.ActivityEvent` (``act_``)."""

    __slots__ = ()
    prefix = "act"


# attrs converters (named functions, so that type checkers see the constructor takes a str): plain strings
# become the typed id; anything else is left as it is for the model's checks to report.


def _convert(cls: type[T], value: object) -> T:
    return cls(value) if type(value) is str else value  # type: ignore[return-value]


def to_customer_id(value: str) -> CustomerId:
    return _convert(CustomerId, value)


def to_company_id(value: str) -> CompanyId:
    return _convert(CompanyId, value)


def to_order_id(value: str) -> OrderId:
    return _convert(OrderId, value)


def to_communication_id(value: str) -> CommunicationId:
    return _convert(CommunicationId, value)


def to_activity_id(value: str) -> ActivityId:
    return _convert(ActivityId, value)


def to_optional_customer_id(value: str | None) -> CustomerId | None:
    return None if value is None else _convert(CustomerId, value)


def to_optional_order_id(value: str | None) -> OrderId | None:
    return None if value is None else _convert(OrderId, value)
