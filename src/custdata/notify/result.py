"""What a send came to: sent, skipped, or failed (transiently or for good). Never a bare bool.

A dispatcher acts on the outcome: ``sent`` and ``skipped`` are final, a transient failure is retried later
with backoff, a permanent failure stops (retrying cannot help). Reasons never quote personal data.
"""

from __future__ import annotations

import re
from enum import StrEnum

import attrs

from custdata.domain.checks import Checker


class Outcome(StrEnum):
    """How a send ended."""

    SENT = "sent"
    SKIPPED = "skipped"
    TRANSIENT_FAILURE = "transient_failure"
    PERMANENT_FAILURE = "permanent_failure"


@attrs.frozen(kw_only=True)
class SendResult:
    """The result of one :meth:`Notifier.send` call; build it with the class methods.

    ``provider_id`` (sent only) is what the far side knows the message by; ``reason`` says why a message
    was skipped or failed; ``code`` is the provider's status code (SMTP reply, HTTP status) when there was
    one; ``retry_after`` (transient only) is how many seconds the provider asked us to wait.

    >>> SendResult.sent("<4f2a@shop.example>").ok
    True
    >>> r = SendResult.transient("server busy", code=451)
    >>> r.failed, r.retryable, str(r)
    (True, True, 'transient failure: server busy (code 451)')
    """

    outcome: Outcome
    provider_id: str | None = None
    reason: str | None = None
    code: int | None = None
    retry_after: float | None = None

    def __attrs_post_init__(self) -> None:
        check = Checker()
        if not check.enum("outcome", self.outcome, Outcome):
            check.done()
        if self.outcome == Outcome.SENT:
            check.text("provider_id", self.provider_id, max_length=1024)
        elif self.provider_id is not None:
            check.add("provider_id", "is only for sent messages")
        check.text("reason", self.reason, optional=self.outcome == Outcome.SENT, max_length=2000, multiline=True)
        if self.code is not None:
            check.integer("code", self.code, minimum=0)
        if self.retry_after is not None:
            if self.outcome != Outcome.TRANSIENT_FAILURE:
                check.add("retry_after", "is only for transient failures")
            elif not isinstance(self.retry_after, (int, float)) or isinstance(self.retry_after, bool):
                check.add("retry_after", "must be a number of seconds")
            elif not 0 <= self.retry_after < 10**9:
                check.add("retry_after", "must be a non-negative number of seconds")
        check.done()

    @classmethod
    def sent(cls, provider_id: str, *, code: int | None = None) -> SendResult:
        """The far side accepted the message and knows it as ``provider_id``."""
        return cls(outcome=Outcome.SENT, provider_id=provider_id, code=code)

    @classmethod
    def skipped(cls, reason: str) -> SendResult:
        """Nothing was sent, on purpose (for example a channel this notifier does not deliver)."""
        return cls(outcome=Outcome.SKIPPED, reason=reason)

    @classmethod
    def transient(cls, reason: str, *, code: int | None = None, retry_after: float | None = None) -> SendResult:
        """Not delivered now, but the same message may go through later (busy, unreachable, timed out)."""
        return cls(outcome=Outcome.TRANSIENT_FAILURE, reason=reason, code=code, retry_after=retry_after)

    @classmethod
    def permanent(cls, reason: str, *, code: int | None = None) -> SendResult:
        """Refused for good (unknown mailbox, rejected content): retrying the same message cannot help."""
        return cls(outcome=Outcome.PERMANENT_FAILURE, reason=reason, code=code)

    @property
    def ok(self) -> bool:
        """True when the message was handed over."""
        return self.outcome == Outcome.SENT

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.TRANSIENT_FAILURE, Outcome.PERMANENT_FAILURE)

    @property
    def retryable(self) -> bool:
        """True for a transient failure: the dispatcher should try the same message again later."""
        return self.outcome == Outcome.TRANSIENT_FAILURE

    @property
    def permanent_failure(self) -> bool:
        return self.outcome == Outcome.PERMANENT_FAILURE

    def __str__(self) -> str:
        if self.outcome == Outcome.SENT:
            return f"sent as {self.provider_id}"
        text = f"{self.outcome.value.replace('_', ' ')}: {self.reason}"
        return f"{text} (code {self.code})" if self.code is not None else text


_WS = re.compile(r"\s+")


def scrub(reason: str, *secrets: str | None, limit: int = 500) -> str:
    """``reason`` with every ``secret`` (a recipient, its local part...) replaced by ``<redacted>``,
    whitespace collapsed and cut to ``limit`` characters: provider replies often echo the address."""
    text = _WS.sub(" ", reason).strip()
    for secret in sorted({s for s in secrets if s and len(s) > 2}, key=len, reverse=True):
        text = re.sub(re.escape(secret), "<redacted>", text, flags=re.IGNORECASE)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or "no reason given"
