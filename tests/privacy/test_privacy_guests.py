"""Guest registration: signed, expiring, single-use tokens, and orders attached only after verification."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from privacy_builders import T0, activity, customer, message, order

from custdata import EmailAddress, NotFoundError, ValidationError
from custdata.merge import MERGE_EVENT, MergeRecord, MergeRules, Rule, merge, preview, undo
from custdata.privacy import TokenError, VerificationTokens, complete_verification, start_verification
from custdata.storage import Store, open_store, walk

SECRET = b"0123456789abcdef0123456789abcdef"
TOKENS = VerificationTokens(SECRET, ttl=timedelta(hours=2))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/shop.db"
    with open_store(url) as s:
        yield s


def _seed(store: Store) -> None:
    """A registered customer, an earlier guest record with the same address (and orders), a stranger's guest."""
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_reg", phone="+4930901821"))
        uow.customers.add(customer("cus_guest", guest=True, phone="+4930901822"))
        uow.customers.add(customer("cus_other", guest=True, email="someone.else@example.org", phone="+4930901823"))
        uow.orders.add(order("ord_g1", "cus_guest"))
        uow.orders.add(order("ord_g2", "cus_guest", placed=T0 + timedelta(days=1)))
        uow.orders.add(order("ord_o1", "cus_other"))
        uow.communications.add(message("msg_g1", "cus_guest", "shipped"))
        uow.activity.add(activity("act_g1", "cus_guest"))
        uow.commit()


