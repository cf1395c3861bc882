"""Commands about the customer: registration, guest checkout, profile changes and consent decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs

from custdata._clock import Clock, utc_now
from custdata._errors import ErrorCode, ValidationError
from custdata.commands._base import (
    DEFAULT_IDS,
    EXPECTED_VERSION,
    SERVER_MANAGED,
    Command,
    Ids,
    live_customer,
    now_from,
    run,
    touch,
)
from custdata.commands._fields import (
    MAX_METADATA_CHARS,
    Boolean,
    Choice,
    Day,
    Email,
    Field,
    JsonObject,
    ListOf,
    Phone,
    Shape,
    Text,
    TimeOfDay,
    json_size,
    merge_patch,
)
from custdata.domain import (
    Channel,
    ConsentPurpose,
    ConsentState,
    Customer,
    CustomerId,
    EmailAddress,
    PhoneNumber,
    Preferences,
)
from custdata.domain.personal import IDENTIFIER, NESTED, NOT_PERSONAL, PERSONAL, masked_repr
from custdata.privacy import consent
from custdata.storage.ports import Store, UnitOfWork, lock_email

_DELIVERY = Shape(
    (
        Field("eco_packaging", Boolean()),
        Field("window", Text(64), nullable=True),
        Field("instructions", Text(1000, multiline=True), nullable=True),
    )
)
_PREFERENCES = Shape(
    (
        Field("channels", ListOf(Choice(Channel), max_items=len(Channel)), description="in order of preference"),
        Field("delivery", _DELIVERY),
        Field("quiet_hours_start", TimeOfDay(), nullable=True),
        Field("quiet_hours_end", TimeOfDay(), nullable=True),
    )
)


def _profile_fields(*, clearable: bool) -> tuple[Field, ...]:
    return (
        Field("given_name", Text(256), nullable=clearable),
        Field("family_name", Text(256), nullable=clearable),
        Field("display_name", Text(256), nullable=clearable),
        Field("phone", Phone(), nullable=clearable),
        Field("locale", Text(16), nullable=clearable, description="such as en, de-AT, pt-BR"),
        Field("timezone", Text(64), nullable=clearable, description="an IANA time zone such as Europe/Berlin"),
        Field("birthday", Day(), nullable=clearable),
        Field("preferences", _PREFERENCES),
        Field("metadata", JsonObject(), nullable=clearable, description=f"at most {MAX_METADATA_CHARS} characters"),
    )


_EMAIL_FORBIDDEN = {"email": "is changed through the verification flow, where the new address is proven"}


def _preferences(current: Preferences, patch: dict[str, Any]) -> Preferences:
    """``current`` with ``patch`` merged in (RFC 7396: absent keeps, null clears, objects merge)."""
    values: dict[str, Any] = {}
    if "channels" in patch:
        values["channels"] = patch["channels"]
    if "delivery" in patch:
        values["delivery"] = attrs.evolve(current.delivery, **patch["delivery"])
    for name in ("quiet_hours_start", "quiet_hours_end"):
        if name in patch:
            values[name] = patch[name]
    return attrs.evolve(current, **values)


def _metadata(current: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = {} if patch is None else merge_patch(current, patch)
    if json_size(merged) > MAX_METADATA_CHARS:
        raise ValidationError.single(
            "metadata", f"would be larger than {MAX_METADATA_CHARS} characters of JSON", ErrorCode.TOO_LONG
        )
    return merged


def _new_customer(profile: dict[str, Any], email: EmailAddress, *, guest: bool, ids: Ids, clock: Clock) -> Customer:
    now = now_from(clock)
    values = dict(profile)
    if "preferences" in values:
        values["preferences"] = _preferences(Preferences(), values["preferences"])
    values["metadata"] = _metadata({}, values.get("metadata", {}))
    return Customer(id=ids.customer(), created_at=now, email=email, is_guest=guest, **values)


_CHECKED_FIELDS = ("given_name", "family_name", "display_name", "phone", "locale", "timezone", "birthday")


def _check_profile(values: dict[str, Any], email: EmailAddress | None, *, with_preferences: bool) -> None:
    """The model's own checks of the given fields (locale, time zone, quiet hours ...), on a customer made for
    the purpose: every problem is found by ``from_payload``, none is left for ``apply``."""
    given = {name: values[name] for name in _CHECKED_FIELDS if values.get(name) is not None}
    if with_preferences and "preferences" in values:
        given["preferences"] = _preferences(Preferences(), values["preferences"])
    Customer(id="check", created_at=_EPOCH, email=email, **given)


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class _Held(Exception):
    def __init__(self, holder: CustomerId) -> None:
        self.holder = holder


@attrs.frozen
class Registered:
    """What :meth:`RegisterCustomer.apply` did. ``customer`` is the new account, or None when a registered
    account already holds the address: then ``existing`` names it and nothing was written.

    Answer the client the same way in both cases (for example "check your inbox to continue") and tell the
    address's owner by email (a sign-in link, "you already have an account"): the answer then reveals nothing
    about which addresses have accounts, and nobody gets an account with an address that is another's.
    """

    customer: Customer | None = attrs.field(metadata=NESTED)
    existing: CustomerId | None = attrs.field(default=None, metadata=IDENTIFIER)

    __repr__ = masked_repr


@attrs.frozen
class RegisterCustomer(Command):
    """Open an account: an email address (required) and profile fields. The account is registered, its email not
    yet verified (``email_verified_at`` stays empty until the verification flow proves it); earlier guest records
    with the address are not attached (that too needs the proof, see :func:`custdata.privacy.complete_verification`).
    """

    SHAPE: ClassVar[Shape] = Shape(
        (Field("email", Email(), required=True), *_profile_fields(clearable=False)),
        forbidden=SERVER_MANAGED,
    )

    email: EmailAddress = attrs.field(metadata=PERSONAL)
    profile: dict[str, Any] = attrs.field(factory=dict, metadata=PERSONAL)

    __repr__ = masked_repr

    @classmethod
    def _build(cls, values: dict[str, Any]) -> RegisterCustomer:
        email = values.pop("email", None)
        _check_profile(values, email, with_preferences=True)
        return cls(email, values)

    def apply(self, store: Store, *, ids: Ids = DEFAULT_IDS, clock: Clock = utc_now) -> Registered:
        """Store the new account, unless a live registered account holds the address (primary or other): then
        nothing is written and :attr:`Registered.existing` names that account. Guests with the address stay as
        they are."""

        customer = _new_customer(self.profile, self.email, guest=False, ids=ids, clock=clock)

        def work(uow: UnitOfWork) -> Registered:
            # a store with many writers holds the address until this unit of work ends (PostgreSQL); in one with a
            # single writer at a time (SQLite, the memory store), writing first makes the other registration of the
            # address finish first; either way the look-up then sees it
            lock_email(uow.customers, self.email)
            uow.customers.add(customer)
            for holder in uow.customers.find_by_email(self.email):
                if (
                    holder.id != customer.id
                    and not holder.is_guest
                    and holder.merged_into is None
                    and holder.redacted_at is None
                ):
                    raise _Held(holder.id)
            return Registered(customer)

        try:
            return run(store, work)
        except _Held as held:  # the unit of work rolled the new account back
            return Registered(None, held.holder)


@attrs.frozen
class CreateGuest(Command):
    """A guest record for a checkout without an account: an email address (required) and profile fields. It is
    always a record of its own, never attached to a registered account with the same address."""

    SHAPE: ClassVar[Shape] = Shape(
        (Field("email", Email(), required=True), *_profile_fields(clearable=False)),
        forbidden=SERVER_MANAGED,
    )

    email: EmailAddress = attrs.field(metadata=PERSONAL)
    profile: dict[str, Any] = attrs.field(factory=dict, metadata=PERSONAL)

    __repr__ = masked_repr

    @classmethod
    def _build(cls, values: dict[str, Any]) -> CreateGuest:
        email = values.pop("email", None)
        _check_profile(values, email, with_preferences=True)
        return cls(email, values)

    def apply(self, store: Store, *, ids: Ids = DEFAULT_IDS, clock: Clock = utc_now) -> Customer:
        def work(uow: UnitOfWork) -> Customer:
            customer = _new_customer(self.profile, self.email, guest=True, ids=ids, clock=clock)
            uow.customers.add(customer)
            return customer

        return run(store, work)


@attrs.frozen
class UpdateProfile(Command):
    """A partial change of the profile with JSON Merge Patch semantics (RFC 7396): a field left out stays as it
    is, null clears it, and the objects ``preferences``, ``preferences.delivery`` and ``metadata`` merge. A new
    phone number is not verified (``phone_verified_at`` is cleared). The primary email is not changed here."""

    SHAPE: ClassVar[Shape] = Shape(
        (EXPECTED_VERSION, *_profile_fields(clearable=True)),
        forbidden={**SERVER_MANAGED, **_EMAIL_FORBIDDEN},
    )

    expected_version: int = attrs.field(metadata=NOT_PERSONAL)
    changes: dict[str, Any] = attrs.field(factory=dict, metadata=PERSONAL)

    __repr__ = masked_repr

    @classmethod
    def _build(cls, values: dict[str, Any]) -> UpdateProfile:
        version = values.pop("expected_version")
        _check_profile(values, None, with_preferences=False)
        return cls(version, values)

    def apply(self, store: Store, customer_id: str, *, clock: Clock = utc_now) -> Customer:
        """Change the live customer ``customer_id`` (the caller's own, as the application authenticated it):
        :class:`custdata.ConflictError` when ``expected_version`` is stale, :class:`custdata.NotFoundError` when
        there is no such customer or it was erased or merged."""
        now = now_from(clock)

        def work(uow: UnitOfWork) -> Customer:
            customer = live_customer(uow, customer_id, self.expected_version)
            for name, value in self.changes.items():
                if name == "preferences":
                    customer.preferences = _preferences(customer.preferences, value)
                elif name == "metadata":
                    customer.metadata = _metadata(customer.metadata, value)
                elif name == "phone":
                    if not _same_phone(customer.phone, value):
                        customer.phone_verified_at = None
                    customer.phone = value
                else:
                    setattr(customer, name, value)
            touch(customer, now)
            customer.validate()
            uow.customers.update(customer)
            return customer

        return run(store, work)


def _same_phone(old: PhoneNumber | None, new: PhoneNumber | None) -> bool:
    return old is not None and new is not None and old.e164 == new.e164


@attrs.frozen
class SetConsent(Command):
    """The customer's own decision for a purpose on a channel: ``subscribed`` true or false.

    What a self-service request can prove is decided by the server, never by the payload: a grant is a single
    opt-in (``single``), or with ``double_opt_in`` a request that stays ``pending`` until the customer confirms
    it through the link the shop sends (:func:`custdata.privacy.consent.confirm`); only that makes it
    ``confirmed``. A withdrawal always takes effect at once. The payload cannot name a state, a level, a date or
    a source."""

    SHAPE: ClassVar[Shape] = Shape(
        (
            EXPECTED_VERSION,
            Field("purpose", Choice(ConsentPurpose), required=True),
            Field("channel", Choice(Channel), required=True),
            Field("subscribed", Boolean(), required=True),
        ),
        forbidden={
            "state": "follows from subscribed",
            "opt_in_level": "is what the server can prove: single, or confirmed through the confirmation link",
            "recorded_at": "is set by the server",
            "source": "is set by the server",
        },
    )

    expected_version: int = attrs.field(metadata=NOT_PERSONAL)
    purpose: ConsentPurpose = attrs.field(metadata=NOT_PERSONAL)
    channel: Channel = attrs.field(metadata=NOT_PERSONAL)
    subscribed: bool = attrs.field(metadata=NOT_PERSONAL)

    def apply(
        self,
        store: Store,
        customer_id: str,
        *,
        source: str,
        double_opt_in: bool = False,
        clock: Clock = utc_now,
    ) -> Customer:
        """Record the decision on the live customer ``customer_id``; ``source`` names where it was made (such as
        ``web:preferences``), ``double_opt_in`` turns a grant into a pending request."""
        now = now_from(clock)

        def work(uow: UnitOfWork) -> Customer:
            customer = live_customer(uow, customer_id, self.expected_version)
            in_force = customer.consent(self.purpose, self.channel)
            if self.subscribed and in_force is not None and in_force.state == ConsentState.SUBSCRIBED:
                return customer  # subscribed already: a second grant would only lower a confirmed level
            if not self.subscribed:
                consent.withdraw(customer, self.purpose, self.channel, at=now, source=source)
            elif double_opt_in:
                consent.request_confirmation(customer, self.purpose, self.channel, at=now, source=source)
            else:
                consent.grant(customer, self.purpose, self.channel, at=now, source=source, level="single")
            touch(customer, now)
            uow.customers.update(customer)
            return customer

        return run(store, work)


__all__ = ["CreateGuest", "RegisterCustomer", "Registered", "SetConsent", "UpdateProfile"]
