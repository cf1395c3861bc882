"""Small builders and Hypothesis strategies for the analytics tests: orders from a few customers, SKUs,
variants and currencies, so that aggregation has something to aggregate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from custdata import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    Direction,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
    Topic,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CUSTOMERS = tuple(f"cus_{c}" for c in "abcdefghij")
SKUS = ("SHOE-1", "SHOE-2", "TEE-1")
CURRENCIES = ("EUR", "USD", "JPY", "BHD")
_EXPONENT = {"EUR": 2, "USD": 2, "JPY": 0, "BHD": 3}
OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))


def at(days: float, hours: float = 0) -> datetime:
    """``T0`` plus some days: 2024-01-01 00:00 UTC is day 0."""
    return T0 + timedelta(days=days, hours=hours)


def line(
    sku: str, price: str, quantity: int = 1, line_id: str | None = None, currency: str = "EUR", **variant: str
) -> OrderLine:
    return OrderLine(line_id or sku, sku, f"Product {sku}", quantity, Money(price, currency), dict(variant))


def order(
    order_id: str,
    customer: str,
    day: float,
    *lines: OrderLine,
    currency: str = "EUR",
    status: OrderStatus = OrderStatus.PAID,
    returns: tuple[Return, ...] = (),
    country: str | None = None,
) -> Order:
    """An order placed ``day`` days after T0; without lines it has one line ``X`` of 10 in ``currency``."""
    if not lines:
        lines = (line("X", "10", currency=currency),)
    address = None
    if country is not None:
        address = _ADDRESSES[country]
    return Order(order_id, customer, currency, lines, at(day), status=status, returns=returns, shipping_address=address)


def returned(
    return_id: str,
    *items: tuple[str, int],
    status: ReturnStatus = ReturnStatus.RECEIVED,
    refund: Money | None = None,
    reason: ReturnReason = ReturnReason.WRONG_SIZE,
    day: float = 400,
) -> Return:
    """A return of ``(line_id, quantity)`` items, requested ``day`` days after T0."""
    return Return(return_id, at(day), tuple(ReturnLine(lid, qty, reason) for lid, qty in items), status, refund)


_ADDRESSES = {
    "DE": Address(
        first_name="A",
        last_name="B",
        street_address_1="Hauptstr. 1",
        city="Berlin",
        postal_code="10115",
        country_code="DE",
    ),
    "FR": Address(
        first_name="A",
        last_name="B",
        street_address_1="1 rue de la Paix",
        city="Paris",
        postal_code="75002",
        country_code="FR",
    ),
}


def support(
    event_id: str,
    customer: str,
    day: float,
    ticket: str | None = None,
    direction: Direction = Direction.INBOUND,
    topic: Topic = Topic.SUPPORT,
) -> CommunicationEvent:
    return CommunicationEvent(event_id, customer, Channel.EMAIL, topic, at(day), direction=direction, ticket_id=ticket)


def activity(event_id: str, customer: str, name: str, day: float) -> ActivityEvent:
    return ActivityEvent(event_id, name, at(day), customer_id=customer)


# -- strategies -----------------------------------------------------------------------------------


def _minor(currency: str, units: int) -> Decimal:
    return Decimal(units).scaleb(-_EXPONENT[currency])


_LINE = st.tuples(
    st.sampled_from(SKUS), st.integers(1, 3), st.integers(0, 50_000), st.sampled_from((None, "41", "42", "43"))
)
_RETURN = st.tuples(
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3),
    st.sampled_from(ReturnStatus),
    st.sampled_from(ReturnReason),
    st.none() | st.integers(0, 5_000),
)
_SPEC = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(CURRENCIES),
        "customer": st.sampled_from(CUSTOMERS),
        "lines": st.lists(_LINE, min_size=1, max_size=3),
        "status": st.sampled_from(OrderStatus),
        "day": st.integers(0, 400),
        "hour": st.integers(0, 23),
        "offset": st.sampled_from(OFFSETS),
        "shipping": st.integers(0, 2_000),
        "returns": st.none() | _RETURN,
    }
)


def _build(index: int, spec: dict[str, Any], currencies: tuple[str, ...]) -> Order:
    currency = spec["currency"] if spec["currency"] in currencies else currencies[0]
    lines = tuple(
        OrderLine(
            f"l{i}", sku, "Product", qty, Money(_minor(currency, units), currency), {"size": size} if size else {}
        )
        for i, (sku, qty, units, size) in enumerate(spec["lines"])
    )
    rets: tuple[Return, ...] = ()
    if spec["returns"] is not None:
        items, status, reason, refund = spec["returns"]
        quantities: dict[str, int] = {}
        for which, qty in items:
            chosen = lines[which % len(lines)]
            quantities[chosen.id] = min(chosen.quantity, max(qty, quantities.get(chosen.id, 0)))
        rets = (
            Return(
                "r1",
                at(500),
                tuple(ReturnLine(lid, qty, reason) for lid, qty in quantities.items()),
                status,
                None if refund is None else Money(_minor(currency, refund), currency),
            ),
        )
    return Order(
        f"o{index}",
        spec["customer"],
        currency,
        lines,
        at(spec["day"], spec["hour"]).astimezone(spec["offset"]),
        status=spec["status"],
        shipping=Money(_minor(currency, spec["shipping"]), currency),
        returns=rets,
    )


def order_lists(min_size: int = 0, max_size: int = 25, currencies: tuple[str, ...] = CURRENCIES) -> Any:
    """Lists of valid orders with unique ids, from a few customers, SKUs, sizes and currencies."""
    return st.lists(_SPEC, min_size=min_size, max_size=max_size).map(
        lambda specs: [_build(i, spec, currencies) for i, spec in enumerate(specs)]
    )


def tally(orders: list[Order]) -> dict[tuple[str, str], Decimal]:
    """Revenue less refunds per (customer, currency), the slow obvious way, for cross-checks."""
    result: dict[tuple[str, str], Decimal] = {}
    for o in orders:
        if o.status is OrderStatus.CANCELLED:
            continue
        refunds = sum(
            (
                r.refund.amount
                for r in o.returns
                if r.refund and r.status not in (ReturnStatus.DECLINED, ReturnStatus.CANCELLED)
            ),
            Decimal(0),
        )
        key = (str(o.customer_id), o.currency)
        result[key] = result.get(key, Decimal(0)) + o.total.amount - refunds
    return result
