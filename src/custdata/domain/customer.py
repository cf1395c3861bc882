"""Customers and what belongs to them: companies, preferences and consent."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import attrs
import pycountry

from custdata._errors import ID_FORM, ErrorCode, ValidationError
from custdata.domain.address import Address
from custdata.domain.checks import Checker, is_json, plain_tag, plain_texts, trusted
from custdata.domain.contact import EmailAddress, PhoneNumber, mask
from custdata.domain.enums import (
    Channel,
    CompanyRole,
    ConsentPurpose,
    ConsentState,
    OptInLevel,
)
from custdata.domain.ids import CompanyId, CustomerId, to_company_id, to_customer_id, to_optional_customer_id
from custdata.domain.personal import IDENTIFIER, LINKED, NESTED, NOT_PERSONAL, PERSONAL, masked_repr

#: How far after the current time a consent record may be dated (the clocks of two machines never agree exactly).
CLOCK_SKEW = timedelta(minutes=5)
#: Consent states that end a consent: a withdrawal and an erasure's redaction.
ENDING_STATES = frozenset({ConsentState.UNSUBSCRIBED, ConsentState.REDACTED})

_VAT = re.compile(r"[A-Z]{2}[A-Z0-9+*]{2,13}")
_LOCALE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?")


@lru_cache(maxsize=1024)
def normalise_locale(text: str) -> str:
    """``'pt_br'`` -> ``'pt-BR'``: an ISO 639 language, optional script and ISO 3166 region.

    Raises :class:`custdata.ValidationError` when a part is unknown.
    """
    match = _LOCALE.fullmatch(text.strip())
    if not match:
        raise ValidationError.single("", "is not a locale such as 'en', 'de-AT' or 'pt-BR'", ErrorCode.INVALID_FORMAT)
    language, script, region = match.groups()
    language = language.lower()
    known = (
        pycountry.languages.get(alpha_2=language) if len(language) == 2 else pycountry.languages.get(alpha_3=language)
    )
    if known is None:
        raise ValidationError.single("", "names no ISO 639 language", ErrorCode.INVALID_CHOICE)
    parts = [language]
    if script:
        parts.append(script.title())
    if region:
        if region.isalpha() and pycountry.countries.get(alpha_2=region.upper()) is None:
            raise ValidationError.single("", "names no ISO 3166 region", ErrorCode.COUNTRY_CODE)
        parts.append(region.upper())
    return "-".join(parts)


def _is_normal_locale(text: str) -> bool:
    try:
        return normalise_locale(text) == text
    except ValidationError:
        return False


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@attrs.frozen
class Company:
    """A business customer: name, VAT id (normalised, country prefix first), registration number."""

    id: CompanyId = attrs.field(converter=to_company_id, metadata=IDENTIFIER)
    name: str = attrs.field(metadata=NOT_PERSONAL)
    vat_id: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    registration_number: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    currency: str | None = attrs.field(default=None, metadata=NOT_PERSONAL)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.identifier("id", self.id)
        check.text("name", self.name, max_length=256)
        if check.text("vat_id", self.vat_id, optional=True, max_length=32) and self.vat_id is not None:
            vat = re.sub(r"[\s.\-/]", "", self.vat_id).upper()
            if not _VAT.fullmatch(vat):
                check.add("vat_id", "must start with a two-letter country prefix followed by 2 to 13 letters or digits")
            else:
                object.__setattr__(self, "vat_id", vat)
        check.text("registration_number", self.registration_number, optional=True, max_length=64)
        if self.currency is not None:
            from custdata.domain.money import currency_exponent

            try:
                currency_exponent(self.currency)
            except ValidationError as exc:
                check.nested("", exc)
        check.done()


@attrs.frozen
class CompanyMembership:
    """A customer's place in a company."""

    company: Company = attrs.field(metadata=NESTED)
    role: CompanyRole = attrs.field(default=CompanyRole.BUYER, metadata=LINKED)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.instance("company", self.company, Company)
        check.enum("role", self.role, CompanyRole)
        check.done()


