"""AppriseNotifier: messages cross a real socket to a receiver on 127.0.0.1 through Apprise's own services (its
generic ``json://`` webhook and ``mailto://``), and Apprise's answers become sent, transient or permanent results.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from required_extras import require

from custdata import ValidationError
from custdata.aio import ThreadedNotifier
from custdata.domain.enums import Channel
from custdata.notify import AppriseNotifier, Message, Outcome
from custdata.testing.notifier_contract import Delivery, NotifierContract, NotifierHarness

apprise = require("apprise", "apprise")

FIXTURE_OK = settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
#: The query that carries a message's fields into the JSON body Apprise posts (``:key=value`` adds ``key``).
FIELDS = "?:to={recipient}&:id={delivery_id}&:unsubscribe_url={unsubscribe_url}&:topic={topic}"
PASSWORD = "s3cret-Pa55word"


def json_url(port: int, path: str = "apprise", *, credentials: bool = False) -> str:
    user = f"shop:{PASSWORD}@" if credentials else ""
    return f"json://{user}127.0.0.1:{port}/{path}" + FIELDS


def read_deliveries(server: Any) -> list[Delivery]:
    """What the test server received, read from the JSON body that Apprise's json:// service posts."""
    with server.lock:
        bodies = [json.loads(r.body) for r in server.requests]
    return [
        Delivery(
            identity=body["id"],
            recipient=body["to"],
            subject=body["title"] or None,
            text=body["message"],
            unsubscribe_url=body["unsubscribe_url"] or None,
        )
        for body in bodies
    ]


def sms(key: str = "ord_1:shipped", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "channel": "sms",
        "topic": "order_shipped",
        "recipient": "+4915112345678",
        "text": "Your order has shipped.",
    }
    fields.update(changes)
    return Message(**fields)


class TestAppriseNotifierContract(NotifierContract):
    @pytest.fixture(autouse=True)
    def _servers(self, shared_http_server: Any, refused_port: int) -> None:
        self.server, self.refused_port = shared_http_server, refused_port

    def make_notifier(self) -> NotifierHarness:
        return NotifierHarness(
            notifier=AppriseNotifier({"sms": json_url(self.server.port, credentials=True)}, timeout=10),
            received=lambda: read_deliveries(self.server),
            channel=Channel.SMS,
            html=False,
            unreachable=AppriseNotifier({"sms": json_url(self.refused_port)}, timeout=10),
            unserved_channel=Channel.EMAIL,
        )


# -- results ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SENT),
        (204, Outcome.SENT),
        (400, Outcome.PERMANENT_FAILURE),
        (401, Outcome.PERMANENT_FAILURE),
        (404, Outcome.PERMANENT_FAILURE),
        (408, Outcome.TRANSIENT_FAILURE),
        (429, Outcome.TRANSIENT_FAILURE),
        (500, Outcome.TRANSIENT_FAILURE),
        (503, Outcome.TRANSIENT_FAILURE),
    ],
)
def test_the_services_http_status_decides_the_outcome(http_server: Any, status: int, outcome: Outcome) -> None:
    http_server.answer(status)
    result = AppriseNotifier({"sms": json_url(http_server.port)}).send(sms())
    assert result.outcome == outcome, str(result)
    assert len(http_server.requests) == 1, "the message crossed the socket once"
    if outcome == Outcome.SENT:
        assert result.provider_id == sms().delivery_id
    else:
        assert result.code == status
        assert result.retry_after is None, "Apprise does not pass Retry-After on"


def test_a_refused_connection_and_a_silent_server_are_transient(refused_port: int, silent_server: int) -> None:
    refused = AppriseNotifier({"sms": json_url(refused_port)}).send(sms())
    assert refused.retryable and refused.code is None, str(refused)
    silent = AppriseNotifier({"sms": json_url(silent_server) + "&cto=0.5&rto=0.5"}, timeout=2).send(sms())
    assert silent.retryable, str(silent)


def test_several_urls_all_get_the_message_and_one_failing_fails_it(http_server: Any) -> None:
    up, down = http_server.reply(None), attrs.evolve(http_server.reply(None), status=503)
    http_server.reply = lambda request: down if request.path.startswith("/down") else up
    both = AppriseNotifier({"sms": [json_url(http_server.port, "one"), json_url(http_server.port, "two")]})
    assert both.send(sms()).ok
    assert sorted(r.path.split("?")[0] for r in http_server.requests) == ["/one", "/two"]
    one_down = AppriseNotifier({"sms": [json_url(http_server.port, "one"), json_url(http_server.port, "down")]})
    result = one_down.send(sms("ord_2:shipped"))
    assert result.retryable and result.code == 503, str(result)
    assert "URL 2 of 2" in (result.reason or "") and "sent through 1 of 2 URLs" in (result.reason or "")


