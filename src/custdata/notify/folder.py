"""A notifier that writes each message to a readable text file in a folder, for demos and local development."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from custdata._errors import ValidationError
from custdata.notify.message import Message
from custdata.notify.result import SendResult

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class FolderNotifier:
    """Writes one file per message into ``folder`` (created if needed): headers first, then the text.

    The file name comes from the customer, the topic, the channel and the idempotency key, so sending the
    same message twice rewrites one file rather than adding a second. The file name is the provider id.

    >>> import tempfile
    >>> from custdata.notify import Message
    >>> notifier = FolderNotifier(tempfile.mkdtemp())
    >>> result = notifier.send(Message(idempotency_key="k1", channel="email", topic="order_shipped",
    ...                                recipient="ada@example.com", subject="On its way", text="Hello"))
    >>> result.provider_id
    'customer-order_shipped-email-6ab9f1eb8f.txt'
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        if not isinstance(folder, (str, os.PathLike)):
            raise ValidationError.single("folder", f"must be a path, not {type(folder).__name__}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.written = 0

    def send(self, message: Message, /) -> SendResult:
        if not isinstance(message, Message):
            raise ValidationError.single("message", f"must be a Message, not {type(message).__name__}")
        digest = hashlib.sha256(message.idempotency_key.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        who = _UNSAFE.sub("_", str(message.customer_id or "customer"))
        name = f"{who}-{message.topic.value}-{message.channel.value}-{digest}.txt"
        lines = [
            f"To: {message.recipient}",
            f"Channel: {message.channel.value}",
            f"Topic: {message.topic.value}",
            f"Idempotency-Key: {message.idempotency_key}",
        ]
        if message.order_id is not None:
            lines.append(f"Order: {message.order_id}")
        if message.subject:
            lines.append(f"Subject: {message.subject}")
        if message.unsubscribe_url:
            lines.append(f"List-Unsubscribe: <{message.unsubscribe_url}>")
        body = "\n".join(lines) + "\n\n" + message.text.rstrip("\n") + "\n"
        try:
            (self.folder / name).write_text(body, encoding="utf-8")
        except OSError as exc:
            return SendResult.transient(f"could not write to the folder: {exc.strerror or type(exc).__name__}")
        except UnicodeError:  # a lone surrogate, in a message loaded unchecked
            return SendResult.permanent("the message holds text that is not valid Unicode")
        with self._lock:
            self.written += 1
        return SendResult.sent(name)

    def __repr__(self) -> str:
        return f"FolderNotifier({str(self.folder)!r})"
