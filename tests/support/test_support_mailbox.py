"""Importing a mailbox: threads by Message-ID, In-Reply-To and References; senders matched by canonical address;
strangers and erased customers never become accounts; hostile mail never stops the import."""

from __future__ import annotations

import mailbox
from collections import deque
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_builders import T0, customer, order

from custdata.domain import Direction
from custdata.privacy.erasure import erase_customer
from custdata.storage import Store, open_store, walk
from custdata.support import MailMessage, SupportDesk, import_mailbox, read_mailbox, threads
from custdata.support.mailbox import parse_message


def mail(
    mid: str,
    sender: str,
    text: str,
    *,
    subject: str = "Question",
    reply_to: str | None = None,
    references: str | None = None,
    hours: int = 0,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "service@shop.example"
    msg["Subject"] = subject
    msg["Message-ID"] = mid
    msg["Date"] = (T0 + timedelta(hours=hours)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    if reply_to:
        msg["In-Reply-To"] = reply_to
    if references:
        msg["References"] = references
    msg.set_content(text)
    return bytes(msg)


def fill(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.customers.add(customer("cus_bob", "bob@example.org"))
        uow.orders.add(order("ord_1", "cus_ada", number="1042"))
        uow.commit()


def run(store: Store, source: Any, **options: Any) -> Any:
    with store.unit_of_work() as uow:
        done = import_mailbox(uow, source, now=T0 + timedelta(days=1), **options)  # type: ignore[arg-type]
        uow.commit()
    return done


def everything(store: Store) -> tuple[list[Any], list[Any]]:
    with store.unit_of_work() as uow:
        people = list(walk(lambda c: uow.customers.search(cursor=c)))
        messages = list(walk(lambda c: uow.communications.page(cursor=c)))
    return people, messages


def test_an_mbox_is_threaded_and_matched_to_customers_by_canonical_address(store: Store, tmp_path: Path) -> None:
    fill(store)
    box = mailbox.mbox(tmp_path / "support.mbox")
    box.add(mail("<a1@mail.example>", "Ada <ADA@Example.ORG>", "Do you have the tent in blue?"))
    box.add(mail("<x1@mail.example>", "Stranger <who@else.example>", "Where is my order 1042?", hours=1))
    box.add(mail("<s1@shop.example>", "service@shop.example", "Yes", reply_to="<a1@mail.example>", hours=2))
    box.add(
        mail(
            "<a2@mail.example>",
            "ada@example.org",
            "And in green?",
            references="<a1@mail.example> <s1@shop.example>",
            hours=3,
        )
    )
    box.flush()
    box.close()
    before = everything(store)[0]
    done = run(store, tmp_path / "support.mbox", own_addresses=["service@shop.example"])
    assert done.own == 1 and done.problems == () and len(done.received) == 2
    assert {r.conversation.id for r in done.received} == {done.received[0].conversation.id}
    [stranger] = done.unmatched
    assert stranger.sender == "who@else.example" and stranger.messages[0].body.startswith("Where is my order")
    people, messages = everything(store)
    assert people == before  # no account, no guest record for a stranger
    assert all(m.customer_id == "cus_ada" for m in messages if m.direction is Direction.INBOUND)
    assert not any("1042" in (m.body or "") for m in messages if m.customer_id == "cus_ada")
    again = run(store, tmp_path / "support.mbox", own_addresses=["service@shop.example"])
    assert again.duplicates == 2 and again.received == () and everything(store)[1] == messages


def test_a_later_reply_joins_the_earlier_conversation_but_never_another_customers(store: Store, tmp_path: Path) -> None:
    fill(store)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "1.eml").write_bytes(mail("<a1@mail.example>", "ada@example.org", "Is the tent waterproof?"))
    first = run(store, tmp_path / "one")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "2.eml").write_bytes(
        mail("<a2@mail.example>", "ada@example.org", "Thanks!", references="<a1@mail.example>", hours=5)
    )
    (tmp_path / "two" / "3.eml").write_bytes(  # Bob forges a reference to Ada's message
        mail("<b1@mail.example>", "bob@example.org", "Tell me more", references="<a1@mail.example>", hours=6)
    )
    second = run(store, tmp_path / "two")
    by_customer = {r.conversation.customer_id: r.conversation for r in second.received}
    assert by_customer["cus_ada"].id == first.received[0].conversation.id
    assert len(by_customer["cus_ada"].inbound) == 2
    assert by_customer["cus_bob"].id != by_customer["cus_ada"].id
    assert [m.body for m in by_customer["cus_bob"].messages] == ["Tell me more"]


def test_an_erased_customers_address_is_a_stranger(store: Store, tmp_path: Path) -> None:
    fill(store)
    erase_customer(store, "cus_bob", clock=lambda: T0)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1.eml").write_bytes(mail("<b9@mail.example>", "bob@example.org", "Hello again"))
    done = run(store, tmp_path / "in")
    assert done.received == () and len(done.unmatched) == 1
    assert not [m for m in everything(store)[1] if m.direction is Direction.INBOUND]


def reference_threads(messages: list[MailMessage]) -> set[frozenset[str]]:
    """Connected components by breadth-first search: the plain definition of a thread."""
    links: dict[str, set[str]] = {}
    for m in messages:
        links.setdefault(m.key, set())
        for ref in m.refers_to:
            links[m.key].add(ref)
            links.setdefault(ref, set()).add(m.key)
    keys = {m.key for m in messages}
    seen: set[str] = set()
    groups: set[frozenset[str]] = set()
    for m in messages:
        if m.key in seen:
            continue
        todo, found = deque([m.key]), {m.key}
        while todo:
            for nxt in links[todo.popleft()]:
                if nxt not in found:
                    found.add(nxt)
                    todo.append(nxt)
        seen |= found
        groups.add(frozenset(found & keys))
    return groups


ids = st.sampled_from([f"<m{i}@x>" for i in range(12)])


@settings(max_examples=60)
@given(st.lists(st.tuples(ids, st.lists(ids, max_size=6)), max_size=14, unique_by=lambda t: t[0]))
def test_threads_are_the_connected_messages_even_with_loops(spec: list[tuple[str, list[str]]]) -> None:
    messages = [
        MailMessage(key=k, message_id=k, refers_to=tuple(r), sender=None, subject=None, body="", sent_at=None)
        for k, r in spec
    ]
    got = threads(messages)
    assert {frozenset(m.key for m in group) for group in got} == reference_threads(messages)
    assert sorted(m.key for g in got for m in g) == sorted(m.key for m in messages)


header_text = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.just("=?utf-8?b?////?= =?x-unknown?q?caf=E9?="),
    st.integers(5_000, 120_000).map(lambda n: "x" * n),
    st.lists(st.sampled_from(["<a@x>", "<b@x>", "<m0@x>"]), max_size=3000).map(" ".join),
)


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    headers = {
        "From": draw(st.sampled_from(["ada@example.org", "ADA@example.org", "", "=?utf-8?q?=FF?= <ada@example.org>"])),
        "Message-ID": draw(st.sampled_from(["<m0@x>", "<m1@x>", "", "<<>>"])),
        "References": draw(header_text),
        "In-Reply-To": draw(header_text),
        "Subject": draw(header_text),
        "Date": draw(st.sampled_from(["", "Mon, 2 Mar 2026 09:00:00 +0000", "not a date", "Mon, 99 Foo 99999 99:99"])),
        "Content-Type": draw(
            st.sampled_from(["text/plain; charset=utf-8", "text/plain; charset=x-nope", "multipart/mixed; boundary=b"])
        ),
        "Content-Transfer-Encoding": draw(st.sampled_from(["8bit", "base64", "quoted-printable", "x-weird"])),
    }
    head = b"".join(
        f"{k}: {v}".encode("utf-8", "surrogateescape") + b"\r\n" for k, v in headers.items() if draw(st.booleans())
    )
    body = draw(st.binary(max_size=3000)) + b"where is my order 1042 \x00 \xff\xfe"
    return head + b"\r\n" + body


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile(), min_size=1, max_size=4))
def test_hostile_mail_never_stops_the_import_and_stores_only_valid_text(raw: list[bytes]) -> None:
    with open_store("memory://") as store:
        fill(store)
        parsed = [parse_message(r) for r in raw]
        done = run(store, parsed)
        assert len(done.received) + done.duplicates + sum(len(u.messages) for u in done.unmatched) + len(
            done.problems
        ) == len(parsed)
        for message in everything(store)[1]:
            message.validate()
            assert "\x00" not in (message.body or "") and len(message.subject or "") <= 998