def test_routes_by_channel_and_topic_the_pair_first(http_server: Any) -> None:
    notifier = AppriseNotifier(
        {"sms": json_url(http_server.port, "sms"), ("sms", "review_request"): json_url(http_server.port, "reviews")}
    )
    assert notifier.send(sms()).ok
    review = sms("ord_1:review", topic="review_request", unsubscribe_url="https://shop.example/u?t=1")
    assert notifier.send(review).ok
    assert [r.path.split("?")[0] for r in http_server.requests] == ["/sms", "/reviews"]
    push = Message(idempotency_key="k", channel="push", topic="support", recipient="device-1", text="Hi")
    skipped = notifier.send(push)
    assert skipped.outcome == Outcome.SKIPPED and "push" in (skipped.reason or "")
    assert len(http_server.requests) == 2


def test_marketing_without_the_placeholder_gets_an_unsubscribe_line(http_server: Any) -> None:
    url = f"json://127.0.0.1:{http_server.port}/plain"
    notifier = AppriseNotifier({"chat": url}, unsubscribe_text="Abmelden: {url}")
    chat: dict[str, Any] = {"channel": "chat", "recipient": "room-1", "text": "Wie war Ihre Bestellung?"}
    review = Message(idempotency_key="r1", topic="review_request", unsubscribe_url="https://shop.example/u?t=9", **chat)
    shipped = Message(idempotency_key="s1", topic="order_shipped", **chat)
    assert notifier.send(review).ok and notifier.send(shipped).ok
    bodies = [json.loads(r.body)["message"] for r in http_server.requests]
    assert bodies == ["Wie war Ihre Bestellung?\n\nAbmelden: https://shop.example/u?t=9", "Wie war Ihre Bestellung?"]


def test_the_async_form_is_the_threaded_notifier(shared_http_server: Any) -> None:
    notifier = ThreadedNotifier(AppriseNotifier({"sms": json_url(shared_http_server.port)}))

    async def main() -> list[Any]:
        return list(await asyncio.gather(*(notifier.send(sms(f"async:{i}")) for i in range(4))))

    results = asyncio.run(main())
    assert all(r.ok for r in results)
    identities = {d.identity for d in read_deliveries(shared_http_server)}
    assert {r.provider_id for r in results} <= identities


# -- hostile recipients ----------------------------------------------------------------------------------------

handles = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Zl", "Zp", "Cc"]), min_size=1, max_size=30)


@FIXTURE_OK
@given(handle=handles)
@example(handle="customer@shop.example,evil@elsewhere.example")
@example(handle="customer@shop.example/evil@elsewhere.example")
@example(handle="customer@shop.example evil@elsewhere.example")
def test_a_recipient_reaches_exactly_itself_or_nothing_over_real_smtp(smtp_server: Any, handle: str) -> None:
    """Apprise splits targets at commas, spaces and slashes after decoding: a recipient never adds a target."""
    try:
        message = Message(idempotency_key="h1", channel="chat", topic="support", recipient=handle, text="Hello")
    except ValidationError:
        return
    url = f"mailto://127.0.0.1:{smtp_server.port}?to={{recipient}}&from=shop%40shop.example&mode=insecure"
    before = len(smtp_server.inbox.messages)
    result = AppriseNotifier({"chat": url}, timeout=10).send(message)
    arrived = smtp_server.inbox.messages[before:]
    assert result.outcome in (Outcome.SENT, Outcome.PERMANENT_FAILURE), str(result)
    if result.ok:
        assert [m.rcpt_tos for m in arrived] == [[handle]]
    else:
        assert arrived == [], "a refused message reached the server"
        if len(handle) >= 8:  # shorter ones can be part of any sentence
            assert handle not in (result.reason or ""), "the reason quotes the recipient"


@FIXTURE_OK
@given(handle=handles)
def test_a_recipient_arrives_unchanged_in_a_query_field(shared_http_server: Any, handle: str) -> None:
    try:
        message = Message(idempotency_key="q1", channel="push", topic="support", recipient=handle, text="Hi")
    except ValidationError:
        return
    result = AppriseNotifier({"push": json_url(shared_http_server.port)}, timeout=10).send(message)
    if result.ok:
        assert read_deliveries(shared_http_server)[-1].recipient == handle


