"""SMTPNotifier against real aiosmtpd servers on 127.0.0.1: plain, STARTTLS, SSL, AUTH, refusals and drops."""

from __future__ import annotations

import ssl
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest

from custdata import ValidationError
from custdata.notify import Message, Outcome, SMTPNotifier

SENDER = "shop@shop.example"


def email(key: str = "ord_1:order_shipped", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "channel": "email",
        "topic": "order_shipped",
        "recipient": "jane.doe@example.com",
        "subject": "Your order has shipped",
        "text": "Hello Jane,\nyour order is on its way.\n.\nA line with only a dot above.",
    }
    fields.update(changes)
    return Message(**fields)


def plain(port: int, **kwargs: Any) -> SMTPNotifier:
    kwargs.setdefault("timeout", 5)
    return SMTPNotifier("127.0.0.1", port, sender=SENDER, security="none", **kwargs)


def parsed(raw: bytes) -> Any:
    return message_from_bytes(raw, policy=policy.default)


def content(mail: Any, kind: str) -> str:
    """A body part's text as sent: SMTP carries CRLF line endings, and the last line ends with one."""
    return str(mail.get_body((kind,)).get_content()).replace("\r\n", "\n").rstrip("\n")


# -- delivery and the email itself --------------------------------------------------------------------


def test_delivers_over_plain_smtp_with_the_expected_headers(start_smtp: Any) -> None:
    server = start_smtp()
    clock = lambda: datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # noqa: E731
    with plain(server.port, sender_name="Example Shop", clock=clock) as notifier:
        message = email(html="<p>Hello Jane</p>", locale="de-AT", headers={"X-Campaign": "spring"})
        result = notifier.send(message)
    assert result.outcome == Outcome.SENT and result.code == 250
    [received] = server.inbox.messages
    assert received.mail_from == SENDER and received.rcpt_tos == ["jane.doe@example.com"]
    mail = parsed(received.data)
    assert result.provider_id == mail["Message-ID"] == notifier.message_id(message)
    assert mail["Message-ID"].endswith("@shop.example>")
    assert mail["From"] == "Example Shop <shop@shop.example>"
    assert mail["To"] == "jane.doe@example.com"
    assert mail["Subject"] == "Your order has shipped"
    assert mail["Date"] == "Wed, 01 May 2024 12:00:00 +0000"
    assert mail["Content-Language"] == "de-AT"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Campaign"] == "spring"
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert content(mail, "plain") == message.text
    assert content(mail, "html") == "<p>Hello Jane</p>"


def test_marketing_email_gets_one_click_unsubscribe_headers(smtp_server: Any) -> None:
    url = "https://shop.example/unsubscribe?t=abc"
    message = email("rev:1", topic="review_request", unsubscribe_url=url)
    with plain(smtp_server.port) as notifier:
        result = notifier.send(message)
    mail = parsed(next(m.data for m in smtp_server.inbox.messages if result.provider_id in m.data.decode()))
    assert mail["List-Unsubscribe"] == f"<{url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_resend_carries_the_same_message_id_even_from_another_notifier(smtp_server: Any) -> None:
    message = email("ord_9:delivered", topic="delivered")
    with plain(smtp_server.port) as first, plain(smtp_server.port) as second:
        one, two = first.send(message), second.send(attrs_evolve(message, text="Sent again."))
        other = first.send(email("ord_9:shipped"))
    assert one.provider_id == two.provider_id != other.provider_id
    ids = [parsed(m.data)["Message-ID"] for m in smtp_server.inbox.messages]
    assert ids.count(one.provider_id) == 2


def attrs_evolve(message: Message, **changes: Any) -> Message:
    import attrs

    return attrs.evolve(message, **changes)


