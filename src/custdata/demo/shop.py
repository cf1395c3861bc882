"""The demo shop's year of trade: a catalogue, orders, parcels with carrier news, returns and browsing.

Each order comes with its plan: the changes the checkout, the warehouse, the carrier and the returns desk
would send, each at its own time. Most parcels arrive on time; some are late (with a new estimate), some
are attempted or fail, a few addresses turn out unusable, a few orders are cancelled before they ship, and
about one order in eight sends something back, with the reasons shops see (a shoe size that keeps coming
back among them). Changes later than the demo's "now" have not happened yet: those orders are still under way.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from custdata.domain import (
    ActivityEvent,
    ActivityId,
    Customer,
    Money,
    Order,
    OrderId,
    OrderLine,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)
from custdata.lifecycle import (
    Cancel,
    CarrierUpdate,
    Change,
    Deliver,
    FlagAddressInvalid,
    Pack,
    Pay,
    Refund,
    RequestReturn,
    Ship,
    UpdateReturn,
)

#: The demo shop's currency (one shop, one price list).
CURRENCY = "EUR"


@attrs.frozen
class Product:
    sku: str
    name: str
    price: Decimal
    sizes: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()


CATALOGUE: tuple[Product, ...] = (
    Product("RUN-1", "Trail running shoe", Decimal("119.00"), ("39", "40", "41", "42", "43", "44", "45")),
    Product("SNK-2", "Canvas sneaker", Decimal("69.90"), ("37", "38", "39", "40", "41", "42", "43"), ("white", "navy")),
    Product("TEE-3", "Organic cotton T-shirt", Decimal("24.90"), ("S", "M", "L", "XL"), ("black", "white", "sage")),
    Product("HOD-4", "Merino hoodie", Decimal("89.00"), ("S", "M", "L", "XL"), ("charcoal", "forest")),
    Product("JKT-5", "Rain jacket", Decimal("149.00"), ("S", "M", "L", "XL")),
    Product("SCK-6", "Hiking socks, 3 pairs", Decimal("19.90"), ("39-42", "43-46")),
    Product("BAG-7", "Daypack 20 l", Decimal("79.00"), (), ("black", "ochre")),
    Product("BTL-8", "Steel water bottle", Decimal("29.00"), (), ("steel", "blue")),
    Product("CAP-9", "Wool beanie", Decimal("22.00"), (), ("grey", "rust")),
)
_CARRIERS = (("DHL", "https://www.dhl.com/track?id={}"), ("UPS", "https://www.ups.com/track?tracknum={}"))
_REASONS = (
    (ReturnReason.WRONG_SIZE, 40),
    (ReturnReason.CHANGED_MIND, 20),
    (ReturnReason.NOT_AS_DESCRIBED, 12),
    (ReturnReason.DAMAGED, 10),
    (ReturnReason.DEFECTIVE, 8),
    (ReturnReason.WRONG_ITEM, 5),
    (ReturnReason.ARRIVED_LATE, 5),
)


@attrs.define
class PlannedOrder:
    """A new order and the changes that happen to it afterwards, in time order."""

    order: Order
    steps: list[tuple[datetime, Change]]


def plan_orders(
    customer: Customer, number: int, *, rng: random.Random, start: datetime, now: datetime
) -> list[PlannedOrder]:
    """The orders ``customer`` places between ``start`` and ``now`` (``number`` counts them), each planned."""
    first = max(start, customer.created_at)
    span = (now - first).total_seconds()
    if span <= 0:
        return []
    moments = sorted(first + timedelta(seconds=rng.uniform(0, span)) for _ in range(number))
    address = customer.addresses[0] if customer.addresses else None
    plans = []
    for index, placed in enumerate(moments, start=1):
        lines = _lines(rng)
        shipping = Money(
            "0.00" if sum(line.unit_price.amount * line.quantity for line in lines) >= 60 else "4.90", CURRENCY
        )
        order = Order(
            id=OrderId(f"ord_{customer.id.removeprefix('cus_')}_{index}"),
            customer_id=customer.id,
            currency=CURRENCY,
            lines=lines,
            placed_at=placed,
            shipping_address=address,
            shipping=shipping,
            taxes_included=True,
        )
        plans.append(PlannedOrder(order, _steps(order, rng, placed)))
    return plans


def _lines(rng: random.Random) -> tuple[OrderLine, ...]:
    count = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
    products = rng.sample(CATALOGUE, count)
    lines = []
    for number, product in enumerate(products, start=1):
        variant: dict[str, str] = {}
        if product.sizes:
            variant["size"] = rng.choice(product.sizes)
        if product.colours:
            variant["colour"] = rng.choice(product.colours)
        quantity = 1 if rng.random() < 0.85 else 2
        lines.append(
            OrderLine(f"l{number}", product.sku, product.name, quantity, Money(product.price, CURRENCY), variant)
        )
    return tuple(lines)


def _steps(order: Order, rng: random.Random, placed: datetime) -> list[tuple[datetime, Change]]:
    """What happens to an order: payment, packing, the parcel's journey, and perhaps a return."""
    at = placed + timedelta(minutes=rng.randint(1, 20))
    steps: list[tuple[datetime, Change]] = [(at, Pay(at))]
    if rng.random() < 0.03:
        at += timedelta(hours=rng.randint(1, 20))
        return [*steps, (at, Cancel(at, reason="customer request"))]
    at += timedelta(hours=rng.randint(4, 30))
    steps.append((at, Pack(at)))
    if order.shipping_address is None or rng.random() < 0.01:
        at += timedelta(hours=2)
        return [*steps, (at, FlagAddressInvalid(at, detail="The carrier could not validate the shipping address."))]
    carrier, link = rng.choice(_CARRIERS)
    number = "".join(rng.choice("0123456789") for _ in range(12))
    at += timedelta(hours=rng.randint(2, 24))
    estimate = at + timedelta(days=rng.randint(2, 4))
    shipment = Shipment(
        id="s1",
        carrier=carrier,
        lines={line.id: line.quantity for line in order.lines},
        service_level="standard",
        tracking_number=number,
        tracking_url=link.format(number),
    )
    steps.append((at, Ship(shipment, at)))
    at += timedelta(hours=rng.randint(6, 20))
    steps.append((at, _carrier(TrackingStatus.IN_TRANSIT, at, estimate, "Hub")))
    fate = rng.random()
    if fate < 0.10:
        estimate += timedelta(days=rng.randint(1, 4))
        at += timedelta(hours=rng.randint(12, 30))
        steps.append((at, _carrier(TrackingStatus.DELAYED, at, estimate, "Sorting centre", "Weather delay")))
    at = max(at, estimate - timedelta(hours=rng.randint(3, 6)))
    steps.append((at, _carrier(TrackingStatus.OUT_FOR_DELIVERY, at, estimate, "Local depot")))
    if 0.10 <= fate < 0.15:
        at += timedelta(hours=5)
        steps.append((at, _carrier(TrackingStatus.ATTEMPTED_DELIVERY, at, None, None, "Nobody at home")))
        at += timedelta(days=1)
    elif 0.15 <= fate < 0.17:
        at += timedelta(hours=5)
        return [*steps, (at, _carrier(TrackingStatus.FAILURE, at, None, None, "Parcel returned to sender"))]
    at += timedelta(hours=rng.randint(1, 5))
    steps.append((at, Deliver(at)))
    if rng.random() < 0.13:
        steps += _return(order, rng, at)
    return steps


