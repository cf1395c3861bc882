"""A guest record copying a registered customer's name, phone and street, with the attacker's email, must not lead
to the account: matching holds the pair for review, merging keeps the account's primary email, and no token
makes the attacker's address a verified address of the account. On a real SQLite file and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from privacy_builders import T0, customer, order

from custdata import ValidationError
from custdata.matching import REGISTERED_REASON, Decision, Matcher, store_records
from custdata.merge import merge, preview, resolve
from custdata.privacy import TokenError, VerificationTokens, complete_verification, start_verification
from custdata.storage import Store, open_store

TOKENS = VerificationTokens(b"0123456789abcdef0123456789abcdef", ttl=timedelta(hours=2))
VICTIM = "adelheid.quenstedt@example.org"
ATTACKER = "attacker@example.net"
LATER = T0 + timedelta(days=200)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        yield request.getfixturevalue("new_store")()
        return
    with open_store(f"sqlite:///{tmp_path}/shop.db") as opened:
        yield opened


def _seed(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_victim"))  # registered, primary email not verified (yet)
        uow.customers.add(customer("cus_copy", guest=True, email=ATTACKER, created=T0 + timedelta(days=100)))
        uow.orders.add(order("ord_copy", "cus_copy", placed=T0 + timedelta(days=100)))
        uow.commit()


def test_a_copied_guest_never_takes_over_the_account(store: Store) -> None:
    _seed(store)
    found = Matcher().find_duplicates(store_records(store))
    (pair,) = found.pairs
    assert pair.ids == ("cus_copy", "cus_victim") and pair.score >= Matcher().auto_merge
    assert (pair.decision, pair.reason) == (Decision.REVIEW, REGISTERED_REASON)
    # an application that merges every sure pair merges nothing
    assert found.with_decision(Decision.AUTO_MERGE) == ()

    with store.unit_of_work() as uow:
        early = start_verification(uow, TOKENS, "cus_victim", now=LATER)

    # a person merges the pair anyway, with the default rules: the account keeps its own primary email
    with store.unit_of_work() as uow:
        plan = preview(uow, "cus_copy", ["cus_victim"], at=LATER)  # even with the guest as survivor
        assert str(plan.result.email) == VICTIM and not plan.result.is_guest
        assert [str(e) for e in plan.result.other_emails] == [ATTACKER]
        assert plan.field("email").rule == "registered_account" and plan.field("email").sources == ("cus_victim",)
        merge(uow, plan, at=LATER)
        uow.commit()

    # no token is issued for the attacker's address, and the token for the account goes to the account's address
    with store.unit_of_work() as uow:
        account = resolve(uow, "cus_victim")
        with pytest.raises(ValidationError, match="address"):
            start_verification(uow, TOKENS, account.id, now=LATER, address=ATTACKER)
        token = start_verification(uow, TOKENS, account.id, now=LATER)
        assert str(TOKENS.verify(token, account, now=LATER)) == VICTIM
        forged = TOKENS.issue(account, ATTACKER, now=LATER)
        with pytest.raises(ValidationError, match="address"):
            complete_verification(uow, TOKENS, account.id, forged, now=LATER)
        # a token issued before the merge is stale: the merge changed the customers it was bound to
        with pytest.raises(ValidationError, match="merged into another customer"):
            complete_verification(uow, TOKENS, "cus_victim", early, now=LATER)
        with pytest.raises(TokenError) as foreign:
            complete_verification(uow, TOKENS, account.id, early, now=LATER)
        assert foreign.value.reason == "foreign"
    with store.unit_of_work() as uow:
        done = complete_verification(uow, TOKENS, account.id, token, now=LATER)
        uow.commit()
    assert done.email_verified and str(done.address) == VICTIM
    with store.unit_of_work() as uow:
        (holder,) = uow.customers.find_by_email(ATTACKER)
        assert holder.id == account.id and str(holder.email) == VICTIM
        assert holder.email_verified_at == LATER