def test_international_addresses(start_smtp: Any) -> None:
    server = start_smtp()
    with plain(server.port) as notifier:
        idn = notifier.send(email("idn", recipient="anna@bücher.example"))
        utf8 = notifier.send(email("utf8", recipient="jörg@example.com", subject="Grüße aus Köln ✓"))
    assert idn.ok and utf8.ok, (idn, utf8)
    first, second = server.inbox.messages
    assert first.rcpt_tos == ["anna@xn--bcher-kva.example"] and not first.smtputf8
    assert second.rcpt_tos == ["jörg@example.com"] and second.smtputf8
    assert parsed(second.data)["Subject"] == "Grüße aus Köln ✓"


def test_a_utf8_address_on_a_server_without_smtputf8_fails_permanently(start_smtp: Any) -> None:
    server = start_smtp(enable_SMTPUTF8=False)
    with plain(server.port) as notifier:
        result = notifier.send(email(recipient="jörg@example.com"))
        ok = notifier.send(email("after"))
    assert result.outcome == Outcome.PERMANENT_FAILURE and "SMTPUTF8" in (result.reason or "")
    assert ok.ok, "the connection stays usable"


def test_other_channels_are_skipped(smtp_server: Any) -> None:
    sms = Message(idempotency_key="s", channel="sms", topic="support", recipient="+14155550123", text="Hi")
    result = plain(smtp_server.port).send(sms)
    assert result.outcome == Outcome.SKIPPED and "sms" in (result.reason or "")


def test_send_rejects_what_is_not_a_message(smtp_server: Any) -> None:
    with pytest.raises(TypeError, match="Message"):
        plain(smtp_server.port).send({"to": "x@example.com"})  # type: ignore[arg-type]


# -- connections ----------------------------------------------------------------------------------------


def test_reuses_one_connection_and_recycles_it_after_the_limit(start_smtp: Any) -> None:
    server = start_smtp()
    with plain(server.port, max_messages_per_connection=2) as notifier:
        results = [notifier.send(email(f"k{i}")) for i in range(5)]
    assert all(r.ok for r in results)
    assert len({m.peer for m in server.inbox.messages}) == 3


def test_without_reuse_every_message_gets_its_own_connection(start_smtp: Any) -> None:
    server = start_smtp()
    notifier = plain(server.port, reuse_connection=False)
    assert all(notifier.send(email(f"k{i}")).ok for i in range(3))
    assert len({m.peer for m in server.inbox.messages}) == 3


def test_a_kept_connection_that_the_server_closed_is_reopened_without_duplicates(start_smtp: Any) -> None:
    server = start_smtp(close_after_data=True)
    with plain(server.port) as notifier:
        results = [notifier.send(email(f"k{i}")) for i in range(3)]
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    keys = [parsed(m.data)["Message-ID"] for m in server.inbox.messages]
    assert sorted(keys) == sorted(str(r.provider_id) for r in results)
    assert len({m.peer for m in server.inbox.messages}) == 3


def test_sends_from_many_threads_share_the_connection_safely(start_smtp: Any) -> None:
    server = start_smtp()
    notifier = plain(server.port)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda n=n: results.extend(notifier.send(email(f"t{n}:{i}")) for i in range(5)))
        for n in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    notifier.close()
    assert len(results) == 20 and all(r.ok for r in results)
    assert len(server.inbox.messages) == 20


# -- failures ------------------------------------------------------------------------------------------


def test_connection_refused_is_transient(refused_port: int) -> None:
    result = plain(refused_port).send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE
    assert result.reason == f"connection refused by 127.0.0.1:{refused_port}"


def test_a_server_that_never_answers_times_out_transiently(silent_server: int) -> None:
    result = plain(silent_server, timeout=0.3).send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE and "timed out" in (result.reason or "")


@pytest.mark.parametrize("greeting", [b"421 4.3.2 Too busy, come back later\r\n", b"554 5.3.2 No service here\r\n"])
def test_a_server_that_refuses_service_at_the_greeting_is_transient(greeting_server: Any, greeting: bytes) -> None:
    result = plain(greeting_server(greeting)).send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE and result.code == int(greeting[:3])
    assert "refused the connection" in (result.reason or "")


