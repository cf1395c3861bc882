"""The send policy: channels, consent, quiet hours and frequency caps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import (
    Channel,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    EmailAddress,
    PhoneNumber,
    Preferences,
    Topic,
    ValidationError,
)
from custdata.workflows import FrequencyCap, Policy, quiet_until

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


def customer(**kwargs: Any) -> Customer:
    fields: dict[str, Any] = {
        "id": "cus_1",
        "created_at": NOW - timedelta(days=400),
        "email": EmailAddress.parse("jane@example.com"),
        "phone": PhoneNumber.parse("+4930123456"),
    }
    fields.update(kwargs)
    return Customer(**fields)


def consent(channel: Channel, state: ConsentState, days_ago: int = 10) -> ConsentRecord:
    return ConsentRecord(ConsentPurpose.MARKETING, channel, state, NOW - timedelta(days=days_ago))


def test_transactional_goes_out_on_the_first_usable_channel() -> None:
    policy = Policy()
    decision = policy.decide(customer(email=None), Topic.ORDER_SHIPPED, [Channel.EMAIL, Channel.SMS], NOW)
    assert decision.send and decision.channel == Channel.SMS and decision.recipient == "+4930123456"


def test_an_unusable_channel_is_suppressed_with_the_reason() -> None:
    decision = Policy().decide(customer(email=None, phone=None), Topic.ORDER_SHIPPED, [Channel.EMAIL, Channel.SMS], NOW)
    assert not decision.send
    assert decision.channel == Channel.EMAIL
    assert decision.reason == "no email address; no sms address"


def test_push_and_chat_handles_come_from_private_metadata() -> None:
    person = customer(private_metadata={"contacts": {"push": "device-token-1"}})
    decision = Policy().decide(person, Topic.ORDER_SHIPPED, [Channel.PUSH], NOW)
    assert decision.recipient == "device-token-1"


def test_marketing_needs_a_subscribed_opt_in_on_that_channel() -> None:
    policy = Policy()
    nobody = policy.decide(customer(), Topic.REVIEW_REQUEST, [Channel.EMAIL], NOW)
    assert nobody.reason == "no marketing consent on email (no recorded opt-in)"
    withdrawn = customer(
        consents=(
            consent(Channel.EMAIL, ConsentState.SUBSCRIBED, 30),
            consent(Channel.EMAIL, ConsentState.UNSUBSCRIBED),
        )
    )
    assert policy.decide(withdrawn, Topic.REVIEW_REQUEST, [Channel.EMAIL], NOW).reason == (
        "no marketing consent on email (consent unsubscribed)"
    )
    sms_only = customer(consents=(consent(Channel.SMS, ConsentState.SUBSCRIBED),))
    decision = policy.decide(sms_only, Topic.REVIEW_REQUEST, [Channel.EMAIL, Channel.SMS], NOW)
    assert decision.send and decision.channel == Channel.SMS
    # transactional messages need no marketing consent, even after an unsubscribe
    assert policy.decide(withdrawn, Topic.DELIVERY_DELAYED, [Channel.EMAIL], NOW).send


def test_quiet_hours_defer_to_their_end_in_the_customers_time_zone() -> None:
    night = Preferences(channels=(Channel.SMS,), quiet_hours_start=time(21), quiet_hours_end=time(8))
    person = customer(preferences=night, timezone="America/New_York")
    at = datetime(2024, 6, 4, 2, 30, tzinfo=UTC)  # 22:30 in New York
    decision = Policy().decide(person, Topic.OUT_FOR_DELIVERY, [Channel.SMS], at)
    assert decision.send
    assert decision.not_before == datetime(2024, 6, 4, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    # email does not interrupt: transactional email goes now
    assert Policy().decide(person, Topic.OUT_FOR_DELIVERY, [Channel.EMAIL], at).not_before is None


def test_default_quiet_hours_hold_marketing_on_every_channel() -> None:
    policy = Policy(default_quiet_hours=(time(20), time(9)), default_timezone="Europe/Berlin")
    person = customer(consents=(consent(Channel.EMAIL, ConsentState.SUBSCRIBED),))
    at = datetime(2024, 6, 3, 19, 0, tzinfo=UTC)  # 21:00 in Berlin
    decision = policy.decide(person, Topic.CART_REMINDER, [Channel.EMAIL], at)
    assert decision.not_before == datetime(2024, 6, 4, 7, 0, tzinfo=UTC)


def test_frequency_caps_suppress_beyond_the_limit() -> None:
    policy = Policy(caps=(FrequencyCap(2, timedelta(days=7)),))
    person = customer(consents=(consent(Channel.EMAIL, ConsentState.SUBSCRIBED),))
    asked: list[FrequencyCap] = []

    def recent(cap: FrequencyCap) -> int:
        asked.append(cap)
        return 2

    decision = policy.decide(person, Topic.RE_ENGAGEMENT, [Channel.EMAIL], NOW, recent)
    assert decision.reason == "frequency cap: at most 2 such messages in 7 days"
    assert Policy().decide(person, Topic.ORDER_SHIPPED, [Channel.EMAIL], NOW, recent).send  # caps cover marketing
    assert len(asked) == 1


@given(
    start=st.times(),
    end=st.times(),
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
)
def test_a_deferral_ends_outside_the_quiet_spell_within_a_day(
    start: time, end: time, moment: datetime, zone: str
) -> None:
    until = quiet_until(moment, start, end, zone)
    local = moment.astimezone(ZoneInfo(zone)).time()
    quiet = (start <= local < end) if start < end else (local >= start or local < end)
    if start == end or not quiet:
        assert until is None
        return
    assert until is not None
    assert moment < until <= moment + timedelta(hours=26)
    assert quiet_until(until, start, end, zone) is None  # the message goes out once the spell is over


@given(st.lists(st.sampled_from(list(Channel)), min_size=1, max_size=4, unique=True), st.data())
def test_marketing_is_never_decided_without_consent_on_the_chosen_channel(
    channels: list[Channel], data: st.DataObject
) -> None:
    states = data.draw(st.dictionaries(st.sampled_from(list(Channel)), st.sampled_from(list(ConsentState))))
    person = customer(
        consents=tuple(consent(c, s) for c, s in states.items()),
        private_metadata={"contacts": {c.value: "handle" for c in Channel}},
    )
    decision = Policy().decide(person, Topic.CART_REMINDER, channels, NOW)
    if decision.send:
        assert states.get(decision.channel) == ConsentState.SUBSCRIBED
    else:
        assert decision.reason and all(states.get(c) != ConsentState.SUBSCRIBED for c in channels)


@given(
    st.sampled_from(["default_timezone", "default_quiet_hours", "caps", "contact", "quiet_channels"]),
    st.one_of(st.none(), st.integers(), st.just("Mars/Olympus"), st.just((1, 2)), st.just(("x",))),
)
def test_policies_name_a_bad_setting(field: str, value: Any) -> None:
    if field == "default_quiet_hours" and value is None:
        return
    with pytest.raises(ValidationError) as info:
        Policy(**{field: value})
    assert all(p.path.startswith(field) for p in info.value.problems)


def test_caps_name_bad_settings() -> None:
    with pytest.raises(ValidationError) as info:
        FrequencyCap(0, timedelta(0), topics={"nope"})
    assert {p.path for p in info.value.problems} == {"limit", "period", "topics[0]"}
