"""Turning a :class:`Message` into an RFC 5322 email, with the headers mailbox providers expect.

The Message-ID comes from the idempotency key, so a resend carries the same Message-ID and mail clients
can fold duplicates; marketing mail gets RFC 2369 / RFC 8058 one-click unsubscribe headers; every
notification is marked ``Auto-Submitted: auto-generated`` (RFC 3834) so that auto-responders stay quiet.
"""

from __future__ import annotations

from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage
from email.message import Message as RawEmail
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTPUTF8, compat32
from email.utils import format_datetime, formataddr
from typing import Any

import attrs
import email_validator

from custdata._errors import ValidationError
from custdata.notify.message import Message

#: UTF-8 bodies as quoted-printable: readable, 7-bit safe, and long lines get soft breaks.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP
_WIRE = compat32.clone(linesep="\r\n")


@attrs.frozen
class Envelope:
    """An email ready for the wire: SMTP envelope addresses and the flattened message bytes."""

    mail_from: str
    rcpt_to: str
    message_id: str
    data: bytes
    smtputf8: bool


def ascii_address(address: str) -> str | None:
    """``address`` with an internationalised domain in IDNA form; None when the local part is not ASCII
    (such an address can only travel over a server that offers SMTPUTF8)."""
    if address.isascii():
        return address
    try:
        info = email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise ValidationError.single("", "is not a valid email address") from None
    ascii_email = info.ascii_email
    return str(ascii_email) if ascii_email else None


def message_id(message: Message, domain: str) -> str:
    """The Message-ID of ``message``: ``<delivery_id@domain>``, the same on every send of the same key.

    >>> m = Message(idempotency_key="k1", channel="email", topic="support",
    ...             recipient="a@example.com", subject="Hi", text="Hello")
    >>> message_id(m, "shop.example")
    '<6ab9f1eb8f7d3388f4f9d586f66e99fd@shop.example>'
    """
    return f"<{message.delivery_id}@{domain}>"


def build_email(
    message: Message,
    *,
    sender: str,
    sender_name: str | None,
    message_id_domain: str,
    now: datetime,
) -> RawEmail:
    """The email for ``message``: text body, HTML alternative when given, and the standard headers.

    All-ASCII addresses (the common case) take the classic ``email.mime`` classes, several times faster than
    ``EmailMessage``; a non-ASCII local part needs the SMTPUTF8 policy of ``EmailMessage``.
    """
    to = ascii_address(message.recipient) or message.recipient
    if not (to.isascii() and sender.isascii()):
        return _build_utf8(message, to, sender, sender_name, message_id_domain, now)
    body = _text_part("plain", message.text)
    root: RawEmail = body
    if message.html:
        html = _text_part("html", message.html)
        for part in (body, html):
            del part["MIME-Version"]  # only the top level carries it
        root = MIMEMultipart("alternative", _subparts=[body, html])
    fields = _header_fields(message, to, message_id_domain, now)
    fields.insert(0, ("From", formataddr((sender_name, sender), charset="utf-8") if sender_name else sender))
    for name, value in fields:
        header: Any = value if value.isascii() else Header(value, "utf-8", header_name=name)  # RFC 2047
        root[name] = header
    return root


def _text_part(subtype: str, text: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text, charset=_UTF8_QP)
    return part


def _header_fields(message: Message, to: str, domain: str, now: datetime) -> list[tuple[str, str]]:
    fields = [
        ("To", to),
        ("Subject", message.subject or ""),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id(message, domain)),
        ("Content-Language", message.locale),
        ("Auto-Submitted", "auto-generated"),
    ]
    if message.marketing and message.unsubscribe_url:
        fields.append(("List-Unsubscribe", f"<{message.unsubscribe_url}>"))
        fields.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    fields.extend(message.headers.items())
    return fields


def _build_utf8(
    message: Message, to: str, sender: str, sender_name: str | None, domain: str, now: datetime
) -> EmailMessage:
    mail = EmailMessage(policy=SMTPUTF8)
    mail.set_content(message.text, charset="utf-8")
    if message.html:
        mail.add_alternative(message.html, subtype="html", charset="utf-8")
    mail["From"] = formataddr((sender_name, sender)) if sender_name else sender
    for name, value in _header_fields(message, to, domain, now):
        mail[name] = value
    return mail


def envelope(
    message: Message,
    *,
    sender: str,
    sender_name: str | None,
    return_path: str,
    message_id_domain: str,
    now: datetime,
) -> Envelope:
    """Everything an SMTP transaction needs for ``message``."""
    mail = build_email(message, sender=sender, sender_name=sender_name, message_id_domain=message_id_domain, now=now)
    rcpt = ascii_address(message.recipient)
    utf8 = rcpt is None or not sender.isascii() or not return_path.isascii()
    data = mail.as_bytes(policy=SMTPUTF8 if isinstance(mail, EmailMessage) else _WIRE)
    return Envelope(
        mail_from=return_path,
        rcpt_to=rcpt or message.recipient,
        message_id=str(mail["Message-ID"]),
        data=data,
        smtputf8=utf8,
    )
