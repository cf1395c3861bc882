"""Every built-in notifier passes the NotifierContract that custdata.testing ships for custom notifiers."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import pytest

from custdata.domain.enums import Channel
from custdata.notify import Outcome, RecordingNotifier, SendResult, SMTPNotifier, WebhookNotifier
from custdata.testing.notifier_contract import Delivery, NotifierContract, NotifierHarness

SECRET = "contract-secret-0123456789"


class TestRecordingNotifierContract(NotifierContract):
    def make_notifier(self) -> NotifierHarness:
        notifier = RecordingNotifier(channels=[Channel.EMAIL])
        unreachable = RecordingNotifier()
        unreachable.fail_when(lambda message: SendResult.transient("the far side is down"))

        def received() -> list[Delivery]:
            return [Delivery.from_message(m, RecordingNotifier.provider_id(m)) for m in notifier.messages]

        return NotifierHarness(
            notifier=notifier, received=received, unreachable=unreachable, unserved_channel=Channel.SMS
        )


class TestSMTPNotifierContract(NotifierContract):
    @pytest.fixture(autouse=True)
    def _servers(self, smtp_server: Any, refused_port: int) -> None:
        self.server, self.refused_port = smtp_server, refused_port

    def make_notifier(self) -> NotifierHarness:
        notifier = SMTPNotifier("127.0.0.1", self.server.port, sender="shop@shop.example", security="none", timeout=5)
        unreachable = SMTPNotifier("127.0.0.1", self.refused_port, sender="shop@shop.example", security="none")
        return NotifierHarness(
            notifier=notifier,
            received=self.server.deliveries,
            unreachable=unreachable,
            unserved_channel=Channel.WEBHOOK,
            close=notifier.close,
        )


class TestSMTPNotifierOverStartTLSContract(NotifierContract):
    @pytest.fixture(autouse=True)
    def _servers(
        self, start_smtp: Any, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext, silent_server: int
    ) -> None:
        self.server = start_smtp(auth=True, tls_context=server_tls, require_starttls=True)
        self.client_tls, self.silent_port = client_tls, silent_server

    def make_notifier(self) -> NotifierHarness:
        settings: dict[str, Any] = {
            "sender": "Shop@Shop.Example",
            "username": "shop",
            "password": "correct horse battery staple",
            "ssl_context": self.client_tls,
        }
        notifier = SMTPNotifier("127.0.0.1", self.server.port, timeout=5, **settings)
        return NotifierHarness(
            notifier=notifier,
            received=self.server.deliveries,
            recipient="Kunde@Beispiel.example",
            unreachable=SMTPNotifier("127.0.0.1", self.silent_port, timeout=0.2, **settings),
            unserved_channel=Channel.SMS,
            close=notifier.close,
        )


class TestWebhookNotifierContract(NotifierContract):
    @pytest.fixture(autouse=True)
    def _servers(self, shared_http_server: Any, refused_port: int) -> None:
        self.server, self.refused_port = shared_http_server, refused_port

    def make_notifier(self) -> NotifierHarness:
        # Hook URLs from messages are checked: the shop's hook host resolves to the test server, let through.
        checked: dict[str, Any] = {"resolver": lambda host: ["127.0.0.1"], "allowed_networks": ["127.0.0.1/32"]}
        return NotifierHarness(
            notifier=WebhookNotifier(SECRET, timeout=5, trust_env=False, **checked),
            received=self.server.deliveries,
            channel=Channel.WEBHOOK,
            recipient=self.server.url_at("hooks.shop.test"),
            unreachable=WebhookNotifier(SECRET, endpoint=f"http://127.0.0.1:{self.refused_port}/", trust_env=False),
            unserved_channel=Channel.EMAIL,
        )


class TestWebhookGatewayContract(NotifierContract):
    """A webhook endpoint that delivers SMS for the shop: every channel goes to one URL."""

    @pytest.fixture(autouse=True)
    def _servers(self, http_server: Any) -> None:
        self.server = http_server

    def make_notifier(self) -> NotifierHarness:
        self.server.answer(202)
        failing = WebhookNotifier(SECRET, endpoint=self.server.url + "?fail", trust_env=False)
        return NotifierHarness(
            notifier=WebhookNotifier(SECRET, endpoint=self.server.url, trust_env=False),
            received=lambda: [d for d in self.server.deliveries() if d.recipient.startswith("+")],
            channel=Channel.SMS,
            unreachable=_AnsweringWith503(failing, self.server),
        )


class _AnsweringWith503:
    """Points a notifier at the gateway while the gateway answers 503 (down for maintenance)."""

    def __init__(self, notifier: WebhookNotifier, server: Any) -> None:
        self.notifier, self.server = notifier, server

    def send(self, message: Any) -> SendResult:
        self.server.answer(503)
        try:
            return self.notifier.send(message)
        finally:
            self.server.answer(202)


# -- the contract itself catches broken notifiers ---------------------------------------------------------


class _Forgetful(RecordingNotifier):
    """Claims to send but its far side gets nothing."""

    def send(self, message: Any, /) -> SendResult:
        return SendResult.sent("fake-id")


class _Raising(RecordingNotifier):
    def send(self, message: Any, /) -> SendResult:
        raise ConnectionError("boom")


def _harness(notifier: Any, unreachable: Any = None) -> NotifierHarness:
    def received() -> list[Delivery]:
        return [Delivery.from_message(m, RecordingNotifier.provider_id(m)) for m in notifier.messages]

    return NotifierHarness(notifier=notifier, received=received, unreachable=unreachable, wait=0.05)


@pytest.mark.parametrize(
    ("harness", "check"),
    [
        (lambda: _harness(_Forgetful()), "test_delivered_message_arrives_with_its_content"),
        (
            lambda: _harness(RecordingNotifier(), unreachable=_Raising()),
            "test_unreachable_far_side_is_a_transient_failure_not_an_exception",
        ),
        (
            lambda: _harness(RecordingNotifier(), unreachable=RecordingNotifier()),
            "test_unreachable_far_side_is_a_transient_failure_not_an_exception",
        ),
    ],
)
def test_the_contract_fails_notifiers_that_break_it(harness: Callable[[], NotifierHarness], check: str) -> None:
    class Broken(NotifierContract):
        def make_notifier(self) -> NotifierHarness:
            return harness()

    with pytest.raises((AssertionError, ConnectionError)):
        getattr(Broken(), check)()


def test_a_contract_without_make_notifier_says_so() -> None:
    with pytest.raises(NotImplementedError, match="make_notifier"):
        NotifierContract().test_is_a_notifier()


def test_outcome_values_are_stable() -> None:
    assert [o.value for o in Outcome] == ["sent", "skipped", "transient_failure", "permanent_failure"]
