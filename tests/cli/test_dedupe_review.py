"""``custdata dedupe --review-file`` and ``--apply-decisions`` end to end on a real SQLite file: the queue goes out,
a person's decisions come back, and the next ``dedupe`` lists neither the merged pair nor the one marked as two
people."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import run_cli

from custdata import Address, Customer, EmailAddress, PhoneNumber
from custdata.matching.review import NOT_SAME_KEY
from custdata.storage import open_store

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _person(
    customer_id: str,
    given: str,
    family: str,
    email: str,
    phone: str,
    *,
    days: int,
    guest: bool = True,
    street: str | None = None,
    marks: tuple[str, ...] = (),
) -> Customer:
    home = (Address(street_address_1=street, postal_code="10435", city="Berlin", country_code="DE"),) if street else ()
    return Customer(
        customer_id,
        created_at=T0 + timedelta(days=days),
        given_name=given,
        family_name=family,
        email=EmailAddress.parse(email),
        phone=PhoneNumber.parse(phone),
        addresses=home,
        is_guest=guest,
        private_metadata={NOT_SAME_KEY: list(marks)} if marks else {},
    )


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """An account and a guest copying it; two guests who may be one person; a third person alone."""
    path = tmp_path / "shop.db"
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        uow.customers.add_many(
            [
                _person(
                    "cus_account",
                    "Adelheid",
                    "Quenstedt",
                    "adelheid.q@example.org",
                    "+4930901820",
                    days=0,
                    guest=False,
                    street="Kastanienallee 17",
                ),
                _person(
                    "cus_copy",
                    "Adelheid",
                    "Quenstedt",
                    "other@example.net",
                    "+4930901820",
                    days=9,
                    street="Kastanienallee 17",
                ),
                _person("cus_jon", "Jon", "Smith", "jon@example.com", "+4930555123", days=1),
                _person("cus_john", "John", "Smith", "js@example.net", "+4930555123", days=2),
                _person("cus_maria", "Maria", "Garcia", "mg@example.org", "+4930777000", days=3),
            ]
        )
        uow.commit()
    return path


def _listed(shop: Path, cwd: Path) -> set[tuple[str, str]]:
    done = run_cli("dedupe", "--json", "--store", str(shop), cwd=cwd)
    assert done.returncode == 0, done.stderr
    return {(p["left"], p["right"]) for p in map(json.loads, done.stdout.splitlines())}


def test_review_csv_out_decisions_in_and_the_queue_is_empty(shop: Path, tmp_path: Path) -> None:
    assert _listed(shop, tmp_path) == {("cus_account", "cus_copy"), ("cus_john", "cus_jon")}
    out = run_cli("dedupe", "--store", str(shop), "--review-file", "queue.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "wrote 2 pairs to review" in out.stdout
    rows = list(csv.DictReader(io.StringIO((tmp_path / "queue.csv").read_text(encoding="utf-8"))))
    assert {(r["left"], r["right"]) for r in rows} == {("cus_account", "cus_copy"), ("cus_john", "cus_jon")}
    for row in rows:
        row["decision"] = "same" if row["left"] == "cus_account" else "not_same"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (tmp_path / "decided.csv").write_text(text.getvalue(), encoding="utf-8")

    applied = run_cli("dedupe", "--store", str(shop), "--apply-decisions", "decided.csv", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "merged cus_copy into cus_account" in applied.stdout
    assert "merged 1, marked not the same 1, skipped 0, refused 0" in applied.stdout
    assert _listed(shop, tmp_path) == set()
    with open_store(f"sqlite:///{shop}") as store, store.unit_of_work() as uow:
        account = uow.customers.get("cus_account")
        assert not account.is_guest and account.email == EmailAddress.parse("adelheid.q@example.org")
        assert uow.customers.get("cus_copy").merged_into == "cus_account"
        assert uow.customers.get("cus_jon").private_metadata == {NOT_SAME_KEY: ["cus_john"]}

    # the same file again: every decision is stale now, refused with the reason, exit code 1
    again = run_cli("dedupe", "--store", str(shop), "--apply-decisions", "decided.csv", cwd=tmp_path)
    assert again.returncode == 1, again.stderr
    assert "refused 2" in again.stdout and "merged into another customer since" in again.stdout


def test_a_malformed_decisions_file_is_an_input_error_naming_the_line(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("pair_id,left,right,decision\nrv1-00,cus_jon,cus_john,same\n")
    done = run_cli("dedupe", "--store", str(shop), "--apply-decisions", "bad.csv", cwd=tmp_path)
    assert done.returncode == 3 and "line 2.pair_id" in done.stderr
    with open_store(f"sqlite:///{shop}") as store, store.unit_of_work() as uow:
        assert uow.customers.get("cus_jon").version == uow.customers.get("cus_john").version


def test_dedupe_merge_leaves_a_group_holding_two_people_apart(tmp_path: Path) -> None:
    """A~B and B~C are sure, but a person said A and C are two people: the group is not merged at all."""
    path = tmp_path / "shop.db"
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        uow.customers.add_many(
            [
                _person("cus_a", "Jon", "Smith", "jon@example.com", "+4930555123", days=0, marks=("cus_c",)),
                _person("cus_b", "Jon", "Smith", "jon@example.com", "+4930555123", days=1),
                _person("cus_c", "Jon", "Smith", "jon@example.com", "+4930555123", days=2, marks=("cus_a",)),
            ]
        )
        uow.commit()
    done = run_cli("dedupe", "--json", "--store", str(path), cwd=tmp_path)
    assert {(p["left"], p["right"]) for p in map(json.loads, done.stdout.splitlines())} == {
        ("cus_a", "cus_b"),
        ("cus_b", "cus_c"),
    }
    merged = run_cli("dedupe", "--merge", "--store", str(path), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "skipped 1 groups" in merged.stdout
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        assert all(uow.customers.get(i).merged_into is None for i in ("cus_a", "cus_b", "cus_c"))


def test_reveal_needs_a_review_file_and_apply_stands_alone(shop: Path, tmp_path: Path) -> None:
    alone = run_cli("dedupe", "--store", str(shop), "--reveal", cwd=tmp_path)
    assert alone.returncode == 2 and "--reveal needs --review-file" in alone.stderr
    both = run_cli("dedupe", "--store", str(shop), "--merge", "--apply-decisions", "x.json", cwd=tmp_path)
    assert both.returncode == 2
