"""``custdata dedupe --merge`` merges guests only: a guest copying an account's details, or a group of guests
linked to an account, never reaches the account, on a real SQLite file."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Address, Customer, EmailAddress, Money, Order, OrderLine, PhoneNumber, ValidationError
from custdata.cli import main
from custdata.cli.dedupe import _merge
from custdata.matching import REGISTERED_REASON
from custdata.privacy import VerificationTokens, complete_verification, start_verification
from custdata.storage import open_store, walk

T0 = datetime(2025, 1, 1, tzinfo=UTC)
VICTIM = "adelheid.quenstedt@example.org"
ATTACKER = "attacker@example.net"
TOKENS = VerificationTokens(b"0123456789abcdef0123456789abcdef")


def _person(customer_id: str, *, email: str, days: int, guest: bool, given: str = "Adelheid") -> Customer:
    street = "Kastanienallee 17" if given == "Adelheid" else "Ringstraße 9"
    phone = "+4930901820" if given == "Adelheid" else "+4930555123"
    home = Address(street_address_1=street, postal_code="10435", city="Berlin", country_code="DE")
    created = T0 + timedelta(days=days)
    return Customer(
        customer_id,
        created_at=created,
        given_name=given,
        family_name="Quenstedt" if given == "Adelheid" else "Smith",
        email=EmailAddress.parse(email),
        phone=PhoneNumber.parse(phone),
        addresses=(home,),
        default_shipping_address=0,
        is_guest=guest,
    )


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The account; two guest records copying it with the attacker's address (each a sure duplicate of the
    account by score, and of each other); two guest records of another person."""
    path = tmp_path / "shop.db"
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        uow.customers.add_many(
            [
                _person("cus_victim", email=VICTIM, days=0, guest=False),
                _person("cus_copy1", email=ATTACKER, days=100, guest=True),
                _person("cus_copy2", email=ATTACKER, days=120, guest=True),
                _person("cus_jon1", email="jon@example.com", days=5, guest=True, given="Jon"),
                _person("cus_jon2", email="JON@example.com", days=6, guest=True, given="Jon"),
            ]
        )
        line = OrderLine("l1", "SKU-1", "Mug", 1, Money("9.50", "EUR"))
        uow.orders.add(Order("ord_copy", "cus_copy2", "EUR", (line,), T0 + timedelta(days=120)))
        uow.commit()
    return path


def test_dedupe_merge_never_touches_a_registered_account(shop: Path, tmp_path: Path) -> None:
    listed = run_cli("dedupe", "--json", "--store", str(shop), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    pairs = {(p["left"], p["right"]): p for p in map(json.loads, listed.stdout.splitlines())}
    for copy in ("cus_copy1", "cus_copy2"):
        held = pairs[(copy, "cus_victim")]
        assert (held["decision"], held["reason"]) == ("review", REGISTERED_REASON) and held["score"] >= 26
    assert pairs[("cus_copy1", "cus_copy2")]["decision"] == "auto_merge"
    assert pairs[("cus_jon1", "cus_jon2")]["decision"] == "auto_merge"
    with open_store(f"sqlite:///{shop}") as store, store.unit_of_work() as uow:
        before = uow.customers.get("cus_victim")

    merged = run_cli("dedupe", "--merge", "--show", "0", "--store", str(shop), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "merged 2 customers into 2 survivors" in merged.stdout and "skipped" not in merged.stdout

    now = T0 + timedelta(days=200)
    with open_store(f"sqlite:///{shop}") as store:
        with store.unit_of_work() as uow:
            # only the guests merged, each group into its oldest record; the account is exactly as it was
            assert uow.customers.get("cus_victim") == before
            assert uow.customers.get("cus_copy2").merged_into == "cus_copy1"
            assert uow.customers.get("cus_jon2").merged_into == "cus_jon1"
            assert uow.orders.get("ord_copy").customer_id == "cus_copy1"
            # the account's token goes to the account's address; the attacker's address is not the account's
            token = start_verification(uow, TOKENS, "cus_victim", now=now)
            assert str(TOKENS.verify(token, before, now=now)) == VICTIM
            with pytest.raises(ValidationError, match="address"):
                start_verification(uow, TOKENS, "cus_victim", now=now, address=ATTACKER)
            done = complete_verification(uow, TOKENS, "cus_victim", token, now=now)
            uow.commit()
        assert done.absorbed_guests == () and done.email_verified
        with store.unit_of_work() as uow:
            assert [c.id for c in uow.customers.find_by_email(ATTACKER)] == ["cus_copy1"]
            assert uow.customers.get("cus_copy1").is_guest

    again = run_cli("dedupe", "--json", "--store", str(shop), cwd=tmp_path)
    decisions = {(p["left"], p["right"]): p["decision"] for p in map(json.loads, again.stdout.splitlines())}
    assert decisions == {("cus_copy1", "cus_victim"): "review"}


def test_a_group_holding_a_registered_account_is_skipped(shop: Path) -> None:
    """Groups are read again before merging: one that holds a registered account (a customer that registered
    since the pairs were found, say) is left alone, the others are merged."""
    with open_store(f"sqlite:///{shop}") as store:
        counts = _merge(store, [["cus_copy1", "cus_copy2", "cus_victim"], ["cus_jon1", "cus_jon2"]])
        assert counts == (1, 1, 1)
        with store.unit_of_work() as uow:
            assert all(uow.customers.get(i).merged_into is None for i in ("cus_copy1", "cus_copy2", "cus_victim"))
            assert uow.customers.get("cus_jon2").merged_into == "cus_jon1"


#: Two people, each copied by guest records with other addresses; every copy is a sure duplicate by score.
PEOPLE = {"Adelheid": ("adelheid.quenstedt@example.org", ATTACKER), "Jon": ("jon@example.com", "j.smith@example.net")}


@st.composite
def shops(draw: st.DrawFn) -> list[Customer]:
    people: list[Customer] = []
    for n in range(draw(st.integers(2, 6))):
        given_name = draw(st.sampled_from(sorted(PEOPLE)))
        people.append(
            _person(
                f"cus_{n}",
                email=draw(st.sampled_from(PEOPLE[given_name])),
                days=draw(st.integers(0, 300)),
                guest=draw(st.booleans()),
                given=given_name,
            )
        )
    return people


@settings(max_examples=10)
@given(shops())
def test_dedupe_merge_leaves_every_registered_account_as_it_was(people: list[Customer]) -> None:
    """Whatever the mix of accounts and guests, ``dedupe --merge`` changes no registered account and merges no
    customer into one; guests linked to an account through other guests merge among themselves only."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/shop.db"
        with open_store(url) as store, store.unit_of_work() as uow:
            uow.customers.add_many(people)
            uow.commit()
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["dedupe", "--merge", "--store", url]) == 0
        with open_store(url) as store, store.unit_of_work() as uow:
            after = {c.id: c for c in walk(lambda cursor: uow.customers.search(cursor=cursor))}
    registered = {c.id for c in people if not c.is_guest}
    for person in people:
        if person.id in registered:
            assert after[person.id] == person
        else:
            assert after[person.id].merged_into not in registered
            assert after[person.id].is_guest
