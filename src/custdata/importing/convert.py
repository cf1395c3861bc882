"""Turning one input record into validated model objects, or into the problems that keep it out.

Every converter either returns model objects that passed the model's checks or raises
:class:`custdata.ValidationError` whose problems name the field (as custdata calls it) and the reason.
Ids are derived from the source system's reference (``cus_shopify_207119551``), so a second import of the
same file finds what the first one stored and skips it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from custdata._errors import Problem, ValidationError
from custdata.domain import (
    Address,
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    CustomerId,
    EmailAddress,
    ExternalRef,
    Money,
    OptInLevel,
    OrderId,
    PhoneNumber,
)

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}")
_TRUE = frozenset({"1", "true", "yes", "y", "t", "subscribed", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "unsubscribed", "not_subscribed", "off", ""})
_ADDRESS_FIELDS = (
    "company",
    "street_address_1",
    "street_address_2",
    "city",
    "postal_code",
    "country_code",
    "country_area",
)


def _key(reference: str) -> str:
    return reference if _SAFE.fullmatch(reference) else hashlib.sha256(reference.encode()).hexdigest()[:24]


def customer_id_for(platform: str, reference: str) -> CustomerId:
    """The id a customer imported from ``platform`` with ``reference`` gets (always the same)."""
    return CustomerId(f"cus_{platform}_{_key(reference)}")


def order_id_for(platform: str, reference: str) -> OrderId:
    """The id an order imported from ``platform`` with ``reference`` gets (always the same)."""
    return OrderId(f"ord_{platform}_{_key(reference)}")


class Problems:
    """Collects problems, each with the field it is about."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(Problem(field, message))

    def take(self, field: str, exc: ValidationError) -> None:
        for problem in exc.problems:
            self.items.append(Problem(_join(field, problem.path), problem.message))

    def done(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def _join(field: str, path: str) -> str:
    if not path:
        return field
    return path if not field else f"{field}.{path}" if not path.startswith("[") else field + path


def text(value: Any) -> str | None:
    """A field's value as stripped text, None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if not isinstance(value, str):
        raise ValidationError.single("", f"must be text, not {type(value).__name__}")
    value = value.strip()
    return value or None


def flag(value: Any) -> bool | None:
    """yes/no, true/false, 1/0 (any case) as a bool; None when empty."""
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return None if not word else False
    raise ValidationError.single("", "must be yes or no (true/false, 1/0)")


def moment(value: Any) -> datetime | None:
    """An ISO 8601 time (a date alone is midnight UTC; no offset means UTC)."""
    raw = text(value)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError.single("", "is not an ISO 8601 time such as 2024-05-01T12:30:00Z") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def day(value: Any) -> date | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError.single("", "is not an ISO date such as 1984-03-07") from None


def amount(value: Any, currency: str) -> Money | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValidationError.single("", "is not a number such as 19.99") from None
    return Money(number, currency)


def whole(value: Any) -> int | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        return int(Decimal(raw)) if Decimal(raw) == int(Decimal(raw)) else _not_whole()
    except (InvalidOperation, ValueError):
        return _not_whole()


def _not_whole() -> int:
    raise ValidationError.single("", "is not a whole number")


def field(problems: Problems, values: Mapping[str, Any], name: str, parse: Any) -> Any:
    """``parse(values[name])``, with a problem recorded under ``name`` (and None returned) if it fails."""
    try:
        return parse(values.get(name))
    except ValidationError as exc:
        problems.take(name, exc)
        return None


@attrs.frozen
class CustomerFields:
    """What :func:`customer_from_fields` needs beside the values: the source platform and the import time."""

    platform: str
    now: datetime


def customer_from_fields(values: Mapping[str, Any], context: CustomerFields) -> Customer:
    """A validated customer from field values (see :data:`custdata.importing.CUSTOMER_FIELDS`).

    The customer's reference is ``id``, or else the email address; the id, the metadata's ``external_ref``
    and the consent records' source name the platform."""
    problems = Problems()
    reference = field(problems, values, "id", text)
    raw_email = field(problems, values, "email", text)
    email = None
    if raw_email is not None:
        email = field(problems, {"email": raw_email}, "email", EmailAddress.parse)
    if reference is None and raw_email is None and not problems.items:
        problems.add("id", "is required (or an email): it recognises the customer when the file is imported again")
    country = field(problems, values, "country_code", text)
    raw_phone = field(problems, values, "phone", text)
    phone = None
    if raw_phone is not None:
        phone = field(problems, {"phone": raw_phone}, "phone", lambda t: PhoneNumber.parse(t, region=country))
    given = field(problems, values, "given_name", text)
    family = field(problems, values, "family_name", text)
    address = None
    parts = {name: field(problems, values, name, text) for name in _ADDRESS_FIELDS}
    if any(parts[name] for name in ("street_address_1", "city", "postal_code")):
        try:
            address = Address(
                first_name=given or "",
                last_name=family or "",
                company_name=parts["company"] or "",
                street_address_1=parts["street_address_1"] or "",
                street_address_2=parts["street_address_2"] or "",
                city=parts["city"] or "",
                postal_code=parts["postal_code"] or "",
                country_code=parts["country_code"] or "",
                country_area=parts["country_area"] or "",
            )
        except ValidationError as exc:
            problems.take("", exc)
    created = field(problems, values, "created_at", moment) or context.now
    tags = field(problems, values, "tags", text)
    consents = []
    source = f"import:{context.platform}"
    for name, channel in (("accepts_marketing", Channel.EMAIL), ("accepts_sms_marketing", Channel.SMS)):
        answer = field(problems, values, name, flag)
        if answer is not None:
            state = ConsentState.SUBSCRIBED if answer else ConsentState.NOT_SUBSCRIBED
            level = OptInLevel.SINGLE if answer else OptInLevel.UNKNOWN
            consents.append(ConsentRecord(ConsentPurpose.MARKETING, channel, state, created, level, source))
    birthday = field(problems, values, "birthday", day)
    is_guest = field(problems, values, "is_guest", flag)
    locale = field(problems, values, "locale", text)
    timezone = field(problems, values, "timezone", text)
    problems.done()
    ref = str(reference or (email.canonical if email else raw_email))
    try:
        return Customer(
            id=customer_id_for(context.platform, ref),
            created_at=created,
            updated_at=max(created, context.now),
            given_name=given,
            family_name=family,
            email=email,
            phone=phone,
            addresses=(address,) if address is not None else (),
            default_shipping_address=0 if address is not None else None,
            default_billing_address=0 if address is not None else None,
            is_guest=bool(is_guest),
            tags=frozenset(t.strip() for t in (tags or "").split(",") if t.strip()),
            locale=locale,
            timezone=timezone,
            birthday=birthday,
            consents=tuple(consents),
            metadata={"external_ref": str(ExternalRef(context.platform, ref))},
        )
    except ValidationError as exc:
        problems.take("", exc)
        problems.done()
        raise