@attrs.frozen
class ConsentRecord:
    """One recorded consent decision for a purpose on a channel: state, opt-in level, when and where from."""

    purpose: ConsentPurpose = attrs.field(metadata=NOT_PERSONAL)
    channel: Channel = attrs.field(metadata=NOT_PERSONAL)
    state: ConsentState = attrs.field(metadata=LINKED)
    recorded_at: datetime = attrs.field(metadata=LINKED)
    opt_in_level: OptInLevel = attrs.field(default=OptInLevel.UNKNOWN, metadata=LINKED)
    source: str = attrs.field(default="unknown", metadata=PERSONAL)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.enum("purpose", self.purpose, ConsentPurpose)
        check.enum("channel", self.channel, Channel)
        check.enum("state", self.state, ConsentState)
        check.timestamp("recorded_at", self.recorded_at)
        check.enum("opt_in_level", self.opt_in_level, OptInLevel)
        check.text("source", self.source, max_length=256)
        check.done()


@attrs.frozen
class DeliveryPreferences:
    """How the customer likes parcels delivered."""

    eco_packaging: bool = attrs.field(default=False, metadata=LINKED)
    window: str | None = attrs.field(default=None, metadata=LINKED)
    instructions: str | None = attrs.field(default=None, metadata=PERSONAL)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        check.boolean("eco_packaging", self.eco_packaging)
        check.text("window", self.window, optional=True, max_length=64)
        check.text("instructions", self.instructions, optional=True, max_length=1000, multiline=True)
        check.done()


@attrs.frozen
class Preferences:
    """Channel and delivery preferences. ``channels`` is in order of preference; quiet hours are in the
    customer's own time zone and may wrap midnight (22:00 to 07:00)."""

    channels: tuple[Channel, ...] = attrs.field(default=(Channel.EMAIL,), metadata=LINKED)
    delivery: DeliveryPreferences = attrs.field(default=DeliveryPreferences(), metadata=NESTED)
    quiet_hours_start: time | None = attrs.field(default=None, metadata=LINKED)
    quiet_hours_end: time | None = attrs.field(default=None, metadata=LINKED)

    __repr__ = masked_repr

    def __attrs_post_init__(self) -> None:
        if trusted():
            return
        check = Checker()
        if check.items("channels", self.channels, lambda p, v: check.enum(p, v, Channel), kind=tuple):
            if len(set(self.channels)) != len(self.channels):
                check.add("channels", "lists a channel twice", ErrorCode.DUPLICATE)
        check.instance("delivery", self.delivery, DeliveryPreferences)
        check.instance("quiet_hours_start", self.quiet_hours_start, time, optional=True)
        check.instance("quiet_hours_end", self.quiet_hours_end, time, optional=True)
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            check.add("quiet_hours_end", "quiet hours need both a start and an end", ErrorCode.REQUIRED)
        check.done()


def _updated_default(self: Any) -> Any:
    return self.created_at


