"""Decisions files are untrusted: whatever a file holds (junk, forged pair ids, pairs never proposed, stale
versions), reading and applying it raises nothing but custdata errors and carries out only decisions on pairs
that were proposed, with the pair id of the customers as they were."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from custdata import CustdataError, Customer, EmailAddress, PhoneNumber, ValidationError
from custdata.matching.review import (
    DECISIONS_FORMAT,
    NOT_SAME_KEY,
    ReviewDecision,
    apply_review_decisions,
    pair_id,
    read_decisions,
    review_pairs,
)
from custdata.storage import Store, open_store

T0 = datetime(2025, 1, 1, tzinfo=UTC)
IDS = ("cus_a", "cus_b", "cus_c", "cus_account", "cus_copy", "cus_far", "cus_none")
PROPOSED = (("cus_a", "cus_b"), ("cus_b", "cus_c"), ("cus_a", "cus_c"), ("cus_account", "cus_copy"))
VERDICTS = ("same", "not_same", "skip", "not the same", "", "SAME", "merge", "yes")


def person(
    customer_id: str,
    *,
    given: str = "Jon",
    family: str = "Smith",
    email: str = "jon@example.com",
    phone: str = "+4930555123",
    days: int = 0,
    guest: bool = True,
) -> Customer:
    return Customer(
        customer_id,
        created_at=T0 + timedelta(days=days),
        given_name=given,
        family_name=family,
        email=EmailAddress.parse(email),
        phone=PhoneNumber.parse(phone),
        is_guest=guest,
    )


def _seed(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add_many(
            [
                person("cus_a", days=0),
                person("cus_b", given="John", email="js@example.net", days=1),
                person("cus_c", email="jon.s@example.org", days=2),
                person("cus_account", given="Ada", family="Lovelace", email="ada@example.org", guest=False, days=3),
                person("cus_copy", given="Ada", family="Lovelace", email="evil@example.net", days=4),
                person("cus_far", given="Maria", family="Garcia", email="mg@example.org", phone="+4930777000"),
            ]
        )
        uow.commit()


def _customers(store: Store) -> dict[str, Customer]:
    with store.unit_of_work() as uow:
        return {str(k): v for k, v in uow.customers.get_many(list(IDS)).items()}


@st.composite
def entries(draw: st.DrawFn, customers: dict[str, Customer], clean: bool) -> Any:
    """One entry of a decisions file: right, forged, stale or (unless ``clean``) junk."""
    if draw(st.integers(0, 3)) == 0:  # a pair that was proposed, mostly
        left, right = draw(st.sampled_from(IDS)), draw(st.sampled_from(IDS))
    else:
        left, right = draw(st.sampled_from(PROPOSED))
    if clean:
        kind = draw(st.sampled_from(["real", "real", "stale", "swapped", "hex"]))
        verdict = draw(st.sampled_from(VERDICTS[:5]))
    else:
        kind = draw(st.sampled_from(["real", "stale", "random", "junk", "swapped"]))
        verdict = draw(st.sampled_from(VERDICTS))
    if kind == "junk":
        return draw(st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=2)))
    key: Any
    if kind == "random":
        key = draw(st.one_of(st.text(max_size=40), st.from_regex(r"rv1-[0-9a-f]{32}", fullmatch=True), st.integers()))
    elif kind == "hex":
        key = draw(st.from_regex(r"rv1-[0-9a-f]{32}", fullmatch=True))
    elif left in customers and right in customers:
        a, b = customers[left], customers[right]
        if kind == "stale":
            b = attrs.evolve(b, version=b.version + draw(st.sampled_from([1, 2, 5])))
        if kind == "swapped":  # the pair id of another pair
            a = customers[draw(st.sampled_from(sorted(customers)))]
        key = pair_id(a, b)
    else:
        key = "rv1-" + "ab" * 16
    return {"pair_id": key, "left": left, "right": right, "decision": verdict}


def _as_file(items: list[Any], as_json: bool, wrapped: bool) -> bytes:
    if as_json:
        body: Any = {"format": DECISIONS_FORMAT, "version": 1, "decisions": items} if wrapped else items
        return json.dumps(body).encode()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["pair_id", "left", "right", "decision"])
    for item in items:
        if isinstance(item, dict):
            writer.writerow([item["pair_id"], item["left"], item["right"], item["decision"]])
        else:
            writer.writerow([item])
    return out.getvalue().encode()


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), as_json=st.booleans(), wrapped=st.booleans())
def test_a_hostile_decisions_file_only_ever_decides_proposed_pairs(
    data: st.DataObject, as_json: bool, wrapped: bool
) -> None:
    with open_store("memory://") as store:
        _seed(store)
        at_start = _customers(store)
        proposed = {p.ids: pair_id(at_start[p.left], at_start[p.right]) for p in review_pairs(store)}
        assert ("cus_a", "cus_b") in proposed and ("cus_account", "cus_copy") in proposed
        clean = data.draw(st.booleans())
        drawn = entries(at_start, clean)
        if clean:
            items = data.draw(st.lists(drawn, min_size=1, max_size=8, unique_by=lambda e: e["pair_id"]))
        else:
            items = data.draw(st.lists(drawn, min_size=1, max_size=8))
        raw = _as_file(items, as_json, wrapped)
        try:
            decisions = read_decisions(raw)
        except ValidationError:
            event("file refused")
            return
        report = apply_review_decisions(store, decisions)
        event(f"merged {bool(report.merged)}, marked {bool(report.not_same)}, refused {bool(report.refused)}")
        decided = [m.decision for m in report.merged] + list(report.not_same)
        for done in decided:
            assert proposed.get((done.left, done.right)) == done.pair_id, done
        after = _customers(store)
        touched = {i for d in decided for i in (d.left, d.right)}
        for key, before in at_start.items():
            if key not in touched:  # nobody else changed
                assert after[key] == before
        for merged in report.merged:
            assert after[merged.merged].merged_into == merged.survivor
            if merged.decision.left == "cus_account" or merged.decision.right == "cus_account":
                assert merged.survivor == "cus_account"
        for customer in after.values():
            marks = customer.private_metadata.get(NOT_SAME_KEY, [])
            assert all(isinstance(m, str) and m in IDS for m in marks)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60)
@given(
    st.one_of(
        _json.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(["format", "version", "decisions", "x"]),
            st.one_of(_json, st.just(DECISIONS_FORMAT), st.just(1)),
        ).map(lambda v: json.dumps(v).encode()),
        st.lists(st.lists(st.text(max_size=12), max_size=5), max_size=5).map(
            lambda rows: "\n".join(",".join(r) for r in [["pair_id", "left", "right", "decision"], *rows]).encode()
        ),
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
    )
)
def test_junk_is_read_as_decisions_or_refused_with_a_custdata_error(raw: bytes) -> None:
    try:
        decisions = read_decisions(raw)
    except CustdataError as exc:
        assert isinstance(exc, ValidationError) and exc.problems
        return
    assert all(isinstance(d, ReviewDecision) for d in decisions)
    with open_store("memory://") as store:
        _seed(store)
        before = _customers(store)
        report = apply_review_decisions(store, decisions)
        assert report.merged == () and report.not_same == ()
        assert _customers(store) == before
