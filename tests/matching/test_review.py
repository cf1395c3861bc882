"""The review queue on every store: decisions come back as merges or as "not the same person" marks; the marks
hold through merges, merge chains, undo and erasure; stale, forged and unproposed decisions change nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from custdata import Address, Customer, EmailAddress, PhoneNumber, ValidationError
from custdata.matching import Matcher
from custdata.matching.review import (
    NOT_SAME_KEY,
    ReviewDecision,
    Verdict,
    apply_review_decisions,
    export_review,
    not_same_pairs,
    pair_id,
    read_decisions,
    review_pairs,
)
from custdata.merge import MergeRules, UndoRefusedError, merge, preview, undo
from custdata.merge.rules import Rule
from custdata.privacy import erase_customer
from custdata.storage import Store, open_store

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        yield request.getfixturevalue("new_store")()
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/shop.db"
    with open_store(url) as opened:
        yield opened


def person(
    customer_id: str,
    *,
    given: str = "Jon",
    family: str = "Smith",
    email: str | None = "jon@example.com",
    phone: str | None = "+4930555123",
    street: str | None = None,
    days: int = 0,
    guest: bool = True,
    marks: tuple[str, ...] = (),
) -> Customer:
    addresses = (
        (Address(street_address_1=street, postal_code="10435", city="Berlin", country_code="DE"),) if street else ()
    )
    return Customer(
        customer_id,
        created_at=T0 + timedelta(days=days),
        updated_at=T0 + timedelta(days=days),
        given_name=given,
        family_name=family,
        email=EmailAddress.parse(email) if email else None,
        phone=PhoneNumber.parse(phone) if phone else None,
        addresses=addresses,
        is_guest=guest,
        private_metadata={NOT_SAME_KEY: list(marks)} if marks else {},
    )


def seed(store: Store, *customers: Customer) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add_many(list(customers))
        uow.commit()


def get(store: Store, customer_id: str) -> Customer:
    with store.unit_of_work() as uow:
        return uow.customers.get(customer_id)


def listed(store: Store) -> set[tuple[str, str]]:
    return {pair.ids for pair in review_pairs(store)}


def decision(store: Store, left: str, right: str, verdict: Verdict) -> ReviewDecision:
    a, b = sorted((left, right))
    return ReviewDecision(pair_id(get(store, a), get(store, b)), a, b, verdict)


def merge_by_hand(store: Store, survivor: str, merged: str, rules: MergeRules | None = None) -> str:
    with store.unit_of_work() as uow:
        record = merge(uow, preview(uow, survivor, [merged], rules=rules))
        uow.commit()
    return str(record.id)


# -- not the same --------------------------------------------------------------------------------------------


def test_a_pair_marked_not_the_same_is_never_proposed_again(store: Store) -> None:
    seed(store, person("cus_a"), person("cus_b", given="John", email="js@example.net", days=3))
    assert listed(store) == {("cus_a", "cus_b")}
    report = apply_review_decisions(store, [decision(store, "cus_a", "cus_b", Verdict.NOT_SAME)])
    assert (len(report.not_same), report.merged, report.refused) == (1, (), ())
    assert listed(store) == set()
    # ids only, on both sides
    assert get(store, "cus_a").private_metadata == {NOT_SAME_KEY: ["cus_b"]}
    assert get(store, "cus_b").private_metadata == {NOT_SAME_KEY: ["cus_a"]}
    # a "same" decision for the pair afterwards is refused, whatever its pair id
    again = apply_review_decisions(store, [decision(store, "cus_a", "cus_b", Verdict.SAME)])
    assert again.merged == () and "not the same person" in again.refused[0].reason


def test_the_matcher_leaves_out_pairs_given_as_not_same() -> None:
    records = [
        {"id": "a", "first_name": "Jon", "last_name": "Smith", "phone": "+4930555123"},
        {"id": "b", "first_name": "Jon", "last_name": "Smith", "phone": "+4930555123"},
        {"id": "c", "first_name": "Jon", "last_name": "Smith", "phone": "+4930555123"},
    ]
    matcher = Matcher()
    assert {p.ids for p in matcher.find_duplicates(records)} == {("a", "b"), ("a", "c"), ("b", "c")}
    assert {p.ids for p in matcher.find_duplicates(records, not_same=[("c", "a")])} == {("a", "b"), ("b", "c")}
    with pytest.raises(ValidationError, match=r"not_same\[0\]"):
        matcher.find_duplicates(records, not_same=[("a",)])  # type: ignore[list-item]


def test_a_survivor_keeps_both_sides_marks_whatever_the_rule(store: Store) -> None:
    seed(
        store,
        person("cus_a", marks=("cus_z",), days=10),
        person("cus_m", marks=("cus_x",), days=1),
        person("cus_x", given="Jonathan", family="Smithers", email="x@example.org", phone="+4930999000"),
        person("cus_z", given="Zoe", family="Zed", email="z@example.org", phone="+4930888000"),
    )
    for rule in (None, MergeRules(fields={"private_metadata": Rule.SURVIVOR})):
        merged = merge_by_hand(store, "cus_a", "cus_m", rules=rule)
        assert get(store, "cus_a").private_metadata[NOT_SAME_KEY] == ["cus_x", "cus_z"]
        with store.unit_of_work() as uow:
            undo(uow, merged)
            uow.commit()
        # undone: each side has its own marks again
        assert get(store, "cus_a").private_metadata[NOT_SAME_KEY] == ["cus_z"]
        assert get(store, "cus_m").private_metadata[NOT_SAME_KEY] == ["cus_x"]


def test_marks_hold_through_merge_chains_and_undo(store: Store) -> None:
    """X and M were decided to be different people; then X went into Y and M into A, each survivor more recent
    and with marks of its own (whose keys would win a plain metadata merge). A and Y look alike, yet are never
    proposed; undoing one merge brings the original pair back apart."""
    seed(
        store,
        person("cus_x", days=0),
        person("cus_m", given="John", email="js@example.net", days=1),
        person("cus_y", days=5, marks=("cus_q",)),
        person("cus_a", given="John", email="js@example.net", days=6, marks=("cus_r",)),
        person("cus_q", given="Quentin", family="Quist", email="q@example.org", phone="+4930111000"),
        person("cus_r", given="Rita", family="Roe", email="r@example.org", phone="+4930222000"),
    )
    report = apply_review_decisions(store, [decision(store, "cus_m", "cus_x", Verdict.NOT_SAME)])
    assert len(report.not_same) == 1
    merge_by_hand(store, "cus_y", "cus_x")
    into_a = merge_by_hand(store, "cus_a", "cus_m")
    assert ("cus_a", "cus_y") in not_same_pairs(store)
    assert ("cus_a", "cus_y") not in listed(store)
    with store.unit_of_work() as uow:
        undo(uow, into_a)
        uow.commit()
    # M is back, still marked against X (now inside Y); A is a person of its own again
    assert ("cus_m", "cus_y") in not_same_pairs(store)
    assert ("cus_a", "cus_y") not in not_same_pairs(store)
    assert ("cus_m", "cus_y") not in listed(store)


def test_a_mark_recorded_after_a_merge_is_a_change_that_undo_respects(store: Store) -> None:
    """Marking the survivor is an edit like any other: undoing the merge before it would lose the mark, so the
    undo is refused and the mark stays."""
    seed(
        store,
        person("cus_a", days=0),
        person("cus_m", email="jon.s@example.org", days=1),
        person("cus_x", given="John", email="js@example.net", days=2),
    )
    into_a = merge_by_hand(store, "cus_a", "cus_m")
    apply_review_decisions(store, [decision(store, "cus_a", "cus_x", Verdict.NOT_SAME)])
    with store.unit_of_work() as uow, pytest.raises(UndoRefusedError, match="changed since"):
        undo(uow, into_a)
    assert get(store, "cus_a").private_metadata == {NOT_SAME_KEY: ["cus_x"]}
    assert ("cus_a", "cus_x") not in listed(store)


def test_marks_after_erasure_are_harmless_ids(store: Store) -> None:
    seed(store, person("cus_a"), person("cus_b", given="John", email="js@example.net", days=3))
    apply_review_decisions(store, [decision(store, "cus_a", "cus_b", Verdict.NOT_SAME)])
    erase_customer(store, "cus_a")
    erased = get(store, "cus_a")
    assert erased.redacted_at is not None and NOT_SAME_KEY not in erased.private_metadata
    # the other side keeps only an id, which names nobody; the erased customer is matched no more
    assert get(store, "cus_b").private_metadata == {NOT_SAME_KEY: ["cus_a"]}
    assert listed(store) == set()
    refused = apply_review_decisions(
        store, [ReviewDecision(pair_id(erased, get(store, "cus_b")), "cus_a", "cus_b", Verdict.SAME)]
    )
    assert refused.merged == () and "erased" in refused.refused[0].reason


# -- same person ---------------------------------------------------------------------------------------------


def test_same_person_merges_through_the_merge_service_and_can_be_undone(store: Store) -> None:
    seed(store, person("cus_a", days=2), person("cus_b", given="John", email="js@example.net", days=1))
    report = apply_review_decisions(store, [decision(store, "cus_a", "cus_b", Verdict.SAME)])
    (done,) = report.merged
    assert (done.survivor, done.merged) == ("cus_b", "cus_a")  # the older one survives
    assert get(store, "cus_a").merged_into == "cus_b"
    assert listed(store) == set()
    with store.unit_of_work() as uow:
        undo(uow, done.merge_id)
        uow.commit()
    assert get(store, "cus_a").merged_into is None


def test_a_registered_account_survives_and_keeps_its_own_contact_points(store: Store) -> None:
    seed(
        store,
        person("cus_guest", given="John", email="intruder@example.net", days=0),
        person("cus_account", days=10, guest=False),
        person("cus_account2", given="Jonny", email="j2@example.com", days=11, guest=False),
    )
    pairs = {pair.ids: pair for pair in review_pairs(store)}
    assert ("cus_account", "cus_guest") in pairs and ("cus_account", "cus_account2") in pairs
    report = apply_review_decisions(
        store,
        [
            decision(store, "cus_account", "cus_account2", Verdict.SAME),
            decision(store, "cus_guest", "cus_account", Verdict.SAME),
        ],
    )
    assert "registered accounts" in report.refused[0].reason
    (done,) = report.merged
    assert (done.survivor, done.merged) == ("cus_account", "cus_guest")
    account = get(store, "cus_account")
    assert not account.is_guest and account.email == EmailAddress.parse("jon@example.com")
    assert get(store, "cus_account2").merged_into is None


def test_one_file_can_merge_a_customer_and_decide_its_other_pair(store: Store) -> None:
    seed(
        store,
        person("cus_a", days=0),
        person("cus_b", given="John", email="js@example.net", days=1),
        person("cus_c", email="jon.s@example.org", days=2),
    )
    decisions = [
        decision(store, "cus_a", "cus_b", Verdict.SAME),
        decision(store, "cus_a", "cus_c", Verdict.NOT_SAME),
        decision(store, "cus_b", "cus_c", Verdict.SKIP),
    ]
    report = apply_review_decisions(store, decisions)
    assert [m.merged for m in report.merged] == ["cus_b"]
    assert [d.right for d in report.not_same] == ["cus_c"]
    assert len(report.skipped) == 1 and report.refused == ()
    assert listed(store) == set()


# -- refused ---------------------------------------------------------------------------------------------------


def test_a_pair_that_a_merge_in_the_same_file_makes_proposable_was_still_never_proposed(store: Store) -> None:
    """A~B is proposed; A and C are not (C shares only B's email and name). Once B is in A they would be, but the file's
    decision on A and C was not taken on a proposed pair, whatever its pair id says."""
    seed(
        store,
        person("cus_a", email="jon@example.com", days=0),
        person("cus_b", email="js@example.net", days=1),
        person("cus_c", email="js@example.net", phone=None, days=2),
    )
    assert ("cus_a", "cus_b") in listed(store) and ("cus_a", "cus_c") not in listed(store)
    forged = decision(store, "cus_a", "cus_c", Verdict.SAME)
    report = apply_review_decisions(store, [decision(store, "cus_a", "cus_b", Verdict.SAME), forged])
    assert [m.merged for m in report.merged] == ["cus_b"]
    assert [r.decision for r in report.refused] == [forged] and "not proposed" in report.refused[0].reason
    assert get(store, "cus_c").merged_into is None


def test_a_decision_on_a_stale_page_is_refused(store: Store) -> None:
    seed(store, person("cus_a"), person("cus_b", given="John", email="js@example.net", days=3))
    taken = decision(store, "cus_a", "cus_b", Verdict.SAME)
    with store.unit_of_work() as uow:
        changed = uow.customers.get("cus_b")
        uow.customers.update(attrs.evolve(changed, family_name="Smith-Jones"))
        uow.commit()
    report = apply_review_decisions(store, [taken])
    assert report.merged == () and "changed since" in report.refused[0].reason
    assert get(store, "cus_a").merged_into is None and get(store, "cus_b").merged_into is None


def test_a_valid_pair_id_of_a_pair_never_proposed_is_refused(store: Store) -> None:
    seed(
        store,
        person("cus_a"),
        person("cus_far", given="Maria", family="Garcia", email="mg@example.org", phone="+4930777000"),
    )
    assert listed(store) == set()
    for verdict in (Verdict.SAME, Verdict.NOT_SAME):
        report = apply_review_decisions(store, [decision(store, "cus_a", "cus_far", verdict)])
        assert "not proposed" in report.refused[0].reason
    assert get(store, "cus_a").merged_into is None and get(store, "cus_a").private_metadata == {}


# -- the files -----------------------------------------------------------------------------------------------

PERSONAL = ("Adelheid", "Quenstedt", "adelheid.q", "4930901820", "Kastanienallee", "10435", "Berlin")


def _account_and_copy(store: Store) -> None:
    seed(
        store,
        person(
            "cus_account",
            given="Adelheid",
            family="Quenstedt",
            email="adelheid.q@example.org",
            phone="+4930901820",
            street="Kastanienallee 17",
            guest=False,
        ),
        person(
            "cus_copy",
            given="Adelheid",
            family="Quenstedt",
            email="other@example.net",
            phone="+4930901820",
            street="Kastanienallee 17",
            days=4,
        ),
    )


@pytest.mark.parametrize("kind", ["csv", "html"])
def test_review_files_hold_no_personal_value_unless_revealed(tmp_path: Path, kind: str) -> None:
    with open_store("memory://") as store:
        _account_and_copy(store)
        result = review_pairs(store)
        assert export_review(result, tmp_path / f"masked.{kind}", store, format=kind) == 1
        assert export_review(result, tmp_path / f"shown.{kind}", store, format=kind, reveal=True) == 1
    masked = (tmp_path / f"masked.{kind}").read_text(encoding="utf-8")
    shown = (tmp_path / f"shown.{kind}").read_text(encoding="utf-8")
    assert "cus_account" in masked and "rv1-" in masked
    for value in PERSONAL:
        assert value.lower() not in masked.lower(), value
        assert value.lower() in shown.lower(), value


def test_the_review_csv_with_its_decision_column_filled_in_is_a_decisions_file(tmp_path: Path) -> None:
    with open_store("memory://") as store:
        _account_and_copy(store)
        export_review(review_pairs(store), tmp_path / "queue.csv", store, reveal=True)
        rows = list(csv.DictReader(io.StringIO((tmp_path / "queue.csv").read_text(encoding="utf-8"))))
        assert rows[0]["left_phone"].startswith("'+")  # a spreadsheet shows it, never runs it
        rows[0]["decision"] = "same"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        (tmp_path / "decided.csv").write_text(out.getvalue(), encoding="utf-8")
        report = apply_review_decisions(store, tmp_path / "decided.csv")
        assert [(m.survivor, m.merged) for m in report.merged] == [("cus_account", "cus_copy")]


def test_a_malformed_decisions_file_names_the_line_and_field() -> None:
    text = "pair_id,left,right,decision\nrv1-" + "0" * 32 + ",cus_a,cus_b,maybe\nnope,cus_a,,same\n"
    with pytest.raises(ValidationError) as caught:
        read_decisions(text.encode())
    paths = {p.path for p in caught.value.problems}
    assert paths == {"line 2.decision", "line 3.pair_id", "line 3.right"}
    with pytest.raises(ValidationError, match="line 1"):
        read_decisions(b'{"format": "custdata-review-decisions",')
    with pytest.raises(ValidationError, match=r"decisions\[1\]\.pair_id"):
        one = {"pair_id": "rv1-" + "0" * 32, "left": "a", "right": "b", "decision": "skip"}
        read_decisions(("[" + ",".join([str(one).replace("'", '"')] * 2) + "]").encode())