def test_verification_registers_and_attaches_guest_orders_once(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        token = start_verification(uow, TOKENS, "cus_reg", now=T0)
    assert "adelheid" not in token.lower() and "example" not in token
    with store.unit_of_work() as uow:
        # nothing is attached before the token comes back
        assert uow.orders.count(customer_id="cus_reg") == 0
        done = complete_verification(uow, TOKENS, "cus_reg", token, now=T0 + timedelta(minutes=10))
        uow.commit()
    assert done.absorbed_guests == ("cus_guest",)
    assert sorted(done.attached_orders) == ["ord_g1", "ord_g2"]
    assert (done.moved_communications, done.moved_activity, done.email_verified) == (1, 1, True)
    with store.unit_of_work() as uow:
        reg = uow.customers.get("cus_reg")
        assert reg.email_verified_at == T0 + timedelta(minutes=10) and not reg.is_guest
        assert uow.orders.count(customer_id="cus_reg") == 2
        assert uow.orders.count(customer_id="cus_other") == 1
        assert uow.communications.count(customer_id="cus_reg") == 1
        assert uow.activity.count(customer_id="cus_reg") == 1
        tombstone = uow.customers.get("cus_guest")
        assert tombstone.merged_into == "cus_reg" and tombstone.email is None and tombstone.addresses == ()
        assert tombstone.created_at == T0 and tombstone.is_guest
        with pytest.raises(TokenError) as used:
            complete_verification(uow, TOKENS, "cus_reg", token, now=T0 + timedelta(minutes=11))
    assert used.value.reason == "used"


def test_a_guest_becomes_registered_with_its_own_token(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        token = start_verification(uow, TOKENS, "cus_other", now=T0)
        done = complete_verification(uow, TOKENS, "cus_other", token, now=T0)
        uow.commit()
    assert done.became_registered and done.absorbed_guests == () and done.attached_orders == ()
    with store.unit_of_work() as uow:
        assert not uow.customers.get("cus_other").is_guest


def test_expired_foreign_and_uncommitted_tokens(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        token = start_verification(uow, TOKENS, "cus_reg", now=T0)
        with pytest.raises(TokenError) as expired:
            complete_verification(uow, TOKENS, "cus_reg", token, now=T0 + timedelta(hours=2, seconds=1))
        with pytest.raises(TokenError) as foreign:
            complete_verification(uow, TOKENS, "cus_other", token, now=T0)
        complete_verification(uow, TOKENS, "cus_reg", token, now=T0)  # rolled back: never committed
    assert (expired.value.reason, foreign.value.reason) == ("expired", "foreign")
    assert "expired" in str(expired.value) and str(expired.value).startswith("token:")
    with store.unit_of_work() as uow:
        assert uow.orders.count(customer_id="cus_reg") == 0
        assert complete_verification(uow, TOKENS, "cus_reg", token, now=T0).attached_orders


def test_a_token_for_an_address_the_customer_dropped_is_foreign(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        reg = uow.customers.get("cus_reg")
        token = TOKENS.issue(reg, now=T0)
        reg.email = EmailAddress.parse("new.address@example.org")
        with pytest.raises(TokenError) as exc:
            TOKENS.verify(token, reg, now=T0)
    assert exc.value.reason == "foreign"


def test_other_secret_rotation_and_other_address() -> None:
    c = customer(email="a.b@example.org")
    c.other_emails = (EmailAddress.parse("work@example.com"),)
    token = TOKENS.issue(c, "Work@Example.com", now=T0)
    assert TOKENS.verify(token, c, now=T0).value == "work@example.com"
    with pytest.raises(TokenError) as exc:
        VerificationTokens(b"another secret of sixteen+ bytes").verify(token, c, now=T0)
    assert exc.value.reason == "tampered"
    rotated = VerificationTokens(b"another secret of sixteen+ bytes", previous_secrets=[SECRET])
    assert rotated.verify(token, c, now=T0).value == "work@example.com"
    with pytest.raises(ValidationError, match="address: is not one of the customer's"):
        TOKENS.issue(c, "stranger@example.org", now=T0)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValidationError) as exc:
        VerificationTokens(b"short", ttl=timedelta(0))
    assert {p.path for p in exc.value.problems} == {"secret", "ttl"}
    with pytest.raises(ValidationError, match="secret: must be bytes"):
        VerificationTokens("a text secret that is long enough")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="now"):
        TOKENS.issue(customer(), now=T0.replace(tzinfo=None))
    nobody = customer()
    nobody.email = None
    with pytest.raises(ValidationError, match="address: is required"):
        TOKENS.issue(nobody, now=T0)
    assert "0123" not in repr(TOKENS)
    error = TokenError("expired", "has expired")
    assert pickle.loads(pickle.dumps(error)).reason == "expired"


def test_erased_merged_and_unknown_customers_cannot_verify(store: Store) -> None:
    _seed(store)
    with store.unit_of_work() as uow:
        guest = uow.customers.get("cus_guest")
        guest.merged_into = "cus_reg"  # type: ignore[assignment]
        uow.customers.update(guest)
        with pytest.raises(ValidationError, match="merged"):
            start_verification(uow, TOKENS, "cus_guest", now=T0)
        with pytest.raises(NotFoundError):
            start_verification(uow, TOKENS, "cus_nobody", now=T0)


_CUSTOMER = customer()
_TOKEN = TOKENS.issue(_CUSTOMER, now=T0)


@given(st.data())
def test_any_change_to_a_token_is_refused(data: st.DataObject) -> None:
    token = _TOKEN
    kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "swap", "junk"]))
    chars = st.characters(codec="utf-8")
    if kind == "flip":
        i = data.draw(st.integers(0, len(token) - 1))
        c = data.draw(chars.filter(lambda ch: ch != token[i]))
        changed = token[:i] + c + token[i + 1 :]
    elif kind == "insert":
        i = data.draw(st.integers(0, len(token)))
        changed = token[:i] + data.draw(st.text(chars, min_size=1, max_size=4)) + token[i:]
    elif kind == "delete":
        i = data.draw(st.integers(0, len(token) - 1))
        changed = token[:i] + token[i + 1 :]
    elif kind == "truncate":
        changed = token[: data.draw(st.integers(0, len(token) - 1))]
    elif kind == "swap":
        prefix, payload, _signature = token.split(".")
        other = TOKENS.issue(_CUSTOMER, now=T0 + timedelta(seconds=data.draw(st.integers(1, 10**6))))
        changed = ".".join([prefix, payload, other.split(".")[2]])
    else:
        changed = data.draw(st.text(max_size=200))
    if changed.strip() == token:
        return  # whitespace around an intact token is forgiven
    with pytest.raises(TokenError) as exc:
        TOKENS.verify(changed, _CUSTOMER, now=T0)
    assert exc.value.reason in {"malformed", "tampered"}
    assert "adelheid" not in str(exc.value).lower()


# -- merges and proof: a token proves one address, never the records a merge brought in ------------------------

ATTACKER = "attacker@example.net"


def _merge_into(store: Store, survivor: str, merged: str, rules: MergeRules | None = None) -> MergeRecord:
    with store.unit_of_work() as uow:
        record = merge(uow, preview(uow, survivor, [merged], rules=rules), at=T0 + timedelta(days=2))
        uow.commit()
    return record


