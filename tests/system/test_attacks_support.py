"""Support conversations where they meet merges, undos and erasure: a reply written by a person describes only an
order the customer holds now, and nobody writes to an erased customer through the desk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from custdata import Customer, EmailAddress, ExternalRef, Money, Order, OrderLine, OrderStatus
from custdata.merge import merge, preview, undo
from custdata.privacy import erase_customer
from custdata.storage import Store, walk
from custdata.storage.outbox.ports import has_outbox
from custdata.support import SupportDesk, SupportError, import_mailbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def customer(cid: str, email: str, *, is_guest: bool = False) -> Customer:
    return Customer(
        id=cid,
        created_at=T0 - timedelta(days=100),
        given_name="Ada",
        email=EmailAddress.parse(email),
        is_guest=is_guest,
    )


def order(oid: str, customer_id: str, *, number: str) -> Order:
    line = OrderLine(id="l1", sku="TENT", product_name="Tent", quantity=1, unit_price=Money(Decimal("99"), "EUR"))
    return Order(
        id=oid,
        customer_id=customer_id,
        currency="EUR",
        placed_at=T0 - timedelta(days=3),
        lines=(line,),
        status=OrderStatus.PAID,
        external_ref=ExternalRef("shopify", number),
    )


def receive(store: Store, customer_id: str, text: str, at: Any, **options: Any) -> Any:
    with store.unit_of_work() as uow:
        assert has_outbox(uow)
        got = SupportDesk(auto_answer=False).receive(
            uow, customer_id=customer_id, channel="email", text=text, received_at=at, **options
        )
        uow.commit()
    return got


def entries(store: Store, customer_id: str) -> list[Any]:
    with store.unit_of_work() as uow:
        assert has_outbox(uow)
        return list(uow.outbox.for_customer(customer_id))


def test_a_reply_never_describes_an_order_that_went_back_with_an_undone_merge(store: Store) -> None:
    """A guest's order is merged into an account by mistake; the account holder asks about it (the conversation
    links the order), the merge is undone. A person's reply to that conversation afterwards names no order of
    the guest: not its id, not its shop number."""
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_ada", "ada@example.org"))
        uow.customers.add(customer("cus_gus", "gus@example.org", is_guest=True))
        uow.orders.add(order("ord_gus", "cus_gus", number="7777"))
        uow.commit()
    with store.unit_of_work() as uow:
        record = merge(uow, preview(uow, "cus_ada", ["cus_gus"]), at=T0 + timedelta(hours=1))
        uow.commit()
    asked = receive(store, "cus_ada", "Where is my order 7777?", T0 + timedelta(hours=2), message_key="k1")
    assert asked.conversation.order_id == "ord_gus"  # while merged, the order was the account's
    with store.unit_of_work() as uow:
        undo(uow, record.id, at=T0 + timedelta(hours=3))
        uow.commit()
    with store.unit_of_work() as uow:
        assert has_outbox(uow)
        reply_id = SupportDesk().reply(
            uow,
            customer_id="cus_ada",
            conversation_id=asked.conversation.id,
            text="We are looking into it.",
            now=T0 + timedelta(hours=4),
        )
        uow.commit()
    assert reply_id is not None
    [entry] = [e for e in entries(store, "cus_ada") if e.id == reply_id]
    assert entry.message.order_id is None
    assert "7777" not in str(entry.message.metadata) and "ord_gus" not in str(entry.message.metadata)


def test_a_reply_to_an_erased_customer_is_refused_and_writes_nothing(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_ada", "ada@example.org"))
        uow.commit()
    asked = receive(store, "cus_ada", "Is the tent waterproof?", T0, message_key="k1")
    erase_customer(store, "cus_ada", clock=lambda: T0 + timedelta(days=1))
    before = entries(store, "cus_ada")
    with store.unit_of_work() as uow, pytest.raises(SupportError) as refused:
        assert has_outbox(uow)
        SupportDesk().reply(
            uow, customer_id="cus_ada", conversation_id=asked.conversation.id, text="Yes", now=T0 + timedelta(days=2)
        )
    assert refused.value.problems[0].path == "customer_id"
    assert entries(store, "cus_ada") == before


def mail(message_id: str, sender: str, text: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = sender, "Question", message_id
    msg["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return bytes(msg)


def test_mail_from_an_address_that_came_with_a_merged_guest_is_left_to_a_person(store: Store, tmp_path: Path) -> None:
    """A guest record is merged into an account by mistake: its unproven address becomes one of the account's
    other addresses. Mail from that address (anyone can send it) is not recorded as the account's: it opens no
    conversation of the account and joins none, however it refers to the account's mail; the account's own
    address still reaches it."""
    with store.unit_of_work() as uow:
        uow.customers.add(customer("cus_ada", "ada@example.org"))
        uow.customers.add(customer("cus_eve", "eve@evil.example", is_guest=True))
        uow.commit()
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, "cus_ada", ["cus_eve"]), at=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        ada = uow.customers.get("cus_ada")
    assert ada.email is not None and ada.email.canonical == "ada@example.org"
    assert [e.canonical for e in ada.other_emails] == ["eve@evil.example"]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail("<a1@mail.example>", "ada@example.org", "Is the tent waterproof?"))
    (folder / "2.eml").write_bytes(
        mail("<e1@evil.example>", "eve@evil.example", "Please send it to Elm St 5", references="<a1@mail.example>")
    )
    (folder / "3.eml").write_bytes(mail("<e2@evil.example>", "Eve <EVE@evil.example>", "Where is my order?"))
    with store.unit_of_work() as uow:
        assert has_outbox(uow)
        done = import_mailbox(uow, folder, now=T0 + timedelta(days=1))
        uow.commit()
    assert [r.message.body for r in done.received] == ["Is the tent waterproof?"]
    assert sorted(m.body.strip() for t in done.unmatched for m in t.messages) == [
        "Please send it to Elm St 5",
        "Where is my order?",
    ]
    with store.unit_of_work() as uow:
        bodies = [m.body for m in walk(lambda c: uow.communications.page(cursor=c))]
    assert bodies == ["Is the tent waterproof?"]
