"""Turning a :class:`Message` into an RFC 5322 email, with the headers mailbox providers expect.

The Message-ID comes from the idempotency key, so a resend carries the same Message-ID and mail clients
can fold duplicates; marketing mail gets RFC 2369 / RFC 8058 one-click unsubscribe headers; every
notification is marked ``Auto-Submitted: auto-generated`` (RFC 3834) so that auto-responders stay quiet.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, formataddr

import attrs
import email_validator

from custdata._errors import ValidationError
from custdata.notify.message import Message


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
) -> EmailMessage:
    """The email for ``message``: text body, HTML alternative when given, and the standard headers."""
    to = ascii_address(message.recipient) or message.recipient
    email = EmailMessage(policy=SMTP if to.isascii() and sender.isascii() else SMTPUTF8)
    email["From"] = formataddr((sender_name, sender)) if sender_name else sender
    email["To"] = to
    email["Subject"] = message.subject or ""
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id(message, message_id_domain)
    email["Auto-Submitted"] = "auto-generated"
    if message.marketing and message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.text, charset="utf-8")
    if message.html:
        email.add_alternative(message.html, subtype="html", charset="utf-8")
    # after the body: making the email multipart moves Content-* headers into the first part
    email["Content-Language"] = message.locale
    return email


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
    email = build_email(message, sender=sender, sender_name=sender_name, message_id_domain=message_id_domain, now=now)
    rcpt = ascii_address(message.recipient)
    utf8 = rcpt is None or not sender.isascii() or not return_path.isascii()
    data = email.as_bytes(policy=SMTPUTF8 if utf8 else SMTP)
    return Envelope(
        mail_from=return_path,
        rcpt_to=rcpt or message.recipient,
        message_id=str(email["Message-ID"]),
        data=data,
        smtputf8=utf8,
    )
