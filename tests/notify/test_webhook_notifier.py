"""The webhook notifiers (sync and async) against a real HTTP server on 127.0.0.1, and the signature helpers.

Hook URLs name ``hooks.shop.test``, which the notifiers' resolver maps to the test server, let through by
``allowed_networks``: the address check runs on every send here, as it does for real hook URLs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import ValidationError
from custdata.notify import AsyncWebhookNotifier, Message, Outcome, WebhookNotifier
from custdata.notify.webhook import (
    DELIVERY_HEADER,
    ID_HEADER,
    SIGNATURE_HEADER,
    STANDARD_SIGNATURE_HEADER,
    STANDARD_TIMESTAMP_HEADER,
    TIMESTAMP_HEADER,
    verify,
)

SECRET = "whsec-0123456789abcdef"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOOK_HOST = "hooks.shop.test"


def hook(url: str, key: str = "ord_1:order_shipped:webhook", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "channel": "webhook",
        "topic": "order_shipped",
        "recipient": url,
        "text": "Order 1001 has shipped.",
        "order_id": "ord_1001",
        "metadata": {"tracking": {"carrier": "DHL", "number": "00340434161094042557"}},
    }
    fields.update(changes)
    return Message(**fields)


def resolve_to_test_server(host: str) -> list[str]:
    assert host == HOOK_HOST, host
    return ["127.0.0.1"]


@pytest.fixture
def notifier(make_webhook: Callable[..., Any]) -> Callable[..., Any]:
    """A sync or async webhook notifier (the test runs with each) with the test's clock and resolver."""

    def build(**kwargs: Any) -> Any:
        kwargs.setdefault("timeout", 5)
        kwargs.setdefault("clock", lambda: NOW)
        kwargs.setdefault("resolver", resolve_to_test_server)
        kwargs.setdefault("allowed_networks", ["127.0.0.1/32"])
        return make_webhook(kwargs.pop("secret", SECRET), trust_env=False, **kwargs)

    return build


@pytest.fixture
def hook_url(http_server: Any) -> str:
    return str(http_server.url_at(HOOK_HOST))


# -- delivery -----------------------------------------------------------------------------------------


def test_posts_signed_json_to_the_recipient_url(http_server: Any, notifier: Any, hook_url: str) -> None:
    message = hook(hook_url, customer_id="cus_7")
    result = notifier().send(message)
    assert result.outcome == Outcome.SENT and result.code == 200
    assert result.provider_id == message.delivery_id
    [request] = http_server.requests
    assert request.path == "/hooks/custdata"
    assert request.headers["Host"] == f"{HOOK_HOST}:{http_server.port}"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["Idempotency-Key"] == message.idempotency_key
    assert request.headers[DELIVERY_HEADER] == message.delivery_id
    assert request.headers[ID_HEADER] == message.delivery_id
    assert request.headers[STANDARD_TIMESTAMP_HEADER] == str(int(NOW.timestamp()))
    assert request.headers[STANDARD_SIGNATURE_HEADER].startswith("v1,")
    assert SIGNATURE_HEADER not in request.headers and TIMESTAMP_HEADER not in request.headers
    assert verify(SECRET, request.body, request.headers, now=NOW + timedelta(seconds=30))
    assert not verify(
        SECRET, request.body, request.headers, now=NOW + timedelta(seconds=30), signature_format="custdata"
    )
    payload = json.loads(request.body)
    assert payload == WebhookNotifier.payload(message)
    assert payload["type"] == "custdata.message" and payload["version"] == 1
    assert payload["customer_id"] == "cus_7" and payload["order_id"] == "ord_1001"
    assert payload["metadata"]["tracking"]["carrier"] == "DHL"


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_sent(http_server: Any, notifier: Any, hook_url: str, status: int) -> None:
    http_server.answer(status)
    assert notifier().send(hook(hook_url)).ok


def test_a_gateway_endpoint_receives_every_channel(http_server: Any, notifier: Any) -> None:
    sms = Message(
        idempotency_key="ord_1:sms", channel="sms", topic="out_for_delivery", recipient="+4915112345678", text="Hi"
    )
    result = notifier(endpoint=http_server.url).send(sms)
    assert result.ok
    assert http_server.json()["recipient"] == "+4915112345678" and http_server.json()["channel"] == "sms"


def test_without_an_endpoint_other_channels_are_skipped(http_server: Any, notifier: Any) -> None:
    email = Message(
        idempotency_key="k", channel="email", topic="support", recipient="a@example.com", subject="S", text="T"
    )
    result = notifier().send(email)
    assert result.outcome == Outcome.SKIPPED and http_server.requests == []


