"""Times at the edges of the calendar never make the workflows, the lifecycle or the outbox overflow.

``now`` (given or from the clock) must lie between 0001-01-03 and 9999-01-01 UTC, else it is a
:class:`ValidationError` at ``now``; events may happen at any time an order accepts (up to ``datetime.max`` in
any offset): quiet hours, template dates and timers are worked out without overflowing, and a timer that would
fall due beyond the year 9998 is recorded as a suppressed message, not held silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custdata import (
    Channel,
    CommunicationStatus,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    CustdataError,
    Customer,
    EmailAddress,
    Money,
    NotFoundError,
    Order,
    OrderLine,
    PhoneNumber,
    Preferences,
    Shipment,
    Topic,
    TrackingEvent,
    TrackingStatus,
    ValidationError,
)
from custdata.lifecycle import CarrierUpdate, Deliver, Pay, Ship
from custdata.lifecycle.events import stamp
from custdata.notify import RecordingNotifier
from custdata.outbox.dispatcher import Dispatcher
from custdata.storage import Store, open_store, walk
from custdata.storage.sqlite import SQLiteStore
from custdata.workflows import Shop, Workflows, quiet_until

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")
FIXTURE_OK = settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
EDGES = [
    datetime.max.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))),
    datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))),
    datetime(9999, 1, 1, tzinfo=UTC),
    datetime(9998, 12, 31, 23, 59, tzinfo=UTC),
    datetime.min.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),
]
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
extreme_times = st.sampled_from(EDGES) | st.datetimes(timezones=offsets)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


def customer(customer_id: str) -> Customer:
    opt_in = [
        ConsentRecord(ConsentPurpose.MARKETING, c, ConsentState.SUBSCRIBED, T0) for c in (Channel.EMAIL, Channel.SMS)
    ]
    return Customer(
        id=customer_id,
        created_at=T0,
        given_name="Jane",
        email=EmailAddress.parse(f"{customer_id}@example.com"),
        phone=PhoneNumber.parse("+4930123456"),
        timezone="Pacific/Kiritimati",  # UTC+14: the local day runs ahead of everyone's
        consents=tuple(opt_in),
        preferences=Preferences(
            channels=(Channel.SMS, Channel.EMAIL), quiet_hours_start=time(22), quiet_hours_end=time(7)
        ),
    )


def order(order_id: str, customer_id: str, placed_at: datetime) -> Order:
    line = OrderLine("l1", "TRAIL-42", "Trail shoe", 1, Money("89.90", "EUR"))
    return Order(id=order_id, customer_id=customer_id, currency="EUR", lines=(line,), placed_at=placed_at)


def only_custdata_errors(call: Any) -> Any:
    try:
        return call()
    except CustdataError:
        return None


_ids = iter(range(10**9))


@FIXTURE_OK
@given(now=extreme_times)
@example(now=datetime.max.replace(tzinfo=UTC))
@example(now=datetime(9999, 12, 31, tzinfo=UTC))
@example(now=datetime.min.replace(tzinfo=UTC))
@example(now=datetime(9998, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-10))))
def test_any_now_is_handled_or_refused_at_now(store: Store, now: datetime) -> None:
    n = next(_ids)
    cid = f"cus_{n}"
    with store.unit_of_work() as uow:
        uow.customers.add(customer(cid))
        uow.commit()
    flows = Workflows(shop=SHOP, clock=lambda: now)
    in_range = datetime(1, 1, 3, tzinfo=UTC) <= now < datetime(9999, 1, 1, tzinfo=UTC)
    for call in (
        lambda: flows.place(store, order(f"ord_{n}", cid, T0)),
        lambda: flows.change(store, f"ord_{n}", Pay(T0)),
        lambda: flows.run_due(store),
        lambda: Dispatcher(store, RecordingNotifier(), clock=lambda: now).drain(),
        lambda: quiet_until(now, time(22), time(7), "Pacific/Kiritimati"),
    ):
        try:
            call()
        except ValidationError as exc:
            assert not in_range and [p.path for p in exc.problems] == ["now"], exc
        except NotFoundError:
            assert not in_range  # the order was refused with its now


@FIXTURE_OK
@given(at=extreme_times)
@example(at=datetime.max.replace(tzinfo=UTC))
@example(at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))))
@example(at=datetime.min.replace(tzinfo=timezone(timedelta(hours=14))))
def test_events_at_any_time_never_overflow(store: Store, at: datetime) -> None:
    n = next(_ids)
    cid, oid = f"cus_{n}", f"ord_{n}"
    with store.unit_of_work() as uow:
        uow.customers.add(customer(cid))
        uow.commit()
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    if only_custdata_errors(lambda: flows.place(store, order(oid, cid, at))) is None:
        return
    for change in (
        Pay(at),
        Ship(Shipment("s1", "DHL"), at),
        CarrierUpdate("s1", TrackingEvent(TrackingStatus.IN_TRANSIT, at, estimated_delivery_at=at)),
        Deliver(at),
    ):
        only_custdata_errors(lambda change=change: flows.change(store, oid, change))
    flows.run_due(store, now=datetime(9998, 12, 31, tzinfo=UTC))
    Dispatcher(store, RecordingNotifier(), clock=lambda: T0).drain()
    stamp(at)


def test_a_timer_beyond_the_calendar_is_recorded_as_suppressed_not_held(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_late"))
        uow.commit()
    flows = Workflows(shop=SHOP, clock=lambda: T0)
    late = datetime(9998, 12, 31, tzinfo=UTC)
    steps = flows.place(store, order("ord_late", "cus_late", late))  # the re-engagement timer: 90 days later
    (dropped,) = [s for s in steps if s.rule == "re_engagement"]
    assert dropped.action == "suppressed" and "beyond the year 9998" in (dropped.reason or "")
    with store.unit_of_work() as uow:
        events = list(walk(lambda c: uow.communications.for_customer("cus_late", cursor=c)))
    suppressed = [e for e in events if e.topic == Topic.RE_ENGAGEMENT]
    assert [e.status for e in suppressed] == [CommunicationStatus.SUPPRESSED]
