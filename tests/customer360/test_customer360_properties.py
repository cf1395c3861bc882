"""Properties of the customer 360 view on generated data: the timeline is always sorted and complete, and
the figures agree with the analytics functions on the same orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import (
    ActivityEvent,
    Channel,
    CommunicationEvent,
    CommunicationStatus,
    Customer,
    Direction,
    Money,
    Order,
    OrderLine,
    OrderStatus,
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
from custdata.analytics import historic_clv, order_metrics, return_rates_by_customer, support_contacts_per_order
from custdata.customer360 import EntryKind, IssueKind, build_timeline, customer_360, figures
from custdata.customer360.figures import OPEN_RETURNS
from custdata.domain.money import currency_exponent
from custdata.storage.memory import MemoryStore

CID = "cus_someone"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=200)
OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7)))

# lean strategies of one customer's records, with every order, tracking and return status
times = st.builds(
    lambda hours, tz: (T0 + timedelta(hours=hours)).astimezone(tz), st.integers(0, 400 * 24), st.sampled_from(OFFSETS)
)


@st.composite
def an_order(draw: st.DrawFn, number: int) -> Order:
    currency = draw(st.sampled_from(("EUR", "USD", "JPY", "BHD")))
    lines = tuple(
        OrderLine(f"l{i}", f"SKU-{i}", "Shoe", draw(st.integers(1, 3)), Money(draw(st.integers(0, 500)), currency))
        for i in range(draw(st.integers(1, 3)))
    )
    events = tuple(
        TrackingEvent(draw(st.sampled_from(TrackingStatus)), draw(times), draw(st.none() | times))
        for _ in range(draw(st.integers(0, 3)))
    )
    shipments = (Shipment("shp_1", "DHL", {"l0": 1}, shipped_at=draw(st.none() | times), events=events),)
    returned = draw(st.lists(st.sampled_from(lines), max_size=len(lines), unique_by=lambda line: line.id))
    returns = (
        ()
        if not returned
        else (
            Return(
                "ret_1",
                draw(times),
                tuple(
                    ReturnLine(line.id, draw(st.integers(1, line.quantity)), ReturnReason.WRONG_SIZE)
                    for line in returned
                ),
                draw(st.sampled_from(ReturnStatus)),
                draw(st.none() | st.integers(0, 50).map(lambda a: Money(a, currency))),
                draw(st.none() | times),
            ),
        )
    )
    return Order(
        f"ord_{number}",
        CID,
        currency,
        lines,
        draw(times),
        status=draw(st.sampled_from(OrderStatus)),
        shipments=shipments if draw(st.booleans()) else (),
        returns=returns,
        history=tuple(StatusChange(s, draw(times)) for s in draw(st.lists(st.sampled_from(OrderStatus), max_size=2))),
    )


@st.composite
def a_message(draw: st.DrawFn, number: int) -> CommunicationEvent:
    return CommunicationEvent(
        f"msg_{number}",
        CID,
        draw(st.sampled_from(Channel)),
        draw(st.sampled_from((Topic.SUPPORT, Topic.ORDER_SHIPPED))),
        draw(times),
        direction=draw(st.sampled_from(Direction)),
        status=draw(st.sampled_from((CommunicationStatus.SENT, CommunicationStatus.RECEIVED))),
        ticket_id=draw(st.sampled_from((None, "t-1", "t-2"))),
    )


def numbered(make: Any, most: int) -> st.SearchStrategy[list[Any]]:
    return st.integers(0, most).flatmap(lambda n: st.tuples(*(make(i) for i in range(n))).map(list))


orders = numbered(an_order, 5)
messages = numbered(a_message, 5)
activity = numbered(
    lambda i: st.builds(
        ActivityEvent, st.just(f"act_{i}"), st.sampled_from(("Product Viewed", "Cart Abandoned")), times, st.just(CID)
    ),
    3,
)
customers = st.builds(Customer, st.just(CID), times)


@settings(max_examples=60)
@given(customers, orders, messages, activity)
def test_the_timeline_is_sorted_and_has_one_entry_per_thing_that_happened(
    customer: Customer, orders: list[Order], messages: list[CommunicationEvent], activity: list[ActivityEvent]
) -> None:
    timeline = build_timeline([customer], orders, messages, activity)
    keys = [entry.sort_key for entry in timeline]
    assert keys == sorted(keys)
    count = {kind: 0 for kind in EntryKind}
    for entry in timeline:
        count[entry.kind] += 1
    assert count[EntryKind.CUSTOMER_CREATED] == 1
    assert count[EntryKind.ORDER_PLACED] == len(orders)
    assert count[EntryKind.TRACKING] == sum(len(s.events) for o in orders for s in o.shipments)
    assert count[EntryKind.RETURN_REQUESTED] == sum(len(o.returns) for o in orders)
    assert count[EntryKind.MESSAGE] + count[EntryKind.SUPPORT_CONTACT] == len(messages)
    assert count[EntryKind.ACTIVITY] == len(activity)
    # the same records in another order give the same timeline
    assert build_timeline([customer], orders[::-1], messages[::-1], activity[::-1]) == timeline


@settings(max_examples=60)
@given(orders, messages, times)
def test_the_figures_agree_with_the_analytics(
    orders: list[Order], messages: list[CommunicationEvent], now: datetime
) -> None:
    f = figures(orders, messages, as_of=now)
    sold = [o for o in orders if o.status is not OrderStatus.CANCELLED]
    assert f.order_count + f.cancelled_orders == len(orders) and f.order_count == len(sold)
    values = {row.currency: row for row in historic_clv(orders)}
    assert f.total_spent == {c: v.revenue for c, v in values.items()}
    assert {c: f.refunded.get(c, Money.zero(c)) for c in values} == {c: v.refunds for c, v in values.items()}
    metrics = order_metrics(orders)
    assert f.average_order_value == {row.currency: row.average_order_value for row in metrics.rows}
    for currency, average in f.average_order_value.items():
        # the rounded average times the count is within half a minor unit per order of the total
        count = sum(1 for o in sold if o.currency == currency)
        half_unit = Decimal(1).scaleb(-(currency_exponent(currency) or 0)) / 2
        assert abs(average.amount * count - f.total_spent[currency].amount) <= count * half_unit
    returns = return_rates_by_customer(orders).rows
    if returns:
        (row,) = returns
        assert (f.items_bought, f.items_returned, f.return_rate) == (row.items, row.items_returned, row.return_rate)
    else:
        assert (f.items_bought, f.return_rate) == (0, None)
    if f.return_rate is not None:
        assert 0 <= f.return_rate <= 1
    load = support_contacts_per_order(messages, orders)
    assert (f.support_contacts, f.support_tickets) == (load.contacts, load.tickets)
    if sold:
        assert f.first_order_at == min(o.placed_at for o in sold) and f.last_order_at == max(o.placed_at for o in sold)
        assert f.days_since_last_order == int((now - f.last_order_at).total_seconds() // 86400)
    else:
        assert f.first_order_at is None and f.last_order_at is None and f.days_since_last_order is None
    open_returns = sum(1 for o in sold for r in o.returns if r.status in OPEN_RETURNS)
    assert sum(1 for i in f.open_issues if i.kind is IssueKind.OPEN_RETURN) == open_returns
    assert {i.order_id for i in f.open_issues} <= {o.id for o in sold}
    assert [i.since for i in f.open_issues] == sorted(i.since for i in f.open_issues)


@settings(max_examples=30)
@given(customers, orders, messages, activity)
def test_a_store_gives_what_the_records_give(
    customer: Customer, orders: list[Order], messages: list[CommunicationEvent], activity: list[ActivityEvent]
) -> None:
    with MemoryStore() as store:
        with store.unit_of_work() as uow:
            uow.customers.add(customer)
            uow.orders.add_many(orders)
            uow.communications.add_many(messages)
            uow.activity.add_many(activity)
            uow.commit()
        view = customer_360(store, CID, now=NOW)
    assert view.timeline == build_timeline([customer], orders, messages, activity)
    assert view.figures == figures(orders, messages, as_of=NOW)
    assert sorted(o.id for o in view.orders) == sorted(o.id for o in orders)
