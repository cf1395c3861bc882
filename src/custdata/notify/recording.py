"""A notifier that keeps messages in memory: the test double for your code, and a sink for notebooks.

It behaves like a real provider that never deduplicates: sending the same idempotency key twice records
two deliveries, which is exactly what tests of "never twice" need to count.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable

import attrs

from custdata._errors import NotFoundError
from custdata.domain.enums import Channel
from custdata.notify.message import Message, ensure_message
from custdata.notify.result import Outcome, SendResult
from custdata.notify.typing import FailureRule


@attrs.frozen
class Attempt:
    """One call to :meth:`RecordingNotifier.send`: the message and what came of it."""

    message: Message
    result: SendResult


class RecordingNotifier:
    """Records every message it is asked to send; thread-safe.

    ``channels`` limits the channels it accepts (others come back skipped); by default it takes all.
    Failures are injected with :meth:`fail_next` (the next sends fail), :meth:`inject` (the next sends
    return given results) or :meth:`fail_when` (a rule decides per message).

    >>> notifier = RecordingNotifier()
    >>> message = Message(idempotency_key="ord_1:shipped", channel="sms", topic="order_shipped",
    ...                   recipient="+14155550123", text="Your order is on its way.")
    >>> notifier.fail_next(1)
    >>> notifier.send(message).retryable
    True
    >>> notifier.send(message).ok, len(notifier.messages)
    (True, 1)
    """

    def __init__(self, *, channels: Iterable[Channel | str] | None = None) -> None:
        self._channels = None if channels is None else frozenset(Channel(c) for c in channels)
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []
        self._queued: deque[SendResult] = deque()
        self._rule: FailureRule | None = None

    # -- sending -------------------------------------------------------------------------------------

    def send(self, message: Message, /) -> SendResult:
        """Record ``message`` as delivered, unless an injected failure or the channel filter says otherwise."""
        ensure_message(message)
        with self._lock:
            result = self._queued.popleft() if self._queued else None
        rule = self._rule
        if result is None and rule is not None:
            result = rule(message)
            if result is not None and not isinstance(result, SendResult):
                raise TypeError(f"the failure rule must return a SendResult or None, not {type(result).__name__}")
        if result is None:
            if self._channels is not None and message.channel not in self._channels:
                result = SendResult.skipped(f"RecordingNotifier does not deliver the {message.channel.value} channel")
            else:
                result = SendResult.sent(self.provider_id(message))
        with self._lock:
            self._attempts.append(Attempt(message, result))
        return result

    @staticmethod
    def provider_id(message: Message) -> str:
        """The id a delivery of ``message`` gets: derived from its idempotency key, like a Message-ID."""
        return f"rec-{message.delivery_id}"

    # -- injecting failures ----------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, permanent: bool = False, reason: str = "injected failure") -> None:
        """Make the next ``count`` sends fail (transiently unless ``permanent``), whatever the message."""
        if not isinstance(count, int) or count < 0:
            raise ValueError("count must be a non-negative integer")
        result = SendResult.permanent(reason) if permanent else SendResult.transient(reason)
        self.inject(*([result] * count))

    def inject(self, *results: SendResult) -> None:
        """Make the next sends return ``results``, in order, before anything else is considered."""
        for result in results:
            if not isinstance(result, SendResult):
                raise TypeError(f"inject() takes SendResult values, not {type(result).__name__}")
        with self._lock:
            self._queued.extend(results)

    def fail_when(self, rule: FailureRule | None) -> None:
        """Let ``rule(message)`` decide each send: a SendResult to return, or None to deliver.

        Pass None to remove the rule. The rule runs outside the lock, so it may block (to hold a send
        open in a concurrency test) without stalling other threads' bookkeeping.
        """
        if rule is not None and not callable(rule):
            raise TypeError("the failure rule must be callable")
        self._rule = rule

    # -- looking things up -----------------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """Every delivered message, oldest first (a copy)."""
        with self._lock:
            return [a.message for a in self._attempts if a.result.outcome == Outcome.SENT]

    @property
    def attempts(self) -> list[Attempt]:
        """Every send, delivered or not, oldest first (a copy)."""
        with self._lock:
            return list(self._attempts)

    def deliveries(self, idempotency_key: str) -> list[Message]:
        """The delivered messages with ``idempotency_key`` (more than one means a duplicate delivery)."""
        return [m for m in self.messages if m.idempotency_key == idempotency_key]

    def get(self, idempotency_key: str) -> Message:
        """The last delivered message with ``idempotency_key``; :class:`custdata.NotFoundError` if none."""
        found = self.deliveries(idempotency_key)
        if not found:
            raise NotFoundError("delivered message", idempotency_key)
        return found[-1]

    def __contains__(self, idempotency_key: object) -> bool:
        return isinstance(idempotency_key, str) and bool(self.deliveries(idempotency_key))

    def duplicates(self) -> dict[str, int]:
        """Idempotency keys delivered more than once, with their delivery counts."""
        counts = Counter(m.idempotency_key for m in self.messages)
        return {key: n for key, n in counts.items() if n > 1}

    def clear(self) -> None:
        """Forget every attempt and every injected failure (the rule stays until ``fail_when(None)``)."""
        with self._lock:
            self._attempts.clear()
            self._queued.clear()

    def __len__(self) -> int:
        """The number of delivered messages."""
        with self._lock:
            return sum(1 for a in self._attempts if a.result.outcome == Outcome.SENT)

    def __repr__(self) -> str:
        return f"RecordingNotifier(delivered={len(self)}, attempts={len(self.attempts)})"
