"""Hypothesis strategies for every custdata model, for property tests in your own code.

Every strategy yields valid objects (they pass the model's checks), with Unicode names, many
countries, currencies with 0, 2 and 3 minor units, and timestamps in several offsets::

    from hypothesis import given
    from custdata.testing import strategies as cst

    @given(cst.customers())
    def test_round_trip(customer):
        assert custdata.from_json(custdata.Customer, custdata.to_json(customer)) == customer
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

import phonenumbers
from hypothesis import strategies as st

from custdata._errors import ValidationError
from custdata.domain import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    CommunicationStatus,
    Company,
    CompanyMembership,
    CompanyRole,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    DeliveryPreferences,
    Direction,
    EmailAddress,
    ExternalRef,
    Money,
    OptInLevel,
    Order,
    OrderLine,
    OrderStatus,
    PhoneNumber,
    Preferences,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
    Shipment,
    StatusChange,
    Topic,
    TrackingEvent,
    TrackingStatus,
)
from custdata.domain.address import address_rules

T = TypeVar("T")

__all__ = [
    "activity_events",
    "addresses",
    "aware_datetimes",
    "communication_events",
    "companies",
    "consent_records",
    "customers",
    "email_addresses",
    "json_objects",
    "money",
    "order_lines",
    "orders",
    "phone_numbers",
    "preferences",
    "returns",
    "shipments",
    "tracking_events",
]

OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)), timezone(timedelta(hours=9)))
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "KRW", "BHD", "KWD", "CHF", "SEK", "BRL")
COUNTRIES = (
    "US",
    "DE",
    "GB",
    "FR",
    "JP",
    "BR",
    "CA",
    "AU",
    "IN",
    "NL",
    "ES",
    "IT",
    "CH",
    "AT",
    "SE",
    "PL",
    "MX",
    "CN",
    "KR",
    "IE",
    "NZ",
    "ZA",
    "AE",
    "SG",
)
SEGMENT_EVENTS = (
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
    "Cart Abandoned",
    "Order Completed",
)


def _valid(build: Any, *args: Any, **kwargs: Any) -> Any:
    """Build a model, or a marker that ``_drop`` filters out when the combination is not valid."""
    try:
        return build(*args, **kwargs)
    except ValidationError:
        return _INVALID


_INVALID = object()


def _drop(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy.filter(lambda x: x is not _INVALID)


def names() -> st.SearchStrategy[str]:
    """Short Unicode names: letters, marks, spaces, apostrophes and hyphens."""
    alphabet = st.characters(categories=("Lu", "Ll", "Lt", "Lo", "Mn"), exclude_characters="\x00")
    word = st.text(alphabet, min_size=1, max_size=12)
    return st.lists(word, min_size=1, max_size=3).map(" ".join).filter(lambda s: s.strip() == s)


def aware_datetimes(
    min_value: datetime = datetime(2000, 1, 1), max_value: datetime = datetime(2099, 12, 31)
) -> st.SearchStrategy[datetime]:
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.sampled_from(OFFSETS))


def json_objects(max_leaves: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(-(2**53), 2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=20).filter(lambda s: "\x00" not in s)
    )
    values = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=max_leaves,
    )
    return st.dictionaries(st.text(min_size=1, max_size=12), values, max_size=4)


def email_addresses() -> st.SearchStrategy[EmailAddress]:
    local = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9_+\-]|\.(?=[A-Za-z0-9])){0,20}\Z")
    domain = st.from_regex(r"\A[a-z0-9](?:[a-z0-9\-]{0,10}[a-z0-9])?\Z")
    tld = st.sampled_from(("com", "de", "org", "co.uk", "io", "fr", "shop"))
    return _drop(st.builds(lambda lo, d, t: _valid(EmailAddress.parse, f"{lo}@{d}.{t}"), local, domain, tld))


@lru_cache(maxsize=1)
def _example_numbers() -> tuple[tuple[str, str], ...]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                found.append((region, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)))
    return tuple(found)


def phone_numbers() -> st.SearchStrategy[PhoneNumber]:
    """Valid numbers: each region's example numbers from phonenumbers' metadata, mobile and fixed line."""
    return st.sampled_from(_example_numbers()).map(lambda rn: PhoneNumber.parse(rn[1], rn[0]))


@st.composite
def addresses(draw: st.DrawFn, countries: tuple[str, ...] = COUNTRIES) -> Address:
    """Valid addresses for the given countries, following each country's required fields,
    subdivisions and postal-code examples."""
    country = draw(st.sampled_from(countries))
    rules = address_rules(country)
    area = ""
    if rules.country_area_choices:
        area = draw(st.sampled_from([key for key, _ in rules.country_area_choices]))
        rules = address_rules(country, area)
    city = draw(names())
    if rules.city_choices:
        city = draw(st.sampled_from([key for key, _ in rules.city_choices]))
        rules = address_rules(country, area, city)
    city_area = ""
    if rules.city_area_choices:
        city_area = draw(st.sampled_from([key for key, _ in rules.city_area_choices]))
        rules = address_rules(country, area, city, city_area)
    postal = ""
    if "postal_code" in rules.allowed_fields and rules.postal_code_examples:
        postal = draw(st.sampled_from(rules.postal_code_examples))
    number, street_name = draw(st.tuples(st.integers(1, 999), names()))
    address = _valid(
        Address,
        first_name=draw(names()),
        last_name=draw(names()),
        company_name=draw(st.one_of(st.just(""), names())),
        street_address_1=f"{street_name} {number}",
        street_address_2=draw(st.one_of(st.just(""), names())),
        city=city,
        city_area=city_area,
        postal_code=postal,
        country_code=country,
        country_area=area,
        phone=draw(st.none() | phone_numbers()),
    )
    # a country-wide example postal code may not fit the drawn subdivision: discard such draws
    result: Address = draw(st.just(address).filter(lambda a: a is not _INVALID))
    return result


def money(currencies: tuple[str, ...] = CURRENCIES, max_value: int = 10**7) -> st.SearchStrategy[Money]:
    from custdata.domain.money import currency_exponent

    def build(currency: str) -> st.SearchStrategy[Money]:
        places = currency_exponent(currency) or 0
        amounts = st.decimals(min_value=0, max_value=max_value, places=places, allow_nan=False, allow_infinity=False)
        return amounts.map(lambda a: Money(a, currency))

    return st.sampled_from(currencies).flatmap(build)


def companies() -> st.SearchStrategy[Company]:
    vat = st.from_regex(r"\A(DE[0-9]{9}|FR[0-9A-Z]{2}[0-9]{9}|GB[0-9]{9}|NL[0-9]{9}B[0-9]{2})\Z")
    return st.builds(
        Company,
        id=st.from_regex(r"\Acom_[a-z0-9]{6}\Z"),
        name=names(),
        vat_id=st.none() | vat,
        registration_number=st.none() | st.from_regex(r"\A[A-Z0-9]{4,12}\Z"),
        currency=st.none() | st.sampled_from(CURRENCIES),
    )


#: The latest time generated consent records are dated at (a customer refuses records dated in the future).
CONSENT_DATES_UNTIL = datetime(2024, 12, 31)


def consent_records() -> st.SearchStrategy[ConsentRecord]:
    return st.builds(
        ConsentRecord,
        purpose=st.sampled_from(ConsentPurpose),
        channel=st.sampled_from(Channel),
        state=st.sampled_from(ConsentState),
        recorded_at=aware_datetimes(max_value=CONSENT_DATES_UNTIL),  # never in the future: no ledger is locked
        opt_in_level=st.sampled_from(OptInLevel),
        source=st.sampled_from(("checkout", "newsletter form", "import", "support")),
    )


def preferences() -> st.SearchStrategy[Preferences]:
    quiet = st.none() | st.tuples(st.times(), st.times())
    return st.builds(
        lambda channels, delivery, q: Preferences(channels, delivery, *(q or (None, None))),
        st.lists(st.sampled_from(Channel), min_size=1, max_size=3, unique=True).map(tuple),
        st.builds(
            DeliveryPreferences, st.booleans(), st.none() | st.sampled_from(("08-12", "evening")), st.none() | names()
        ),
        quiet,
    )


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    created = draw(aware_datetimes())
    updated = created + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=900)))
    emails = draw(st.lists(email_addresses(), max_size=3, unique_by=lambda e: e.canonical))
    phones = draw(st.lists(phone_numbers(), max_size=2, unique_by=lambda p: p.e164))
    book = draw(st.lists(addresses(), max_size=3))
    index = st.none() | st.integers(0, len(book) - 1) if book else st.none()
    return Customer(
        id=draw(st.from_regex(r"\Acus_[0-9a-z]{8}\Z")),
        created_at=created,
        updated_at=updated,
        given_name=draw(st.none() | names()),
        family_name=draw(st.none() | names()),
        display_name=draw(st.none() | names()),
        email=emails[0] if emails else None,
        other_emails=tuple(emails[1:]),
        phone=phones[0] if phones else None,
        other_phones=tuple(phones[1:]),
        addresses=tuple(book),
        default_shipping_address=draw(index),
        default_billing_address=draw(index),
        is_guest=draw(st.booleans()),
        company=draw(st.none() | st.builds(CompanyMembership, companies(), st.sampled_from(CompanyRole))),
        groups=draw(st.frozensets(st.sampled_from(("wholesale", "staff", "press", "beta")), max_size=2)),
        tags=draw(st.frozensets(names(), max_size=3)),
        locale=draw(st.none() | st.sampled_from(("en", "de-AT", "pt-BR", "fr", "ja", "zh-Hant-TW"))),
        timezone=draw(st.none() | st.sampled_from(("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"))),
        birthday=draw(
            st.none() | st.dates(min_value=datetime(1920, 1, 1).date(), max_value=datetime(2010, 1, 1).date())
        ),
        preferences=draw(preferences()),
        consents=tuple(draw(st.lists(consent_records(), max_size=3))),
        metadata=draw(json_objects()),
        private_metadata=draw(json_objects(max_leaves=3)),
        version=draw(st.integers(0, 1000)),
        email_verified_at=draw(st.none() | st.just(updated)) if emails else None,
        phone_verified_at=draw(st.none() | st.just(updated)) if phones else None,
        redacted_at=draw(st.none() | st.just(updated)),
        merged_into=draw(st.none() | st.from_regex(r"\Acus_m[0-9a-z]{8}\Z")),
    )


def order_lines(currency: str, line_id: str) -> st.SearchStrategy[OrderLine]:
    return st.builds(
        OrderLine,
        id=st.just(line_id),
        sku=st.from_regex(r"\A[A-Z]{2,4}-[0-9]{3,6}\Z"),
        product_name=names(),
        quantity=st.integers(1, 5),
        unit_price=money((currency,), max_value=10_000),
        variant=st.dictionaries(
            st.sampled_from(("size", "colour", "material")), st.sampled_from(("42", "M", "red", "wool")), max_size=2
        ),
    )


def tracking_events() -> st.SearchStrategy[TrackingEvent]:
    return st.builds(
        TrackingEvent,
        status=st.sampled_from(TrackingStatus),
        happened_at=aware_datetimes(),
        estimated_delivery_at=st.none() | aware_datetimes(),
        message=st.none() | names(),
        location=st.none() | names(),
    )


@st.composite
def shipments(draw: st.DrawFn, lines: tuple[OrderLine, ...], shipment_id: str = "shp_1") -> Shipment:
    chosen = draw(st.lists(st.sampled_from(lines), min_size=1, max_size=len(lines), unique_by=lambda line: line.id))
    return Shipment(
        id=shipment_id,
        carrier=draw(st.sampled_from(("DHL", "UPS", "USPS", "Royal Mail", "La Poste"))),
        lines={line.id: draw(st.integers(1, line.quantity)) for line in chosen},
        service_level=draw(st.none() | st.sampled_from(("standard", "express"))),
        tracking_number=draw(st.none() | st.from_regex(r"\A[A-Z0-9]{10,20}\Z")),
        tracking_url=draw(st.none() | st.from_regex(r"\Ahttps://track\.example\.com/[a-z0-9]{6}\Z")),
        shipped_at=draw(st.none() | aware_datetimes()),
        events=tuple(draw(st.lists(tracking_events(), max_size=4))),
    )


@st.composite
def returns(draw: st.DrawFn, lines: tuple[OrderLine, ...], return_id: str = "ret_1") -> Return:
    chosen = draw(st.lists(st.sampled_from(lines), min_size=1, max_size=len(lines), unique_by=lambda line: line.id))
    currency = lines[0].unit_price.currency
    return Return(
        id=return_id,
        requested_at=draw(aware_datetimes()),
        lines=tuple(
            ReturnLine(
                line.id,
                draw(st.integers(1, line.quantity)),
                draw(st.sampled_from(ReturnReason)),
                draw(st.none() | names()),
            )
            for line in chosen
        ),
        status=draw(st.sampled_from(ReturnStatus)),
        refund=draw(st.none() | money((currency,), max_value=100)),
        updated_at=draw(st.none() | aware_datetimes()),
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    currency = draw(st.sampled_from(CURRENCIES))
    count = draw(st.integers(1, 4))
    lines = tuple(draw(order_lines(currency, f"l{i}")) for i in range(count))
    placed = draw(aware_datetimes())
    shipping = draw(money((currency,), max_value=100))
    tax = draw(money((currency,), max_value=100))
    subtotal = sum((line.total for line in lines), Money.zero(currency))
    discount_cap = int(subtotal.amount)
    discount = Money(Decimal(draw(st.integers(0, max(discount_cap, 0)))), currency)
    return Order(
        id=draw(st.from_regex(r"\Aord_[0-9a-z]{8}\Z")),
        customer_id=draw(st.from_regex(r"\Acus_[0-9a-z]{8}\Z")),
        currency=currency,
        lines=lines,
        placed_at=placed,
        status=draw(st.sampled_from(OrderStatus)),
        external_ref=draw(
            st.none()
            | st.builds(
                ExternalRef, st.sampled_from(("shopify", "woocommerce", "magento")), st.from_regex(r"\A[0-9]{6,12}\Z")
            )
        ),
        shipping_address=draw(st.none() | addresses()),
        taxes_included=draw(st.booleans()),
        shipping=shipping,
        tax=tax,
        discount=discount,
        shipments=(draw(shipments(lines)),) if draw(st.booleans()) else (),
        returns=(draw(returns(lines)),) if draw(st.booleans()) else (),
        history=tuple(StatusChange(s, placed) for s in draw(st.lists(st.sampled_from(OrderStatus), max_size=3))),
        metadata=draw(json_objects(max_leaves=4)),
        updated_at=placed + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))),
        version=draw(st.integers(0, 100)),
    )


@st.composite
def communication_events(draw: st.DrawFn) -> CommunicationEvent:
    created = draw(aware_datetimes())
    status = draw(st.sampled_from(CommunicationStatus))
    return CommunicationEvent(
        id=draw(st.from_regex(r"\Amsg_[0-9a-z]{8}\Z")),
        customer_id=draw(st.from_regex(r"\Acus_[0-9a-z]{8}\Z")),
        channel=draw(st.sampled_from(Channel)),
        topic=draw(st.sampled_from(Topic)),
        created_at=created,
        direction=draw(st.sampled_from(Direction)),
        status=status,
        template=draw(st.none() | st.sampled_from(("order_confirmation.v2", "shipped"))),
        idempotency_key=draw(st.none() | st.from_regex(r"\A[a-z0-9_:]{8,40}\Z")),
        suppression_reason=draw(st.sampled_from(("no marketing consent", "quiet hours", "frequency cap")))
        if status == CommunicationStatus.SUPPRESSED
        else None,
        order_id=draw(st.none() | st.from_regex(r"\Aord_[0-9a-z]{8}\Z")),
        ticket_id=draw(st.none() | st.from_regex(r"\At-[0-9]{4}\Z")),
        subject=draw(st.none() | names()),
        body=draw(st.none() | st.text(max_size=200).filter(lambda s: "\x00" not in s)),
        provider_id=draw(st.none() | st.from_regex(r"\A<[a-z0-9.]{6,20}@example\.com>\Z")),
        error=None,
        sent_at=draw(st.none() | aware_datetimes()),
        updated_at=created + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))),
        metadata=draw(json_objects(max_leaves=3)),
        version=draw(st.integers(0, 10)),
    )


@st.composite
def activity_events(draw: st.DrawFn) -> ActivityEvent:
    known = draw(st.booleans())
    return ActivityEvent(
        id=draw(st.from_regex(r"\Aact_[0-9a-z]{8}\Z")),
        event=draw(st.sampled_from(SEGMENT_EVENTS)),
        occurred_at=draw(aware_datetimes()),
        customer_id=draw(st.from_regex(r"\Acus_[0-9a-z]{8}\Z")) if known else None,
        anonymous_id=None if known else draw(st.from_regex(r"\Aanon-[0-9a-f]{12}\Z")),
        properties=draw(json_objects(max_leaves=4)),
        source=draw(st.none() | st.sampled_from(("web", "ios", "android"))),
    )
