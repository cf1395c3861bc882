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


def coerce(cls: type[T]) -> object:
    """An attrs converter turning plain strings into ``cls``; anything else is left for the checks."""

    def convert(value: object) -> object:
        if type(value) is str:
            return cls(value)
        return value

    return convert
