"""Text from outside never makes a message, a notifier or a signature check raise anything unexpected.

A :class:`Message` refuses what no channel can carry safely (line breaks of any kind in one-line fields, lone
surrogates) with a :class:`ValidationError` at the field; whatever it accepts, every notifier answers with a
:class:`SendResult`, and the email that reaches a real SMTP server carries exactly the headers it was built with.
``verify_signature`` answers True or False for any header value and body.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custdata import CustdataError, ValidationError
from custdata.domain.checks import trusting
from custdata.notify import (
    FolderNotifier,
    Message,
    Notifier,
    Outcome,
    RecordingNotifier,
    SendResult,
    SMTPNotifier,
    WebhookNotifier,
)
from custdata.notify.webhook import verify_signature

SECRET = "a-long-shared-secret"
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
LINE_BREAKS = ("\r", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
FIXTURE_OK = settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

hostile = st.text(st.characters(codec=None, categories=None), max_size=40)
#: Text built to smuggle a header in: something, a line break of any kind, then a header line.
injections = st.builds(
    lambda before, brk, after: f"{before}{brk}X-Injected: yes{brk}{after}",
    st.text(max_size=8),
    st.sampled_from(LINE_BREAKS),
    st.text(max_size=8),
)


def fields(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "idempotency_key": "ord_1:order_shipped",
        "channel": "email",
        "topic": "order_shipped",
        "recipient": "jane.doe@example.com",
        "subject": "Your order has shipped",
        "text": "Hello Jane",
    }
    values.update(changes)
    return values


def build(**changes: Any) -> Message | None:
    """The message, or None when it is refused with a ValidationError naming one of the changed fields."""
    try:
        return Message(**fields(**changes))
    except ValidationError as exc:
        assert {p.path.split("[")[0] for p in exc.problems} <= set(changes), exc
        return None


@pytest.mark.parametrize("brk", LINE_BREAKS)
@pytest.mark.parametrize("field", ["subject", "headers", "sender_name"])
def test_every_kind_of_line_break_is_refused_in_one_line_fields(field: str, brk: str) -> None:
    text = f"Hello{brk}Bcc: someone@example.org"
    with pytest.raises(ValidationError) as caught:
        if field == "sender_name":
            SMTPNotifier("127.0.0.1", 25, sender="shop@shop.example", sender_name=text, security="none")
        elif field == "headers":
            Message(**fields(headers={"X-Campaign": text}))
        else:
            Message(**fields(subject=text))
    assert caught.value.problems[0].path in {field, "headers['X-Campaign']"}


@pytest.mark.parametrize("field", ["subject", "text", "html", "recipient", "headers", "metadata"])
def test_lone_surrogates_are_refused_at_their_field(field: str) -> None:
    bad = "abc\ud800"
    value: Any = {"X-Tag": bad} if field == "headers" else {"note": [bad]} if field == "metadata" else bad
    channel = "chat" if field == "recipient" else "email"
    with pytest.raises(ValidationError) as caught:
        Message(**fields(**{field: value, "channel": channel}))
    assert caught.value.problems[0].path.startswith(field)


@FIXTURE_OK
@given(subject=hostile | injections, header=hostile | injections, text=hostile)
@example(subject="Hi\u2028X-Injected: yes", header="a", text="b")
@example(subject="x" * 998, header="\x85X-Injected: yes", text="\x00")
@example(subject="Grüße " * 150, header="ü" * 900, text="\ud800")
def test_hostile_text_never_injects_a_header_over_real_smtp(
    smtp_server: Any, subject: str, header: str, text: str
) -> None:
    message = build(subject=subject, headers={"X-Campaign": header}, text=text or "-")
    if message is None:
        return
    notifier = SMTPNotifier("127.0.0.1", smtp_server.port, sender="shop@shop.example", security="none", timeout=5)
    before = len(smtp_server.inbox.messages)
    with notifier:
        result = notifier.send(message)
    assert isinstance(result, SendResult)
    if result.ok:
        received = smtp_server.inbox.messages[before].data
        mail = email.message_from_bytes(received, policy=email.policy.default)
        assert mail.get_all("X-Injected") is None
        assert mail.defects == []
        assert len(mail.get_all("Subject") or []) == 1 and len(mail.get_all("X-Campaign") or []) == 1
        assert str(mail["Subject"]) == subject and str(mail["X-Campaign"]) == header


@FIXTURE_OK
@given(
    local=st.text(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12
    )
)
@example(local="jörg")
@example(local="用户")
def test_non_ascii_recipients_are_sent_or_fail_with_a_result(start_smtp: Any, local: str) -> None:
    message = build(recipient=f"{local}@example.com")
    if message is None:
        return
    for utf8 in (True, False):
        server = start_smtp(enable_SMTPUTF8=utf8)
        with SMTPNotifier("127.0.0.1", server.port, sender="shop@shop.example", security="none", timeout=5) as n:
            result = n.send(message)
        assert isinstance(result, SendResult)
        assert result.ok or not utf8, result


@FIXTURE_OK
@given(subject=hostile | injections, text=hostile, recipient=hostile)
def test_every_notifier_answers_with_a_result(
    tmp_path: Path, shared_http_server: Any, subject: str, text: str, recipient: str
) -> None:
    shared_http_server.answer(200)
    candidates = [
        build(subject=subject, text=text or "-"),
        build(channel="chat", recipient=recipient or "x", subject=subject, text=text or "-"),
        build(channel="webhook", recipient=shared_http_server.url, subject=subject or None, text=text or "-"),
    ]
    notifiers: list[Notifier] = [
        FolderNotifier(tmp_path / "out"),
        RecordingNotifier(),
        WebhookNotifier(SECRET, endpoint=shared_http_server.url),
    ]
    for message in filter(None, candidates):
        for notifier in notifiers:
            assert isinstance(notifier.send(message), SendResult)


def test_messages_loaded_unchecked_fail_with_a_result_instead_of_raising(
    tmp_path: Path, smtp_server: Any, shared_http_server: Any
) -> None:
    with trusting():  # how stored data is loaded: checks skipped
        bad = Message(**fields(subject="Hi\u2028Bcc: x@example.org", text="text \ud800", headers={"X-A": "\ud800"}))
    shared_http_server.answer(200)
    smtp = SMTPNotifier("127.0.0.1", smtp_server.port, sender="shop@shop.example", security="none", timeout=5)
    for notifier in (smtp, WebhookNotifier(SECRET, endpoint=shared_http_server.url), FolderNotifier(tmp_path)):
        result = notifier.send(bad)
        assert result.outcome == Outcome.PERMANENT_FAILURE, (notifier, result)
    smtp.close()


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_a_line_break_in_a_message_loaded_unchecked_never_becomes_a_header(smtp_server: Any, brk: str) -> None:
    with trusting():
        bad = Message(**fields(subject=f"Hi{brk}X-Injected: yes", headers={"X-Campaign": f"a{brk}X-Injected: yes"}))
    before = len(smtp_server.inbox.messages)
    with SMTPNotifier("127.0.0.1", smtp_server.port, sender="shop@shop.example", security="none", timeout=5) as n:
        result = n.send(bad)
    if result.ok:
        mail = email.message_from_bytes(smtp_server.inbox.messages[before].data, policy=email.policy.default)
        assert mail.get_all("X-Injected") is None
    else:
        assert result.outcome == Outcome.PERMANENT_FAILURE


# -- webhook signatures ---------------------------------------------------------------------------------------

header_values = st.one_of(
    st.none(),
    hostile,
    st.binary(max_size=20),
    st.integers(),
    st.text("0123456789", min_size=1, max_size=5000),
    st.text(
        "\u0660\u0661\u0667\u00b2\u00b3\u00b9", min_size=1, max_size=12
    ),  # digits int() reads, or that isdigit() calls digits
)


@settings(max_examples=100)
@given(timestamp=header_values, signature=header_values, body=st.binary(max_size=50) | hostile | st.none())
@example(timestamp="\u0661\u0667" + "\u0660" * 8, signature="v1=00", body=b"{}")  # 1700000000 in Arabic-Indic
@example(timestamp="²", signature="v1=00", body=b"{}")
@example(timestamp="9" * 5000, signature="v1=00", body=b"{}")
@example(timestamp="1" * 400, signature="v1=00", body=b"{}")
@example(timestamp="1700000000", signature="v1=\ud800", body=b"{}")
@example(timestamp="1700000000", signature=b"v1=00", body=b"{}")
def test_verify_signature_answers_false_for_any_header_value(timestamp: Any, signature: Any, body: Any) -> None:
    assert verify_signature(SECRET, body, timestamp=timestamp, signature=signature, now=NOW) is False


@given(when=st.sampled_from([datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC), NOW]))
def test_verify_signature_at_extreme_times_answers(when: datetime) -> None:
    ts = "253402300799"  # 9999-12-31T23:59:59Z
    sig = WebhookNotifier.sign(SECRET, ts, b"{}")
    expected = when.year == 9999
    assert verify_signature(SECRET, b"{}", timestamp=ts, signature=sig, now=when) is expected


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"secret": "short"}, "secret"),
        ({"secret": None}, "secret"),
        ({"tolerance": "300"}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
        ({"tolerance": -1}, "tolerance"),
        ({"tolerance": timedelta(days=10**6)}, "tolerance"),
        ({"now": "2024-01-01"}, "now"),
    ],
)
def test_verify_signature_programming_errors_are_validation_errors(arguments: dict[str, Any], path: str) -> None:
    args: dict[str, Any] = {"secret": SECRET, "body": b"{}", "timestamp": "1", "signature": "v1=00", "now": NOW}
    args.update(arguments)
    secret = args.pop("secret")
    with pytest.raises(ValidationError) as caught:
        verify_signature(secret, **args)
    assert caught.value.problems[0].path == path
    assert isinstance(caught.value, CustdataError)