def _carrier(
    status: TrackingStatus, at: datetime, estimate: datetime | None, location: str | None, message: str | None = None
) -> CarrierUpdate:
    return CarrierUpdate(
        "s1", TrackingEvent(status, at, estimated_delivery_at=estimate, message=message, location=location)
    )


def _return(order: Order, rng: random.Random, delivered: datetime) -> list[tuple[datetime, Change]]:
    line = rng.choice(order.lines)
    reasons, weights = zip(*_REASONS, strict=True)
    reason = rng.choices(reasons, weights=weights)[0]
    if line.variant.get("size") == "42" and line.sku.startswith(("RUN", "SNK")) and rng.random() < 0.6:
        reason = ReturnReason.WRONG_SIZE  # the last runs small in 42
    at = delivered + timedelta(days=rng.randint(1, 12))
    ret = Return(id="r1", requested_at=at, lines=(ReturnLine(line.id, line.quantity, reason),))
    received = at + timedelta(days=rng.randint(3, 7))
    refunded = received + timedelta(days=1)
    return [
        (at, RequestReturn(ret)),
        (received, UpdateReturn("r1", ReturnStatus.RECEIVED, received)),
        (refunded, Refund("r1", line.total, refunded)),
    ]


def plan_activity(
    customer: Customer, rng: random.Random, *, now: datetime, recent: Sequence[datetime]
) -> list[ActivityEvent]:
    """Browsing in the last weeks: product views, a few carts, some left behind (cart abandonment)."""
    events: list[ActivityEvent] = []
    serial = 0
    for _ in range(rng.choices((0, 1, 2, 3), weights=(40, 30, 20, 10))[0]):
        at = now - timedelta(days=rng.uniform(0, 28))
        if at < customer.created_at:
            continue
        product = rng.choice(CATALOGUE)
        names = ["Product Viewed"]
        if rng.random() < 0.35:
            names.append("Product Added")
            if not any(abs((at - when).total_seconds()) < 86_400 for when in recent) and rng.random() < 0.6:
                names.append("Cart Abandoned")
        for offset, name in enumerate(names):
            serial += 1
            events.append(
                ActivityEvent(
                    id=ActivityId(f"act_{customer.id.removeprefix('cus_')}_{serial}"),
                    event=name,
                    occurred_at=at + timedelta(minutes=3 * offset),
                    customer_id=customer.id,
                    properties={"sku": product.sku, "price": str(product.price)},
                    source="web",
                )
            )
    return events
