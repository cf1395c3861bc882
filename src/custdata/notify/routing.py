"""One notifier in front of several: each message goes to the notifier registered for its channel."""

from __future__ import annotations

from collections.abc import Mapping

from custdata.domain.enums import Channel
from custdata.notify.message import Message, ensure_message
from custdata.notify.result import SendResult
from custdata.notify.typing import Notifier


class ChannelRouter:
    """Sends email through one notifier, SMS through another...; a channel with no notifier is skipped.

    A dispatcher needs only one notifier; this is how it gets several.

    >>> from custdata.notify import RecordingNotifier
    >>> email, sms = RecordingNotifier(), RecordingNotifier()
    >>> router = ChannelRouter({"email": email, "sms": sms})
    >>> m = Message(idempotency_key="k", channel="push", topic="support", recipient="device-1", text="Hi")
    >>> router.send(m).reason
    'no notifier is set up for the push channel'
    """

    def __init__(self, routes: Mapping[Channel | str, Notifier]) -> None:
        table: dict[Channel, Notifier] = {}
        for channel, notifier in routes.items():
            if not callable(getattr(notifier, "send", None)):
                raise TypeError(f"the notifier for {channel} has no send() method")
            table[Channel(channel)] = notifier
        self._routes = table

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(self._routes)

    def send(self, message: Message, /) -> SendResult:
        """Hand ``message`` to the notifier for its channel."""
        ensure_message(message)
        notifier = self._routes.get(message.channel)
        if notifier is None:
            return SendResult.skipped(f"no notifier is set up for the {message.channel.value} channel")
        return notifier.send(message)

    def close(self) -> None:
        """Close every routed notifier that can be closed (each once)."""
        seen: set[int] = set()
        for notifier in self._routes.values():
            close = getattr(notifier, "close", None)
            if callable(close) and id(notifier) not in seen:
                seen.add(id(notifier))
                close()

    def __repr__(self) -> str:
        routes = ", ".join(f"{c.value}: {type(n).__name__}" for c, n in sorted(self._routes.items()))
        return f"ChannelRouter({{{routes}}})"
