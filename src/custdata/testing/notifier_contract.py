"""A contract every notifier must meet, as a test class to subclass: built-in and third-party alike.

Subclass :class:`NotifierContract` in your test suite, name it ``Test...`` so pytest collects it, and
write one method, ``make_notifier()``, returning a :class:`NotifierHarness`: the notifier and a way to
read what its far side (a local SMTP server, an HTTP endpoint, a fake provider) received::

    class TestMyNotifier(NotifierContract):
        def make_notifier(self) -> NotifierHarness:
            inbox = MyFakeProvider()
            return NotifierHarness(
                notifier=MyNotifier(inbox.url),
                received=inbox.deliveries,      # () -> list[Delivery]
                unreachable=MyNotifier("http://127.0.0.1:9"),  # one that cannot get through
            )

The checks: a delivered message arrives with its content; results are :class:`SendResult` values; the
same idempotency key keeps the same identity at the far side and different keys do not share one;
marketing messages carry their unsubscribe URL and transactional ones none; failures and channels the
notifier does not serve come back as results, not exceptions, and without personal data in their
reasons; concurrent sends from several threads all arrive. Plain assertions only: it runs under pytest
or unittest-style runners alike, and configuration happens in code, not environment variables.
"""

from __future__ import annotations

import json
import threading
import time
import unittest
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from itertools import count
from typing import Any

import attrs

from custdata.domain.enums import Channel, Topic
from custdata.notify.message import Message
from custdata.notify.result import Outcome, SendResult
from custdata.notify.typing import Notifier

_SAMPLE_RECIPIENTS: Mapping[Channel, str] = {
    Channel.EMAIL: "customer@example.com",
    Channel.SMS: "+14155550123",
    Channel.PHONE: "+14155550123",
    Channel.WEBHOOK: "https://hooks.example.com/custdata",
}


def _normal(text: str | None) -> str | None:
    """Line endings unified and trailing newlines dropped: transports may add or change them."""
    return None if text is None else text.replace("\r\n", "\n").rstrip("\n")


@attrs.frozen
class Delivery:
    """What the far side received for one message, in a shape every notifier can be checked against.

    ``identity`` is what the far side knows the message by (an email's Message-ID, a webhook's delivery
    id, a provider's reference): sends with the same idempotency key must share it.
    """

    identity: str
    recipient: str
    text: str
    subject: str | None = None
    html: str | None = None
    unsubscribe_url: str | None = None

    @classmethod
    def from_email(cls, raw: bytes, *, recipient: str | None = None) -> Delivery:
        """Read an RFC 5322 email (as an SMTP server stores it); ``recipient`` overrides the To header
        with the envelope recipient when you have it."""
        email = message_from_bytes(raw, policy=policy.default)
        if not isinstance(email, EmailMessage):
            raise TypeError("the email could not be parsed")
        text_part = email.get_body(("plain",))
        html_part = email.get_body(("html",))
        unsubscribe = email.get("List-Unsubscribe")
        return cls(
            identity=str(email.get("Message-ID", "")),
            recipient=recipient if recipient is not None else str(email.get("To", "")),
            subject=str(email["Subject"]) if email["Subject"] is not None else None,
            text=_part_text(text_part),
            html=_part_text(html_part) if html_part is not None else None,
            unsubscribe_url=str(unsubscribe).strip().strip("<>") if unsubscribe else None,
        )

    @classmethod
    def from_webhook(cls, body: bytes) -> Delivery:
        """Read the JSON body that :class:`~custdata.notify.WebhookNotifier` posts."""
        data = json.loads(body)
        return cls(
            identity=str(data["id"]),
            recipient=str(data["recipient"]),
            subject=data.get("subject"),
            text=str(data["text"]),
            html=data.get("html"),
            unsubscribe_url=data.get("unsubscribe_url"),
        )

    @classmethod
    def from_message(cls, message: Message, identity: str) -> Delivery:
        """A delivery that received ``message`` as it is (for in-memory notifiers)."""
        return cls(
            identity=identity,
            recipient=message.recipient,
            subject=message.subject,
            text=message.text,
            html=message.html,
            unsubscribe_url=message.unsubscribe_url,
        )


def _part_text(part: Any) -> str:
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


