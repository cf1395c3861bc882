"""Customers, orders and events with recognisable personal data, for the privacy tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from custdata import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    PhoneNumber,
    Topic,
)
from custdata.domain import Return, ReturnLine, ReturnReason, Shipment, TrackingEvent, TrackingStatus

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def customer(
    cid: str = "cus_ada",
    *,
    given: str = "Adelheid",
    family: str = "Quenstedt",
    email: str = "adelheid.quenstedt@example.org",
    phone: str = "+4930901820",
    street: str = "Kastanienallee 17",
    guest: bool = False,
    created: datetime = T0,
) -> Customer:
    """A customer whose name, email, phone and street are unusual enough to find in raw bytes."""
    address = Address(
        first_name=given,
        last_name=family,
        street_address_1=street,
        city="Berlin",
        postal_code="10435",
        country_code="DE",
        phone=PhoneNumber.parse(phone),
    )
    return Customer(
        id=cid,
        created_at=created,
        given_name=given,
        family_name=family,
        email=EmailAddress.parse(email),
        phone=PhoneNumber.parse(phone),
        addresses=(address,),
        default_shipping_address=0,
        is_guest=guest,
        metadata={"note": f"{given} likes parcels at {street}"},
        private_metadata={"support": f"called from {phone}"},
    )


def order(oid: str, customer_id: str, *, placed: datetime = T0, address: Address | None = None) -> Order:
    """An order in EUR with two lines, a shipment with tracking and a return with a note."""
    lines = (
        OrderLine("l1", "SKU-SHOE-42", "Trail shoe", 1, Money(Decimal("89.90"), "EUR"), {"size": "42"}),
        OrderLine("l2", "SKU-SOCK", "Socks", 3, Money(Decimal("4.50"), "EUR")),
    )
    shipment = Shipment(
        id="shp1",
        carrier="dhl",
        lines={"l1": 1, "l2": 3},
        tracking_number="00340434161094042557",
        tracking_url="https://track.example.com/00340434161094042557",
        shipped_at=placed + timedelta(days=1),
        events=(TrackingEvent(TrackingStatus.DELIVERED, placed + timedelta(days=2), location="Berlin door"),),
    )
    ret = Return("ret1", placed + timedelta(days=5), (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE, note="too small"),))
    return Order(
        id=oid,
        customer_id=customer_id,
        currency="EUR",
        lines=lines,
        placed_at=placed,
        shipping_address=address,
        shipping=Money(Decimal("4.95"), "EUR"),
        shipments=(shipment,),
        returns=(ret,),
        metadata={"gift_message": "for you"},
    )


def message(mid: str, customer_id: str, text: str, *, created: datetime = T0) -> CommunicationEvent:
    return CommunicationEvent(
        id=mid,
        customer_id=customer_id,
        channel=Channel.EMAIL,
        topic=Topic.ORDER_SHIPPED,
        created_at=created,
        subject="Your order is on its way",
        body=text,
        provider_id="esp-123",
        metadata={"to": text},
    )


def activity(aid: str, customer_id: str, *, occurred: datetime = T0, query: str = "") -> ActivityEvent:
    return ActivityEvent(
        id=aid,
        event="Product Viewed",
        occurred_at=occurred,
        customer_id=customer_id,
        anonymous_id="anon-77",
        properties={"sku": "SKU-SHOE-42", "search": query},
    )
