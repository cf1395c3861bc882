"""Turning one input record into validated model objects, or into the problems that keep it out.

Every converter either returns model objects that passed the model's checks or raises
:class:`custdata.ValidationError` whose problems name the field (as custdata calls it) and the reason.
Ids are derived from the source system's own reference (``cus_shopify_207119551``), so a second import of the
same file finds what the first one stored and skips it. A customer known only by an email address gets a random
id instead: an id derived from an address would let anyone who knows the address find the customer, also after
erasure. The importer recognises such customers again by their stored address (see
:mod:`custdata.importing.importer`).

Numbers are bounded on the way in (:data:`MAX_QUANTITY`, :data:`MAX_AMOUNT`) so that no sum of them can leave
the range an amount of money may take, and times may not lie in the future.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
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
from custdata.importing.repair import _LOOKED_AT, _MAY_START, repaired
from custdata.importing.totals import IMPORTED_TOTALS, ImportedTotals

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}")

#: The largest quantity an imported order line may have.
MAX_QUANTITY = 10**9
#: Imported amounts (prices, shipping, tax, discounts, totals) must be smaller than this in size.
MAX_AMOUNT = Decimal(10) ** 15
#: How far an imported time may lie ahead of the import's time (clocks of two systems never agree exactly).
CLOCK_SKEW = timedelta(minutes=5)
#: The longest note an import keeps (characters).
MAX_NOTE = 10_000
#: The metadata key of a customer imported by email address: the source system's name (never the address).
IMPORTED_FROM = "imported_from"
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
    """The id a customer imported from ``platform`` with ``reference`` (its id there) gets (always the same).

    Customers known only by an email address get random ids; the id this function gives for an address is the
    one earlier versions gave them, and it warns (:class:`DeprecationWarning`), since it identifies the person.
    """
    if looks_like_email(reference):
        warnings.warn(
            "customers imported by email address get random ids: an id derived from the address identifies the "
            "person; find them with uow.customers.find_by_email",
            DeprecationWarning,
            stacklevel=2,
        )
    return source_customer_id(platform, reference)


def source_customer_id(platform: str, reference: str) -> CustomerId:
    """The id derived from a reference in the source system (not an email address: see above)."""
    return CustomerId(f"cus_{platform}_{_key(reference)}")


def legacy_email_id(platform: str, email: EmailAddress) -> CustomerId:
    """The id earlier versions derived from a customer's email address (to recognise such customers)."""
    return source_customer_id(platform, email.canonical)


def has_email_derived_id(customer: Customer) -> bool:
    """True when the customer's id is one earlier versions derived from one of its email addresses (such an id
    identifies the person: :func:`custdata.importing.rekey_email_ids` gives such customers random ids, and
    erasure does so for the customer it erases)."""
    platform = customer.id[len("cus_") : -25]
    if not customer.id.startswith("cus_") or not platform:
        return False
    return any(customer.id == legacy_email_id(platform, email) for email in customer.emails)


def looks_like_email(reference: str) -> bool:
    """True when a reference holds an email address (personal data, so never the basis of an id)."""
    return "@" in reference


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
    if type(value) is str:  # the common case first
        value = value.strip()
        return value or None
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


def past_moment(value: Any, now: datetime) -> datetime | None:
    """:func:`moment`, refused when later than ``now`` (give or take :data:`CLOCK_SKEW`): an imported time
    in the future would date consent and history ahead of everything recorded later."""
    parsed = moment(value)
    if parsed is not None and parsed > now + CLOCK_SKEW:
        raise ValidationError.single("", f"is in the future (after the import's time, {now.isoformat()})")
    return parsed


def day(value: Any) -> date | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError.single("", "is not an ISO date such as 1984-03-07") from None


def amount(value: Any, currency: str) -> Money | None:
    """An amount of money, smaller in size than :data:`MAX_AMOUNT`."""
    raw = text(value)
    if raw is None:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValidationError.single("", "is not a number such as 19.99") from None
    if not number.is_finite():
        raise ValidationError.single("", "is not a number such as 19.99")
    if number.copy_abs() >= MAX_AMOUNT:
        raise ValidationError.single("", f"is too large (amounts must be below {MAX_AMOUNT:,.0f})")
    return Money(number, currency)


def whole(value: Any) -> int | None:
    """A whole number (of items), at most :data:`MAX_QUANTITY` in size."""
    raw = text(value)
    if raw is None:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return _not_whole()
    if not number.is_finite() or number != number.to_integral_value():
        return _not_whole()
    if number.copy_abs() > MAX_QUANTITY:
        raise ValidationError.single("", f"is too large (at most {MAX_QUANTITY:,})")
    return int(number)


def _not_whole() -> int:
    raise ValidationError.single("", "is not a whole number")


#: The parsers that give None, and no problem, for a missing value (so that :func:`field` need not call them).
_ABSENT_IS_NONE = frozenset({text, flag, moment, day, whole})


def field(problems: Problems, values: Mapping[str, Any], name: str, parse: Any) -> Any:
    """``parse(values[name])``, with a problem recorded under ``name`` (and None returned) if it fails; the
    value is first repaired where a spreadsheet mangled it (:mod:`custdata.importing.repair`)."""
    value = values.get(name)
    if value is None and parse in _ABSENT_IS_NONE:
        return None
    if type(value) is str and (value[:1] in _MAY_START or name in _LOOKED_AT):
        value = repaired(values, name)  # what repaired() would hand back unchanged is not passed to it
    try:
        return parse(value)
    except ValidationError as exc:
        problems.take(name, exc)
        return None


