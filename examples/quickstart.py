"""A short tour of custdata's model: validate a customer and an order, see a bad record rejected, round-trip JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import custdata
from custdata import Address, Customer, CustomerId, EmailAddress, Money, Order, OrderLine, OrderStatus, PhoneNumber


def main() -> None:
    now = datetime.now(UTC)
    home = Address(
        first_name="Ada", last_name="Lovelace", street_address_1="Hauptstr. 5",
        city="Berlin", postal_code="10115", country_code="de",
    )
    ada = Customer(
        id=CustomerId.new(), created_at=now, given_name="Ada", family_name="Lovelace",
        email=EmailAddress.parse("Ada.Lovelace@Example.com"), phone=PhoneNumber.parse("030 1234567", region="DE"),
        addresses=(home,), default_shipping_address=0, locale="de-DE", timezone="Europe/Berlin",
    )
    order = Order(
        id="ord_1001", customer_id=ada.id, currency="EUR", placed_at=now, shipping_address=home,
        lines=(OrderLine("1", "SHOE-42", "Trail runner", 1, Money("89.90", "EUR"), {"size": "42"}),),
        shipping=Money("4.90", "EUR"),
    )
    order.transition(OrderStatus.PAID, now + timedelta(minutes=2))
    print(f"customer {ada.id}: {ada.phone.international if ada.phone else '-'}, ships to {home.city}")
    print(f"order {order.id}: {order.status.value}, total {order.total}")

    try:
        custdata.from_dict(Customer, {"id": "c2", "created_at": "2024-05-01", "email": "not-an-email"})
    except custdata.ValidationError as error:
        print(f"rejected a bad record:\n{error}")

    text = custdata.to_json(order)
    assert custdata.from_json(Order, text) == order
    print(f"order as JSON: {len(text)} bytes, round-trips losslessly")


if __name__ == "__main__":
    main()
