"""Who sent a mail: the one address of the one From header, read the same way by the lenient reader and the RFC 5322
parser; a display name, a second address or a second From header never leads to a customer."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support_builders import T0, customer

from custdata import EmailAddress
from custdata.domain import Direction
from custdata.storage import Store, open_store, walk
from custdata.support import import_mailbox, read_mailbox
from custdata.support.mailbox import parse_message

POOL = ["ada@example.org", "eve@evil.example", "zoë@bücher.example"]


def canonical(address: str) -> str:
    return EmailAddress.parse(address).canonical


def mailbox_text(style: str, shown: str, address: str) -> str:
    if style == "bare":
        return address
    if style == "quoted":
        return f'"{shown}" <{address}>'
    if style == "unquoted":
        return f"{shown} <{address}>"
    if style == "encoded":  # an encoded word may hold a display name only, whatever it decodes to
        return f"=?utf-8?b?{base64.b64encode((shown + ',').encode()).decode()}?= <{address}>"
    return f"{address} ({shown})"


@st.composite
def from_headers(draw: st.DrawFn) -> tuple[list[list[tuple[str, str, str]]], bytes]:
    headers = draw(
        st.lists(
            st.lists(
                st.tuples(
                    st.sampled_from(["bare", "quoted", "unquoted", "encoded", "comment"]),
                    st.sampled_from([*POOL, "Ada", "Ada Lovelace"]),
                    st.sampled_from(POOL),
                ),
                min_size=1,
                max_size=3,
            ),
            min_size=1,
            max_size=2,
        )
    )
    separator = draw(st.sampled_from([", ", "; ", " ", ","]))
    head = b"".join(
        b"From: " + separator.join(mailbox_text(*m) for m in mailboxes).encode() + b"\r\n" for mailboxes in headers
    )
    return headers, head + b"Message-ID: <m1@mail.example>\r\nSubject: Hello\r\n\r\nWhere is my order?\r\n"


@given(from_headers())
def test_the_sender_is_the_one_address_named_never_a_display_name(spec: tuple[list[list[Any]], bytes]) -> None:
    headers, raw = spec
    got = parse_message(raw).sender
    addresses = {canonical(address) for mailboxes in headers for _, _, address in mailboxes}
    if got is not None:  # only ever the address of every mailbox of the only header
        assert len(headers) == 1 and addresses == {got}
    [[(style, shown, address)], *more] = headers if len(headers[0]) == 1 else [[("", "", "")]]
    well_formed = not more and not (style == "unquoted" and "@" in shown)
    if style and well_formed:
        assert got == canonical(address)


def fill(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.commit()


def test_a_mail_from_eve_written_as_ada_reaches_no_account(store: Store, tmp_path: Path) -> None:
    fill(store)
    (tmp_path / "in").mkdir()
    forged = [
        "ada@example.org <eve@evil.example>",
        "=?utf-8?q?ada=40example.org=2C?= <eve@evil.example>",
        "ada@example.org, eve@evil.example",
        "ada@example.org)<eve@evil.example>",
        "ada@example.org\r\nFrom: eve@evil.example",
    ]
    for i, sender in enumerate(forged):
        (tmp_path / "in" / f"{i}.eml").write_bytes(
            f"From: {sender}\r\nMessage-ID: <f{i}@evil.example>\r\n\r\nWhere is my order?\r\n".encode()
        )
    with store.unit_of_work() as uow:
        done = import_mailbox(uow, tmp_path / "in", now=T0)  # type: ignore[arg-type]
        uow.commit()
        stored = list(walk(lambda c: uow.communications.page(cursor=c)))
    assert done.received == () and sum(len(u.messages) for u in done.unmatched) == len(forged)
    assert all(u.sender in (None, "eve@evil.example") for u in done.unmatched)
    assert not [m for m in stored if m.direction is Direction.INBOUND]


def test_a_folder_named_like_a_mail_is_no_mail(tmp_path: Path) -> None:
    (tmp_path / "sub.eml").mkdir()
    (tmp_path / "1.eml").write_bytes(b"From: ada@example.org\r\nMessage-ID: <a@x>\r\n\r\nhi\r\n")
    [mail] = read_mailbox(tmp_path)
    assert mail.sender == "ada@example.org"


def test_a_problem_names_the_position_of_its_message_in_the_mailbox() -> None:
    with open_store("memory://") as store:
        fill(store)
        with store.unit_of_work() as uow:
            uow.customers.add(customer("cus_bob", "bob@example.org"))
            uow.commit()
        mails = [
            parse_message(f"From: {who}\r\nMessage-ID: <{mid}>\r\n\r\nhello\r\n".encode())
            for who, mid in [("ada@example.org", "a1@x"), ("ada@example.org", "a2@x"), ("bob@example.org", "a1@x")]
        ]
        with store.unit_of_work() as uow:
            done = import_mailbox(uow, mails, now=T0)  # type: ignore[arg-type]
            uow.commit()
    assert [p.path for p in done.problems] == ["messages[2]"]  # Bob's mail reuses the id of Ada's


hostile_from = st.one_of(
    st.tuples(
        st.sampled_from(["(", ")", '"', "<", ">", "g:", ";", "@", ",", "\\", "=?utf-8?q?", "?="]), st.integers(1, 4000)
    ).map(lambda t: t[0] * t[1]),
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=60)
@given(st.lists(hostile_from, min_size=1, max_size=3).map("".join), st.sampled_from(["", " ada@example.org"]))
def test_any_from_line_is_read_quickly_or_left_without_a_sender(junk: str, tail: str) -> None:
    raw = b"From: " + (junk + tail).encode("utf-8", "surrogateescape") + b"\r\nMessage-ID: <j@x>\r\n\r\nhi\r\n"
    started = time.perf_counter()
    mail = parse_message(raw)
    assert time.perf_counter() - started < 2.0
    assert mail.sender is None or "@" in mail.sender


def test_comments_nested_a_thousand_deep_leave_the_mail_without_a_sender() -> None:
    assert parse_message(b"From: " + b"(" * 3000 + b"ada@example.org\r\n\r\nhi\r\n").sender is None
