"""The async webhook notifier keeps the NotifierContract, driven from a thread that runs its event loop."""

from __future__ import annotations

from typing import Any

import pytest

from custdata.domain.enums import Channel
from custdata.notify import AsyncWebhookNotifier, SendResult
from custdata.testing.notifier_contract import NotifierContract, NotifierHarness

SECRET = "contract-secret-0123456789"


class TestAsyncWebhookNotifierContract(NotifierContract):
    @pytest.fixture(autouse=True)
    def _servers(self, shared_http_server: Any, refused_port: int, async_in_thread: Any) -> None:
        self.server, self.refused_port, self.wrap = shared_http_server, refused_port, async_in_thread

    def make_notifier(self) -> NotifierHarness:
        checked: dict[str, Any] = {"resolver": lambda host: ["127.0.0.1"], "allowed_networks": ["127.0.0.1/32"]}
        notifier = self.wrap(AsyncWebhookNotifier(SECRET, timeout=5, trust_env=False, **checked))
        unreachable = self.wrap(
            AsyncWebhookNotifier(SECRET, endpoint=f"http://127.0.0.1:{self.refused_port}/", trust_env=False)
        )
        return NotifierHarness(
            notifier=notifier,
            received=self.server.deliveries,
            channel=Channel.WEBHOOK,
            recipient=self.server.url_at("hooks.shop.test"),
            unreachable=unreachable,
            unserved_channel=Channel.EMAIL,
        )


class TestAsyncWebhookGatewayContract(NotifierContract):
    """An SMS gateway behind one URL, reached by the async notifier."""

    @pytest.fixture(autouse=True)
    def _servers(self, http_server: Any, async_in_thread: Any) -> None:
        self.server, self.wrap = http_server, async_in_thread

    def make_notifier(self) -> NotifierHarness:
        self.server.answer(202)
        failing = self.wrap(AsyncWebhookNotifier(SECRET, endpoint=self.server.url + "?fail", trust_env=False))
        return NotifierHarness(
            notifier=self.wrap(AsyncWebhookNotifier(SECRET, endpoint=self.server.url, trust_env=False)),
            received=lambda: [d for d in self.server.deliveries() if d.recipient.startswith("+")],
            channel=Channel.SMS,
            unreachable=_AnsweringWith503(failing, self.server),
        )


class _AnsweringWith503:
    def __init__(self, notifier: Any, server: Any) -> None:
        self.notifier, self.server = notifier, server

    def send(self, message: Any) -> SendResult:
        self.server.answer(503)
        try:
            result: SendResult = self.notifier.send(message)
            return result
        finally:
            self.server.answer(202)
