"""Demo customers: the matching module's synthetic people turned into validated customer profiles.

The generator's records are the strings a shop would import; here each becomes a :class:`~custdata.Customer`
with a checked address (state or province filled in where the country needs one), a parsed phone, a locale,
a time zone, channel preferences and a consent history. Fields a damaged duplicate record spoils are left
out, as an import would; the known duplicate pairs come along so the report can say how many were found.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import attrs

from custdata._errors import ValidationError
from custdata.domain import (
    Address,
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    CustomerId,
    EmailAddress,
    OptInLevel,
    PhoneNumber,
    Preferences,
)
from custdata.matching.records import CustomerRecord
from custdata.matching.synthetic import generate_customers

#: Where the demo shop's customers live (the synthetic generator's countries).
COUNTRIES = ("DE", "GB", "FR", "ES", "US")

_US_CITIES = {
    "New York": ("NY", "America/New_York"),
    "Los Angeles": ("CA", "America/Los_Angeles"),
    "Chicago": ("IL", "America/Chicago"),
    "Houston": ("TX", "America/Chicago"),
    "Phoenix": ("AZ", "America/Phoenix"),
    "Philadelphia": ("PA", "America/New_York"),
    "San Antonio": ("TX", "America/Chicago"),
    "San Diego": ("CA", "America/Los_Angeles"),
    "Dallas": ("TX", "America/Chicago"),
    "Austin": ("TX", "America/Chicago"),
    "Seattle": ("WA", "America/Los_Angeles"),
    "Denver": ("CO", "America/Denver"),
    "Boston": ("MA", "America/New_York"),
    "Portland": ("OR", "America/Los_Angeles"),
    "Atlanta": ("GA", "America/New_York"),
    "Miami": ("FL", "America/New_York"),
}
_ES_PROVINCES = {
    "Madrid": "M",
    "Barcelona": "B",
    "Valencia": "V",
    "Sevilla": "SE",
    "Zaragoza": "Z",
    "Málaga": "MA",
    "Murcia": "MU",
    "Palma": "PM",
    "Bilbao": "BI",
    "Alicante": "A",
}
_LOCALES = {"DE": "de-DE", "GB": "en-GB", "FR": "fr-FR", "ES": "es-ES", "US": "en-US"}
_ZONES = {"DE": "Europe/Berlin", "GB": "Europe/London", "FR": "Europe/Paris", "ES": "Europe/Madrid"}


@attrs.frozen
class DemoPeople:
    """The demo's customers and the pairs of customer ids that are known to be the same person."""

    customers: tuple[Customer, ...]
    true_pairs: frozenset[tuple[str, str]]


def demo_customers(count: int, *, seed: int, now: datetime, duplicate_share: float = 0.04) -> DemoPeople:
    """``count`` customers created over the two years before ``now``; the same seed gives the same people."""
    data = generate_customers(count, seed=seed, duplicate_share=duplicate_share, household_share=0.05)
    rng = random.Random(f"people-{seed}")
    ids = {record.id: CustomerId(f"cus_demo{record.id[1:]}") for record in data.records}
    customers = tuple(_customer(record, ids[record.id], rng, now) for record in data.records)
    pairs = frozenset((ids[a], ids[b]) for a, b in data.true_pairs)
    return DemoPeople(customers, pairs)


def _customer(record: CustomerRecord, customer_id: CustomerId, rng: random.Random, now: datetime) -> Customer:
    country = (record.country or "US").upper()
    created = now - timedelta(days=rng.uniform(30, 730), seconds=rng.randrange(86_400))
    email = _email(record.email)
    phone = _phone(record.phone, country)
    address = _address(record, country)
    zone = _US_CITIES.get(record.city or "", ("", "America/New_York"))[1] if country == "US" else _ZONES[country]
    channels: tuple[Channel, ...] = (Channel.EMAIL,)
    if phone is not None and (email is None or rng.random() < 0.15):
        channels = (Channel.SMS, Channel.EMAIL)
    quiet = rng.random() < 0.2
    preferences = Preferences(
        channels=channels,
        quiet_hours_start=time(21, 0) if quiet else None,
        quiet_hours_end=time(8, 0) if quiet else None,
    )
    return Customer(
        id=customer_id,
        created_at=created,
        given_name=record.given_name,
        family_name=record.family_name,
        email=email,
        phone=phone,
        addresses=(address,) if address is not None else (),
        default_shipping_address=0 if address is not None else None,
        default_billing_address=0 if address is not None else None,
        is_guest=rng.random() < 0.2,
        locale=_LOCALES[country],
        timezone=zone,
        preferences=preferences,
        consents=_consents(rng, channels, created, now),
        email_verified_at=created if email is not None and rng.random() < 0.6 else None,
    )


def _email(text: str | None) -> EmailAddress | None:
    if not text:
        return None
    try:
        return EmailAddress.parse(text)
    except ValidationError:
        return None


def _phone(text: str | None, country: str) -> PhoneNumber | None:
    if not text:
        return None
    try:
        return PhoneNumber.parse(text, region=country)
    except ValidationError:
        return None


def _address(record: CustomerRecord, country: str) -> Address | None:
    if country == "US":
        area = _US_CITIES.get(record.city or "", ("", ""))[0]
    elif country == "ES":
        area = _ES_PROVINCES.get(record.city or "", "")
    else:
        area = ""
    try:
        return Address(
            first_name=record.given_name or "",
            last_name=record.family_name or "",
            street_address_1=record.street or "",
            city=record.city or "",
            postal_code=record.postal_code or "",
            country_code=country,
            country_area=area,
        )
    except ValidationError:
        return None  # a damaged record: the import would leave the address out too


def _consents(
    rng: random.Random, channels: tuple[Channel, ...], created: datetime, now: datetime
) -> tuple[ConsentRecord, ...]:
    """About half opt in to marketing at sign-up (double opt-in mostly); some of them withdraw later."""
    records: list[ConsentRecord] = []
    for channel in channels:
        roll = rng.random()
        if roll < 0.5:
            at = created + timedelta(minutes=rng.randrange(1, 60))
            level = OptInLevel.CONFIRMED if rng.random() < 0.8 else OptInLevel.SINGLE
            records.append(
                ConsentRecord(ConsentPurpose.MARKETING, channel, ConsentState.SUBSCRIBED, at, level, "checkout")
            )
            if rng.random() < 0.12:
                left = at + (now - at) * rng.random()
                records.append(
                    ConsentRecord(
                        ConsentPurpose.MARKETING, channel, ConsentState.UNSUBSCRIBED, left, level, "email link"
                    )
                )
        elif roll < 0.6:
            records.append(
                ConsentRecord(ConsentPurpose.MARKETING, channel, ConsentState.NOT_SUBSCRIBED, created, source="signup")
            )
    return tuple(records)
