"""Customers and orders with parcels for the support tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from custdata import (
    Address,
    Customer,
    EmailAddress,
    ExternalRef,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    PhoneNumber,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def customer(cid: str = "cus_ada", email: str = "ada@example.org", **extra: object) -> Customer:
    return Customer(
        id=cid,
        created_at=T0 - timedelta(days=100),
        given_name="Ada",
        email=EmailAddress.parse(email),
        phone=PhoneNumber.parse("+4930901820"),
        addresses=(Address(street_address_1="Hauptstr. 1", city="Berlin", postal_code="10115", country_code="DE"),),
        **extra,  # type: ignore[arg-type]
    )


def order(
    oid: str,
    customer_id: str,
    *,
    number: str | None = None,
    status: OrderStatus = OrderStatus.SHIPPED,
    placed: datetime = T0 - timedelta(days=3),
    tracking: tuple[TrackingStatus, ...] = (TrackingStatus.IN_TRANSIT,),
) -> Order:
    shipments: tuple[Shipment, ...] = ()
    if status in (OrderStatus.SHIPPED, OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED):
        events = tuple(
            TrackingEvent(
                status=s,
                happened_at=placed + timedelta(days=1, hours=i),
                estimated_delivery_at=placed + timedelta(days=4 + (2 if s is TrackingStatus.DELAYED else 0)),
            )
            for i, s in enumerate(tracking)
        )
        shipments = (
            Shipment(
                id="s1",
                carrier="DHL",
                lines={"l1": 1},
                tracking_number="00340434",
                tracking_url="https://www.dhl.com/track?id=00340434",
                shipped_at=placed + timedelta(days=1),
                events=events,
            ),
        )
    return Order(
        id=oid,
        customer_id=customer_id,
        currency="EUR",
        lines=(
            OrderLine(id="l1", sku="TENT-1", product_name="Tent", quantity=1, unit_price=Money(Decimal("99"), "EUR")),
        ),
        placed_at=placed,
        status=status,
        external_ref=None if number is None else ExternalRef(platform="shopify", id=number),
        shipments=shipments,
    )