@attrs.define(repr=False, eq=True, on_setattr=attrs.setters.NO_OP)  # validate() types assigned ids
class Customer:
    """A customer profile: identity, contact points, address book, company, preferences and consent.

    Guests have orders but no account (``is_guest``). ``version`` is bumped by stores on every update
    and used for optimistic concurrency. ``email_verified_at`` and ``phone_verified_at`` say when the primary
    email and phone were proven to reach the customer (clear them when you change those); ``redacted_at`` is
    set when the customer's personal data was erased; ``merged_into`` names the customer this record was merged
    into (the record stays so that its id still resolves).
    """

    id: CustomerId = attrs.field(converter=to_customer_id, metadata=IDENTIFIER)
    created_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    given_name: str | None = attrs.field(default=None, metadata=PERSONAL)
    family_name: str | None = attrs.field(default=None, metadata=PERSONAL)
    display_name: str | None = attrs.field(default=None, metadata=PERSONAL)
    email: EmailAddress | None = attrs.field(default=None, metadata=PERSONAL)
    other_emails: tuple[EmailAddress, ...] = attrs.field(default=(), metadata=PERSONAL)
    phone: PhoneNumber | None = attrs.field(default=None, metadata=PERSONAL)
    other_phones: tuple[PhoneNumber, ...] = attrs.field(default=(), metadata=PERSONAL)
    addresses: tuple[Address, ...] = attrs.field(default=(), metadata=NESTED)
    default_shipping_address: int | None = attrs.field(default=None, metadata=LINKED)
    default_billing_address: int | None = attrs.field(default=None, metadata=LINKED)
    is_guest: bool = attrs.field(default=False, metadata=NOT_PERSONAL)
    company: CompanyMembership | None = attrs.field(default=None, metadata=NESTED)
    groups: frozenset[str] = attrs.field(default=frozenset(), metadata=LINKED)
    tags: frozenset[str] = attrs.field(default=frozenset(), metadata=LINKED)
    locale: str | None = attrs.field(default=None, metadata=LINKED)
    timezone: str | None = attrs.field(default=None, metadata=LINKED)
    birthday: date | None = attrs.field(default=None, metadata=PERSONAL)
    preferences: Preferences = attrs.field(default=Preferences(), metadata=NESTED)
    consents: tuple[ConsentRecord, ...] = attrs.field(default=(), metadata=NESTED)
    metadata: dict[str, Any] = attrs.field(default=attrs.Factory(dict), metadata=PERSONAL)
    private_metadata: dict[str, Any] = attrs.field(default=attrs.Factory(dict), metadata=PERSONAL)
    updated_at: datetime = attrs.field(default=attrs.Factory(_updated_default, takes_self=True), metadata=NOT_PERSONAL)
    version: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    email_verified_at: datetime | None = attrs.field(default=None, metadata=LINKED)
    phone_verified_at: datetime | None = attrs.field(default=None, metadata=LINKED)
    redacted_at: datetime | None = attrs.field(default=None, metadata=NOT_PERSONAL)
    merged_into: CustomerId | None = attrs.field(default=None, converter=to_optional_customer_id, metadata=IDENTIFIER)

    def __attrs_post_init__(self) -> None:
        # a customer built from outside data (a constructor call, from_dict, from_json, attrs.evolve) may not
        # bring in a consent record that locks a consent in place; one already stored stays loadable and storable
        if not trusted() and not self._plainly_valid():
            self._check_each_field(arriving=True)

    def validate(self) -> None:
        """Check every field; raises :class:`custdata.ValidationError` listing all problems."""
        if not self._plainly_valid():
            self._check_each_field()

    def _plainly_valid(self) -> bool:
        """The common case in a few quick tests: when they hold, :meth:`_check_each_field` finds nothing (a property
        test holds the two together). Anything unusual, such as a second email or a locale to normalise, returns
        False and goes through the detailed checks, which say what is wrong and where."""
        created, updated = self.created_at, self.updated_at
        if not (
            type(self.id) is CustomerId
            and ID_FORM.fullmatch(self.id)
            and type(created) is datetime
            and type(updated) is datetime
            and created.utcoffset() is not None
            and updated.utcoffset() is not None
            and updated >= created
            and type(self.version) is int
            and self.version >= 0
            and type(self.is_guest) is bool
            and self.other_emails == ()
            and self.other_phones == ()
            and type(self.preferences) is Preferences
            and self.company is None
            and self.birthday is None
            and self.merged_into is None
            and self.redacted_at is None
        ):
            return False
        if not plain_texts((self.given_name, self.family_name, self.display_name), 256):
            return False
        email, phone = self.email, self.phone
        if (email is not None and type(email) is not EmailAddress) or (
            phone is not None and type(phone) is not PhoneNumber
        ):
            return False
        for at, contact in ((self.email_verified_at, email), (self.phone_verified_at, phone)):
            if at is not None and (type(at) is not datetime or at.utcoffset() is None or contact is None):
                return False
        addresses = self.addresses
        if type(addresses) is not tuple or any(type(a) is not Address for a in addresses):
            return False
        consents = self.consents
        if consents != () and not _plain_consents(consents):
            return False
        for index in (self.default_shipping_address, self.default_billing_address):
            if index is not None and not (type(index) is int and 0 <= index < len(addresses)):
                return False
        for tags in (self.groups, self.tags):
            if type(tags) is not frozenset or (tags and not all(plain_tag(t) for t in tags)):
                return False
        for metadata in (self.metadata, self.private_metadata):
            if type(metadata) is not dict or (metadata and not is_json(metadata)):
                return False
        # a locale in normal form and an IANA zone name are short and plain by their nature
        locale, zone = self.locale, self.timezone
        if locale is not None and not (type(locale) is str and _is_normal_locale(locale)):
            return False
        return zone is None or (type(zone) is str and zone in _timezones())

    def _check_each_field(self, *, arriving: bool = False) -> None:
        check = Checker()
        check.identifier("id", self.id)
        for name in ("given_name", "family_name", "display_name"):
            check.text(name, getattr(self, name), optional=True, max_length=256)
        check.instance("email", self.email, EmailAddress, optional=True)
        if check.instances("other_emails", self.other_emails, EmailAddress) and self.other_emails:
            seen = [e.canonical for e in (self.email, *self.other_emails) if e is not None]
            if len(set(seen)) != len(seen):
                check.add("other_emails", "lists an address twice", ErrorCode.DUPLICATE)
        check.instance("phone", self.phone, PhoneNumber, optional=True)
        if check.instances("other_phones", self.other_phones, PhoneNumber) and self.other_phones:
            numbers = [p.e164 for p in (self.phone, *self.other_phones) if p is not None]
            if len(set(numbers)) != len(numbers):
                check.add("other_phones", "lists a number twice", ErrorCode.DUPLICATE)
        if check.instances("addresses", self.addresses, Address):
            for name in ("default_shipping_address", "default_billing_address"):
                index = getattr(self, name)
                if index is not None and check.integer(name, index, minimum=0) and index >= len(self.addresses):
                    check.add(name, f"points at address {index}, but the address book has {len(self.addresses)}")
        check.boolean("is_guest", self.is_guest)
        check.instance("company", self.company, CompanyMembership, optional=True)
        check.tags("groups", self.groups)
        check.tags("tags", self.tags)
        if check.text("locale", self.locale, optional=True, max_length=16) and self.locale is not None:
            try:
                locale = normalise_locale(self.locale)
                if locale != self.locale:
                    self.locale = locale
            except ValidationError as exc:
                check.nested("locale", exc)
        if check.text("timezone", self.timezone, optional=True, max_length=64) and self.timezone is not None:
            if self.timezone not in _timezones():
                check.add("timezone", "is not an IANA time zone such as 'Europe/Berlin'", ErrorCode.INVALID_CHOICE)
        check.day("birthday", self.birthday, optional=True)
        check.instance("preferences", self.preferences, Preferences)
        if check.instances("consents", self.consents, ConsentRecord) and arriving:
            _check_consent_dates(check, self.consents)
        check.json_object("metadata", self.metadata)
        check.json_object("private_metadata", self.private_metadata)
        if check.timestamp("created_at", self.created_at) and check.timestamp("updated_at", self.updated_at):
            if self.updated_at < self.created_at:
                check.add("updated_at", "is earlier than created_at")
        check.integer("version", self.version, minimum=0)
        for name, contact in (("email_verified_at", self.email), ("phone_verified_at", self.phone)):
            if check.timestamp(name, getattr(self, name), optional=True):
                if getattr(self, name) is not None and contact is None:
                    check.add(name, f"is set, but the customer has no {name.split('_')[0]}")
        check.timestamp("redacted_at", self.redacted_at, optional=True)
        if self.merged_into is not None and check.identifier("merged_into", self.merged_into):
            if self.merged_into == self.id:
                check.add("merged_into", "names the customer itself")
        check.done()
        # assignments are stored as given; a passing check gives ids their type again
        self.id, self.merged_into = to_customer_id(self.id), to_optional_customer_id(self.merged_into)

    # -- conveniences -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The name to address the customer by: display name, else given and family name."""
        if self.display_name:
            return self.display_name
        return " ".join(n for n in (self.given_name, self.family_name) if n)

    @property
    def emails(self) -> tuple[EmailAddress, ...]:
        return tuple(e for e in (self.email, *self.other_emails) if e is not None)

    @property
    def phones(self) -> tuple[PhoneNumber, ...]:
        return tuple(p for p in (self.phone, *self.other_phones) if p is not None)

    @property
    def shipping_address(self) -> Address | None:
        index = self.default_shipping_address
        return None if index is None else self.addresses[index]

    @property
    def billing_address(self) -> Address | None:
        index = self.default_billing_address
        return None if index is None else self.addresses[index]

    def consent(self, purpose: ConsentPurpose, channel: Channel) -> ConsentRecord | None:
        """The consent record in force for ``purpose`` on ``channel``, if any: the latest one.

        Of records of the same time the one later in the ledger wins. Once the customer was erased
        (``redacted_at`` is set) the ``redacted`` record erasure left is in force over every other, whatever the
        ledger holds besides.
        """
        erased = self.redacted_at is not None
        latest: ConsentRecord | None = None
        for record in self.consents:
            if record.purpose == purpose and record.channel == channel:
                if latest is None or _rank(record, erased) >= _rank(latest, erased):
                    latest = record
        return latest

    def __repr__(self) -> str:
        kind = "guest" if self.is_guest else "registered"
        if self.redacted_at is not None:
            kind += ", redacted"
        if self.merged_into is not None:
            kind += f", merged into {self.merged_into}"
        return f"Customer(id={self.id!r}, name={mask(self.name)!r}, {kind}, version={self.version})"