@attrs.frozen
class CustomerFields:
    """What :func:`customer_from_fields` needs beside the values: the source platform, the import time, the
    currency of amounts that name none (historic totals), and the format read (named in consent sources)."""

    platform: str
    now: datetime
    currency: str | None = None
    format: str | None = None


def consent_source(context: CustomerFields) -> str:
    """The consent records' source: the platform, the export read and the day of the import (the export says
    what the customer answered, never when, nor how the opt-in was made)."""
    export = f" {context.format} export" if context.format else ""
    return f"import:{context.platform}{export}, imported {context.now.date().isoformat()}"


def _consent_record(channel: Channel, answer: bool, at: datetime, context: CustomerFields) -> ConsentRecord:
    """The consent record of a marketing answer given on ``channel``, dated ``at``."""
    state = ConsentState.SUBSCRIBED if answer else ConsentState.NOT_SUBSCRIBED
    level = OptInLevel.SINGLE if answer else OptInLevel.UNKNOWN
    return ConsentRecord(ConsentPurpose.MARKETING, channel, state, at, level, consent_source(context))


@lru_cache(maxsize=64)
def _answer(channel: Channel, answer: bool, context: CustomerFields, zone: Any, fold: int) -> ConsentRecord:
    """:func:`_consent_record` dated at the import's time. Records are immutable, so the customers of one import
    share the four there are; the import time's zone and fold are part of the key, since times in other zones
    compare equal but are written differently."""
    return _consent_record(channel, answer, context.now, context)


def _kept(problems: Problems, values: Mapping[str, Any], context: CustomerFields) -> dict[str, Any]:
    """The metadata a shop would miss: the note, the tax exemption and the historic totals."""
    kept: dict[str, Any] = {}
    note = field(problems, values, "note", text)
    if note is not None:
        if len(note) > MAX_NOTE:
            problems.add("note", f"is too long (at most {MAX_NOTE:,} characters)")
        else:
            kept["note"] = note
    exempt = field(problems, values, "tax_exempt", flag)
    if exempt is not None:
        kept["tax_exempt"] = exempt
    count = field(problems, values, "orders_count", whole)
    if count is not None and count < 0:
        problems.add("orders_count", "may not be negative")
    currency = (field(problems, values, "currency", text) or context.currency or "").upper() or None
    spent = None
    if values.get("amount_spent") not in (None, ""):
        if currency is None:
            problems.add("amount_spent", "needs a currency (a currency column, or --currency)")
        else:
            spent = field(problems, values, "amount_spent", lambda v: amount(v, currency))
            if spent is not None and spent.amount < 0:
                problems.add("amount_spent", "may not be negative")
    if count is not None or spent is not None:
        kept[IMPORTED_TOTALS] = ImportedTotals(count, spent, context.now).to_json()
    return kept


def customer_from_fields(values: Mapping[str, Any], context: CustomerFields) -> Customer:
    """A validated customer from field values (see :data:`custdata.importing.CUSTOMER_FIELDS`).

    With an ``id`` (the customer's id in the source system) the customer's id derives from it and the metadata's
    ``external_ref`` names it; an ``id`` holding an email address is refused. Without one the customer is known
    by the email address and gets a random id, the metadata's ``imported_from`` naming the platform. The consent
    records' source names the platform too; ``created_at`` may not lie in the future."""
    problems = Problems()
    reference = field(problems, values, "id", text)
    if reference is not None and looks_like_email(reference):
        problems.add(
            "id",
            "holds an email address; ids must not carry personal data (leave id out to recognise "
            "customers by their email)",
        )
        reference = None
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
    raw_address_phone = field(problems, values, "address_phone", text)
    address_phone = None
    if raw_address_phone is not None:
        address_phone = field(
            problems,
            {"address_phone": raw_address_phone},
            "address_phone",
            lambda t: PhoneNumber.parse(t, region=country),
        )
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
                phone=address_phone,
            )
        except ValidationError as exc:
            problems.take("", exc)
    created = field(problems, values, "created_at", lambda v: past_moment(v, context.now)) or context.now
    consented = min(created, context.now)
    tags = field(problems, values, "tags", text)
    consents = []
    for name, channel in (("accepts_marketing", Channel.EMAIL), ("accepts_sms_marketing", Channel.SMS)):
        answer = field(problems, values, name, flag)
        if answer is not None:
            if consented is context.now:  # no created_at: dated at the import's time, like most
                now = context.now
                consents.append(_answer(channel, answer, context, now.tzinfo, now.fold))
            else:
                consents.append(_consent_record(channel, answer, consented, context))
    birthday = field(problems, values, "birthday", day)
    is_guest = field(problems, values, "is_guest", flag)
    locale = field(problems, values, "locale", text)
    timezone = field(problems, values, "timezone", text)
    kept = _kept(problems, values, context)
    problems.done()
    metadata: dict[str, Any]
    if reference is not None:
        customer_id = source_customer_id(context.platform, reference)
        metadata = {"external_ref": str(ExternalRef(context.platform, reference))}
    else:
        customer_id, metadata = CustomerId.new(), {IMPORTED_FROM: context.platform}
    totals = kept.pop(IMPORTED_TOTALS, None)
    if totals is not None:
        metadata[f"{IMPORTED_TOTALS}:{customer_id}"] = totals
    metadata.update(kept)
    try:
        return Customer(
            id=customer_id,
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
            metadata=metadata,
        )
    except ValidationError as exc:
        problems.take("", exc)
        problems.done()
        raise
