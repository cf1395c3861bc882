"""Importing a mailbox (an mbox file or a folder of ``.eml`` files) into conversations.

Messages are threaded by their Message-ID, In-Reply-To and References headers: messages that refer to each other,
directly or through others, form one thread, and a reply to a message imported earlier joins that message's
conversation when both come from the same customer. Senders are matched to customers by the canonical form of
their address (:attr:`custdata.EmailAddress.canonical`, following merges); a registered account only by its primary
address. A sender the store does not know, or knows as several customers, or only as an erased customer, or only by
another address of an account (one that may have come, unproven, with a merged record), becomes an
:class:`UnmatchedThread` in the result:
nothing of it is written (no account, no guest record), and a person decides what to do with it.

Mail is outside input: huge or broken headers, undecodable bodies and References that loop are read as far as they
can be and never stop the import; a message that still cannot be taken is counted in ``problems``.
"""

from __future__ import annotations

import email
import email.header
import email.headerregistry
import email.message
import email.utils
import hashlib
import mailbox
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs

from custdata._errors import CustdataError, Problem, ValidationError
from custdata.domain import Channel, Customer, EmailAddress
from custdata.domain.personal import LINKED, NESTED, NOT_PERSONAL, PERSONAL
from custdata.storage.merges import resolve
from custdata.storage.outbox.ports import OutboxUnitOfWork

from .desk import Received, SupportDesk, inbound_key
from .text import clean_line, clean_text

#: How many referenced ids of one message are followed (a References header can be made arbitrarily long).
MAX_REFERENCES = 50
#: How much of a header is read.
MAX_HEADER = 4000
#: The longest From line read (the longest line RFC 5322 allows); a longer one names nobody for sure.
MAX_ADDRESS_LINE = 998
#: How much of a body is kept.
MAX_BODY = 200_000

_HEADERS = email.headerregistry.HeaderRegistry()


@attrs.frozen(repr=False)
class MailMessage:
    """One parsed mail: its ids, sender (canonical address, None when unreadable), subject, text and date."""

    key: str = attrs.field(metadata=LINKED)
    message_id: str | None = attrs.field(metadata=LINKED)
    refers_to: tuple[str, ...] = attrs.field(metadata=LINKED)
    sender: str | None = attrs.field(metadata=PERSONAL)
    subject: str | None = attrs.field(metadata=PERSONAL)
    body: str = attrs.field(metadata=PERSONAL)
    sent_at: datetime | None = attrs.field(metadata=NOT_PERSONAL)

    def __repr__(self) -> str:
        return f"MailMessage(sent_at={self.sent_at!r}, refers_to={len(self.refers_to)} ids)"


@attrs.frozen(repr=False)
class UnmatchedThread:
    """A thread whose sender is no (single, not erased) customer: left for a person, not stored."""

    sender: str | None = attrs.field(metadata=PERSONAL)
    messages: tuple[MailMessage, ...] = attrs.field(metadata=PERSONAL)

    def __repr__(self) -> str:
        return f"UnmatchedThread(messages={len(self.messages)})"


@attrs.frozen
class MailboxImport:
    """What an import did: every message received (with its outcome), the unmatched threads, how many messages
    were known already or came from the shop itself, and the problems of messages that could not be taken."""

    received: tuple[Received, ...] = attrs.field(default=(), metadata=NESTED)
    unmatched: tuple[UnmatchedThread, ...] = attrs.field(default=(), metadata=NESTED)
    duplicates: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    own: int = attrs.field(default=0, metadata=NOT_PERSONAL)
    problems: tuple[Problem, ...] = attrs.field(default=(), metadata=NOT_PERSONAL)

    @property
    def answered(self) -> int:
        return sum(r.answered for r in self.received)


def _header(msg: email.message.Message, name: str) -> str | None:
    try:
        raw = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot even return is treated as missing
        return None
    if raw is None:
        return None
    try:
        text = str(email.header.make_header(email.header.decode_header(str(raw)[:MAX_HEADER])))
    except Exception:  # noqa: BLE001 - broken encoded words: keep the raw text
        text = str(raw)
    return clean_line(text, MAX_HEADER) or None


def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = []
    for part in value.replace(">", "> ").split():
        part = part.strip()
        if part.startswith("<") and part.endswith(">") and 2 < len(part) <= 998:
            found.append(part)
        if len(found) >= MAX_REFERENCES:
            break
    return found


