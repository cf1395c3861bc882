"""Events that arrive after an erasure: a carrier's late tracking updates, a replayed order webhook, a browser
still sending activity, a timer due for a merged record. The workflows keep no personal data of an erased
customer (the order stays pseudonymised, activity scrubbed), schedule no timer and queue no message for them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import (
    ActivityEvent,
    Address,
    CommunicationStatus,
    CustdataError,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    PhoneNumber,
    Return,
    ReturnLine,
    ReturnReason,
    Shipment,
    Topic,
    TrackingEvent,
    TrackingStatus,
)
from custdata.lifecycle import CarrierUpdate, Deliver, FlagAddressInvalid, Pay, RequestReturn, Ship
from custdata.merge import merge, preview
from custdata.outbox import OutboxState, Timer, TimerState
from custdata.outbox.ports import has_outbox
from custdata.privacy import erase_customer
from custdata.serialization import to_dict
from custdata.storage import Page, Store, open_store, walk
from custdata.workflows import Shop, Workflows

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SHOP = Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef")
ERASED = "the customer's personal data was erased"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def person(cid: str, tag: str) -> Customer:
    address = Address(
        first_name=f"Given{tag}",
        last_name=f"Family{tag}",
        street_address_1=f"Street{tag} 5",
        city="Berlin",
        postal_code="10435",
        country_code="DE",
    )
    return Customer(
        id=cid,
        created_at=T0 - timedelta(days=30),
        given_name=f"Given{tag}",
        family_name=f"Family{tag}",
        email=EmailAddress.parse(f"mail.{tag.lower()}@example.org"),
        phone=PhoneNumber.parse("+4930901820"),
        addresses=(address,),
        default_shipping_address=0,
        timezone="UTC",
    )


def new_order(oid: str, customer: Customer, at: datetime = T0) -> Order:
    lines = (OrderLine("l1", "TRAIL-42", "Trail shoe", 1, Money("89.90", "EUR")),)
    return Order(
        id=oid,
        customer_id=customer.id,
        currency="EUR",
        lines=lines,
        placed_at=at,
        shipping_address=customer.addresses[0],
        metadata={"gift_note": f"for {customer.given_name}"},
    )


def everything(store: Store) -> str:
    """Every record the store holds, outbox entries in every state and timers included, as text."""
    parts: list[str] = []
    with store.unit_of_work() as uow:
        fetches: list[Callable[..., Page[Any]]] = [
            uow.customers.search,
            uow.orders.page,
            uow.communications.page,
            uow.activity.page,
        ]
        for fetch in fetches:
            parts += [json.dumps(to_dict(r), default=str) for r in walk(lambda c: fetch(cursor=c))]  # noqa: B023
        assert has_outbox(uow)
        for state in OutboxState:
            entries = walk(lambda c: uow.outbox.with_state(state, cursor=c))  # noqa: B023 (walked at once)
            parts += [json.dumps(to_dict(e), default=str) for e in entries]
        parts += [json.dumps(to_dict(t), default=str) for t in walk(lambda c: uow.timers.page(cursor=c))]
    return "\n".join(parts)


def queued_for(store: Store, *customer_ids: str) -> list[Any]:
    with store.unit_of_work() as uow:
        return [
            e
            for cid in customer_ids
            for e in uow.outbox.for_customer(cid)  # type: ignore[attr-defined]
            if e.state == OutboxState.PENDING
        ]


def pending_timers(store: Store, *customer_ids: str) -> list[Timer]:
    with store.unit_of_work() as uow:
        return [t for cid in customer_ids for t in uow.timers.pending(cid)]  # type: ignore[attr-defined]


def late_events(flows: Workflows, store: Store, clock: Clock, tag: str, customer_id: str) -> None:
    """What a shop's integrations may still send about an erased customer's order and visits."""
    hours = iter(range(1, 100))

    def at() -> datetime:
        clock.now = T0 + timedelta(hours=next(hours))
        return clock.now

    shipment = Shipment(
        "shp_1", "DHL", tracking_number=f"TRK{tag}", tracking_url=f"https://track.example/{tag}", lines={"l1": 1}
    )
    flows.change(store, "ord_1", Ship(shipment, at()))
    flows.change(
        store,
        "ord_1",
        CarrierUpdate("shp_1", TrackingEvent(TrackingStatus.IN_TRANSIT, at(), message=f"Hub {tag}", location=tag)),
    )
    flows.change(store, "ord_1", FlagAddressInvalid(at(), shipment_id="shp_1", detail=f"no Given{tag} at the door"))
    flows.change(store, "ord_1", Deliver(at()))
    ret = Return("ret_1", at(), (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE, note=f"Family{tag} says too small"),))
    flows.change(store, "ord_1", RequestReturn(ret))
    flows.track(
        store,
        ActivityEvent(
            id=f"act_{tag.lower()}",
            event="Checkout Started",
            occurred_at=at(),
            customer_id=customer_id,
            anonymous_id=f"visitor-{tag}",
            properties={"email": f"mail.{tag.lower()}@example.org", "cart_id": "c1"},
        ),
    )
    late = attrs.evolve(new_order("ord_2", person(customer_id, tag), at()), customer_id=customer_id)
    flows.place(store, late)


def seeded(store: Store, tag: str) -> tuple[Workflows, Clock, Customer]:
    clock = Clock()
    flows = Workflows(shop=SHOP, clock=clock)
    ada = person("cus_ada", tag)
    with store.unit_of_work() as uow:
        uow.customers.add(ada)
        uow.commit()
    flows.place(store, new_order("ord_1", ada))
    flows.change(store, "ord_1", Pay(T0))
    return flows, clock, ada


NEEDLES = ("Given", "Family", "Street", "mail.", "TRK", "track.example/", "visitor-", "Hub ")


def test_events_after_an_erasure_bring_no_personal_data_back_and_queue_nothing(store: Store) -> None:
    tag = "Quenstedt"
    flows, clock, _ = seeded(store, tag)
    erase_customer(store, "cus_ada")
    late_events(flows, store, clock, tag, "cus_ada")
    clock.now = T0 + timedelta(days=60)
    flows.run_due(store)

    text = everything(store)
    assert tag not in text and not [n for n in NEEDLES if n + tag in text]
    assert queued_for(store, "cus_ada") == [] and pending_timers(store, "cus_ada") == []
    with store.unit_of_work() as uow:
        events = walk(lambda c: uow.communications.for_customer("cus_ada", cursor=c))
        late = [e for e in events if e.created_at > T0]
        orders = [uow.orders.get("ord_1"), uow.orders.get("ord_2")]
    assert late and all(e.status == CommunicationStatus.SUPPRESSED and e.suppression_reason == ERASED for e in late)
    # the books still hold: amounts, statuses and shipments are kept, only the personal fields are gone
    assert [str(o.total) for o in orders] == ["89.90 EUR", "89.90 EUR"]
    assert orders[0].status.value == "delivered" and orders[0].shipments[0].carrier == "DHL"
    assert orders[0].returns and orders[0].returns[0].lines[0].note is None


def test_events_filed_under_a_merged_id_of_an_erased_customer_keep_nothing(store: Store) -> None:
    tag = "Vandersloot"
    flows, clock, _ = seeded(store, tag)
    guest = attrs.evolve(person("cus_guest", tag), id="cus_guest", is_guest=True, email=None)
    with store.unit_of_work() as uow:
        uow.customers.add(guest)
        uow.commit()
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, "cus_ada", ["cus_guest"]), at=T0)
        uow.commit()
    erase_customer(store, "cus_ada")
    late_events(flows, store, clock, tag, "cus_guest")
    clock.now = T0 + timedelta(days=60)
    flows.run_due(store)

    text = everything(store)
    assert not [n for n in NEEDLES if n + tag in text]
    assert queued_for(store, "cus_ada", "cus_guest") == [] and pending_timers(store, "cus_ada", "cus_guest") == []


def test_a_timer_due_for_an_erased_customer_is_cancelled_not_fired(store: Store) -> None:
    """A timer scheduled beside the erasure (by a sweep that read the customer just before) sends nothing."""
    flows, clock, _ = seeded(store, "Timerperson")
    flows.change(store, "ord_1", Ship(Shipment("shp_1", "DHL", lines={"l1": 1}), T0 + timedelta(hours=1)))
    flows.change(store, "ord_1", Deliver(T0 + timedelta(hours=2)))
    erase_customer(store, "cus_ada")
    with store.unit_of_work() as uow:
        erased = uow.customers.get("cus_ada")
        # what a workflow racing the erasure could still write: a review request for the delivered order
        uow.timers.schedule(  # type: ignore[attr-defined]
            Timer(
                key="review_request:ord_1:late",
                rule="review_request",
                topic=Topic.REVIEW_REQUEST,
                customer_id=erased.id,
                order_id="ord_1",
                due_at=T0 + timedelta(days=1),
                created_at=T0,
                trigger={
                    "order_event": {
                        "event": "delivered",
                        "order_id": "ord_1",
                        "customer_id": "cus_ada",
                        "occurred_at": T0.isoformat(),
                        "shipment_id": "shp_1",
                        "carrier": "DHL",
                        "order_delivered": True,
                    }
                },
            )
        )
        uow.commit()
    clock.now = T0 + timedelta(days=2)
    steps = flows.run_due(store)
    assert [(s.action, s.reason) for s in steps] == [("cancelled", ERASED)]
    with store.unit_of_work() as uow:
        assert uow.timers.get("review_request:ord_1:late").state == TimerState.CANCELLED  # type: ignore[attr-defined]
    assert queued_for(store, "cus_ada") == []


@settings(max_examples=15, deadline=None)
@given(
    tag=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=8, max_size=12),
    steps=st.lists(st.sampled_from(["ship", "carrier", "flag", "deliver", "return", "track", "place"]), max_size=7),
)
def test_any_late_events_keep_no_personal_data_of_an_erased_customer(tag: str, steps: list[str]) -> None:
    tag = f"Xq{tag}"
    with open_store("memory://") as store:
        flows, clock, _ = seeded(store, tag)
        erase_customer(store, "cus_ada")
        clock.now = T0 + timedelta(hours=1)
        shipment = Shipment("shp_1", "DHL", tracking_number=tag, tracking_url=f"https://t.example/{tag}")
        actions: dict[str, Callable[[datetime], object]] = {
            "ship": lambda at: flows.change(store, "ord_1", Ship(shipment, at)),
            "carrier": lambda at: flows.change(
                store, "ord_1", CarrierUpdate("shp_1", TrackingEvent(TrackingStatus.DELAYED, at, message=tag))
            ),
            "flag": lambda at: flows.change(store, "ord_1", FlagAddressInvalid(at, shipment_id="shp_1", detail=tag)),
            "deliver": lambda at: flows.change(store, "ord_1", Deliver(at)),
            "return": lambda at: flows.change(
                store,
                "ord_1",
                RequestReturn(Return(f"ret_{at.hour}", at, (ReturnLine("l1", 1, ReturnReason.OTHER, note=tag),))),
            ),
            "track": lambda at: flows.track(
                store,
                ActivityEvent(
                    id=f"act_{at.hour}",
                    event="Cart Abandoned",
                    occurred_at=at,
                    customer_id="cus_ada",
                    properties={"name": tag},
                ),
            ),
            "place": lambda at: flows.place(store, new_order(f"ord_x{at.hour}", person("cus_ada", tag), at)),
        }
        for hour, name in enumerate(steps, start=2):
            clock.now = T0 + timedelta(hours=hour)
            try:
                actions[name](clock.now)
            except CustdataError:  # a change the order's state refuses (a return before shipping) is fine
                pass
        clock.now = T0 + timedelta(days=90)
        flows.run_due(store)
        assert tag.lower() not in everything(store).lower()
        assert queued_for(store, "cus_ada") == [] and pending_timers(store, "cus_ada") == []
