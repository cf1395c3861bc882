"""Async notifiers: any sync notifier in a thread, and a recorder for tests.

- :class:`ThreadedNotifier` awaits a sync :class:`~custdata.notify.typing.Notifier` in a worker thread
  (``asyncio.to_thread``): the SMTP notifier keeps its one connection and its lock, so sends through it go one
  at a time over the connection it already holds, and the event loop never waits for the network.
- :class:`AsyncRecordingNotifier` records what it is asked to send, with the injectable failures of
  :class:`~custdata.notify.RecordingNotifier`, an optional delay and a hook run during each send.

Both satisfy :class:`custdata.notify.typing.AsyncNotifier`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from custdata.domain import Channel
from custdata.notify import Message, RecordingNotifier, SendResult
from custdata.notify.message import ensure_message
from custdata.notify.recording import Attempt
from custdata.notify.typing import AsyncNotifier, Notifier


class ThreadedNotifier:
    """``await send(message)`` runs ``notifier.send(message)`` in a worker thread; ``await close()`` closes it
    there too. The wrapped notifier must be safe to call from several threads (custdata's notifiers are)."""

    def __init__(self, notifier: Notifier) -> None:
        if not callable(getattr(notifier, "send", None)):
            from custdata._errors import ValidationError

            raise ValidationError.single("notifier", "must have a send(message) method")
        self.notifier = notifier

    async def send(self, message: Message, /) -> SendResult:
        ensure_message(message)
        return await asyncio.to_thread(self.notifier.send, message)

    async def close(self) -> None:
        close = getattr(self.notifier, "close", None)
        if callable(close):
            await asyncio.to_thread(close)

    def __repr__(self) -> str:
        return f"ThreadedNotifier({self.notifier!r})"


class AsyncRecordingNotifier:
    """Records every message it is asked to send (see :class:`~custdata.notify.RecordingNotifier`, which it
    wraps as :attr:`recorder`: inject failures there). ``delay`` seconds pass in each send before it is
    recorded, and ``during_send`` (a coroutine function taking the message), when given, is awaited then: a
    test's way to change the store while a message is in flight."""

    def __init__(
        self,
        *,
        channels: Iterable[Channel | str] | None = None,
        delay: float = 0.0,
        during_send: Callable[[Message], Awaitable[None]] | None = None,
    ) -> None:
        self.recorder = RecordingNotifier(channels=channels)
        self.delay = delay
        self.during_send = during_send

    async def send(self, message: Message, /) -> SendResult:
        ensure_message(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.during_send is not None:
            await self.during_send(message)
        return self.recorder.send(message)

    @property
    def messages(self) -> list[Message]:
        """The messages delivered (not failed or skipped), in order."""
        return self.recorder.messages

    @property
    def attempts(self) -> list[Attempt]:
        """Every send and its result, in order."""
        return self.recorder.attempts

    def duplicates(self) -> dict[str, int]:
        """Idempotency keys delivered more than once, with their counts."""
        return self.recorder.duplicates()

    def __len__(self) -> int:
        return len(self.recorder)


#: Both notifiers offer the async protocol (checked by the type checker).
_ASYNC: tuple[type[AsyncNotifier], ...] = (ThreadedNotifier, AsyncRecordingNotifier)