def _versions(store: Store, *ids: str) -> list[int]:
    with store.unit_of_work() as uow:
        return [uow.customers.get(i).version for i in ids]


def test_an_address_that_came_with_a_merged_guest_cannot_be_verified(store: Store) -> None:
    """A guest copying the account's name, phone and street is merged in: its address stays secondary and
    no token for it is issued or honoured, so it never becomes a verified address of the account."""
    _seed(store)
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_att", guest=True, email=ATTACKER, created=T0 + timedelta(days=1)))
        uow.customers.add(customer("cus_att2", guest=True, email=ATTACKER, phone="+4930901829"))
        uow.orders.add(order("ord_a2", "cus_att2"))
        reg = uow.customers.get("cus_reg")
        reg.other_emails = (EmailAddress.parse("work@example.com"),)  # the account holder's own second address
        uow.customers.update(reg)
        uow.commit()
    _merge_into(store, "cus_reg", "cus_att", MergeRules(fields={"email": Rule.MOST_RECENT}))
    with store.unit_of_work() as uow:
        reg = uow.customers.get("cus_reg")
        assert str(reg.email) == "adelheid.quenstedt@example.org" and not reg.is_guest
        assert [str(e) for e in reg.other_emails] == ["work@example.com", ATTACKER]
        with pytest.raises(ValidationError) as refused:
            start_verification(uow, TOKENS, "cus_reg", now=T0 + timedelta(days=3), address=ATTACKER)
    assert [p.path for p in refused.value.problems] == ["address"] and ATTACKER not in str(refused.value)
    # a token made without start_verification is refused too, and nothing is written
    with store.unit_of_work() as uow:
        forged = TOKENS.issue(uow.customers.get("cus_reg"), ATTACKER, now=T0 + timedelta(days=3))
    before = _versions(store, "cus_reg", "cus_att2")
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError, match=r"^address: came with a customer merged"):
            complete_verification(uow, TOKENS, "cus_reg", forged, now=T0 + timedelta(days=3))
        uow.commit()
    assert _versions(store, "cus_reg", "cus_att2") == before
    # the account's own addresses still verify; the attacker's guest record is never attached
    for address, verified in (("work@example.com", False), (None, True)):
        with store.unit_of_work() as uow:
            token = start_verification(uow, TOKENS, "cus_reg", now=T0 + timedelta(days=3), address=address)
            done = complete_verification(uow, TOKENS, "cus_reg", token, now=T0 + timedelta(days=3))
            uow.commit()
        assert done.email_verified is verified and "cus_att2" not in done.absorbed_guests
    with store.unit_of_work() as uow:
        reg = uow.customers.get("cus_reg")
        assert str(reg.email) == "adelheid.quenstedt@example.org" and reg.email_verified_at is not None
        assert uow.orders.get("ord_a2").customer_id == "cus_att2"
        assert uow.customers.get("cus_att2").merged_into is None


def test_a_person_chosen_primary_can_be_verified(store: Store) -> None:
    """An override is a person's decision: the account's primary it sets is the account's own from then on."""
    _seed(store)
    _merge_into(store, "cus_reg", "cus_other", MergeRules(overrides={"email": "someone.else@example.org"}))
    with store.unit_of_work() as uow:
        token = start_verification(uow, TOKENS, "cus_reg", now=T0 + timedelta(days=3))
        done = complete_verification(uow, TOKENS, "cus_reg", token, now=T0 + timedelta(days=3))
    assert done.email_verified and str(done.address) == "someone.else@example.org"