def _body(msg: email.message.Message) -> str:
    try:
        parts = list(msg.walk()) if msg.is_multipart() else [msg]
    except Exception:  # noqa: BLE001 - a MIME tree the parser cannot walk
        parts = [msg]
    for part in parts[:100]:
        try:
            if part.get_content_maintype() == "multipart" or part.get_content_type() not in ("text/plain", "text/html"):
                continue
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            charset = part.get_content_charset() or "utf-8"
            try:
                text = payload[: MAX_BODY * 4].decode(charset, "replace")
            except LookupError:
                text = payload[: MAX_BODY * 4].decode("utf-8", "replace")
            return clean_text(text, MAX_BODY)
        except Exception:  # noqa: BLE001 - a broken part is skipped
            continue
    return ""


def _utf8(text: str) -> str:
    """Header text as read from bytes (raw UTF-8 held as escaped bytes) made text again: an address such as
    ``zoë@bücher.example`` written without encoding in a header."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text


def _sender(msg: email.message.Message) -> str | None:
    """The canonical address of the one sender the one From header names, or None.

    The header is read as it came (encoded words stay encoded: they may only hold display names, so a display name
    never becomes an address), by the lenient reader and by the RFC 5322 parser; both must find exactly one address,
    the same. A header naming several addresses, or one that the two readers take for different senders (such as
    ``ada@example.org <eve@example.net>``), names nobody for sure.
    """
    try:
        found = [str(v) for k, v in msg.raw_items() if k.lower() == "from"]
        value = clean_line(_utf8(found[0][:MAX_HEADER]), MAX_HEADER) if len(found) == 1 else None
    except Exception:  # noqa: BLE001 - a header the parser cannot even return is treated as missing
        return None
    if not value or len(value) > MAX_ADDRESS_LINE:
        return None
    try:
        lenient = {address for _, address in email.utils.getaddresses([value]) if address}
        header = _HEADERS("From", value)
        strict: set[str] = (
            {a.addr_spec for a in header.addresses} if isinstance(header, email.headerregistry.AddressHeader) else set()
        )
    except Exception:  # noqa: BLE001 - both readers give up on some junk (comments nested a thousand deep)
        return None
    if len(lenient) != 1 or len(strict) != 1:
        return None
    try:
        [one], [other] = (
            (EmailAddress.parse(a).canonical for a in lenient),
            (EmailAddress.parse(a).canonical for a in strict),
        )
    except (CustdataError, ValueError, TypeError):
        return None
    return one if one == other else None


def _date(msg: email.message.Message) -> datetime | None:
    value = _header(msg, "Date")
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def parse_message(raw: bytes) -> MailMessage:
    """Read one mail from its bytes; never raises on broken mail (what cannot be read is left out)."""
    try:
        msg = email.message_from_bytes(raw)
    except Exception:  # noqa: BLE001 - the parser is lenient, but outside input gets no trust
        msg = email.message.Message()
    own = _ids(_header(msg, "Message-ID"))
    message_id = own[0] if own else None
    refs = [*_ids(_header(msg, "References")), *_ids(_header(msg, "In-Reply-To"))]
    refers = tuple(dict.fromkeys(r for r in refs if r != message_id))[:MAX_REFERENCES]
    key = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    subject = _header(msg, "Subject")
    return MailMessage(
        key=key,
        message_id=message_id,
        refers_to=refers,
        sender=_sender(msg),
        subject=None if subject is None else subject[:998],
        body=_body(msg),
        sent_at=_date(msg),
    )


def read_mailbox(path: str | Path) -> list[MailMessage]:
    """The messages of an mbox file, or of the ``.eml`` files in a folder (in name order)."""
    where = Path(path)
    if where.is_dir():
        return [parse_message(_read(p)) for p in sorted(where.glob("*.eml")) if not p.is_dir()]
    if not where.is_file():
        raise ValidationError.single("path", f"{where} is neither an mbox file nor a folder of .eml files")
    box = mailbox.mbox(where, create=False)
    try:
        return [parse_message(box.get_bytes(key)) for key in box.keys()]  # noqa: SIM118 - iterating yields messages
    finally:
        box.close()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError.single("path", f"{path.name} cannot be read: {exc.strerror or exc}") from None


def threads(messages: Sequence[MailMessage]) -> list[list[MailMessage]]:
    """Group messages that refer to each other (directly or through others, loops included), each thread in date
    order and the threads in order of their first message."""
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        parent.setdefault(item, item)
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:  # path compression, iteratively (no recursion on long chains)
            parent[item], item = root, parent[item]
        return root

    for message in messages:
        for ref in message.refers_to:
            a, b = find(message.key), find(ref)
            if a != b:
                parent[a] = b
    groups: dict[str, list[MailMessage]] = {}
    for message in messages:
        groups.setdefault(find(message.key), []).append(message)
    far = datetime.max.replace(tzinfo=UTC)
    ordered = [sorted(g, key=lambda m: (m.sent_at or far, m.key)) for g in groups.values()]
    ordered.sort(key=lambda g: (g[0].sent_at or far, g[0].key))
    return ordered


def _customer(uow: OutboxUnitOfWork, sender: str | None) -> Customer | None:
    """The one live customer the sender's address leads to, or None. A registered account is reached only by its
    primary address: its other addresses may have come with a merged record, unproven, and mail from one of them
    (anyone can write it) must not join the account's conversations."""
    if sender is None:
        return None
    survivors = {}
    for found in uow.customers.find_by_email(sender):
        try:
            survivor = resolve(uow, found.id)
        except CustdataError:
            continue
        survivors[survivor.id] = survivor
    alive = [c for c in survivors.values() if c.redacted_at is None]
    if len(alive) != 1 or len(survivors) != 1:
        return None
    [found] = alive
    if not found.is_guest and (found.email is None or found.email.canonical != sender):
        return None
    return found


