"""The consent ledger: appended records, derived state, double opt-in, history, and the sending policy's view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from privacy_builders import T0, customer

from custdata import Channel, ConsentPurpose, ConsentRecord, ConsentState, OptInLevel, Topic, ValidationError
from custdata.privacy import consent
from custdata.workflows.policy import Policy

M, E, S = ConsentPurpose.MARKETING, Channel.EMAIL, Channel.SMS


def test_grant_then_withdraw_derives_the_latest_state_and_keeps_history() -> None:
    c = customer()
    assert consent.current_state(c, M, E) is ConsentState.NOT_SUBSCRIBED
    consent.grant(c, M, E, at=T0, source="checkout")
    assert consent.allows(c, "marketing", "email")
    consent.withdraw(c, M, E, at=T0 + timedelta(days=3), source="unsubscribe link")
    assert consent.current_state(c, M, E) is ConsentState.UNSUBSCRIBED
    assert not consent.allows(c, M, E)
    assert [r.state for r in consent.history(c, M, E)] == [ConsentState.SUBSCRIBED, ConsentState.UNSUBSCRIBED]
    assert consent.history(c, M, S) == ()
    assert consent.current(c)[(M, E)].source == "unsubscribe link"


def test_double_opt_in_is_pending_until_confirmed() -> None:
    c = customer()
    consent.request_confirmation(c, M, E, at=T0, source="newsletter form")
    assert consent.current_state(c, M, E) is ConsentState.PENDING
    assert not consent.allows(c, M, E)
    record = consent.confirm(c, M, E, at=T0 + timedelta(minutes=5), source="confirmation link")
    assert record.state is ConsentState.SUBSCRIBED and record.opt_in_level is OptInLevel.CONFIRMED
    assert consent.allows(c, M, E)
    with pytest.raises(ValidationError, match="no confirmation is pending"):
        consent.confirm(c, M, E, at=T0 + timedelta(minutes=6), source="confirmation link")


def test_confirm_without_request_and_bad_arguments_are_refused() -> None:
    c = customer()
    with pytest.raises(ValidationError, match="no confirmation is pending"):
        consent.confirm(c, M, E, at=T0, source="link")
    with pytest.raises(ValidationError, match="purpose: must be one of"):
        consent.grant(c, "spam", E, at=T0, source="x")
    with pytest.raises(ValidationError, match="channel: must be one of"):
        consent.grant(c, M, "pigeon", at=T0, source="x")
    with pytest.raises(ValidationError, match="opt_in_level"):
        consent.grant(c, M, E, at=T0, source="x", level="triple")
    with pytest.raises(ValidationError, match="source"):
        consent.grant(c, M, E, at=T0, source="")
    with pytest.raises(ValidationError, match="recorded_at"):
        consent.grant(c, M, E, at=T0.replace(tzinfo=None), source="x")
    assert c.consents == ()


def test_backdated_grants_are_refused_backdated_withdrawals_take_effect() -> None:
    c = customer()
    consent.grant(c, M, E, at=T0, source="checkout")
    with pytest.raises(ValidationError, match="earlier than the latest consent record"):
        consent.grant(c, M, E, at=T0 - timedelta(seconds=1), source="import", level="confirmed")
    assert consent.current(c)[(M, E)].opt_in_level is OptInLevel.SINGLE
    record = consent.withdraw(c, M, E, at=T0 - timedelta(seconds=1), source="import")
    assert record.recorded_at == T0 and not consent.allows(c, M, E)
    assert consent.history(c, M, E)[-1] == record
    consent.withdraw(c, M, S, at=T0 - timedelta(days=1), source="import")  # another channel: its own order
    assert consent.current(c)[(M, S)].recorded_at == T0 - timedelta(days=1)


def test_erased_customers_take_no_consent() -> None:
    c = customer()
    consent.grant(c, M, E, at=T0, source="checkout")
    consent.redact_ledger(c, at=T0 + timedelta(days=1))
    assert consent.current_state(c, M, E) is ConsentState.REDACTED
    c.redacted_at = T0 + timedelta(days=1)
    with pytest.raises(ValidationError, match="was erased"):
        consent.grant(c, M, E, at=T0 + timedelta(days=2), source="checkout")


_actions = st.lists(
    st.tuples(
        st.sampled_from(["grant", "request", "confirm", "withdraw"]),
        st.sampled_from(list(ConsentPurpose)),
        st.sampled_from([Channel.EMAIL, Channel.SMS, Channel.PUSH]),
        st.integers(min_value=0, max_value=3),
    ),
    max_size=25,
)


@given(_actions)
def test_derived_state_is_what_the_sending_policy_sees(actions: list[tuple[str, ConsentPurpose, Channel, int]]) -> None:
    c = customer()
    at = T0
    for action, purpose, channel, step in actions:
        at += timedelta(minutes=step)  # equal times happen: the record appended last still wins
        try:
            if action == "grant":
                consent.grant(c, purpose, channel, at=at, source="t")
            elif action == "request":
                consent.request_confirmation(c, purpose, channel, at=at, source="t")
            elif action == "confirm":
                consent.confirm(c, purpose, channel, at=at, source="t")
            else:
                consent.withdraw(c, purpose, channel, at=at, source="t")
        except ValidationError:
            assert action == "confirm"
    expected: dict[tuple[ConsentPurpose, Channel], ConsentState] = {}
    for record in c.consents:
        expected[(record.purpose, record.channel)] = record.state
    policy = Policy(caps=())
    c.private_metadata = {"contacts": {"push": "device-token"}}
    for channel in (Channel.EMAIL, Channel.SMS, Channel.PUSH):
        state = expected.get((M, channel), ConsentState.NOT_SUBSCRIBED)
        assert consent.current_state(c, M, channel) is state
        assert c.consent(M, channel) == consent.current(c).get((M, channel))
        decision = policy.decide(c, Topic.REVIEW_REQUEST, [channel], T0)
        assert decision.send is (state is ConsentState.SUBSCRIBED), (state, decision)
    assert list(consent.history(c)) == sorted(c.consents, key=lambda r: r.recorded_at)


def test_future_dated_records_are_refused() -> None:
    c = customer()
    later = datetime.now(UTC) + timedelta(days=1)
    for record in (consent.grant, consent.request_confirmation):
        with pytest.raises(ValidationError, match="at: is in the future"):
            record(c, M, E, at=later, source="import")
    assert c.consents == ()
    withdrawal = consent.withdraw(c, M, S, at=later, source="unsubscribe link")  # takes effect now, not tomorrow
    consents: tuple[ConsentRecord, ...] = c.consents  # read afresh: withdraw() changed them
    assert withdrawal.recorded_at <= datetime.now(UTC) and consents == (withdrawal,)
    soon = datetime.now(UTC) + consent.CLOCK_SKEW / 2  # within what two clocks may disagree by
    consent.grant(c, M, E, at=soon, source="checkout")
    withdrawal = consent.withdraw(c, M, E, at=datetime.now(UTC), source="unsubscribe link")
    assert withdrawal.recorded_at == soon and not consent.allows(c, M, E)


def test_a_ledger_locked_by_an_old_future_dated_grant_opens_again() -> None:
    c = customer()
    c.consents = (ConsentRecord(M, E, ConsentState.SUBSCRIBED, datetime(2999, 1, 1, tzinfo=UTC), source="old import"),)
    now = datetime.now(UTC)
    consent.withdraw(c, M, E, at=now, source="unsubscribe link")
    assert not consent.allows(c, M, E)
    assert not Policy(caps=()).decide(c, Topic.REVIEW_REQUEST, [E], now).send
    consent.request_confirmation(c, M, E, at=now, source="newsletter form")  # a new decision, in force
    consent.confirm(c, M, E, at=now, source="confirmation link")
    assert consent.allows(c, M, E)
    consent.redact_ledger(c, at=now)
    assert consent.current_state(c, M, E) is ConsentState.REDACTED


_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC))
_states = st.sampled_from([ConsentState.SUBSCRIBED, ConsentState.PENDING, ConsentState.UNSUBSCRIBED])


@given(
    legacy=st.lists(st.tuples(_states, _times), max_size=3),
    actions=st.lists(
        st.tuples(st.sampled_from(["grant", "request", "confirm", "withdraw", "erase"]), _times), max_size=10
    ),
)
def test_the_last_decision_is_in_force_and_a_withdrawal_always_takes_effect(
    legacy: list[tuple[ConsentState, datetime]], actions: list[tuple[str, datetime]]
) -> None:
    c = customer()
    # a ledger as earlier versions could leave it (imported from a file, read from untrusted JSON): any dates
    c.consents = tuple(ConsentRecord(M, E, state, at, OptInLevel.SINGLE, "legacy") for state, at in legacy)
    record_of = {"grant": consent.grant, "request": consent.request_confirmation, "confirm": consent.confirm}
    for action, at in actions:
        now = datetime.now(UTC)
        if action == "erase":
            consent.redact_ledger(c, at=min(at, now))
            assert not consent.allows(c, M, E)
            continue
        if action == "withdraw":
            record = consent.withdraw(c, M, E, at=at, source="unsubscribe link")  # never refused, even if future
            assert record.recorded_at <= max([datetime.now(UTC), *(r.recorded_at for r in c.consents)])
            assert not consent.allows(c, M, E) and c.consent(M, E) == record
            assert not Policy(caps=()).decide(c, Topic.REVIEW_REQUEST, [E], now).send
            continue
        before = c.consents
        try:
            record = record_of[action](c, M, E, at=at, source="t")
        except ValidationError as exc:
            assert c.consents == before
            why = str(exc)
            assert at > now or "earlier than the latest" in why or "no confirmation is pending" in why, why
        else:
            assert record.recorded_at <= max([now + consent.CLOCK_SKEW, *(r.recorded_at for r in before)])
            assert c.consent(M, E) == record  # what was decided last is in force
            assert consent.allows(c, M, E) is (record.state is ConsentState.SUBSCRIBED)
