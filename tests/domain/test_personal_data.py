"""One definition of personal data: every model field carries a mark, and repr() masks what is marked personal."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from personal_sentinels import Sentinels, leaks, with_sentinels

import custdata.domain
from custdata.domain import (
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    DeliveryPreferences,
    Personal,
    PhoneNumber,
    Preferences,
    Topic,
    classification,
    personal_fields,
    personal_values,
    unclassified_fields,
)
from custdata.domain.personal import KEY, PERSONAL, masked_repr
from custdata.notify import Message
from custdata.outbox.model import OutboxEntry, Timer
from custdata.testing import strategies as cs

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _modules() -> list[ModuleType]:
    """Every module of ``custdata.domain``, and the other modules whose models hold personal data."""
    found = [custdata.domain]
    for info in pkgutil.iter_modules(custdata.domain.__path__):
        found.append(importlib.import_module(f"custdata.domain.{info.name}"))
    return [
        *found,
        importlib.import_module("custdata.notify.message"),
        importlib.import_module("custdata.storage.outbox.model"),
    ]


def _model_classes() -> list[type]:
    classes = {
        obj
        for module in _modules()
        for obj in vars(module).values()
        if isinstance(obj, type) and attrs.has(obj) and obj.__module__ == module.__name__
    }
    return sorted(classes, key=lambda c: c.__qualname__)


MODELS = _model_classes()


def test_the_walk_finds_every_model() -> None:
    names = {c.__name__ for c in MODELS}
    for expected in (
        "Customer", "Address", "EmailAddress", "PhoneNumber", "CompanyMembership", "ConsentRecord", "Preferences",
        "DeliveryPreferences", "Order", "OrderLine", "Shipment", "TrackingEvent", "Return", "ReturnLine",
        "CommunicationEvent", "ActivityEvent", "Message", "OutboxEntry", "Timer",
    ):  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_every_field_of_every_model_is_classified(cls: type) -> None:
    # a new field needs attrs.field(metadata=PERSONAL | LINKED | IDENTIFIER | NOT_PERSONAL | NESTED)
    assert unclassified_fields(cls) == (), f"{cls.__name__} has fields without a personal-data mark"


def test_an_unmarked_field_is_reported() -> None:
    @attrs.frozen
    class Note:
        author: str = attrs.field(metadata=PERSONAL)
        text: str = ""

    assert unclassified_fields(Note) == ("text",)
    assert classification(Note, "author") is Personal.PERSONAL and classification(Note, "text") is None
    bogus = attrs.make_class("Bogus", {"x": attrs.field(metadata={KEY: "personal"})})
    assert unclassified_fields(bogus) == ("x",)  # only a Personal member counts


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_nested_fields_hold_models(cls: type) -> None:
    hints = typing.get_type_hints(cls, vars(importlib.import_module(cls.__module__)))
    for field in attrs.fields(cls):
        if classification(cls, field.name) is Personal.NESTED:
            held = [a for a in _flatten(hints[field.name]) if a is not type(None) and a is not Ellipsis]
            assert held and all(attrs.has(a) for a in held), (cls.__name__, field.name, held)


def _flatten(hint: Any) -> list[Any]:
    args = typing.get_args(hint)
    return [a for arg in args for a in _flatten(arg)] if args else [hint]


def test_the_known_personal_fields() -> None:
    assert personal_fields(ConsentRecord) == ("source",)
    assert personal_fields(DeliveryPreferences) == ("instructions",)
    assert "tracking_number" in personal_fields(custdata.domain.Shipment)
    assert set(personal_fields(Message)) >= {"recipient", "subject", "text", "html", "headers", "metadata"}
    assert classification(custdata.domain.Customer, "id") is Personal.IDENTIFIER
    assert Personal.PERSONAL.masked and Personal.PERSONAL.erased and Personal.LINKED.erased
    assert not Personal.LINKED.masked and not Personal.IDENTIFIER.erased


def test_reprs_mask_consent_sources_and_delivery_instructions() -> None:
    record = ConsentRecord(
        ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, T0, source="checkout by Jane jane@x.org"
    )
    prefs = Preferences(delivery=DeliveryPreferences(window="evening", instructions="leave with Mr Smith, no 4"))
    for text in (repr(record), repr(prefs), repr(prefs.delivery)):
        assert "Jane" not in text and "jane@" not in text and "Smith" not in text
    assert "source='c***'" in repr(record) and "evening" in repr(prefs)  # linked data is shown
    assert repr(Preferences()) == masked_repr(Preferences())


def _all_models(obj: Any) -> list[Any]:
    """``obj`` and every model inside it, so that each one's own repr() is checked."""
    found = [obj]
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        for item in value if isinstance(value, tuple) else (value,):
            if attrs.has(type(item)):
                found += _all_models(item)
    return found


def _texts(obj: Any) -> list[str]:
    # str() of an email address or phone number is the address or number itself, on purpose: only repr() masks
    return [repr(model) for model in _all_models(obj)] + [str(obj)]


records = st.one_of(cs.customers(), cs.orders(), cs.communication_events(), cs.activity_events())


@settings(max_examples=40)
@given(records)
def test_no_personal_value_shows_in_any_repr(record: Any) -> None:
    model, needles = with_sentinels(record)
    assert needles
    assert not leaks(_texts(model), needles)


@settings(max_examples=20)
@given(records)
def test_the_sentinels_reach_every_personal_field(record: Any) -> None:
    model, needles = with_sentinels(record)
    values = " ".join(
        str(item) for _, v in personal_values(model) for item in (v if isinstance(v, tuple) else (v,))
    ).lower()
    assert all(n.lower() in values for n in needles)


def _message(channel: Channel, s: Sentinels) -> Message:
    recipient = {
        Channel.EMAIL: f"{s.text()}@example.com",
        Channel.SMS: "+4930901820",
        Channel.WEBHOOK: f"https://hooks.example/{s.text()}?to={s.text()}",  # the receiving host is shown
    }.get(channel, f"device-{s.text()}")
    s.needles.append("4930901820")
    return Message(
        idempotency_key="ord_1:order_shipped", channel=channel, topic="order_shipped", recipient=recipient,
        text=f"Hello {s.text()}", subject=f"For {s.text()}", html=f"<p>{s.text()}</p>",
        headers={"X-Note": s.text()}, metadata={"note": s.text()}, customer_id="cus_1",
    )  # fmt: skip


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS, Channel.WEBHOOK, Channel.PUSH])
def test_a_rendered_message_and_its_outbox_entry_print_no_personal_text(channel: Channel) -> None:
    s = Sentinels()
    message = _message(channel, s)
    entry = OutboxEntry(
        id="msg_1", idempotency_key=message.idempotency_key, customer_id="cus_1", topic=message.topic,
        channel=channel, created_at=T0, available_at=T0, message=message, last_error=f"550 {s.text()} unknown",
    )  # fmt: skip
    timer = Timer(
        key="t1", rule="review", topic=Topic.REVIEW_REQUEST, customer_id="cus_1", due_at=T0, created_at=T0,
        trigger={"note": s.text()},
    )  # fmt: skip
    texts = [repr(message), repr(entry), repr(timer), str(entry), str(message)]
    assert not leaks(texts, s.needles)
    assert leaks([str(dict(message.headers))], s.needles)  # the sentinels are there to be found


def test_the_phone_number_sentinels_are_checked() -> None:
    s = Sentinels()
    phone = PhoneNumber.parse("+4930901820")
    assert s.replace(phone, "PhoneNumber") is phone and "+4930901820" in s.needles
    assert leaks(["call +4930901820"], s.needles)
