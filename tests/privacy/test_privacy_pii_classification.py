"""Erasure and export follow the one definition of personal data (:mod:`custdata.domain.personal`).

Every field marked ``personal`` or ``linked`` (in nested models too) must come out of the erasure functions
cleared: None, empty, the field's default, or a value erasure wrote itself (never one the record held). And the
export must hold every such value. Records are generated, so a field added to a model and marked personal is
checked at once; a mark that erasure does not honour fails here.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import custdata
from custdata import ActivityEvent, CommunicationEvent, ConsentState, Customer, EmailAddress, Order, PhoneNumber
from custdata.domain import Personal
from custdata.domain.personal import field_kind, personal_values
from custdata.privacy import erase_customer, export_customer
from custdata.privacy.erasure import pseudonymise_order, redact_customer, scrub_activity, scrub_communication
from custdata.storage import Store, open_store
from custdata.testing import strategies as cs

#: Later than any generated time, so that a time erasure writes cannot be one the record held.
ERASED_AT = datetime(2150, 1, 1, tzinfo=UTC)
_EMPTY: tuple[Any, ...] = (None, "", (), {}, frozenset())


def _leaves(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any, attrs.Attribute[Any]]]:
    """(path without indices, value, field) for every field marked personal or linked, through nested models."""
    for field in attrs.fields(type(obj)):
        kind = field_kind(field)
        value = getattr(obj, field.name)
        path = prefix + field.name
        if kind is Personal.NESTED:
            for item in value if isinstance(value, tuple) else (value,):
                if item is not None:
                    yield from _leaves(item, path + ".")
        elif kind is not None and kind.erased:
            yield path, value, field


def _default(field: attrs.Attribute[Any]) -> Any:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        assert default is not None
        return None if default.takes_self else default.factory()
    return None if default is attrs.NOTHING else default


def _kept(before: Any, after: Any) -> list[tuple[str, Any]]:
    """The personal or linked values of ``after`` that ``before`` held in the same place: erasure missed them."""
    held: dict[str, list[Any]] = {}
    for path, value, _ in _leaves(before):
        held.setdefault(path, []).append(value)
    missed = []
    for path, value, field in _leaves(after):
        if any(value == empty and type(value) is type(empty) for empty in _EMPTY) or value == _default(field):
            continue
        if any(value == old for old in held.get(path, ())):
            missed.append((path, value))
    return missed


customers = cs.customers().filter(lambda c: all(r.state != ConsentState.REDACTED for r in c.consents))
known_activity = cs.activity_events().filter(lambda e: e.customer_id is not None)


@settings(max_examples=40, suppress_health_check=[HealthCheck.filter_too_much])
@given(customers)
def test_redact_customer_clears_every_personal_and_linked_field(customer: Customer) -> None:
    before = copy.deepcopy(customer)
    redact_customer(customer, at=ERASED_AT)
    assert _kept(before, customer) == []


@settings(max_examples=40)
@given(cs.orders())
def test_pseudonymise_order_clears_every_personal_and_linked_field(order: Order) -> None:
    assert _kept(order, pseudonymise_order(order)) == []


@settings(max_examples=40)
@given(cs.communication_events())
def test_scrub_communication_clears_every_personal_and_linked_field(event: CommunicationEvent) -> None:
    assert _kept(event, scrub_communication(event)) == []


@settings(max_examples=40)
@given(known_activity)
def test_scrub_activity_clears_every_personal_and_linked_field(event: ActivityEvent) -> None:
    assert _kept(event, scrub_activity(event)) == []


@settings(max_examples=5)
@given(cs.orders().filter(lambda o: any(s.tracking_number for s in o.shipments)))
def test_the_check_sees_a_field_erasure_would_miss(order: Order) -> None:
    careless = attrs.evolve(pseudonymise_order(order), shipments=order.shipments)
    assert any(path == "shipments.tracking_number" for path, _ in _kept(order, careless))


# -- end to end, through real stores ---------------------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    """How ``value`` shows in the export's JSON text."""
    if isinstance(value, (EmailAddress, PhoneNumber)):
        return [json.dumps(str(value), ensure_ascii=False)]
    if isinstance(value, Enum):
        return [json.dumps(value.value)]
    if isinstance(value, str):
        return [json.dumps(value, ensure_ascii=False)]
    if isinstance(value, (datetime, date, time)):
        return [value.isoformat()[:10] if isinstance(value, datetime) else value.isoformat()]
    if isinstance(value, (tuple, frozenset, list)):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _texts(item)]
    return []  # numbers and flags: found by the key alone