def test_the_same_key_posts_the_same_delivery_id(http_server: Any, notifier: Any, hook_url: str) -> None:
    sender = notifier()
    one = sender.send(hook(hook_url, text="first"))
    two = sender.send(hook(hook_url, text="second"))
    three = sender.send(hook(hook_url, key="another"))
    assert one.provider_id == two.provider_id != three.provider_id
    ids = [r.headers[DELIVERY_HEADER] for r in http_server.requests]
    assert ids == [one.provider_id, one.provider_id, three.provider_id]
    assert [r.headers[ID_HEADER] for r in http_server.requests] == ids


def test_extra_headers_are_sent(http_server: Any, notifier: Any, hook_url: str) -> None:
    notifier(headers={"Authorization": "Bearer abc"}).send(hook(hook_url))
    assert http_server.requests[0].headers["Authorization"] == "Bearer abc"


def test_the_custdata_format_stays_available(http_server: Any, notifier: Any, hook_url: str) -> None:
    message = hook(hook_url)
    assert notifier(signature_format="custdata").send(message).ok
    [request] = http_server.requests
    assert ID_HEADER not in request.headers and STANDARD_SIGNATURE_HEADER not in request.headers
    assert request.headers[TIMESTAMP_HEADER] == str(int(NOW.timestamp()))
    later = NOW + timedelta(seconds=30)
    assert WebhookNotifier.verify_signature(
        SECRET,
        request.body,
        timestamp=request.headers[TIMESTAMP_HEADER],
        signature=request.headers[SIGNATURE_HEADER],
        now=later,
    )
    assert verify(SECRET, request.body, request.headers, now=later)
    assert verify(SECRET, request.body, request.headers, now=later, signature_format="custdata")
    assert not verify(SECRET, request.body, request.headers, now=later, signature_format="standard")


def test_messages_share_one_kept_open_connection(http_server: Any, notifier: Any, hook_url: str) -> None:
    sender = notifier()
    results = [sender.send(hook(hook_url, key=f"ord_{i}:order_shipped:webhook")) for i in range(6)]
    assert all(r.ok for r in results), [str(r) for r in results]
    assert len(http_server.requests) == 6
    assert http_server.connections == 1
    sender.close()
    assert sender.send(hook(hook_url, key="after-close")).ok, "a closed notifier reconnects"
    assert http_server.connections == 2


def test_an_answer_that_closes_the_connection_costs_only_a_new_one(
    http_server: Any, notifier: Any, hook_url: str
) -> None:
    http_server.answer(200, headers={"Connection": "close"})
    sender = notifier()
    assert all(sender.send(hook(hook_url, key=f"k{i}")).ok for i in range(3))
    assert http_server.connections == 3


# -- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_server_errors_and_throttling_are_transient(
    http_server: Any, notifier: Any, hook_url: str, status: int
) -> None:
    http_server.answer(status)
    result = notifier().send(hook(hook_url))
    assert result.outcome == Outcome.TRANSIENT_FAILURE and result.code == status
    assert f"HTTP {status}" in (result.reason or "")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_permanent(http_server: Any, notifier: Any, hook_url: str, status: int) -> None:
    http_server.answer(status)
    result = notifier().send(hook(hook_url))
    assert result.outcome == Outcome.PERMANENT_FAILURE and result.code == status


def test_retry_after_in_seconds_and_as_a_date(http_server: Any, notifier: Any, hook_url: str) -> None:
    http_server.answer(429, headers={"Retry-After": "7"})
    assert notifier().send(hook(hook_url)).retry_after == 7.0
    http_server.answer(503, headers={"Retry-After": format_datetime(NOW + timedelta(minutes=2), usegmt=True)})
    assert notifier().send(hook(hook_url)).retry_after == 120.0
    http_server.answer(503, headers={"Retry-After": "soon"})
    assert notifier().send(hook(hook_url)).retry_after is None


