"""Erasure with a suppression key puts digests of every address the person had on the store's suppression list,
and only digests: on every store."""

from __future__ import annotations

import hmac
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from no_list_store import NoListStore
from privacy_builders import T0, customer

from custdata import EmailAddress, ValidationError
from custdata.merge import merge, preview
from custdata.privacy import erase_customer
from custdata.storage import KeepsSuppressions, Store, open_store
from custdata.storage.sqlite import SQLiteStore
from custdata.storage.suppression import email_digest, suppressed_emails, unsuppress_emails

KEY = b"k" * 32
ADDRESSES = ("adelheid.quenstedt@example.org", "a.q@work.example.org", "ada.guest@example.net")


def _person(store: Store) -> None:
    """A registered customer with two addresses and a guest record, with a third, merged into it."""
    ada = customer()
    ada.other_emails = (EmailAddress.parse(ADDRESSES[1]),)
    guest = customer("cus_guest", email=ADDRESSES[2], phone="+4930901821", guest=True)
    with store.unit_of_work() as uow:
        uow.customers.add_many([ada, guest])
        merge(uow, preview(uow, ada.id, [guest.id], at=T0), at=T0)
        uow.commit()


def _on_list(store: Store, addresses: tuple[str, ...], key: bytes = KEY) -> set[str]:
    with store.unit_of_work() as uow:
        return suppressed_emails(uow.customers, key, [EmailAddress.parse(a) for a in addresses])


def test_erasure_with_a_key_suppresses_every_address_of_the_person(backend: tuple[Store, Any]) -> None:
    store, _ = backend
    _person(store)
    report = erase_customer(store, "cus_ada", suppression_key=KEY, purge=False)
    assert report.suppressed == 3 and report.changed
    assert _on_list(store, ADDRESSES) == {EmailAddress.parse(a).canonical for a in ADDRESSES}
    assert _on_list(store, ("someone.else@example.org",)) == set()
    assert _on_list(store, ADDRESSES, key=b"another key, 16+") == set(), "digests under another key match nothing"
    # canonical forms: the same address written otherwise is on the list too
    assert _on_list(store, ("Adelheid.Quenstedt@EXAMPLE.org",)) == {EmailAddress.parse(ADDRESSES[0]).canonical}
    again = erase_customer(store, "cus_ada", suppression_key=KEY, purge=False)
    assert again.suppressed == 0 and not again.changed, "a second run finds nothing left to add"
    with store.unit_of_work() as uow:
        assert unsuppress_emails(uow.customers, KEY, [ADDRESSES[2]]) == 1
        uow.commit()
    assert _on_list(store, ADDRESSES) == {EmailAddress.parse(a).canonical for a in ADDRESSES[:2]}


def test_erasure_without_a_key_keeps_no_list(backend: tuple[Store, Any]) -> None:
    store, _ = backend
    _person(store)
    assert erase_customer(store, "cus_ada", purge=False).suppressed == 0
    assert _on_list(store, ADDRESSES) == set()


@pytest.mark.parametrize(
    ("key", "message"), [("k" * 32, "must be bytes, not str"), (b"short", "must be at least 16 bytes long, not 5")]
)
def test_a_bad_key_is_refused_before_anything_is_erased(key: Any, message: str, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "shop.db") as store:
        _person(store)
        with pytest.raises(ValidationError) as raised:
            erase_customer(store, "cus_ada", suppression_key=key)
        assert (raised.value.problems[0].path, raised.value.problems[0].message) == ("suppression_key", message)
        with store.unit_of_work() as uow:
            assert uow.customers.get("cus_ada").redacted_at is None


def test_a_store_without_a_suppression_list_is_refused_before_anything_is_erased(tmp_path: Path) -> None:
    with NoListStore(SQLiteStore(tmp_path / "shop.db")) as store:
        _person(store)
        with pytest.raises(ValidationError) as raised:
            erase_customer(store, "cus_ada", suppression_key=KEY)
        assert raised.value.problems[0].path == "suppression_key"
        assert "keeps no suppression list" in raised.value.problems[0].message
        with store.unit_of_work() as uow:
            assert uow.customers.get("cus_ada").redacted_at is None


def test_the_store_holds_digests_under_the_key_and_not_the_addresses(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path) as store:
        _person(store)
        erase_customer(store, "cus_ada", suppression_key=KEY)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for address in ADDRESSES:
        canonical = EmailAddress.parse(address).canonical
        assert canonical.encode() not in data
        assert sha256(canonical.encode()).hexdigest().encode() not in data, "no plain hash of the address"
        digest = hmac.new(KEY, b"custdata suppression list\x00" + canonical.encode(), sha256).hexdigest()
        assert digest == email_digest(KEY, address)
        assert digest.encode() in data


@given(st.one_of(st.binary(max_size=40), st.text(max_size=40), st.integers(), st.none(), st.lists(st.integers())))
@settings(max_examples=60, deadline=None)
def test_any_key_is_taken_or_refused_with_its_field(key: Any) -> None:
    from custdata.storage.suppression import MIN_KEY_BYTES, check_key

    if isinstance(key, bytes) and len(key) >= MIN_KEY_BYTES:
        assert check_key(key) is key
        return
    with pytest.raises(ValidationError) as raised:
        check_key(key)
    assert raised.value.problems[0].path == "suppression_key"


@given(st.lists(st.one_of(st.text(alphabet="0123456789abcdefABCDEFg -", min_size=60, max_size=66), st.text())))
@settings(max_examples=60, deadline=None)
def test_any_digest_is_kept_or_refused_with_its_index_and_nothing_is_written(digests: list[str]) -> None:
    with open_store("memory://") as store, store.unit_of_work() as uow:
        customers = uow.customers
        assert isinstance(customers, KeepsSuppressions)
        good = [len(d) == 64 and set(d) <= set("0123456789abcdef") for d in digests]
        if all(good):
            assert customers.suppress(digests) == len(set(digests))
            assert customers.suppressed(digests) == set(digests)
            return
        with pytest.raises(ValidationError) as raised:
            customers.suppress(digests)
        assert raised.value.problems[0].path == f"digests[{good.index(False)}]"
        assert customers.suppressed([d for d, ok in zip(digests, good, strict=True) if ok]) == set()
