"""No way into a customer's consent ledger can lock a consent: loading, constructing, merging, erasing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from custdata import Channel, ConsentPurpose, ConsentRecord, ConsentState, Customer, OptInLevel, ValidationError
from custdata.merge.rules import MergeRules, combine
from custdata.privacy import consent
from custdata.serialization import from_dict, from_json, to_dict, to_json

M, E = ConsentPurpose.MARKETING, Channel.EMAIL
PAST = datetime(2020, 1, 1, tzinfo=UTC)
_states = st.sampled_from(list(ConsentState))
_offsets = st.timedeltas(min_value=timedelta(days=-3000), max_value=timedelta(days=3000))


def _customer(cid: str = "cus_1", records: tuple[ConsentRecord, ...] = ()) -> Customer:
    c = Customer(id=cid, created_at=PAST)
    c.consents = records  # assigned: the way earlier versions could leave a stored ledger
    return c


def _record(state: ConsentState, at: datetime, source: str = "form") -> ConsentRecord:
    return ConsentRecord(M, E, state, at, OptInLevel.SINGLE, source)


@settings(max_examples=60)
@given(st.lists(st.tuples(_states, _offsets), min_size=1, max_size=4), st.sampled_from(["dict", "json", "init"]))
def test_a_customer_from_outside_data_holds_no_grant_dated_in_the_future(
    ledger: list[tuple[ConsentState, timedelta]], way: str
) -> None:
    now = datetime.now(UTC)
    records = tuple(_record(state, now + offset) for state, offset in ledger)
    payload: dict[str, Any] = to_dict(_customer(records=records))
    try:
        if way == "dict":
            loaded = from_dict(Customer, payload)
        elif way == "json":
            loaded = from_json(Customer, to_json(_customer(records=records)))
        else:
            loaded = Customer(id="cus_1", created_at=PAST, consents=records)
    except ValidationError as exc:
        paths = {p.path for p in exc.problems}
        assert paths and all(p.startswith("consents[") and p.endswith("].recorded_at") for p in paths), paths
        for path in paths:
            i = int(path.split("[")[1].split("]")[0])
            assert records[i].recorded_at > now + consent.CLOCK_SKEW
            assert records[i].state not in (ConsentState.UNSUBSCRIBED, ConsentState.REDACTED)
        return
    # whatever was accepted: the record in force is not a grant dated in the future, and a withdrawal wins now
    latest = loaded.consent(M, E)
    assert latest is not None
    assert latest.state in (ConsentState.UNSUBSCRIBED, ConsentState.REDACTED) or latest.recorded_at <= (
        datetime.now(UTC) + consent.CLOCK_SKEW
    )
    consent.withdraw(loaded, M, E, at=datetime.now(UTC), source="unsubscribe link")
    assert not consent.allows(loaded, M, E)


def test_the_problem_names_the_record() -> None:
    future = datetime.now(UTC) + timedelta(days=365)
    payload = to_dict(
        _customer(records=(_record(ConsentState.UNSUBSCRIBED, PAST), _record(ConsentState.SUBSCRIBED, future)))
    )
    with pytest.raises(ValidationError) as caught:
        from_dict(Customer, payload)
    assert [p.path for p in caught.value.problems] == ["consents[1].recorded_at"]
    assert "future" in caught.value.problems[0].message
    with pytest.raises(ValidationError):
        attrs.evolve(_customer(), consents=(_record(ConsentState.PENDING, future),))
    ended = (_record(ConsentState.SUBSCRIBED, future), _record(ConsentState.UNSUBSCRIBED, future))
    assert not consent.allows(from_dict(Customer, to_dict(_customer(records=ended))), M, E)  # a withdrawal ends it


_past_offsets = st.timedeltas(min_value=timedelta(days=-3000), max_value=timedelta(0))


@settings(max_examples=60)
@given(
    mine=st.lists(st.tuples(_states.filter(lambda s: s != ConsentState.REDACTED), _past_offsets), max_size=3),
    theirs=st.lists(st.tuples(_states.filter(lambda s: s != ConsentState.REDACTED), _offsets), max_size=3),
    legacy=st.booleans(),
)
@example(  # two decisions recorded at one moment
    mine=[],
    theirs=[(ConsentState.NOT_SUBSCRIBED, timedelta(days=1)), (ConsentState.UNSUBSCRIBED, timedelta(days=1))],
    legacy=False,
)
def test_a_merge_never_reopens_a_withdrawn_consent(
    mine: list[tuple[ConsentState, timedelta]], theirs: list[tuple[ConsentState, timedelta]], legacy: bool
) -> None:
    now = datetime.now(UTC)
    survivor = _customer("cus_a", tuple(_record(s, now + o, "a") for s, o in mine))
    if legacy:  # a stored ledger from before the rules: a grant dated next year
        survivor.consents = (*survivor.consents, _record(ConsentState.SUBSCRIBED, now + timedelta(days=365), "old"))
    consent.withdraw(survivor, M, E, at=now, source="unsubscribe link")
    withdrawn_at = survivor.consent(M, E).recorded_at  # type: ignore[union-attr]
    other = _customer("cus_b", tuple(_record(s, now + o, "b") for s, o in theirs))
    try:
        merged, _ = combine(survivor, [other], MergeRules(), now)
    except ValidationError as exc:  # the other ledger holds a grant dated in the future: refused, not merged
        assert all(p.path.endswith(".recorded_at") for p in exc.problems)
        assert any(r.recorded_at > now + consent.CLOCK_SKEW for r in other.consents)
        return
    later = [r for r in other.consents if r.recorded_at > withdrawn_at]
    if not later:  # nothing decided after the withdrawal: it stays in force
        assert not consent.allows(merged, M, E)
        assert merged.consent(M, E).state is ConsentState.UNSUBSCRIBED  # type: ignore[union-attr]
    else:  # a later decision of the same person (on the record merged in) is in force
        newest = max(r.recorded_at for r in later)
        tied = [r for r in later if r.recorded_at == newest]  # decisions of one moment: any, but a refusal wins
        assert merged.consent(M, E) in tied
        if any(r.state is not ConsentState.SUBSCRIBED for r in tied):
            assert not consent.allows(merged, M, E)


def test_records_of_the_same_time_from_two_customers_keep_the_withdrawal_in_force() -> None:
    now = datetime.now(UTC)
    a = _customer("cus_a", (_record(ConsentState.SUBSCRIBED, now - timedelta(days=1)),))
    consent.withdraw(a, M, E, at=now, source="unsubscribe link")
    b = _customer("cus_b", (_record(ConsentState.SUBSCRIBED, a.consents[-1].recorded_at, "checkout"),))
    for survivor, other in ((a, b), (b, a)):
        merged, _ = combine(survivor, [other], MergeRules(), now)
        assert not consent.allows(merged, M, E)


@settings(max_examples=40)
@given(st.lists(st.tuples(_states.filter(lambda s: s != ConsentState.REDACTED), _offsets), max_size=4))
def test_after_an_erasure_its_redaction_is_in_force(ledger: list[tuple[ConsentState, timedelta]]) -> None:
    now = datetime.now(UTC)
    c = _customer(records=(_record(ConsentState.SUBSCRIBED, now - timedelta(days=9)),))
    consent.redact_ledger(c, at=now)
    c.redacted_at = now
    # records that reach the erased customer afterwards, by any way (assigned, merged), open nothing
    c.consents = (*c.consents, *(_record(s, now + o, "later") for s, o in ledger))
    assert not consent.allows(c, M, E)
    assert consent.current_state(c, M, E) is ConsentState.REDACTED
    assert consent.current(c)[(M, E)].state is ConsentState.REDACTED
    with pytest.raises(ValidationError):
        consent.grant(c, M, E, at=now, source="form")