# -- credentials -------------------------------------------------------------------------------------------------

SECRET_URLS = [
    f"json://shop:{PASSWORD}@127.0.0.1:1/hook?:to={{recipient}}",
    f"twilio://AC0123456789abcdef0123456789abcdef:{'ab' * 16}@+15551234567/{{recipient}}",
    "tgram://123456789:AAHsecretBotTokenValue_abcdefghij/-100123",
    f"mailto://user:{PASSWORD}@mail.shop.example?to={{recipient}}&from=shop%40shop.example",
]
SECRETS = [PASSWORD, "ab" * 16, "AAHsecretBotTokenValue", "123456789", "0123456789abcdef"]


def test_repr_shows_no_credentials() -> None:
    notifier = AppriseNotifier({"sms": SECRET_URLS[:2], ("chat", "support"): SECRET_URLS[2:]})
    shown = repr(notifier) + str(notifier)
    assert "json://***" in shown and "tgram://***" in shown
    for secret in SECRETS:
        assert secret not in shown


def test_errors_and_logs_show_no_credentials_and_no_recipient(
    refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ValidationError) as caught:
        AppriseNotifier({"sms": [f"nosuchservice://user:{PASSWORD}@host/x", f"json://u:{PASSWORD}@h/{{nope}}"]})
    assert PASSWORD not in str(caught.value)
    assert [p.path for p in caught.value.problems] == ["routes['sms'][0]", "routes['sms'][1]"]
    with caplog.at_level(logging.DEBUG, logger="custdata"):
        url = f"json://shop:{PASSWORD}@127.0.0.1:{refused_port}/x?:to={{recipient}}"
        result = AppriseNotifier({"sms": url}).send(sms())
    assert result.retryable
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("custdata")]
    assert ours, "the failure is logged"
    for text in [*ours, result.reason or ""]:
        assert PASSWORD not in text and "+4915112345678" not in text and "4915112345678" not in text


def test_an_asset_that_logs_secrets_is_refused() -> None:
    with pytest.raises(ValidationError, match="secure_logging"):
        AppriseNotifier({"sms": SECRET_URLS[0]}, asset=apprise.AppriseAsset(secure_logging=False))
    kept = AppriseNotifier({"sms": SECRET_URLS[0]})
    assert kept._asset.storage_mode == apprise.PersistentStoreMode.MEMORY, "no files of personal data"


@pytest.mark.parametrize(
    ("routes", "options", "path"),
    [
        ({}, {}, "routes"),
        ({"fax": "json://h/x"}, {}, "routes"),
        ({("sms", "nope"): "json://h/x"}, {}, "routes"),
        ({"sms": []}, {}, "routes['sms']"),
        ({"sms": ["json://h/x"] * 21}, {}, "routes['sms']"),
        ({"sms": "not a url"}, {}, "routes['sms'][0]"),
        ({"sms": "json://h/x{"}, {}, "routes['sms'][0]"),
        ({"sms": "json://h/{recipient!r}"}, {}, "routes['sms'][0]"),
        ({"sms": "json://h/{unsubscribe_url}"}, {}, "routes['sms'][0]"),
        ({"sms": "json://h/x"}, {"timeout": 0}, "timeout"),
        ({"sms": "json://h/x"}, {"unsubscribe_text": "no url here"}, "unsubscribe_text"),
        ({"sms": "json://h/x"}, {"asset": object()}, "asset"),
    ],
)
def test_bad_settings_name_their_field(routes: Any, options: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AppriseNotifier(routes, **options)
    assert path in [p.path for p in caught.value.problems], caught.value


def test_without_apprise_the_notifier_names_the_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['apprise'] = None\n"
        "from custdata.notify import AppriseNotifier\n"
        "try:\n"
        "    AppriseNotifier({'sms': 'json://h/x'})\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc.extra, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.startswith("MissingExtraError apprise AppriseNotifier needs"), out.stdout + out.stderr
    assert "pip install 'custdata[apprise]'" in out.stdout


def test_importing_notify_does_not_import_apprise() -> None:
    code = "import sys, custdata.notify; print('apprise' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_raises_only_for_what_is_not_a_message() -> None:
    with pytest.raises(TypeError, match="Message"):
        AppriseNotifier({"sms": "json://h/x"}).send("hello")  # type: ignore[arg-type]