def _records(data: st.DataObject) -> tuple[Customer, list[Order], list[CommunicationEvent], list[ActivityEvent]]:
    customer = data.draw(customers)
    assume(customer.merged_into is None and customer.redacted_at is None)
    customer.merged_into = None
    orders = [attrs.evolve(o, customer_id=customer.id) for o in data.draw(st.lists(cs.orders(), max_size=2))]
    assume(len({o.id for o in orders}) == len(orders))
    for o in orders:
        o.validate()
    events = data.draw(st.lists(cs.communication_events(), max_size=2, unique_by=lambda e: e.id))
    for e in events:
        e.customer_id = customer.id
        e.order_id = None
    activity = data.draw(st.lists(known_activity, max_size=2, unique_by=lambda e: e.id))
    for a in activity:
        a.customer_id = customer.id
    return customer, orders, events, activity


def _store_kinds() -> list[str]:
    return ["memory", "sqlite"]


@pytest.fixture(params=_store_kinds())
def open_kind(request: pytest.FixtureRequest) -> Callable[[], Any]:
    if request.param == "memory":
        return lambda: open_store("memory://")
    folder = tempfile.TemporaryDirectory()
    request.addfinalizer(folder.cleanup)
    count = iter(range(10**6))
    return lambda: open_store(f"sqlite:///{Path(folder.name)}/s{next(count)}.db")


def _seed(store: Store, records: tuple[Any, ...]) -> None:
    customer, orders, events, activity = records
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        for o in orders:
            uow.orders.add(o)
        for e in events:
            uow.communications.add(e)
        for a in activity:
            uow.activity.add(a)
        uow.commit()


def _check_export_and_erasure(store: Store, records: tuple[Any, ...]) -> None:
    customer, orders, events, activity = records
    _seed(store, records)
    text = json.dumps(export_customer(store, customer.id, clock=lambda: ERASED_AT), ensure_ascii=False)
    for record in (customer, *orders, *events, *activity):
        for path, value in personal_values(record, Personal.PERSONAL, Personal.LINKED):
            for shown in _texts(value):
                assert shown in text, (type(record).__name__, path)
            assert f'"{path.split(".")[-1].split("[")[0]}"' in text, path
    erase_customer(store, customer.id, clock=lambda: ERASED_AT)
    with store.unit_of_work() as uow:
        assert _kept(customer, uow.customers.get(customer.id)) == []
        for o in orders:
            assert _kept(o, uow.orders.get(o.id)) == []
        for e in events:
            assert _kept(e, uow.communications.get(e.id)) == []
        for a in activity:
            assert _kept(a, uow.activity.get(a.id)) == []


@settings(max_examples=10, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_stored_customer_exports_every_personal_value_and_erasure_clears_it(
    data: st.DataObject, open_kind: Callable[[], Any]
) -> None:
    records = _records(data)
    with open_kind() as store:
        _check_export_and_erasure(store, records)


@settings(max_examples=4, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_postgres_exports_every_personal_value_and_erasure_clears_it(
    data: st.DataObject, new_store: Callable[..., Any]
) -> None:
    records = _records(data)
    # PostgreSQL cannot store a NUL character anywhere (the store refuses it, tested elsewhere): not this test's
    customer, orders, events, activity = records
    assume(all("\\u0000" not in custdata.to_json(r) for r in (customer, *orders, *events, *activity)))
    with new_store() as store:  # closed after each example: a failing one is run many times while shrinking
        _check_export_and_erasure(store, records)
