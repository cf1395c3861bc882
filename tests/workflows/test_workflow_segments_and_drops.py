"""Rules aimed at an analytics segment, and timed messages that are dropped: each drop is a suppressed event with
its reason in the customer's history, and replaying the trigger afterwards stays silent."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from custdata import (
    ActivityEvent,
    Channel,
    CommunicationEvent,
    CommunicationStatus,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    Preferences,
    Shipment,
    Topic,
)
from custdata.analytics import Segment, StoreAnalytics, tagged
from custdata.lifecycle import Deliver, Pay, Ship
from custdata.merge import merge, preview
from custdata.notify import RecordingNotifier
from custdata.outbox.dispatcher import Dispatcher
from custdata.storage import Store, open_store, walk
from custdata.storage.sqlite import SQLiteStore
from custdata.workflows import Shop, TemplateRegistry, Workflows, default_rules, default_templates

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


def add_customer(store: Store, customer_id: str, **kwargs: Any) -> None:
    consent = ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, T0 - timedelta(days=99))
    fields: dict[str, Any] = {
        "id": customer_id,
        "created_at": T0 - timedelta(days=365),
        "given_name": "Jane",
        "email": EmailAddress.parse(f"{customer_id}@example.com"),
        "timezone": "Europe/Berlin",
        "consents": (consent,),
    }
    fields.update(kwargs)
    with store.unit_of_work() as uow:
        uow.customers.add(Customer(**fields))
        uow.commit()


def new_order(order_id: str, customer_id: str, placed_at: datetime = T0) -> Order:
    line = OrderLine("l1", "TRAIL-42", "Trail shoe", 1, Money("89.90", "EUR"))
    return Order(id=order_id, customer_id=customer_id, currency="EUR", lines=(line,), placed_at=placed_at)


def history(store: Store, customer_id: str, topic: Topic) -> list[CommunicationEvent]:
    with store.unit_of_work() as uow:
        found = walk(lambda cursor: uow.communications.for_customer(customer_id, cursor=cursor))
        return [e for e in found if e.topic == topic]


def test_a_timed_rule_reaches_only_its_live_analytics_segment(store: Store) -> None:
    for customer_id in ("cus_vip", "cus_lapsed_vip"):
        add_customer(store, customer_id, tags=frozenset({"vip"}))
    add_customer(store, "cus_plain")
    clock = Clock()
    vips = StoreAnalytics(store).segment_check(Segment("VIPs", tagged("vip")), clock=clock)
    rules = [attrs.evolve(r, segment=vips) if r.name == "re_engagement" else r for r in default_rules()]
    flows = Workflows(shop=SHOP, rules=rules, clock=clock)
    for i, customer_id in enumerate(("cus_vip", "cus_lapsed_vip", "cus_plain")):
        steps = {s.rule: (s.action, s.reason) for s in flows.place(store, new_order(f"ord_{i}", customer_id))}
        expected = ("skipped", "the customer is not in the rule's segment") if i == 2 else ("scheduled", None)
        assert steps["re_engagement"] == expected
    with store.unit_of_work() as uow:  # the customer leaves the segment before the timer falls due
        lapsed = uow.customers.get("cus_lapsed_vip")
        uow.customers.update(attrs.evolve(lapsed, tags=frozenset()))
        uow.commit()
    clock.now = T0 + timedelta(days=91)
    due = flows.run_due(store)
    assert sorted((s.action, s.key, s.reason) for s in due) == [
        ("cancelled", "re_engagement:cus_lapsed_vip", "the customer is no longer in the rule's segment"),
        ("queued", "ord_0:placed:re_engagement", None),
    ]
    (dropped,) = history(store, "cus_lapsed_vip", Topic.RE_ENGAGEMENT)
    assert dropped.status == CommunicationStatus.SUPPRESSED
    assert dropped.suppression_reason == "the customer is no longer in the rule's segment"
    assert history(store, "cus_plain", Topic.RE_ENGAGEMENT) == []
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=clock).drain()
    assert [(m.topic, m.recipient) for m in notifier.messages if m.topic.is_marketing] == [
        (Topic.RE_ENGAGEMENT, "cus_vip@example.com")
    ]


def test_a_cart_reminder_made_obsolete_by_an_order_is_recorded_and_a_replay_stays_silent(store: Store) -> None:
    add_customer(store, "cus_1")
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    cart = ActivityEvent(id="act_1", event="Cart Abandoned", occurred_at=T0, customer_id="cus_1")
    assert [s.action for s in flows.track(store, cart)] == ["scheduled"]
    clock.now = T0 + timedelta(minutes=20)
    steps = flows.place(store, new_order("ord_1", "cus_1", placed_at=clock.now))
    reason = "made obsolete by placed (order_confirmation)"
    assert ("cart_reminder", "cancelled", "cart_reminder:cus_1:cart_abandoned:act_1", reason) in [
        (s.rule, s.action, s.key, s.reason) for s in steps
    ]
    (dropped,) = history(store, "cus_1", Topic.CART_REMINDER)
    assert (dropped.status, dropped.suppression_reason) == (CommunicationStatus.SUPPRESSED, reason)
    assert dropped.idempotency_key == "cus_1:cart_abandoned:act_1:cart_reminder"
    with store.unit_of_work() as uow:
        uow.activity.delete("act_1")
        uow.commit()
    assert [s.action for s in flows.track(store, cart)] == ["duplicate"]  # the webhook delivered twice
    clock.now = T0 + timedelta(days=1)
    assert [s.action for s in flows.run_due(store) if s.rule == "cart_reminder"] == []
    assert len(history(store, "cus_1", Topic.CART_REMINDER)) == 1


def test_a_review_request_for_an_order_gone_meanwhile_is_dropped_with_the_reason(store: Store) -> None:
    add_customer(store, "cus_1")
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    flows.place(store, new_order("ord_1", "cus_1"))
    flows.change(store, "ord_1", Pay(T0))
    flows.change(store, "ord_1", Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=5)))
    flows.change(store, "ord_1", Deliver(T0 + timedelta(days=1)))
    with store.unit_of_work() as uow:  # a test order, removed by the shop
        uow.orders.delete("ord_1")
        uow.commit()
    clock.now = T0 + timedelta(days=9)
    steps = [s for s in flows.run_due(store) if s.rule == "review_request"]
    assert [(s.action, s.reason) for s in steps] == [("cancelled", "the order no longer exists")]
    (dropped,) = history(store, "cus_1", Topic.REVIEW_REQUEST)
    assert dropped.status == CommunicationStatus.SUPPRESSED
    assert dropped.suppression_reason == "the order no longer exists"
    assert dropped.order_id == "ord_1"


def test_consent_withdrawn_while_a_message_waits_out_quiet_hours_stops_it(store: Store) -> None:
    add_customer(store, "cus_1", preferences=Preferences(quiet_hours_start=time(22), quiet_hours_end=time(7)))
    evening = datetime(2024, 5, 6, 20, 30, tzinfo=UTC)  # 22:30 in Berlin: quiet
    clock = Clock()
    clock.now = evening
    flows = Workflows(shop=SHOP, clock=clock)
    cart = ActivityEvent(
        id="act_1", event="Cart Abandoned", occurred_at=evening - timedelta(hours=2), customer_id="cus_1"
    )
    flows.track(store, cart)
    (step,) = flows.run_due(store)
    assert (step.action, step.reason) == ("queued", "held back until 2024-05-07T05:00:00+00:00")
    with store.unit_of_work() as uow:  # the customer unsubscribes during the night
        customer = uow.customers.get("cus_1")
        withdrawn = ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.UNSUBSCRIBED, evening)
        uow.customers.update(attrs.evolve(customer, consents=(*customer.consents, withdrawn)))
        uow.commit()
    notifier = RecordingNotifier()
    clock.now = evening + timedelta(hours=12)
    report = Dispatcher(store, notifier, clock=clock).drain()
    assert (report.leased, report.sent, report.skipped, len(notifier)) == (1, 0, 1, 0)
    (event,) = history(store, "cus_1", Topic.CART_REMINDER)
    assert event.status == CommunicationStatus.SUPPRESSED
    assert event.suppression_reason == "not sent: no marketing consent on email any more (consent unsubscribed)"


def test_nothing_goes_to_a_customer_erased_after_the_message_was_queued(store: Store) -> None:
    add_customer(store, "cus_1")
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    flows.place(store, new_order("ord_1", "cus_1"))
    with store.unit_of_work() as uow:
        customer = uow.customers.get("cus_1")
        erased = attrs.evolve(customer, given_name=None, email=None, consents=(), redacted_at=T0 + timedelta(hours=1))
        uow.customers.update(erased)
        uow.commit()
    notifier = RecordingNotifier()
    clock.now = T0 + timedelta(hours=2)
    assert Dispatcher(store, notifier, clock=clock).drain().skipped == 1 and len(notifier) == 0
    (event,) = history(store, "cus_1", Topic.ORDER_CONFIRMATION)
    assert event.suppression_reason == "not sent: the customer's data was erased"


def test_a_customer_who_chose_no_channel_gets_a_suppressed_event_saying_so(store: Store) -> None:
    add_customer(store, "cus_1", preferences=Preferences(channels=()))
    flows = Workflows(shop=SHOP, clock=Clock())
    steps = flows.place(store, new_order("ord_1", "cus_1"))
    assert [(s.rule, s.action, s.reason) for s in steps if s.rule == "order_confirmation"] == [
        ("order_confirmation", "suppressed", "no channel chosen")
    ]
    (event,) = history(store, "cus_1", Topic.ORDER_CONFIRMATION)
    assert (event.status, event.suppression_reason) == (CommunicationStatus.SUPPRESSED, "no channel chosen")


def test_a_rule_that_raises_for_one_timer_blocks_none_behind_it(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    for customer_id in ("cus_a", "cus_b"):
        add_customer(store, customer_id)
    clock = Clock()

    def coupon(event: object, customer: Customer) -> dict[str, object]:
        if customer.id == "cus_a":
            raise KeyError("cus_a@example.com")  # a bug in the shop's code, quoting personal data
        return {"coupon": "WELCOME-BACK"}

    rules = [
        attrs.evolve(r, variables=coupon, provides=frozenset({"coupon"})) if r.name == "re_engagement" else r
        for r in default_rules()
    ]
    templates = TemplateRegistry(default_templates(), variables={Topic.RE_ENGAGEMENT: {"coupon"}})
    flows = Workflows(shop=SHOP, rules=rules, templates=templates, clock=clock)
    for customer_id in ("cus_a", "cus_b"):
        flows.place(store, new_order(f"ord_{customer_id}", customer_id))
    clock.now = T0 + timedelta(days=91)
    with caplog.at_level(logging.WARNING, logger="custdata.workflows"):
        steps = sorted((s.action, s.key, s.reason) for s in flows.run_due(store))
    assert "re_engagement:cus_a" in caplog.text and "example.com" not in caplog.text
    assert steps == [
        ("cancelled", "re_engagement:cus_a", "the rule failed: KeyError"),
        ("queued", "ord_cus_b:placed:re_engagement", None),
    ]
    (dropped,) = history(store, "cus_a", Topic.RE_ENGAGEMENT)
    assert dropped.suppression_reason == "the rule failed: KeyError"
    assert flows.run_due(store) == []


def test_a_timer_set_for_a_customer_merged_since_goes_to_the_survivor(store: Store) -> None:
    add_customer(store, "cus_guest")
    add_customer(store, "cus_account")
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    cart = ActivityEvent(id="act_1", event="Cart Abandoned", occurred_at=T0, customer_id="cus_guest")
    assert [s.action for s in flows.track(store, cart)] == ["scheduled"]
    with store.unit_of_work() as uow:  # the guest turns out to be the account holder
        merge(uow, preview(uow, "cus_account", ["cus_guest"]), at=T0 + timedelta(minutes=5))
        uow.commit()
    clock.now = T0 + timedelta(days=1)
    assert [(s.rule, s.action) for s in flows.run_due(store)] == [("cart_reminder", "queued")]
    notifier = RecordingNotifier()
    assert Dispatcher(store, notifier, clock=clock).drain().sent == 1
    (sent,) = notifier.messages
    assert sent.recipient == "cus_account@example.com"
    (event,) = history(store, "cus_account", Topic.CART_REMINDER)
    assert event.status == CommunicationStatus.SENT