def test_only_guests_whose_own_primary_is_the_address_are_attached(store: Store) -> None:
    """A guest holding the address only as a secondary one, or holding records merged in with other addresses,
    is left alone; a guest whose merged records all had the address is attached."""
    _seed(store)
    address = "adelheid.quenstedt@example.org"
    with store.unit_of_work() as uow:
        secondary = customer("cus_sec", guest=True, email="someone.else@example.org", phone="+4930901831")
        secondary.other_emails = (EmailAddress.parse(address),)
        uow.customers.add(secondary)
        uow.customers.add(customer("cus_mixed", guest=True, phone="+4930901832"))
        uow.customers.add(customer("cus_stranger", guest=True, email="stranger@example.org", phone="+4930901833"))
        uow.customers.add(customer("cus_same", guest=True, phone="+4930901834"))
        uow.customers.add(customer("cus_same2", guest=True, phone="+4930901835"))
        # a guest whose primary became the address only by merging the record that had it
        uow.customers.add(customer("cus_took", guest=True, email="took@example.org", phone="+4930901836"))
        gave = customer("cus_gave", guest=True, phone="+4930901837", created=T0 + timedelta(days=1))
        uow.customers.add(gave)
        for oid, owner in (
            ("ord_s", "cus_sec"),
            ("ord_m", "cus_mixed"),
            ("ord_x", "cus_stranger"),
            ("ord_2", "cus_same2"),
        ):
            uow.orders.add(order(oid, owner))
        uow.commit()
    _merge_into(store, "cus_mixed", "cus_stranger")  # a guest-guest merge of two addresses
    _merge_into(store, "cus_same", "cus_same2")  # a guest-guest merge of one address
    _merge_into(store, "cus_took", "cus_gave")  # the more recent record's address becomes the primary
    with store.unit_of_work() as uow:
        assert str(uow.customers.get("cus_took").email) == address
    with store.unit_of_work() as uow:
        token = start_verification(uow, TOKENS, "cus_reg", now=T0 + timedelta(days=3))
        done = complete_verification(uow, TOKENS, "cus_reg", token, now=T0 + timedelta(days=3))
        uow.commit()
    assert sorted(done.absorbed_guests) == ["cus_guest", "cus_same"]
    assert sorted(done.attached_orders) == ["ord_2", "ord_g1", "ord_g2"]
    with store.unit_of_work() as uow:
        assert uow.orders.get("ord_s").customer_id == "cus_sec" and uow.customers.get("cus_sec").merged_into is None
        assert uow.orders.get("ord_x").customer_id == "cus_mixed"
        assert uow.customers.get("cus_mixed").merged_into is None
        assert uow.customers.get("cus_took").merged_into is None


def test_a_guest_holding_merged_strangers_is_not_registered(store: Store) -> None:
    """Two guests merged on matching evidence: proving either address cannot register both people's orders;
    after the merge is undone each registers with its own address."""
    _seed(store)
    record = _merge_into(store, "cus_guest", "cus_other")
    with store.unit_of_work() as uow:
        merged = uow.customers.get("cus_guest")
        assert {str(e) for e in merged.emails} == {"adelheid.quenstedt@example.org", "someone.else@example.org"}
        for address, path in (("adelheid.quenstedt@example.org", "customer"), ("someone.else@example.org", "address")):
            with pytest.raises(ValidationError) as refused:
                start_verification(uow, TOKENS, "cus_guest", now=T0 + timedelta(days=3), address=address)
            assert refused.value.problems[0].path == path
        forged = TOKENS.issue(merged, "adelheid.quenstedt@example.org", now=T0 + timedelta(days=3))
        with pytest.raises(ValidationError, match=r"^customer: is a guest holding records merged"):
            complete_verification(uow, TOKENS, "cus_guest", forged, now=T0 + timedelta(days=3))
    with store.unit_of_work() as uow:
        undo(uow, record.id, at=T0 + timedelta(days=3))
        uow.commit()
    with store.unit_of_work() as uow:
        token = start_verification(uow, TOKENS, "cus_other", now=T0 + timedelta(days=4))
        done = complete_verification(uow, TOKENS, "cus_other", token, now=T0 + timedelta(days=4))
    assert done.became_registered and done.attached_orders == ()


def test_an_unreadable_merge_record_makes_verification_strict(store: Store) -> None:
    """When a merge record's data is gone, what the merge brought in is unknown: only the account's primary
    email can be verified, and a guest holding such a record is neither registered nor attached."""
    _seed(store)
    _merge_into(store, "cus_reg", "cus_other")
    with store.unit_of_work() as uow:
        (event,) = [e for e in walk(lambda c: uow.activity.for_customer("cus_reg", cursor=c)) if e.event == MERGE_EVENT]
        uow.activity.update(attrs.evolve(event, properties={}))
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError, match=r"^address"):
            start_verification(uow, TOKENS, "cus_reg", now=T0 + timedelta(days=3), address="someone.else@example.org")
        token = start_verification(uow, TOKENS, "cus_reg", now=T0 + timedelta(days=3))
        assert complete_verification(uow, TOKENS, "cus_reg", token, now=T0 + timedelta(days=3)).email_verified
