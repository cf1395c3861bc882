"""Models whose personal fields hold recognisable sentinels, found again by their text wherever they leak.

:func:`with_sentinels` takes any model (a generated customer, order, message, ...) and replaces the value of every
field marked ``personal`` (following ``nested`` fields, filling empty text fields too) by a unique marker such as
``qzs12x``; it returns the new model and the texts that must not appear in masked output.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import attrs

from custdata.domain import EmailAddress, Personal, PhoneNumber
from custdata.domain.personal import field_kind

BIRTHDAY = date(1911, 11, 11)


class Sentinels:
    """Makes unique markers and remembers what output must not contain."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self.needles: list[str] = []

    def text(self) -> str:
        token = f"qzs{next(self._count)}x"
        self.needles.append(token)
        return token

    def replace(self, value: object, type_name: str, name: str = "") -> object:
        """A sentinel of the kind of ``value`` (or, for None, of the field's declared type); a URL for URL fields."""
        if isinstance(value, EmailAddress) or (value is None and type_name.startswith("EmailAddress")):
            local = self.text()
            return EmailAddress.parse(f"{local}@example.com")
        if isinstance(value, PhoneNumber):
            self.needles += [value.e164, value.e164[1:]]
            return value
        if isinstance(value, tuple):
            return tuple(self.replace(item, "") for item in value)
        if isinstance(value, dict) or (value is None and type_name.startswith(("dict", "Mapping"))):
            if type_name.replace(" ", "").startswith("dict[str,str]"):
                return {"k1": self.text(), "k2": self.text()}
            return {"k1": self.text(), "k2": [self.text()]}
        if isinstance(value, date) or (value is None and type_name.startswith("date")):
            self.needles.append(BIRTHDAY.isoformat())
            return BIRTHDAY
        if (isinstance(value, str) and value.startswith("http")) or (value is None and name.endswith("url")):
            return f"https://{self.text()}.example/{self.text()}"
        if isinstance(value, str) or (value is None and type_name.startswith("str")):
            return f"Qz {self.text()} {self.text()}"
        return value


def with_sentinels(obj: Any, sentinels: Sentinels | None = None) -> tuple[Any, list[str]]:
    """``obj`` with every personal field (in nested models too) replaced by a sentinel, and the sentinel texts."""
    sentinels = sentinels or Sentinels()
    return _replace(obj, sentinels), sentinels.needles


def _replace(obj: Any, sentinels: Sentinels) -> Any:
    changes: dict[str, Any] = {}
    for field in attrs.fields(type(obj)):
        kind = field_kind(field)
        value = getattr(obj, field.name)
        if kind is Personal.NESTED:
            if isinstance(value, tuple):
                changes[field.name] = tuple(_replace(item, sentinels) for item in value)
            elif value is not None:
                changes[field.name] = _replace(value, sentinels)
        elif kind is Personal.PERSONAL:
            if value is None and field.name == "suppression_reason":
                continue  # only a suppressed event has a reason
            changes[field.name] = sentinels.replace(value, str(field.type or ""), field.name)
    return attrs.evolve(obj, **changes)


def leaks(texts: list[str], needles: list[str]) -> list[tuple[str, str]]:
    """The (needle, text) pairs where a sentinel shows in a text, ignoring case."""
    return [(n, t) for t in texts for n in needles if n.lower() in t.lower()]