@pytest.mark.parametrize("stage", ["MAIL", "RCPT", "DATA"])
def test_a_dropped_connection_is_transient(start_smtp: Any, stage: str) -> None:
    server = start_smtp(drop=stage)
    result = plain(server.port).send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE, result
    assert "closed the connection" in (result.reason or "") or "dropped" in (result.reason or "")
    assert server.inbox.messages == []


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("450 4.2.1 <{address}>: Mailbox busy, try again later", Outcome.TRANSIENT_FAILURE),
        ("452 4.3.1 Insufficient system storage", Outcome.TRANSIENT_FAILURE),
        ("550 5.1.1 <{address}>: Recipient address rejected: User unknown", Outcome.PERMANENT_FAILURE),
        ("553 5.1.3 Bad recipient address syntax", Outcome.PERMANENT_FAILURE),
    ],
)
def test_recipient_refusals(start_smtp: Any, reply: str, outcome: Outcome) -> None:
    server = start_smtp(rcpt=lambda address: reply.format(address=address))
    with plain(server.port) as notifier:
        result = notifier.send(email())
    assert result.outcome == outcome
    assert result.code == int(reply[:3])
    assert "jane" not in (result.reason or "").lower(), "the reason must not quote the address"
    assert "recipient refused" in (result.reason or "")


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("451 4.7.1 Greylisted, please try again", Outcome.TRANSIENT_FAILURE),
        ("554 5.7.1 Message rejected as spam", Outcome.PERMANENT_FAILURE),
        ("552 5.3.4 Message too big", Outcome.PERMANENT_FAILURE),
    ],
)
def test_message_refusals_after_data(start_smtp: Any, reply: str, outcome: Outcome) -> None:
    server = start_smtp(data=reply)
    with plain(server.port) as notifier:
        result = notifier.send(email())
        assert result.outcome == outcome and result.code == int(reply[:3])
        server.inbox.data = None
        assert notifier.send(email("next")).ok, "the connection was reset and stays usable"


def test_a_refused_recipient_leaves_the_connection_usable(start_smtp: Any) -> None:
    server = start_smtp(rcpt=lambda a: "550 5.1.1 unknown" if a.startswith("nobody") else None)
    with plain(server.port) as notifier:
        bad = notifier.send(email("a", recipient="nobody@example.com"))
        good = notifier.send(email("b"))
    assert bad.permanent_failure and good.ok
    assert len({m.peer for m in server.inbox.messages}) == 1


# -- TLS and AUTH -----------------------------------------------------------------------------------------


