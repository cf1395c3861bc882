"""RecordingNotifier, SendResult and ChannelRouter: the in-memory pieces of the notify package."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from custdata import NotFoundError, ValidationError
from custdata.notify import (
    Attempt,
    ChannelRouter,
    ClosableNotifier,
    Message,
    Notifier,
    Outcome,
    RecordingNotifier,
    SendResult,
)
from custdata.notify.result import scrub


def sms(key: str = "ord_1:shipped", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "channel": "sms",
        "topic": "order_shipped",
        "recipient": "+14155550123",
        "text": "Your order is on its way.",
    }
    fields.update(changes)
    return Message(**fields)


# -- RecordingNotifier ---------------------------------------------------------------------------------


def test_records_deliveries_and_counts_duplicates() -> None:
    notifier = RecordingNotifier()
    first = notifier.send(sms("a"))
    notifier.send(sms("b"))
    again = notifier.send(sms("a", text="again"))
    assert first.ok and first.provider_id == again.provider_id == RecordingNotifier.provider_id(sms("a"))
    assert len(notifier) == 3 and [m.idempotency_key for m in notifier.messages] == ["a", "b", "a"]
    assert notifier.duplicates() == {"a": 2}
    assert notifier.get("a").text == "again" and len(notifier.deliveries("a")) == 2
    assert "a" in notifier and "zzz" not in notifier and 5 not in notifier
    with pytest.raises(NotFoundError):
        notifier.get("zzz")
    notifier.clear()
    assert len(notifier) == 0 and notifier.attempts == []


def test_fail_next_then_deliver() -> None:
    notifier = RecordingNotifier()
    notifier.fail_next(2)
    notifier.fail_next(1, permanent=True, reason="mailbox gone")
    outcomes = [notifier.send(sms(f"k{i}")).outcome for i in range(4)]
    assert outcomes == [
        Outcome.TRANSIENT_FAILURE,
        Outcome.TRANSIENT_FAILURE,
        Outcome.PERMANENT_FAILURE,
        Outcome.SENT,
    ]
    assert [m.idempotency_key for m in notifier.messages] == ["k3"]
    assert len(notifier.attempts) == 4 and isinstance(notifier.attempts[0], Attempt)
    assert notifier.attempts[2].result.reason == "mailbox gone"


def test_inject_and_rules() -> None:
    notifier = RecordingNotifier()
    notifier.inject(SendResult.skipped("quiet hours"))
    notifier.fail_when(lambda m: SendResult.permanent("blocked") if m.recipient.endswith("99") else None)
    assert notifier.send(sms("a", recipient="+14155550199")).outcome == Outcome.SKIPPED, "injected results go first"
    assert notifier.send(sms("b", recipient="+14155550199")).permanent_failure
    assert notifier.send(sms("c")).ok
    notifier.fail_when(None)
    assert notifier.send(sms("d", recipient="+14155550199")).ok
    with pytest.raises(TypeError):
        notifier.inject("nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        notifier.fail_when(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        notifier.fail_next(-1)
    notifier.fail_when(lambda m: "not a result")  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="SendResult"):
        notifier.send(sms("e"))


def test_channel_filter_skips_other_channels() -> None:
    notifier = RecordingNotifier(channels=["email"])
    result = notifier.send(sms())
    assert result.outcome == Outcome.SKIPPED and "sms" in (result.reason or "") and len(notifier) == 0


def test_thread_safety_under_contention() -> None:
    notifier = RecordingNotifier()
    notifier.fail_next(50)
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(100):
            notifier.send(sms(f"t{n}:{i}"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(notifier.attempts) == 800
    assert len(notifier) == 750, "exactly the 50 injected failures were consumed"


def test_send_needs_a_message_and_repr_shows_counts_only() -> None:
    notifier = RecordingNotifier()
    with pytest.raises(TypeError, match="Message"):
        notifier.send("hello")  # type: ignore[arg-type]
    notifier.send(sms())
    assert repr(notifier) == "RecordingNotifier(delivered=1, attempts=1)"
    assert isinstance(notifier, Notifier) and not isinstance(notifier, ClosableNotifier)


# -- SendResult ------------------------------------------------------------------------------------------


def test_result_constructors_and_properties() -> None:
    sent = SendResult.sent("<id@x>", code=250)
    assert sent.ok and not sent.failed and not sent.retryable and str(sent) == "sent as <id@x>"
    skipped = SendResult.skipped("no consent")
    assert not skipped.ok and not skipped.failed and str(skipped) == "skipped: no consent"
    transient = SendResult.transient("busy", retry_after=3)
    assert transient.failed and transient.retryable and not transient.permanent_failure
    permanent = SendResult.permanent("unknown user", code=550)
    assert permanent.failed and permanent.permanent_failure and str(permanent).endswith("(code 550)")


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": Outcome.SENT}, "provider_id"),
        ({"outcome": Outcome.SKIPPED}, "reason"),
        ({"outcome": Outcome.SKIPPED, "reason": "x", "provider_id": "p"}, "provider_id"),
        ({"outcome": Outcome.PERMANENT_FAILURE, "reason": "x", "retry_after": 1}, "retry_after"),
        ({"outcome": Outcome.TRANSIENT_FAILURE, "reason": "x", "retry_after": -1}, "retry_after"),
        ({"outcome": Outcome.TRANSIENT_FAILURE, "reason": "x", "retry_after": "1"}, "retry_after"),
        ({"outcome": Outcome.TRANSIENT_FAILURE, "reason": "x", "code": -4}, "code"),
    ],
)
def test_result_validation(kwargs: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SendResult(**kwargs)
    assert path in {p.path for p in caught.value.problems}


def test_scrub_removes_addresses_case_insensitively_and_bounds_length() -> None:
    text = scrub("550 <Jane.Doe@Example.com>: user   jane.doe unknown", "jane.doe@example.com", "jane.doe")
    assert text == "550 <<redacted>>: user <redacted> unknown"
    assert len(scrub("x" * 5000, limit=100)) == 100
    assert scrub("   ") == "no reason given"


# -- ChannelRouter -------------------------------------------------------------------------------------


def test_router_sends_each_channel_to_its_notifier_and_closes_them() -> None:
    class Closable(RecordingNotifier):
        closed = 0

        def close(self) -> None:
            self.closed += 1

    email, texts = Closable(), RecordingNotifier()
    router = ChannelRouter({"email": email, "sms": texts, "phone": texts, "portal": email})
    mail = Message(
        idempotency_key="m", channel="email", topic="support", recipient="a@example.com", subject="S", text="T"
    )
    assert router.send(mail).ok and router.send(sms()).ok
    assert len(email) == 1 and len(texts) == 1
    push = Message(idempotency_key="p", channel="push", topic="support", recipient="device-1", text="T")
    assert router.send(push).outcome == Outcome.SKIPPED
    router.close()
    assert email.closed == 1, "a notifier routed twice is closed once"
    assert router.channels == {"email", "sms", "phone", "portal"}
    assert repr(router).startswith("ChannelRouter({email: Closable")
    with pytest.raises(TypeError):
        ChannelRouter({"email": object()})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        ChannelRouter({"fax": texts})