def _earlier_conversation(uow: OutboxUnitOfWork, thread: Iterable[MailMessage], customer: Customer) -> str | None:
    """The conversation of a message of this customer imported before that the thread refers to."""
    seen: set[str] = set()
    for message in thread:
        for ref in (message.key, *message.refers_to):
            if ref in seen:
                continue
            seen.add(ref)
            known = uow.communications.find_by_idempotency_key(inbound_key(ref))
            if known is None or known.ticket_id is None:
                continue
            try:
                owner = resolve(uow, known.customer_id)
            except CustdataError:
                continue
            if owner.id == customer.id:
                return known.ticket_id
    return None


def import_mailbox(
    uow: OutboxUnitOfWork,
    source: str | Path | Sequence[MailMessage],
    *,
    desk: SupportDesk | None = None,
    own_addresses: Iterable[str] = (),
    now: datetime,
) -> MailboxImport:
    """Import the mail of ``source`` (a path, or messages read already) through ``desk``.

    Mail from ``own_addresses`` (the shop's) is skipped. Mail without a readable date counts as received ``now``.
    The same mailbox imported twice records each message once.
    """
    desk = desk or SupportDesk()
    messages = read_mailbox(source) if isinstance(source, str | Path) else list(source)
    own = set()
    for address in own_addresses:
        try:
            own.add(EmailAddress.parse(address).canonical)
        except CustdataError:
            raise ValidationError.single("own_addresses", f"{address!r} is not an email address") from None
    received: list[Received] = []
    unmatched: list[UnmatchedThread] = []
    problems: list[Problem] = []
    duplicates = skipped = 0
    position = {id(message): i for i, message in reversed(list(enumerate(messages)))}
    for thread in threads(messages):
        by_sender: dict[str | None, list[MailMessage]] = {}
        for message in thread:
            if message.sender is not None and message.sender in own:
                skipped += 1
                continue
            by_sender.setdefault(message.sender, []).append(message)
        for sender, mails in by_sender.items():
            customer = _customer(uow, sender)
            if customer is None:
                unmatched.append(UnmatchedThread(sender=sender, messages=tuple(mails)))
                continue
            conversation = _earlier_conversation(uow, mails, customer)
            for mail in mails:
                try:
                    outcome = desk.receive(
                        uow,
                        customer_id=customer.id,
                        channel=Channel.EMAIL,
                        text=mail.body.strip() or mail.subject or "(no text)",
                        subject=mail.subject,
                        received_at=mail.sent_at or now,
                        conversation_id=conversation,
                        message_key=mail.key,
                    )
                except CustdataError as exc:
                    problems.append(Problem(f"messages[{position[id(mail)]}]", str(exc)))
                    continue
                conversation = outcome.conversation.id
                if outcome.duplicate:
                    duplicates += 1
                else:
                    received.append(outcome)
    return MailboxImport(
        received=tuple(received),
        unmatched=tuple(unmatched),
        duplicates=duplicates,
        own=skipped,
        problems=tuple(problems),
    )
