"""Guest registration: signed, expiring, single-use tokens, and orders attached only after verification."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from privacy_builders import T0, activity, customer, message, order

from custdata import EmailAddress, NotFoundError, ValidationError
from custdata.privacy import TokenError, VerificationTokens, complete_verification, start_verification
from custdata.storage import Store, open_store

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
        VerificationTokens(b"short", ttl=timedelta(0))  # type: ignore[arg-type]
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