def _rank(record: ConsentRecord, erased: bool) -> tuple[bool, datetime]:
    """Orders the records of one purpose and channel: the greatest (the last of equals) is in force."""
    return erased and record.state == ConsentState.REDACTED, record.recorded_at


def _plain_consents(consents: object) -> bool:
    """Consent records the detailed checks accept as they arrive: a tuple of :class:`ConsentRecord`, each dated
    (aware) no later than :data:`CLOCK_SKEW` after now, so that none can lock a consent in place. A record dated
    later, even one a withdrawal ends, is left to :func:`_check_consent_dates`."""
    if type(consents) is not tuple:
        return False
    limit: datetime | None = None
    for record in consents:
        if type(record) is not ConsentRecord:
            return False
        at = record.recorded_at
        if type(at) is not datetime or at.utcoffset() is None:
            return False
        if limit is None:
            limit = datetime.now(UTC) + CLOCK_SKEW
        if at > limit:
            return False
    return True


def _check_consent_dates(check: Checker, consents: tuple[ConsentRecord, ...]) -> None:
    """No grant, request or other record that does not end a consent may be dated in the future (more than
    :data:`CLOCK_SKEW` after now) unless a withdrawal or redaction of the same purpose and channel, dated as late
    or later and after it in the ledger, ends it: such a record would otherwise outrank every withdrawal made
    until its date (a locked consent)."""
    limit = datetime.now(UTC) + CLOCK_SKEW
    for i, record in enumerate(consents):
        if record.state in ENDING_STATES or _aware(record.recorded_at) <= limit:
            continue
        ended = any(
            other.state in ENDING_STATES
            and (other.purpose, other.channel) == (record.purpose, record.channel)
            and _aware(other.recorded_at) >= _aware(record.recorded_at)
            for other in consents[i + 1 :]
        )
        if not ended:
            check.add(
                f"consents[{i}].recorded_at",
                f"is in the future (later than {limit.isoformat()}); a consent record is dated when it is made",
            )


def _aware(moment: datetime) -> datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