def test_redirects_are_not_followed(http_server: Any, notifier: Any, hook_url: str) -> None:
    http_server.answer(302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
    result = notifier().send(hook(hook_url))
    assert result.outcome == Outcome.PERMANENT_FAILURE and "redirect" in (result.reason or "")
    assert len(http_server.requests) == 1


def test_a_slow_server_times_out_transiently(http_server: Any, notifier: Any, hook_url: str) -> None:
    http_server.answer(200, delay=1.0)
    result = notifier(timeout=0.2).send(hook(hook_url))
    assert result.outcome == Outcome.TRANSIENT_FAILURE and "timed out" in (result.reason or "")


def test_a_dropped_connection_is_transient(http_server: Any, notifier: Any, hook_url: str) -> None:
    http_server.answer(200, drop=True)
    result = notifier().send(hook(hook_url))
    assert result.outcome == Outcome.TRANSIENT_FAILURE and "dropped" in (result.reason or "")


def test_connection_refused_is_transient(notifier: Any, refused_port: int) -> None:
    result = notifier().send(hook(f"http://{HOOK_HOST}:{refused_port}/hook"))
    assert result.outcome == Outcome.TRANSIENT_FAILURE
    assert result.reason == f"connection refused by {HOOK_HOST}:{refused_port}"


def test_a_failure_reason_never_quotes_the_recipient(http_server: Any, notifier: Any) -> None:
    http_server.answer(500)
    sms = Message(idempotency_key="k", channel="sms", topic="support", recipient="+4915112345678", text="Hi")
    result = notifier(endpoint=http_server.url).send(sms)
    assert "+4915112345678" not in str(result)


# -- configuration and signatures ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", [WebhookNotifier, AsyncWebhookNotifier])
def test_bad_configuration_names_every_field(kind: type[WebhookNotifier] | type[AsyncWebhookNotifier]) -> None:
    with pytest.raises(ValidationError) as caught:
        kind("short", endpoint="ftp://x.example/", timeout=-1)
    assert {p.path for p in caught.value.problems} == {"secret", "endpoint", "timeout"}
    with pytest.raises(ValidationError) as caught:
        kind(
            ["a-long-shared-secret", "whsec_not base64!"],
            signature_format="hmac",  # type: ignore[arg-type]
            block_private_addresses="yes",  # type: ignore[arg-type]
            allowed_networks=["10.0.0.0/33"],
            follow_redirects=1,  # type: ignore[arg-type]
        )
    paths = {p.path for p in caught.value.problems}
    assert paths == {"signature_format", "secret[1]", "block_private_addresses", "allowed_networks", "follow_redirects"}
    with pytest.raises(ValidationError) as caught:
        kind(["a-long-shared-secret", "whsec_not base64!"])
    assert [p.path for p in caught.value.problems] == ["secret[1]"]
    secret: Any
    for secret in ([], "whsec_c2hvcnQ=", b"short", 12345):
        with pytest.raises(ValidationError):
            kind(secret)


def test_without_httpx_the_notifiers_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from custdata import MissingExtraError

    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.delitem(sys.modules, "custdata.notify._http", raising=False)
    for kind in (WebhookNotifier, AsyncWebhookNotifier):
        with pytest.raises(MissingExtraError, match=r"custdata\[webhooks\]"):
            kind(SECRET)
    headers = WebhookNotifier.signature_headers(SECRET, b"{}", msg_id="m", timestamp="1700000000")
    assert verify(SECRET, b"{}", headers, now=datetime.fromtimestamp(1700000000, UTC)), "receivers need no httpx"


def test_the_async_notifier_sends_with_asyncio_run(http_server: Any, hook_url: str) -> None:
    async def main() -> list[Any]:
        async with AsyncWebhookNotifier(
            SECRET, resolver=resolve_to_test_server, allowed_networks=["127.0.0.1/32"], trust_env=False
        ) as sender:
            return list(await asyncio.gather(*(sender.send(hook(hook_url, key=f"k{i}")) for i in range(5))))

    results = asyncio.run(main())
    assert all(r.ok for r in results) and len(http_server.requests) == 5
    assert len({r.provider_id for r in results}) == 5


def test_verify_signature_rejects_tampering_staleness_and_garbage() -> None:
    body = b'{"id":"abc"}'
    ts = str(int(NOW.timestamp()))
    sig = WebhookNotifier.sign(SECRET, ts, body)

    def verify(**changes: Any) -> bool:
        args: dict[str, Any] = {"body": body, "timestamp": ts, "signature": sig, "now": NOW}
        args.update(changes)
        secret = args.pop("secret", SECRET)
        return WebhookNotifier.verify_signature(secret, **args)

    assert verify()
    assert verify(signature=f"v1=deadbeef, {sig}"), "any one valid signature of several is enough"
    assert verify(now=NOW + timedelta(seconds=299)) and verify(now=NOW - timedelta(seconds=299))
    assert not verify(now=NOW + timedelta(seconds=301)), "too old"
    assert not verify(now=NOW - timedelta(seconds=301)), "too far in the future"
    assert verify(now=NOW + timedelta(hours=1), tolerance=timedelta(hours=2))
    assert not verify(secret="another-secret-of-length")
    assert not verify(body=body + b" ")
    assert not verify(timestamp=str(int(ts) + 1))
    for garbage in [None, "", "v1=", "v0=" + sig[3:], "sha256=" + sig[3:], sig.upper(), "v1=zz"]:
        assert not verify(signature=garbage), garbage
    for timestamp in [None, "", "-1", "1.5", "abc"]:
        assert not verify(timestamp=timestamp)


@given(body=st.binary(max_size=200), when=st.integers(min_value=0, max_value=4_000_000_000), flip=st.integers(0, 199))
def test_signatures_verify_and_any_changed_byte_breaks_them(body: bytes, when: int, flip: int) -> None:
    ts = str(when)
    sig = WebhookNotifier.sign(SECRET, ts, body)
    now = datetime.fromtimestamp(when, UTC)
    assert WebhookNotifier.verify_signature(SECRET, body, timestamp=ts, signature=sig, now=now)
    if body:
        i = flip % len(body)
        tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert not WebhookNotifier.verify_signature(SECRET, tampered, timestamp=ts, signature=sig, now=now)
