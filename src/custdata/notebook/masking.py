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

from custdata.domain import Address, EmailAddress, Personal, PhoneNumber, classification
from custdata.domain.contact import mask

_REVEAL: ContextVar[bool] = ContextVar("custdata_notebook_reveal", default=False)

#: Field names taken as personal data in attrs results whose fields carry no mark of
#: :mod:`custdata.domain.personal` (the models' own fields are masked by their mark). A bare ``name`` is not
#: among them: results name steps, segments and products too (analytics marks personal fields in metadata).
PII_FIELDS = frozenset(
    {
        "given_name",
        "family_name",
        "display_name",
        "first_name",
        "last_name",
        "full_name",
        "email",
        "emails",
        "other_emails",
        "phone",
        "phones",
        "other_phones",
        "street_address_1",
        "street_address_2",
        "street",
    }
)


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


def mask_text(text: str | None) -> str:
    """``'Jane Doe'`` -> ``'J***'``; empty for None or an empty string."""
    return mask(text) if text else ""


def mask_email(email: EmailAddress | str | None) -> str:
    """``'jane@example.com'`` -> ``'j***@example.com'``: the domain says which provider, not who."""
    if email is None:
        return ""
    text = email.value if isinstance(email, EmailAddress) else str(email)
    local, at, domain = text.rpartition("@")
    return f"{mask(local)}@{domain}" if at else mask(text)


def mask_phone(phone: PhoneNumber | str | None) -> str:
    """``'+4930123456'`` -> ``'+49***56'``: country prefix and the last two digits."""
    if phone is None:
        return ""
    text = phone.e164 if isinstance(phone, PhoneNumber) else str(phone)
    return f"{text[:3]}***{text[-2:]}" if len(text) > 6 else "***"


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


def masked_value(value: object) -> object:
    """A personal value as masked output shows it: emails keep their domain, phones their country prefix and last
    digits, text its first character; None stays None and anything else becomes ``'***'``."""
    if value is None:
        return None
    if isinstance(value, EmailAddress):
        return mask_email(value)
    if isinstance(value, PhoneNumber):
        return mask_phone(value)
    if isinstance(value, str):
        return mask_text(value)
    return "***"


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
