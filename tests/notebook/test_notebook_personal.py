"""Notebook HTML, notebook frames, the customer 360 view and analytics records show no value of a field marked
personal unless it is revealed; the sentinels prove that they would be seen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from jupyter_display import jupyter_html
from personal_sentinels import Sentinels, leaks, with_sentinels

from custdata import (
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    Money,
    Order,
    OrderLine,
    Shipment,
)
from custdata.analytics.frames import (
    communication_record,
    customer_record,
    customer_records,
    order_line_records_of,
    order_record,
)
from custdata.customer360 import customer_360
from custdata.notebook import show, to_html, to_pandas, to_records
from custdata.storage import open_store
from custdata.testing import strategies as cs

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2150, 1, 1, tzinfo=UTC)

records = st.one_of(cs.customers(), cs.orders(), cs.communication_events(), cs.activity_events())


def _masked_texts(model: Any) -> list[str]:
    texts = [jupyter_html(model), to_html(model), str(show(model)), str(show([model, model])), repr(model)]
    for policy in ("omit", "mask"):
        texts += [repr(row) for row in to_records([model], personal=policy)]
        texts.append(to_pandas([model], personal=policy).to_csv())
    return texts


@settings(max_examples=30)
@given(records)
def test_no_personal_value_shows_in_html_or_frames_unless_revealed(record: Any) -> None:
    model, needles = with_sentinels(record)
    assert not leaks(_masked_texts(model), needles)


@settings(max_examples=15)
@given(st.one_of(cs.customers(), cs.orders().filter(lambda o: o.shipping_address), cs.communication_events()))
def test_revealed_html_shows_the_personal_values(record: Any) -> None:
    model, needles = with_sentinels(record)
    revealed = str(show(model, reveal=True))
    assert leaks([revealed], needles)  # the masked check above would see a leak


def test_a_consent_source_is_masked_in_the_customer_card() -> None:
    record = ConsentRecord(
        ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, T0, source="checkout by Jane jane@x.org"
    )
    customer = Customer("cus_1", T0, consents=(record,))
    assert "Jane" not in jupyter_html(customer) and "jane@" not in jupyter_html(customer)
    assert "c***" in jupyter_html(customer)
    assert "checkout by Jane jane@x.org" in str(show(customer, reveal=True))


def test_a_tracking_number_is_masked_in_the_order_card() -> None:
    line = OrderLine("l1", "SKU-1", "Shoe", 1, Money("10", "EUR"))
    parcel = Shipment("shp_1", "DHL", {"l1": 1}, tracking_number="00340434161094042557")
    order = Order("ord_1", "cus_1", "EUR", (line,), T0, shipments=(parcel,))
    assert "00340434161094042557" not in jupyter_html(order) and "DHL" in jupyter_html(order)
    assert "00340434161094042557" in str(show(order, reveal=True))


def _reference(order: Any) -> object:
    """Orders of one store have distinct external references (orders without one never clash)."""
    return order.external_ref if order.external_ref is not None else id(order)


def _seeded(data: st.DataObject) -> tuple[Any, Customer, list[str]]:
    s = Sentinels()
    customer, _ = with_sentinels(data.draw(cs.customers()), s)
    customer = attrs.evolve(customer, merged_into=None, redacted_at=None)
    orders = [
        with_sentinels(attrs.evolve(o, id=f"ord_{i}", customer_id=customer.id), s)[0]
        for i, o in enumerate(data.draw(st.lists(cs.orders(), max_size=2, unique_by=_reference)))
    ]
    events = [
        with_sentinels(attrs.evolve(e, id=f"msg_{i}", customer_id=customer.id, order_id=None), s)[0]
        for i, e in enumerate(data.draw(st.lists(cs.communication_events(), max_size=2)))
    ]
    activity = [
        with_sentinels(attrs.evolve(a, id=f"act_{i}", customer_id=customer.id), s)[0]
        for i, a in enumerate(data.draw(st.lists(cs.activity_events(), max_size=2)))
    ]
    store = open_store("memory://")
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        for o in orders:
            uow.orders.add(o)
        for e in events:
            uow.communications.add(e)
        for a in activity:
            uow.activity.add(a)
        uow.commit()
    return store, customer, s.needles


@settings(max_examples=15)
@given(st.data())
def test_the_customer_360_view_and_analytics_records_show_no_personal_value(data: st.DataObject) -> None:
    store, customer, needles = _seeded(data)
    with store:
        view = customer_360(store, customer.id, now=NOW)
        texts = [jupyter_html(view), str(show(view)), repr(view), view.to_pandas().to_csv()]
        texts += [repr(row) for row in view.to_records()]
        texts += [repr(customer_record(customer))]
        texts += [repr(r) for r in customer_records(store)]
        for order in view.orders:
            texts += [repr(order_record(order)), *(repr(r) for r in order_line_records_of(order))]
        texts += [repr(communication_record(e)) for e in view.communications]
        assert not leaks(texts, needles)
        assert leaks([str(show(view.customer, reveal=True))], needles)