def test_a_sqlite_file_takes_hostile_mail(tmp_path: Path) -> None:
    raw = mail("<m1@x>", "ada@example.org", "where is my order 1042").replace(
        b"Question", b"Q\xff\xfe =?utf-8?b?////?="
    )
    raw = raw.replace(b"where is", b"\x00\xed\xa0\x80 where is")
    with open_store(f"sqlite:///{tmp_path}/shop.db") as store:
        fill(store)
        done = run(store, [parse_message(raw)])
        assert len(done.received) == 1 and done.received[0].answered
        [inbound] = [m for m in everything(store)[1] if m.direction is Direction.INBOUND]
        assert inbound.subject is not None and "\x00" not in (inbound.body or "")


def test_read_mailbox_refuses_a_missing_path(tmp_path: Path) -> None:
    import pytest

    from custdata import ValidationError

    with pytest.raises(ValidationError, match="path"):
        read_mailbox(tmp_path / "nothing")
    assert read_mailbox(tmp_path) == []


def test_the_desk_given_is_used(store: Store, tmp_path: Path) -> None:
    fill(store)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1.eml").write_bytes(mail("<a1@mail.example>", "ada@example.org", "where is my order 1042?"))
    done = run(store, tmp_path / "in", desk=SupportDesk(auto_answer=False))
    assert not done.received[0].answered and done.answered == 0
    assert attrs.has(type(done))
