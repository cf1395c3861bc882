"""Masking of personal data in notebook output: every model field marked personal (see
:mod:`custdata.domain.personal`: names, emails, phones, streets, consent sources, tracking numbers, free text)
shows only a first character (``J***``), an email its domain, a phone its country prefix, unless the caller asks
to see them.

Revealing is explicit and local: pass ``reveal=True`` to :func:`custdata.notebook.show`, or render inside
``with reveal_pii():`` (a context variable, so it ends with the block and never leaks into other threads
or tasks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from custdata.analytics.policy import mask_email, mask_phone, mask_text, masked_value
from custdata.domain import Address, Customer, EmailAddress, Personal, PhoneNumber, classification, personal_fields

__all__ = [
    "PII_FIELDS",
    "address_lines",
    "email_text",
    "field_value",
    "is_masked",
    "mask_email",
    "mask_phone",
    "mask_text",
    "masked_value",
    "phone_text",
    "pii_revealed",
    "reveal_pii",
]

_REVEAL: ContextVar[bool] = ContextVar("custdata_notebook_reveal", default=False)

#: Other names results give the data of those fields (a result field needs no model to hold a name or a street).
_OTHER_NAMES = frozenset({"full_name", "emails", "phones", "street"})

#: Field names taken as personal data in attrs results whose fields carry no mark of :mod:`custdata.domain.personal`
#: (the models' own fields are masked by their mark): the names of the fields that ``Customer`` and ``Address`` mark
#: personal, so that a field newly marked there is masked in results too, and a few other names of the same data.
#: A bare ``name`` is not among them: results name steps, segments and products too (analytics marks personal
#: fields in metadata).
PII_FIELDS = frozenset(personal_fields(Customer)) | frozenset(personal_fields(Address)) | _OTHER_NAMES


@contextmanager
def reveal_pii(reveal: bool = True) -> Iterator[None]:
    """Show personal data unmasked in HTML rendered inside the block (``reveal=False`` masks again)."""
    token = _REVEAL.set(bool(reveal))
    try:
        yield
    finally:
        _REVEAL.reset(token)


def pii_revealed() -> bool:
    """Whether HTML rendered now shows personal data unmasked."""
    return _REVEAL.get()


def email_text(email: EmailAddress | None, reveal: bool) -> str:
    if email is None:
        return ""
    return email.value if reveal else mask_email(email)


def phone_text(phone: PhoneNumber | None, reveal: bool) -> str:
    if phone is None:
        return ""
    return phone.e164 if reveal else mask_phone(phone)


def is_masked(cls: type, name: str) -> bool:
    """Whether field ``name`` of the model class ``cls`` is masked: it is marked personal
    (see :mod:`custdata.domain.personal`)."""
    return classification(cls, name) is Personal.PERSONAL


def field_value(obj: object, name: str, reveal: bool) -> object:
    """Field ``name`` of the model ``obj``, masked by :func:`masked_value` when it is personal and not revealed."""
    value = getattr(obj, name)
    return value if reveal or not is_masked(type(obj), name) else masked_value(value)


def address_lines(address: Address, reveal: bool) -> list[str]:
    """An address as display lines; its personal fields (names, company, streets, phone) masked unless ``reveal``."""

    def part(name: str) -> str:
        value = field_value(address, name, reveal)
        return "" if value is None else str(value)

    name = " ".join(n for n in (part("first_name"), part("last_name")) if n)
    lines = [
        name,
        part("company_name"),
        part("street_address_1"),
        part("street_address_2"),
        " ".join(p for p in (part("postal_code"), part("city"), part("city_area")) if p),
        " ".join(p for p in (part("country_area"), part("country_code")) if p),
        part("phone"),
    ]
    return [line for line in lines if line]
