"""Personal data never shows in repr(), log records or exception messages, whatever it looks like.

Names, emails, phones and streets are generated (with a marker prefix, so that a value cannot appear in a
message by coincidence), pushed through the privacy functions and the domain and storage layers, including
their failure paths, while every log record is captured; nothing printed may contain any of them.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from privacy_builders import T0, activity, message, order

from custdata import (
    Address,
    Channel,
    ConsentPurpose,
    CustdataError,
    Customer,
    EmailAddress,
    PhoneNumber,
    from_dict,
)
from custdata.privacy import (
    RetentionPolicy,
    TokenError,
    VerificationTokens,
    complete_verification,
    consent,
    erase_customer,
    export_customer,
    start_verification,
    sweep,
)
from custdata.storage import Store, open_store
from custdata.testing import strategies as cs

TOKENS = VerificationTokens(b"pii-test-secret-0123456789abcdef")
NOW = T0 + timedelta(days=10)


@attrs.frozen
class Pii:
    given: str
    family: str
    email: str
    phone: PhoneNumber
    street: str

    def needles(self) -> list[str]:
        local = self.email.split("@")[0]
        return [self.given, self.family, self.email, local, self.phone.e164, self.phone.e164[1:], self.street]


_word = st.text(st.characters(categories=("Lu", "Ll")), min_size=3, max_size=10)
pii = st.builds(
    Pii,
    given=_word.map(lambda w: "Qz" + w),
    family=_word.map(lambda w: "Vx" + w),
    email=st.from_regex(r"\A[a-z0-9]{3,12}\Z").map(lambda w: f"qz{w}@pii-{w}.example"),
    phone=cs.phone_numbers(),
    street=_word.map(lambda w: f"Qzstraße {w} 12"),
)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            self.texts.append(str(record.exc_info[1]))


@contextmanager
def _logs() -> Iterator[_Capture]:
    handler = _Capture()
    logger = logging.getLogger("custdata")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def _customer(p: Pii, cid: str = "cus_pii", *, guest: bool = False) -> Customer:
    address = Address(
        first_name=p.given, last_name=p.family, street_address_1=p.street, city="Berlin", postal_code="10435",
        country_code="DE", phone=p.phone,
    )  # fmt: skip
    return Customer(
        id=cid, created_at=T0, given_name=p.given, family_name=p.family, email=EmailAddress.parse(p.email),
        phone=p.phone, addresses=(address,), default_shipping_address=0, is_guest=guest,
    )  # fmt: skip


def _errors(texts: list[str], action: Callable[[], Any]) -> None:
    """Run ``action``; a custdata error it raises has its text (and its cause's) collected."""
    try:
        action()
    except CustdataError as exc:
        texts.append(str(exc))
        texts.append(repr(exc))
        if exc.__cause__ is not None:
            texts.append(str(exc.__cause__))


def _assert_clean(texts: list[str], p: Pii) -> None:
    for text in texts:
        low = text.lower()
        for needle in p.needles():
            assert needle.lower() not in low, (needle, text)


def _exercise(store: Store, p: Pii, texts: list[str]) -> None:
    c = _customer(p)
    texts += [repr(c), repr(c.email), repr(c.phone), repr(c.addresses[0])]
    with store.unit_of_work() as uow:
        uow.customers.add(c)
        uow.customers.add(_customer(p, "cus_pii_guest", guest=True))
        o = order("ord_pii", c.id, address=c.addresses[0])
        uow.orders.add(o)
        uow.communications.add(message("msg_pii", c.id, f"Dear {p.given}, {p.street}"))
        uow.activity.add(activity("act_pii", c.id, query=p.email))
        texts += [repr(o), repr(uow.communications.get("msg_pii")), repr(uow.activity.get("act_pii"))]
        _errors(texts, lambda: uow.customers.add(_customer(p)))  # duplicate id
        uow.commit()
    with store.unit_of_work() as uow:
        stale = uow.customers.get(c.id)
        fresh = uow.customers.get(c.id)
        uow.customers.update(fresh)
        _errors(texts, lambda: uow.customers.update(stale))  # conflict
        _errors(texts, lambda: uow.customers.get("cus_missing"))  # not found
        _errors(texts, lambda: uow.customers.find_by_email(p.email + "@@"))
        _errors(texts, lambda: uow.customers.find_by_phone(p.given))
        uow.commit()
    for bad in (p.email + "@@", p.given + " " + p.email, p.email.replace("@", " @ ")):
        _errors(texts, lambda b=bad: EmailAddress.parse(b))  # type: ignore[misc]
    _errors(texts, lambda: PhoneNumber.parse(p.given + p.phone.e164))
    _errors(texts, lambda: Address(first_name=p.given, street_address_1=p.street, country_code="DE", postal_code="x"))
    _errors(
        texts, lambda: from_dict(Customer, {"id": "c1", "created_at": "2024", "email": p.email + "@", "given_name": 5})
    )
    _errors(texts, lambda: consent.grant(c, ConsentPurpose.MARKETING, Channel.EMAIL, at=T0, source=""))
    with store.unit_of_work() as uow:
        _errors(texts, lambda: start_verification(uow, TOKENS, c.id, now=NOW, address=p.email.replace("qz", "zq")))
        _errors(texts, lambda: start_verification(uow, TOKENS, c.id, now=NOW, address=p.given))
        token = start_verification(uow, TOKENS, c.id, now=NOW)
        texts.append(token)
        _errors(texts, lambda: complete_verification(uow, TOKENS, c.id, token + "x", now=NOW))
        _errors(texts, lambda: complete_verification(uow, TOKENS, c.id, token, now=NOW + timedelta(days=2)))
        texts.append(repr(complete_verification(uow, TOKENS, c.id, token, now=NOW)))
        uow.commit()
    with store.unit_of_work() as uow:
        try:
            complete_verification(uow, TOKENS, c.id, token, now=NOW)
        except TokenError as exc:
            texts.append(str(exc))
    texts.append(repr(export_customer(store, c.id, clock=lambda: NOW)["counts"]))
    texts.append(repr(erase_customer(store, c.id, clock=lambda: NOW)))
    texts.append(repr(sweep(store, RetentionPolicy(activity=timedelta(days=1)), clock=lambda: NOW)))


@settings(max_examples=15)
@given(pii)
def test_memory_store_and_privacy_functions_print_no_personal_data(p: Pii) -> None:
    texts: list[str] = []
    with _logs() as logs, open_store("memory://") as store:
        _exercise(store, p, texts)
    assert len(texts) > 20
    _assert_clean(texts + logs.texts, p)


@settings(max_examples=8)
@given(pii)
def test_sqlite_store_prints_no_personal_data(p: Pii) -> None:
    texts: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, _logs() as logs, open_store(f"sqlite:///{Path(tmp)}/s.db") as store:
        _exercise(store, p, texts)
    assert any("privacy" in t or "erased customer" in t for t in logs.texts)
    _assert_clean(texts + logs.texts, p)


def test_the_capture_would_see_personal_data() -> None:
    p = Pii("Qzanna", "Vxberg", "qzanna@pii-anna.example", PhoneNumber.parse("+4930901820"), "Qzstraße a 12")
    with pytest.raises(AssertionError):
        _assert_clean([f"hello {p.given}"], p)
    with _logs() as logs:
        logging.getLogger("custdata.privacy").debug("x %s", p.phone.e164)
    with pytest.raises(AssertionError):
        _assert_clean(logs.texts, p)


def test_looking_up_an_email_as_an_id_does_not_quote_it() -> None:
    with open_store("memory://") as store, store.unit_of_work() as uow, pytest.raises(CustdataError) as exc:
        uow.customers.get("adelheid.quenstedt@example.org")
    assert "adelheid" not in str(exc.value)
