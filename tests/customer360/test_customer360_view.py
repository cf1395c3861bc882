"""customer_360 on real SQLite files and the memory store: what it reads, the timeline, the figures, merges,
open issues and bad arguments."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from custdata import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    CommunicationStatus,
    Customer,
    Direction,
    EmailAddress,
    IntegrityError,
    Money,
    NotFoundError,
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
    ValidationError,
)
from custdata.analytics import MissingExtraError
from custdata.customer360 import Customer360, EntryKind, IssueKind, customer_360
from custdata.storage import Store, open_store

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=60)
CEST = timezone(timedelta(hours=2))


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def line(line_id: str, price: str, qty: int = 1, currency: str = "EUR") -> OrderLine:
    return OrderLine(line_id, f"SKU-{line_id}", f"Product {line_id}", qty, Money(price, currency))


def shipment(sid: str, lines: dict[str, int], *events: TrackingEvent, shipped: float = 1) -> Shipment:
    return Shipment(sid, "DHL", lines, tracking_number="JD0001", shipped_at=day(shipped), events=events)


def track(status: TrackingStatus, at: float, eta: float | None = None) -> TrackingEvent:
    return TrackingEvent(status, day(at), None if eta is None else day(eta), message="<script>x</script>")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    with open_store(url) as opened:
        yield opened


def fill(store: Store) -> None:
    """Ann (cus_ann) with orders in EUR and USD, shipments in every state, returns, messages, activity;
    cus_old was merged into cus_mid, which was merged into cus_ann; Bob is someone else."""
    ann = Customer(
        "cus_ann",
        T0,
        given_name="Ann",
        family_name="Example",
        email=EmailAddress.parse("ann@example.com"),
        addresses=(
            Address(
                first_name="Ann", street_address_1="Hauptstr. 1", city="Berlin", postal_code="10115", country_code="DE"
            ),
        ),
    )
    orders = [
        # delivered, one of two items returned and refunded (closed return), history recorded
        Order(
            "ord_1",
            "cus_ann",
            "EUR",
            (line("a", "20.00", 2),),
            day(1),
            status=OrderStatus.DELIVERED,
            shipments=(
                shipment("shp_1", {"a": 2}, track(TrackingStatus.IN_TRANSIT, 2), track(TrackingStatus.DELIVERED, 3)),
            ),
            returns=(
                Return(
                    "ret_1",
                    day(5),
                    (ReturnLine("a", 1, ReturnReason.WRONG_SIZE),),
                    ReturnStatus.CLOSED,
                    Money("20.00", "EUR"),
                    updated_at=day(9),
                ),
            ),
            history=(StatusChange(OrderStatus.PAID, day(1)), StatusChange(OrderStatus.DELIVERED, day(3))),
        ),
        # shipped, estimate passed: late
        Order(
            "ord_2",
            "cus_ann",
            "EUR",
            (line("b", "10.00"),),
            day(20).astimezone(CEST),
            status=OrderStatus.SHIPPED,
            shipments=(shipment("shp_2", {"b": 1}, track(TrackingStatus.IN_TRANSIT, 21, eta=23), shipped=21),),
        ),
        # shipped, failed delivery attempt, plus an open return
        Order(
            "ord_3",
            "cus_old",
            "USD",
            (line("c", "15.00", currency="USD"),),
            day(30),
            status=OrderStatus.SHIPPED,
            shipments=(shipment("shp_3", {"c": 1}, track(TrackingStatus.ATTEMPTED_DELIVERY, 33), shipped=31),),
            returns=(Return("ret_3", day(34), (ReturnLine("c", 1, ReturnReason.DAMAGED),), ReturnStatus.OPEN),),
        ),
        # shipped, carrier reports a delay
        Order(
            "ord_4",
            "cus_mid",
            "EUR",
            (line("d", "30.00"),),
            day(40),
            status=OrderStatus.SHIPPED,
            shipments=(shipment("shp_4", {"d": 1}, track(TrackingStatus.DELAYED, 42, eta=70), shipped=41),),
        ),
        # cancelled: sold nothing
        Order("ord_5", "cus_ann", "EUR", (line("e", "99.00"),), day(45), status=OrderStatus.CANCELLED),
        # someone else's
        Order("ord_9", "cus_bob", "EUR", (line("z", "1.00"),), day(2)),
    ]
    messages = [
        CommunicationEvent(
            "msg_1",
            "cus_ann",
            Channel.EMAIL,
            Topic.ORDER_SHIPPED,
            day(1.5),
            status=CommunicationStatus.DELIVERED,
            order_id="ord_1",
            subject="Hi Ann",
        ),
        CommunicationEvent(
            "msg_2",
            "cus_ann",
            Channel.CHAT,
            Topic.SUPPORT,
            day(24),
            direction=Direction.INBOUND,
            status=CommunicationStatus.RECEIVED,
            ticket_id="t-1",
        ),
        CommunicationEvent(
            "msg_3",
            "cus_old",
            Channel.EMAIL,
            Topic.SUPPORT,
            day(25),
            direction=Direction.INBOUND,
            status=CommunicationStatus.RECEIVED,
            ticket_id="t-1",
        ),
        CommunicationEvent(
            "msg_4",
            "cus_ann",
            Channel.PHONE,
            Topic.SUPPORT,
            day(35),
            direction=Direction.INBOUND,
            status=CommunicationStatus.RECEIVED,
        ),
        CommunicationEvent(
            "msg_5", "cus_ann", Channel.EMAIL, Topic.SUPPORT, day(35.5), status=CommunicationStatus.SENT
        ),
        CommunicationEvent(
            "msg_9",
            "cus_bob",
            Channel.EMAIL,
            Topic.SUPPORT,
            day(3),
            direction=Direction.INBOUND,
            status=CommunicationStatus.RECEIVED,
        ),
    ]
    activity = [
        ActivityEvent("act_1", "Product Viewed", day(0.5), "cus_ann", properties={"sku": "SKU-a"}),
        ActivityEvent("act_2", "Cart Abandoned", day(44), "cus_mid"),
        ActivityEvent("act_3", "Product Viewed", day(1), anonymous_id="anon-1"),
    ]
    with store.unit_of_work() as uow:
        uow.customers.add(ann)
        uow.customers.add(Customer("cus_mid", day(10), merged_into="cus_ann"))
        uow.customers.add(Customer("cus_old", day(11), given_name="Old", merged_into="cus_mid"))
        uow.customers.add(Customer("cus_bob", T0, given_name="Bob"))
        uow.orders.add_many(orders)
        uow.communications.add_many(messages)
        uow.activity.add_many(activity)
        uow.commit()


def test_the_view_gathers_every_record_of_the_customer_and_the_merged_ids(store: Store) -> None:
    fill(store)
    view = customer_360(store, "cus_old", now=NOW)
    assert view.customer.id == "cus_ann"
    # records still filed under the followed merged ids belong to the survivor; Bob's and anonymous ones do not
    assert [o.id for o in view.orders] == ["ord_1", "ord_2", "ord_3", "ord_4", "ord_5"]
    assert [e.id for e in view.communications] == ["msg_1", "msg_2", "msg_3", "msg_4", "msg_5"]
    assert [e.id for e in view.activity] == ["act_1", "act_2"]
    assert [s.id for s in view.shipments] == ["shp_1", "shp_2", "shp_3", "shp_4"]
    assert [r.id for r in view.returns] == ["ret_1", "ret_3"]
    assert [e.id for e in view.support_contacts] == ["msg_2", "msg_3", "msg_4"]
    assert view.addresses == view.customer.addresses and len(view.addresses) == 1


def test_a_merged_id_resolves_to_the_survivor_through_every_hop(store: Store) -> None:
    fill(store)
    via_old = customer_360(store, "cus_old", now=NOW)
    assert via_old.customer.id == "cus_ann"
    assert via_old.requested_id == "cus_old" and via_old.merged_ids == ("cus_old", "cus_mid")
    created = [e.ref for e in via_old.entries(EntryKind.CUSTOMER_CREATED)]
    assert created == ["cus_ann", "cus_mid", "cus_old"]
    via_mid = customer_360(store, "cus_mid", now=NOW)
    assert via_mid.merged_ids == ("cus_mid",) and [o.id for o in via_mid.orders] == ["ord_1", "ord_2", "ord_4", "ord_5"]
    # asked for directly, the survivor has no merged ids to follow (merges move records to the survivor)
    direct = customer_360(store, "cus_ann", now=NOW)
    assert direct.requested_id == "cus_ann" and direct.merged_ids == ()
    assert [o.id for o in direct.orders] == ["ord_1", "ord_2", "ord_5"]


def test_the_timeline_is_chronological_and_names_no_personal_data(store: Store) -> None:
    fill(store)
    view = customer_360(store, "cus_old", now=NOW)
    keys = [e.sort_key for e in view.timeline]
    assert keys == sorted(keys)
    kinds = [(e.kind, e.ref) for e in view.timeline]
    assert kinds[:5] == [
        (EntryKind.CUSTOMER_CREATED, "cus_ann"),
        (EntryKind.ACTIVITY, "act_1"),
        (EntryKind.ORDER_PLACED, "ord_1"),
        (EntryKind.ORDER_STATUS, "ord_1"),
        (EntryKind.SHIPMENT_SHIPPED, "shp_1"),
    ]
    assert len(view.entries(EntryKind.ORDER_PLACED)) == 5
    assert len(view.entries("tracking")) == 5
    assert [e.ref for e in view.entries(EntryKind.RETURN_REQUESTED, EntryKind.RETURN_UPDATED)] == [
        "ret_1",
        "ret_1",
        "ret_3",
    ]
    assert [e.ref for e in view.entries(EntryKind.SUPPORT_CONTACT)] == ["msg_2", "msg_3", "msg_4"]
    assert view.entries() == view.timeline
    placed = view.entries(EntryKind.ORDER_PLACED)[0]
    assert placed.description == "Order ord_1 placed: 2 items, 40.00 EUR" and placed.record is view.orders[0]
    text = " ".join(e.description for e in view.timeline)
    for secret in ("Ann", "Example", "ann@", "Hauptstr", "Hi Ann", "<script>"):
        assert secret not in text
    assert "Ann" not in repr(view)


def test_the_figures(store: Store) -> None:
    fill(store)
    f = customer_360(store, "cus_old", now=NOW).figures
    assert f.as_of == NOW
    assert (f.order_count, f.cancelled_orders) == (4, 1)
    assert f.total_spent == {"EUR": Money("80.00", "EUR"), "USD": Money("15.00", "USD")}
    assert f.average_order_value == {"EUR": Money("26.67", "EUR"), "USD": Money("15.00", "USD")}
    assert f.refunded == {"EUR": Money("20.00", "EUR")}
    assert f.first_order_at == day(1) and f.last_order_at == day(40)
    assert f.days_since_last_order == 20
    assert (f.items_bought, f.items_returned, f.return_rate) == (5, 2, 0.4)
    assert (f.support_contacts, f.support_tickets) == (3, 2)


def test_open_issues_are_late_failed_and_delayed_deliveries_and_open_returns(store: Store) -> None:
    fill(store)
    issues = customer_360(store, "cus_old", now=NOW).open_issues
    assert [(i.kind, i.order_id, i.ref, i.since) for i in issues] == [
        (IssueKind.LATE_DELIVERY, "ord_2", "shp_2", day(23)),
        (IssueKind.FAILED_DELIVERY, "ord_3", "shp_3", day(33)),
        (IssueKind.OPEN_RETURN, "ord_3", "ret_3", day(34)),
        (IssueKind.LATE_DELIVERY, "ord_4", "shp_4", day(42)),
    ]
    # before the estimate, the in-transit parcel is not late yet
    early = customer_360(store, "cus_old", now=day(22)).open_issues
    assert "shp_2" not in {i.ref for i in early}


def test_a_customer_without_anything_has_empty_figures(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(Customer("cus_new", T0))
        uow.commit()
    view = customer_360(store, "cus_new", now=NOW)
    f = view.figures
    assert (f.order_count, f.total_spent, f.average_order_value, f.first_order_at) == (0, {}, {}, None)
    assert (f.days_since_last_order, f.return_rate, f.open_issues) == (None, None, ())
    assert [e.kind for e in view.timeline] == [EntryKind.CUSTOMER_CREATED]


def test_a_unit_of_work_source_sees_its_own_uncommitted_writes(store: Store) -> None:
    fill(store)
    with store.unit_of_work() as uow:
        uow.orders.add(Order("ord_new", "cus_ann", "EUR", (line("x", "5.00"),), day(50)))
        assert customer_360(uow, "cus_ann", now=NOW).figures.order_count == 3
    assert customer_360(store, "cus_ann", now=NOW).figures.order_count == 2


def test_a_looping_merge_chain_is_an_integrity_error(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(Customer("cus_x", T0, merged_into="cus_y"))
        uow.customers.add(Customer("cus_y", T0, merged_into="cus_x"))
        uow.customers.add(Customer("cus_z", T0, merged_into="cus_gone"))
        uow.commit()
    with pytest.raises(IntegrityError, match="form a loop"):
        customer_360(store, "cus_x", now=NOW)
    with pytest.raises(NotFoundError):
        customer_360(store, "cus_z", now=NOW)
    with pytest.raises(NotFoundError):
        customer_360(store, "cus_nobody", now=NOW)


def test_bad_arguments_are_validation_errors(store: Store) -> None:
    fill(store)
    with pytest.raises(ValidationError, match="now: must be timezone-aware"):
        customer_360(store, "cus_ann", now=datetime(2024, 1, 1))
    with pytest.raises(ValidationError, match="now: must be a datetime"):
        customer_360(store, "cus_ann", now="2024-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="customer_id"):
        customer_360(store, "  ")
    with pytest.raises(ValidationError, match="source: must be a store or a unit of work"):
        customer_360("memory://", "cus_ann")  # type: ignore[arg-type]
    view = customer_360(store, "cus_ann")
    assert isinstance(view, Customer360) and view.figures.as_of.tzinfo is not None
    with pytest.raises(ValidationError, match=r"kinds\[0\]"):
        view.entries("parcel")


def test_memory_and_sqlite_give_the_same_view(tmp_path: Path) -> None:
    views = []
    for url in ("memory://", f"sqlite:///{tmp_path / 'same.db'}"):
        with open_store(url) as store:
            fill(store)
            views.append(customer_360(store, "cus_old", now=NOW))
    memory, sqlite = views
    assert memory.timeline == sqlite.timeline
    assert memory.figures == sqlite.figures
    assert memory.orders == sqlite.orders


def test_the_timeline_as_records_and_as_a_data_frame(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(store)
    view = customer_360(store, "cus_old", now=NOW)
    records = view.to_records()
    assert len(records) == len(view.timeline)
    assert records[2] == {
        "at": day(1),
        "kind": "order_placed",
        "description": "Order ord_1 placed: 2 items, 40.00 EUR",
        "ref": "ord_1",
        "order_id": "ord_1",
    }
    assert all(type(r["order_id"]) in (str, type(None)) for r in records)
    frame = view.to_pandas()
    assert list(frame.columns) == ["at", "kind", "description", "ref", "order_id"]
    assert len(frame) == len(records) and frame["kind"].value_counts()["order_placed"] == 5
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'custdata\[notebook\]'"):
        view.to_pandas()