@attrs.frozen(kw_only=True)
class NotifierHarness:
    """A notifier under test and its far side.

    ``received`` returns everything the far side got so far (it may hold other tests' deliveries: the
    contract looks its own up by identity). ``channel`` is the channel the contract sends on and
    ``recipient`` the address it sends to (by default a sample address for that channel). ``unreachable``
    is a notifier of the same kind that cannot get through (a closed port, a stopped server): its sends
    must fail transiently. ``unserved_channel`` is a channel the notifier does not deliver. ``html`` says
    whether the far side receives HTML bodies. ``wait`` is how long to wait for deliveries to show up at
    an asynchronous far side. ``close`` runs after each check.
    """

    notifier: Notifier
    received: Callable[[], Sequence[Delivery]]
    channel: Channel = attrs.field(default=Channel.EMAIL, converter=Channel)
    recipient: str | None = None
    unreachable: Notifier | None = None
    unserved_channel: Channel | None = attrs.field(default=None, converter=attrs.converters.optional(Channel))
    html: bool = True
    wait: float = 5.0
    close: Callable[[], None] | None = None


class NotifierContract:
    """Checks that a notifier keeps the :class:`~custdata.notify.Notifier` contract. Subclass it and
    implement :meth:`make_notifier`; every ``test_*`` method then runs against your notifier."""

    _keys = count(1)

    def make_notifier(self) -> NotifierHarness:
        """Build a fresh notifier and the reader of its far side for one check."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_notifier()")

    # -- helpers -------------------------------------------------------------------------------------

    @contextmanager
    def harness(self) -> Iterator[NotifierHarness]:
        """The harness from :meth:`make_notifier`, closed after use."""
        made = self.make_notifier()
        if not isinstance(made, NotifierHarness):
            raise TypeError(f"make_notifier() must return a NotifierHarness, not {type(made).__name__}")
        try:
            yield made
        finally:
            if made.close is not None:
                made.close()

    def message(self, harness: NotifierHarness, **changes: Any) -> Message:
        """A fresh message (with a key no other check uses) for ``harness``'s channel and recipient."""
        channel = Channel(changes.pop("channel", harness.channel))
        recipient = harness.recipient if channel == harness.channel and harness.recipient else None
        number = next(self._keys)
        fields: dict[str, Any] = {
            "idempotency_key": f"contract:{type(self).__name__}:{time.time_ns()}:{number}",
            "channel": channel,
            "topic": Topic.ORDER_SHIPPED,
            "recipient": recipient or _SAMPLE_RECIPIENTS.get(channel, "handle-0001"),
            "subject": "Your order is on its way",
            "text": f"Grüße! Order {number} has shipped.\nTrack it here: https://shop.example/t/{number}",
        }
        fields.update(changes)
        return Message(**fields)

    def deliveries(self, harness: NotifierHarness, identity: str, *, at_least: int = 1) -> list[Delivery]:
        """The far side's deliveries with ``identity``, waiting up to ``harness.wait`` for ``at_least``."""
        deadline = time.monotonic() + harness.wait
        while True:
            found = [d for d in harness.received() if d.identity == identity]
            if len(found) >= at_least or time.monotonic() >= deadline:
                return found
            time.sleep(0.02)

    def delivered(self, harness: NotifierHarness, message: Message) -> tuple[SendResult, Delivery]:
        """Send ``message``, check it went out, and return the result with its single delivery."""
        result = harness.notifier.send(message)
        assert isinstance(result, SendResult), f"send() returned {type(result).__name__}, not a SendResult"
        assert result.outcome == Outcome.SENT, f"expected the message to be sent, got {result}"
        assert result.provider_id, "a sent result needs a provider_id"
        found = self.deliveries(harness, result.provider_id)
        assert len(found) == 1, f"expected 1 delivery of the message at the far side, found {len(found)}"
        return result, found[0]

    # -- the contract ----------------------------------------------------------------------------------

    def test_is_a_notifier(self) -> None:
        """The notifier satisfies the Notifier protocol: it has send(message)."""
        with self.harness() as h:
            assert isinstance(h.notifier, Notifier), "the notifier needs a send(message) method"

    def test_delivered_message_arrives_with_its_content(self) -> None:
        """A sent message arrives once at the far side, with its recipient, text and subject unchanged."""
        with self.harness() as h:
            message = self.message(h)
            _, delivery = self.delivered(h, message)
            assert delivery.recipient == message.recipient, "the far side got another recipient"
            assert _normal(delivery.text) == _normal(message.text), "the text body changed on the way"
            if delivery.subject is not None or h.channel == Channel.EMAIL:
                assert delivery.subject == message.subject, "the subject changed on the way"

    def test_html_body_arrives(self) -> None:
        """A message's HTML body arrives unchanged."""
        with self.harness() as h:
            if not h.html:
                raise unittest.SkipTest("this far side does not receive HTML bodies")
            message = self.message(h, html="<p>Grüße! Order <b>1001</b> has shipped.</p>")
            _, delivery = self.delivered(h, message)
            assert _normal(delivery.html) == _normal(message.html), "the HTML body changed on the way"

    def test_provider_id_is_the_identity_at_the_far_side(self) -> None:
        """The provider_id of a sent result is the identity the far side knows the message by."""
        with self.harness() as h:
            result, delivery = self.delivered(h, self.message(h))
            assert delivery.identity == result.provider_id, "provider_id should name the message as received"

    def test_same_idempotency_key_keeps_the_same_identity(self) -> None:
        """Sending again with the same idempotency key keeps the identity the far side sees."""
        with self.harness() as h:
            first = self.message(h)
            again = attrs.evolve(first, text="The same logical message, sent again.")
            one, two = h.notifier.send(first), h.notifier.send(again)
            assert one.ok and two.ok, f"both sends should succeed: {one}; {two}"
            assert one.provider_id == two.provider_id, "a resend must keep the provider-visible identity"
            assert one.provider_id is not None
            found = self.deliveries(h, one.provider_id, at_least=2)
            assert 1 <= len(found) <= 2, f"expected one or two deliveries under one identity, found {len(found)}"

    def test_different_keys_get_different_identities(self) -> None:
        """Messages with different idempotency keys never share an identity."""
        with self.harness() as h:
            results = [h.notifier.send(self.message(h)) for _ in range(3)]
            assert all(r.ok for r in results), [str(r) for r in results]
            assert len({r.provider_id for r in results}) == 3, "two messages share one identity"

    def test_marketing_message_carries_its_unsubscribe_url(self) -> None:
        """A marketing message arrives with its unsubscribe URL."""
        with self.harness() as h:
            url = "https://shop.example/unsubscribe?token=abc123"
            message = self.message(h, topic=Topic.REVIEW_REQUEST, unsubscribe_url=url)
            _, delivery = self.delivered(h, message)
            assert delivery.unsubscribe_url == url, "a marketing message must carry its unsubscribe URL"

    def test_transactional_message_has_no_unsubscribe_url(self) -> None:
        """A transactional message arrives without an unsubscribe URL."""
        with self.harness() as h:
            _, delivery = self.delivered(h, self.message(h))
            assert delivery.unsubscribe_url is None, "transactional messages carry no unsubscribe link"

    def test_unreachable_far_side_is_a_transient_failure_not_an_exception(self) -> None:
        """An unreachable far side gives a transient-failure result, not an exception, whose reason does not quote the
        recipient.
        """
        with self.harness() as h:
            if h.unreachable is None:
                raise unittest.SkipTest("the harness gives no unreachable notifier")
            message = self.message(h)
            result = h.unreachable.send(message)
            assert isinstance(result, SendResult), f"send() returned {type(result).__name__}, not a SendResult"
            assert result.outcome == Outcome.TRANSIENT_FAILURE, f"expected a transient failure, got {result}"
            assert result.reason, "a failure needs a reason"
            assert message.recipient.lower() not in result.reason.lower(), "the reason quotes the recipient"

    def test_unserved_channel_is_a_result_not_an_exception(self) -> None:
        """A message on a channel the notifier does not serve is skipped or refused as a result, and never reaches the
        far side.
        """
        with self.harness() as h:
            if h.unserved_channel is None:
                raise unittest.SkipTest("the harness names no channel that the notifier does not serve")
            before = len(h.received())
            result = h.notifier.send(self.message(h, channel=h.unserved_channel))
            assert isinstance(result, SendResult), f"send() returned {type(result).__name__}, not a SendResult"
            assert result.outcome in (Outcome.SKIPPED, Outcome.PERMANENT_FAILURE), f"got {result}"
            assert len(h.received()) == before, "a message on an unserved channel reached the far side"

    def test_concurrent_sends_all_arrive(self) -> None:
        """Sends from several threads at once all succeed and each arrives exactly once."""
        with self.harness() as h:
            messages = [self.message(h) for _ in range(12)]
            results: dict[str, SendResult] = {}
            errors: list[BaseException] = []

            def work(batch: list[Message]) -> None:
                try:
                    for m in batch:
                        results[m.idempotency_key] = h.notifier.send(m)
                except BaseException as exc:  # noqa: BLE001 - reported by the asserting thread
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(messages[i::4],)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors, f"send() raised from a thread: {errors[0]!r}"
            assert all(r.ok for r in results.values()), [str(r) for r in results.values() if not r.ok]
            for m in messages:
                identity = results[m.idempotency_key].provider_id
                assert identity is not None
                assert len(self.deliveries(h, identity)) == 1, "a concurrent send was lost or doubled"
