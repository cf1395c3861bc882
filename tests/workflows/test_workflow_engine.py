"""The workflow engine end to end: events in, decided messages in the outbox, delivered by the dispatcher."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    PhoneNumber,
    Preferences,
    Shipment,
    Topic,
    TrackingEvent,
    TrackingStatus,
    ValidationError,
)
from custdata.lifecycle import CarrierUpdate, Deliver, OrderShipped, Pay, Ship
from custdata.notify import RecordingNotifier
from custdata.outbox import OutboxState
from custdata.outbox.dispatcher import Dispatcher
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.storage import Store, open_store, walk
from custdata.storage.sqlite import SQLiteStore
from custdata.workflows import FrequencyCap, Policy, Rule, Shop, Template, TemplateRegistry, Workflows, default_rules

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        opened = open_store(f"{url}{'&' if '?' in url else '?'}schema=flows_{uuid.uuid4().hex[:12]}&pool_max_size=4")
    else:
        opened = open_store("memory://") if request.param == "memory" else SQLiteStore(tmp_path / "shop.db")
    try:
        yield opened
    finally:
        opened.close()


def opt_in(channel: Channel = Channel.EMAIL) -> ConsentRecord:
    return ConsentRecord(ConsentPurpose.MARKETING, channel, ConsentState.SUBSCRIBED, T0 - timedelta(days=100))


def add_customer(store: Store, customer_id: str = "cus_1", **kwargs: Any) -> Customer:
    fields: dict[str, Any] = {
        "id": customer_id,
        "created_at": T0 - timedelta(days=365),
        "given_name": "Jane",
        "email": EmailAddress.parse("jane@example.com"),
        "phone": PhoneNumber.parse("+4930123456"),
        "timezone": "Europe/Berlin",
    }
    fields.update(kwargs)
    customer = Customer(**fields)
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    return customer


def new_order(order_id: str = "ord_1", customer_id: str = "cus_1", placed_at: datetime = T0) -> Order:
    line = OrderLine("l1", "TRAIL-42", "Trail shoe", 1, Money("89.90", "EUR"), variant={"size": "42"})
    return Order(id=order_id, customer_id=customer_id, currency="EUR", lines=(line,), placed_at=placed_at)


def events(store: Store, customer_id: str = "cus_1") -> list[CommunicationEvent]:
    with store.unit_of_work() as uow:
        return list(walk(lambda c: uow.communications.for_customer(customer_id, cursor=c)))


def by_topic(store: Store, topic: Topic) -> list[CommunicationEvent]:
    return [e for e in events(store) if e.topic == topic]


def test_the_whole_flow_reaches_the_customer_once_per_step(store: Store) -> None:
    add_customer(store)
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    notifier = RecordingNotifier()
    dispatcher = Dispatcher(store, notifier, clock=clock)
    flows.place(store, new_order())
    dispatcher.drain()
    flows.change(store, "ord_1", Pay(T0 + timedelta(minutes=1)))
    shipment = Shipment("shp_1", "DHL", tracking_number="0034", tracking_url="https://track.example/0034")
    flows.change(store, "ord_1", Ship(shipment, T0 + timedelta(hours=20)))
    dispatcher.drain()
    update = TrackingEvent(TrackingStatus.OUT_FOR_DELIVERY, T0 + timedelta(days=1, hours=8))
    flows.change(store, "ord_1", CarrierUpdate("shp_1", update))
    dispatcher.drain()
    flows.change(store, "ord_1", Deliver(T0 + timedelta(days=1, hours=12)))
    dispatcher.drain()
    topics = [m.topic for m in notifier.messages]
    assert topics == [Topic.ORDER_CONFIRMATION, Topic.ORDER_SHIPPED, Topic.OUT_FOR_DELIVERY, Topic.DELIVERED]
    shipped = notifier.messages[1]
    assert shipped.idempotency_key == "ord_1:shipped:shp_1:order_shipped"
    assert (
        "Track it: https://track.example/0034" in shipped.text and shipped.subject == "Your order ord_1 is on its way"
    )
    assert notifier.messages[0].html is not None and "Trail shoe" in notifier.messages[0].html
    assert all(e.status == CommunicationStatus.SENT for e in events(store))
    # replaying every change sends nothing new
    flows.change(store, "ord_1", Ship(shipment, T0 + timedelta(hours=20)))
    flows.change(store, "ord_1", Deliver(T0 + timedelta(days=1, hours=12)))
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        order = uow.orders.get("ord_1")
        again = OrderShipped(order_id="ord_1", customer_id="cus_1", occurred_at=T0, shipment_id="shp_1", carrier="DHL")
        steps = flows.handle(uow, [again, again])
        uow.commit()
    assert [s.action for s in steps] == ["duplicate", "duplicate"]
    dispatcher.drain()
    assert notifier.duplicates() == {} and len(notifier) == 4
    assert order.status.value == "delivered"


def test_review_request_waits_for_its_day_and_needs_consent(store: Store) -> None:
    add_customer(store, "cus_1")
    add_customer(store, "cus_2", consents=(opt_in(),), email=EmailAddress.parse("max@example.com"))
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock, rules=default_rules(review_after=timedelta(days=5)))
    for customer_id in ("cus_1", "cus_2"):
        order_id = f"ord_{customer_id}"
        flows.place(store, new_order(order_id, customer_id))
        flows.change(store, order_id, Pay(T0))
        flows.change(store, order_id, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=5)))
        _, steps = flows.change(store, order_id, Deliver(T0 + timedelta(days=2)))
        assert "scheduled" in [s.action for s in steps]
    assert flows.run_due(store, now=T0 + timedelta(days=6)) == []
    steps = flows.run_due(store, now=T0 + timedelta(days=7, hours=1))
    assert sorted(s.action for s in steps) == ["queued", "suppressed"]
    (refused,) = [e for e in events(store, "cus_1") if e.topic == Topic.REVIEW_REQUEST]
    assert refused.status == CommunicationStatus.SUPPRESSED
    assert refused.suppression_reason == "no marketing consent on email (no recorded opt-in)"
    clock.now = T0 + timedelta(days=7, hours=1)
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=clock).drain()
    (review,) = [m for m in notifier.messages if m.topic == Topic.REVIEW_REQUEST]
    assert review.customer_id == "cus_2" and review.marketing
    assert review.unsubscribe_url is not None and review.unsubscribe_url.startswith("https://shop.example/unsubscribe?")
    assert "https://shop.example/orders/ord_cus_2/review" in review.text
    assert flows.run_due(store, now=T0 + timedelta(days=30)) == []  # each timer fires once


def test_a_deferred_delay_notice_is_dropped_once_the_parcel_arrives(store: Store) -> None:
    night = Preferences(channels=(Channel.SMS,), quiet_hours_start=time(22), quiet_hours_end=time(7))
    add_customer(store, preferences=night)
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    flows.place(store, new_order())
    flows.change(store, "ord_1", Pay(T0))
    flows.change(store, "ord_1", Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=2)))
    Dispatcher(store, RecordingNotifier(), clock=clock).drain()
    clock.now = datetime(2024, 5, 7, 21, 30, tzinfo=UTC)  # 23:30 in Berlin: quiet
    estimate = datetime(2024, 5, 9, 12, tzinfo=UTC)
    delay = TrackingEvent(TrackingStatus.DELAYED, clock.now, estimated_delivery_at=estimate)
    _, steps = flows.change(store, "ord_1", CarrierUpdate("shp_1", delay))
    (queued,) = steps
    assert queued.action == "queued" and queued.reason == "held back until 2024-05-08T05:00:00+00:00"  # 07:00 in Berlin
    notifier = RecordingNotifier()
    assert Dispatcher(store, notifier, clock=clock).drain().leased == 0  # still quiet
    clock.now = datetime(2024, 5, 8, 4, 0, tzinfo=UTC)  # the parcel arrives at 06:00 local, before the notice
    flows.change(store, "ord_1", Deliver(clock.now))
    clock.now = datetime(2024, 5, 8, 6, 0, tzinfo=UTC)
    Dispatcher(store, notifier, clock=clock).drain()
    assert [m.topic for m in notifier.messages] == [Topic.DELIVERED]
    (dropped,) = by_topic(store, Topic.DELIVERY_DELAYED)
    assert dropped.status == CommunicationStatus.SUPPRESSED
    assert dropped.suppression_reason == "made obsolete by delivered (delivered)"


def test_cart_reminders_fire_unless_the_customer_ordered(store: Store) -> None:
    add_customer(store, "cus_1", consents=(opt_in(),))
    add_customer(store, "cus_2", consents=(opt_in(),), email=EmailAddress.parse("max@example.com"))
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    for i, customer_id in enumerate(("cus_1", "cus_2")):
        cart = ActivityEvent(
            id=f"act_{i}",
            event="Cart Abandoned",
            occurred_at=T0,
            customer_id=customer_id,
            properties={"products": [{"sku": "TRAIL-42"}, {"sku": "SOCK-1"}]},
        )
        assert [s.action for s in flows.track(store, cart)] == ["scheduled"]
    anonymous = ActivityEvent(id="act_x", event="Cart Abandoned", occurred_at=T0, anonymous_id="visitor-9")
    assert [s.action for s in flows.track(store, anonymous)] == ["skipped"]
    flows.place(store, new_order("ord_9", "cus_1", placed_at=T0 + timedelta(minutes=30)))
    steps = flows.run_due(store, now=T0 + timedelta(hours=3))
    assert [(s.action, s.key) for s in steps] == [("queued", "cus_2:cart_abandoned:act_1:cart_reminder")]
    clock.now = T0 + timedelta(hours=3)
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=clock).drain()
    (reminder,) = [m for m in notifier.messages if m.topic == Topic.CART_REMINDER]
    assert "2 items are still waiting in your cart:\nhttps://shop.example/cart" in reminder.text


def test_re_engagement_after_a_quiet_spell_moves_with_every_order(store: Store) -> None:
    add_customer(store, consents=(opt_in(),))
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock, rules=default_rules(re_engagement_after=timedelta(days=60)))
    flows.place(store, new_order("ord_1", placed_at=T0))
    flows.place(store, new_order("ord_2", placed_at=T0 + timedelta(days=40)))
    assert flows.run_due(store, now=T0 + timedelta(days=70)) == []  # moved to day 100
    steps = flows.run_due(store, now=T0 + timedelta(days=101))
    assert [(s.action, s.key) for s in steps] == [("queued", "ord_2:placed:re_engagement")]
    clock.now = T0 + timedelta(days=101)
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=clock).drain()
    (message,) = [m for m in notifier.messages if m.topic == Topic.RE_ENGAGEMENT]
    assert "it has been 61 days since your last order" in message.text


def test_segments_frequency_caps_and_unusable_channels_are_recorded(store: Store) -> None:
    add_customer(store, "cus_1", consents=(opt_in(),), tags=frozenset({"vip"}))
    add_customer(store, "cus_2", email=None, phone=None)
    rules = [
        Rule(name="vip_thanks", on=OrderShipped, topic=Topic.REVIEW_REQUEST, segment=lambda c: "vip" in c.tags),
        *default_rules(),
    ]
    policy = Policy(caps=(FrequencyCap(2, timedelta(days=7)),))
    flows = Workflows(shop=SHOP, rules=rules, policy=policy, clock=Clock())
    for n in range(3):
        order_id = f"ord_{n}"
        flows.place(store, new_order(order_id))
        flows.change(store, order_id, Pay(T0))
        flows.change(store, order_id, Ship(Shipment("shp_1", "DHL"), T0 + timedelta(hours=n)))
    vip = by_topic(store, Topic.REVIEW_REQUEST)
    assert [e.status for e in vip] == [CommunicationStatus.QUEUED] * 2 + [CommunicationStatus.SUPPRESSED]
    assert vip[2].suppression_reason == "frequency cap: at most 2 such messages in 7 days"
    flows.place(store, new_order("ord_x", "cus_2"))
    (nowhere,) = events(store, "cus_2")
    assert nowhere.status == CommunicationStatus.SUPPRESSED
    assert nowhere.suppression_reason == "no email address"
    with store.unit_of_work() as uow:
        assert isinstance(uow, OutboxUnitOfWork)
        assert uow.outbox.count(OutboxState.SUPPRESSED) == 2


def test_german_customers_get_german_templates_with_english_fallback(store: Store) -> None:
    add_customer(store, locale="de-AT")
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    flows.place(store, new_order())
    flows.change(store, "ord_1", Pay(T0))
    flows.change(store, "ord_1", Ship(Shipment("shp_1", "DHL", tracking_url="https://t.example/1"), T0))
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=clock).drain()
    confirmation, shipped = notifier.messages
    assert confirmation.subject == "Vielen Dank für Ihre Bestellung ord_1" and confirmation.locale == "de"
    assert "Sendungsverfolgung: https://t.example/1" in shipped.text
    assert by_topic(store, Topic.ORDER_SHIPPED)[0].template == "order_shipped.email.de"


def test_workflows_refuse_rules_their_templates_cannot_serve() -> None:
    with pytest.raises(ValidationError) as info:
        Workflows(
            shop=SHOP,
            templates=TemplateRegistry([Template("order_shipped", "sms", "en", "{{ tracking_url }}")]),
            rules=[
                Rule(name="shipped", on=OrderShipped, topic=Topic.ORDER_SHIPPED, channels=(Channel.EMAIL,)),
                Rule(name="shipped", on=OrderShipped, topic=Topic.ORDER_PACKED),
                Rule(name="cart", on="Cart Abandoned", topic=Topic.ORDER_SHIPPED),
            ],
        )
    problems = {p.path: p.message for p in info.value.problems}
    assert problems["rules[0].channels"] == "none has a order_shipped template"
    assert problems["rules[1].name"] == "'shipped' is used by two rules"
    assert problems["rules[1].topic"] == "has no order_packed template in the default locale"
    assert problems["rules[2]"].startswith("its trigger gives no carrier, estimated_delivery, order_date")


def test_rules_may_add_declared_variables(store: Store) -> None:
    add_customer(store)
    templates = TemplateRegistry(
        [Template("order_shipped", "email", "en", "Code {{ coupon }}", subject="Shipped")],
        variables={Topic.ORDER_SHIPPED: {"coupon"}},
    )
    rule = Rule(
        name="shipped",
        on=OrderShipped,
        topic=Topic.ORDER_SHIPPED,
        variables=lambda event, customer: {"coupon": f"THANKS-{customer.given_name}"},
        provides={"coupon"},
    )
    flows = Workflows(shop=SHOP, templates=templates, rules=[rule], clock=Clock())
    flows.place(store, new_order())
    flows.change(store, "ord_1", Pay(T0))
    flows.change(store, "ord_1", Ship(Shipment("shp_1", "DHL"), T0))
    notifier = RecordingNotifier()
    Dispatcher(store, notifier, clock=Clock()).drain()
    assert notifier.messages[0].text == "Code THANKS-Jane"


@given(
    field=st.sampled_from(["name", "on", "topic", "channels", "delay", "reschedule", "cancels", "segment"]),
    bad=st.one_of(st.none(), st.integers(), st.just(""), st.just("Bad Name!"), st.just(timedelta(-1)), st.just(())),
)
def test_rules_name_each_bad_field(field: str, bad: Any) -> None:
    fields: dict[str, Any] = {"name": "r", "on": OrderShipped, "topic": Topic.ORDER_SHIPPED}
    fields[field] = bad
    if (field, bad) in {("channels", None), ("delay", None), ("segment", None), ("cancels", ())}:
        return  # the defaults
    with pytest.raises(ValidationError) as info:
        Rule(**fields)
    assert all(p.path.split("[")[0] == field for p in info.value.problems)


@given(
    field=st.sampled_from(["name", "url", "order_url", "unsubscribe_url", "secret"]),
    bad=st.one_of(st.none(), st.just(""), st.just("ftp://x"), st.just("http://shop.example/u"), st.just("{nope}")),
)
def test_shops_name_each_bad_field(field: str, bad: Any) -> None:
    fields: dict[str, Any] = {"name": "Shop", "url": "https://shop.example", "secret": b"0123456789abcdef"}
    fields[field] = bad
    if (field == "name" and bad) or (field in ("url", "order_url") and bad == "http://shop.example/u"):
        return  # any name will do; plain http is fine for the shop and its order pages
    with pytest.raises(ValidationError) as info:
        Shop(**fields)
    assert all(p.path == field for p in info.value.problems)