def test_starttls_with_login(start_smtp: Any, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    server = start_smtp(auth=True, tls_context=server_tls, require_starttls=True)
    notifier = SMTPNotifier(
        "127.0.0.1",
        server.port,
        sender=SENDER,
        security="starttls",
        username="shop",
        password="correct horse battery staple",
        ssl_context=client_tls,
        timeout=5,
    )
    with notifier:
        assert notifier.send(email()).ok
    assert len(server.inbox.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_login(start_smtp: Any, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    # aiosmtpd does not notice implicit TLS on Python 3.11+, so it must be told that AUTH is fine here
    server = start_smtp(auth=True, ssl_context=server_tls, auth_require_tls=False)
    notifier = SMTPNotifier(
        "127.0.0.1",
        server.port,
        sender=SENDER,
        security="ssl",
        username="shop",
        password="correct horse battery staple",
        ssl_context=client_tls,
        timeout=5,
    )
    with notifier:
        assert notifier.send(email()).ok
    assert len(server.inbox.messages) == 1


def test_wrong_password_is_a_transient_failure(
    start_smtp: Any, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    server = start_smtp(auth=True, tls_context=server_tls)
    notifier = SMTPNotifier(
        "127.0.0.1", server.port, sender=SENDER, username="shop", password="wrong", ssl_context=client_tls, timeout=5
    )
    result = notifier.send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE and result.code == 535
    assert "login failed" in (result.reason or "") and "wrong" not in (result.reason or "")


def test_an_untrusted_certificate_is_refused(start_smtp: Any, server_tls: ssl.SSLContext) -> None:
    server = start_smtp(tls_context=server_tls)
    result = SMTPNotifier("127.0.0.1", server.port, sender=SENDER, timeout=5).send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE and "not trusted" in (result.reason or "")
    assert server.inbox.messages == []


def test_starttls_required_but_not_offered(start_smtp: Any, client_tls: ssl.SSLContext) -> None:
    server = start_smtp()
    notifier = SMTPNotifier("127.0.0.1", server.port, sender=SENDER, ssl_context=client_tls, timeout=5)
    result = notifier.send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE and "STARTTLS" in (result.reason or "")
    assert server.inbox.messages == []


def test_a_server_requiring_login_refuses_anonymous_senders_transiently(
    start_smtp: Any, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    server = start_smtp(auth=True, tls_context=server_tls)
    result = SMTPNotifier("127.0.0.1", server.port, sender=SENDER, ssl_context=client_tls, timeout=5).send(email())
    assert result.outcome == Outcome.TRANSIENT_FAILURE and result.code == 530


# -- configuration ---------------------------------------------------------------------------------------


def test_bad_configuration_names_every_field() -> None:
    with pytest.raises(ValidationError) as caught:
        SMTPNotifier("", 70000, sender="not an address", security="tls", timeout=0)
    paths = {p.path for p in caught.value.problems}
    assert {"host", "port", "sender", "security", "timeout"} <= paths


def test_credentials_need_tls() -> None:
    with pytest.raises(ValidationError, match="security"):
        SMTPNotifier("127.0.0.1", sender=SENDER, security="none", username="u", password="p")
    with pytest.raises(ValidationError, match="password"):
        SMTPNotifier("127.0.0.1", sender=SENDER, username="u")


def test_default_ports_and_repr_hide_credentials() -> None:
    for security, port in [("none", 25), ("starttls", 587), ("ssl", 465)]:
        assert SMTPNotifier("mx.example", sender=SENDER, security=security).port == port
    notifier = SMTPNotifier("mx.example", sender=SENDER, username="shop", password="s3cret-pass")
    assert "s3cret" not in repr(notifier) and "shop" not in repr(notifier)


def test_build_email_previews_without_a_server() -> None:
    notifier = SMTPNotifier("mx.example", sender=SENDER, message_id_domain="mail.shop.example")
    mail = notifier.build_email(email())
    assert mail["Message-ID"] == notifier.message_id(email()) and mail["Message-ID"].endswith("@mail.shop.example>")


def test_unicode_headers_long_lines_and_dots_survive_the_trip(start_smtp: Any) -> None:
    server = start_smtp()
    subject = "Ihre Bestellung „Größe 42“ ist unterwegs \u2013 " + "sehr lange Betreffzeile " * 8
    text = "Grüße ✓\n.\n..\n" + "x" * 1500 + "\nEnde"
    message = email(subject=subject.strip(), text=text, html="<p>Grüße ✓</p>", headers={"X-Kampagne": "Frühling"})
    with plain(server.port, sender_name="Schuh-Laden Müller") as notifier:
        assert notifier.send(message).ok
    raw = server.inbox.messages[0].data
    assert raw.isascii(), "an all-ASCII address gets a 7-bit email"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    mail = parsed(raw)
    assert mail["Subject"] == subject.strip()
    assert mail["From"] == "Schuh-Laden Müller <shop@shop.example>"
    assert mail["X-Kampagne"] == "Frühling"
    assert content(mail, "plain") == text and content(mail, "html") == "<p>Grüße ✓</p>"
    assert mail["MIME-Version"] == "1.0" and mail.get_body(("plain",))["MIME-Version"] is None
