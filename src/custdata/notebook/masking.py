"""Masking of personal data in notebook output: names, emails, phones and streets show only a first
character (``J***``) unless the caller asks to see them.

Revealing is explicit and local: pass ``reveal=True`` to :func:`custdata.notebook.show`, or render inside
``with reveal_pii():`` (a context variable, so it ends with the block and never leaks into other threads
or tasks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from custdata.domain import Address, EmailAddress, PhoneNumber
from custdata.domain.contact import mask

_REVEAL: ContextVar[bool] = ContextVar("custdata_notebook_reveal", default=False)

#: Field names whose values are personal data wherever they appear in attrs results. A bare ``name`` is not
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


def address_lines(address: Address, reveal: bool) -> list[str]:
    """An address as display lines; names, streets and the phone masked unless ``reveal``."""

    def personal(value: str | None) -> str:
        return (value or "") if reveal else mask_text(value)

    name = " ".join(n for n in (personal(address.first_name), personal(address.last_name)) if n)
    lines = [
        name,
        address.company_name or "",
        personal(address.street_address_1),
        personal(address.street_address_2),
        " ".join(p for p in (address.postal_code, address.city, address.city_area) if p),
        " ".join(p for p in (address.country_area, address.country_code) if p),
        phone_text(address.phone, reveal) if address.phone is not None else "",
    ]
    return [line for line in lines if line]
