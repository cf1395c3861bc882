"""The protocols and callable types of the notify package, for annotating your own code.

A notifier is anything with ``send(message) -> SendResult``; it need not inherit from anything. One that
holds connections may also have ``close()``, which dispatchers call when they stop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from custdata._clock import Clock as Clock

if TYPE_CHECKING:
    from custdata.notify.message import Message
    from custdata.notify.result import SendResult


@runtime_checkable
class Notifier(Protocol):
    """Delivers messages. ``send`` reports every outcome, failures included, as a :class:`SendResult`;
    it raises only for programming errors (such as passing something that is not a Message).

    Implementations must be safe to call from several threads at once.
    """

    def send(self, message: Message, /) -> SendResult: ...


@runtime_checkable
class ClosableNotifier(Notifier, Protocol):
    """A notifier that holds resources (an open SMTP connection...) to release with ``close()``."""

    def close(self) -> None: ...


#: Decides a send in a :class:`~custdata.notify.RecordingNotifier`: a result to return instead of
#: delivering, or None to deliver as usual.
FailureRule: TypeAlias = "Callable[[Message], SendResult | None]"


@runtime_checkable
class AsyncNotifier(Protocol):
    """Delivers messages from asyncio code: ``await notifier.send(message)`` reports every outcome as a
    :class:`SendResult`, like :class:`Notifier`, and raises only for programming errors.

    Implementations must be safe to await from several tasks at once, and must not block the event loop (run
    blocking work in a thread: :class:`custdata.aio.ThreadedNotifier` does so for any sync notifier). One that
    holds connections may also have ``async def close()``, which the async dispatcher awaits when it stops.
    """

    async def send(self, message: Message, /) -> SendResult: ...
