"""What records and DataFrames do with personal data: one policy for :mod:`custdata.analytics.frames` and
:mod:`custdata.notebook` (``to_records``, ``to_pandas``).

Which fields are personal comes from the models' own marks (:mod:`custdata.domain.personal`: a field marked
``personal``); what a frame does with them is the ``personal`` keyword, one of :data:`POLICIES`:

- ``"omit"`` (the default): the columns of personal fields are left out, so no personal value reaches a cell;
- ``"mask"``: the columns are there, each value masked the way notebook output masks it (``J***``, an email's
  domain, a phone's country prefix and last two digits, ``***`` for anything else; None stays None);
- ``"reveal"``: the columns are there with the values themselves.

>>> personal_policy("mask")
'mask'
>>> masked_value("Jane")
'J***'
"""

from __future__ import annotations

import warnings
from typing import Final, Literal, get_args

from custdata._errors import ValidationError
from custdata.domain import EmailAddress, PhoneNumber
from custdata.domain.contact import mask

__all__ = [
    "DEFAULT_POLICY",
    "POLICIES",
    "PersonalPolicy",
    "mask_email",
    "mask_phone",
    "mask_text",
    "masked_value",
    "personal_policy",
]

#: What a record or DataFrame does with the fields marked personal.
PersonalPolicy = Literal["omit", "mask", "reveal"]
#: Every policy, from the one that shows least.
POLICIES: Final[tuple[PersonalPolicy, ...]] = get_args(PersonalPolicy)
#: The policy of every frame builder when none is given: personal data is not part of the rows.
DEFAULT_POLICY: Final[PersonalPolicy] = "omit"


def personal_policy(value: object, path: str = "personal", *, stacklevel: int = 3) -> PersonalPolicy:
    """``value`` checked as a :data:`PersonalPolicy` (a :class:`custdata.ValidationError` about ``path`` if it is
    not one). The former true/false values of ``personal=`` still work, with a ``DeprecationWarning``:
    ``True`` is ``"reveal"``, ``False`` is ``"omit"``. ``stacklevel`` points the warning at the caller."""
    if isinstance(value, bool):
        policy: PersonalPolicy = "reveal" if value else "omit"
        warnings.warn(
            f'{path}={value} is deprecated: use {path}="{policy}" (one of "omit", "mask", "reveal")',
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        return policy
    if isinstance(value, str) and value in POLICIES:
        return value
    raise ValidationError.single(path, 'must be "omit", "mask" or "reveal"')


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
