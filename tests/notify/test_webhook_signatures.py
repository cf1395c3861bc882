"""Standard Webhooks signatures: a receiver verifies them with the ``standardwebhooks`` package, without custdata,
and custdata's :func:`verify` agrees with that package on every signature, refuses every tampered one, and answers
True or False (never raises) whatever the headers hold."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from required_extras import require

from custdata import ValidationError
from custdata.notify import Message, WebhookNotifier
from custdata.notify.webhook import generate_secret, signature_headers, standard_secret, verify

standardwebhooks = require("standardwebhooks", "test")

NOW = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "an-older-shared-secret-of-the-shop"
HOOK_HOST = "hooks.shop.test"

secrets = st.binary(min_size=16, max_size=64).map(lambda key: "whsec_" + base64.b64encode(key).decode())
ids = st.text(st.characters(codec="utf-8", exclude_characters=" "), min_size=1, max_size=40)
bodies = st.binary(max_size=300)


def test_a_receiver_verifies_a_real_request_with_the_standardwebhooks_package(http_server: Any) -> None:
    message = Message(
        idempotency_key="ord_1:shipped",
        channel="webhook",
        topic="order_shipped",
        recipient=http_server.url_at(HOOK_HOST),
        text="Shipped.",
    )
    notifier = WebhookNotifier(
        [SECRET, OLD_SECRET],  # rotating: both sign, so receivers may hold either
        resolver=lambda host: ["127.0.0.1"],
        allowed_networks=["127.0.0.1/32"],
        trust_env=False,
    )
    with notifier:
        assert notifier.send(message).ok
    [request] = http_server.requests
    for secret in (SECRET, standard_secret(OLD_SECRET)):
        payload = standardwebhooks.Webhook(secret).verify(request.body, request.headers)
        assert payload["id"] == message.delivery_id == request.headers["webhook-id"]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_secret()).verify(request.body, request.headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(request.body + b" ", request.headers)


@given(secret=secrets, msg_id=ids, body=bodies, when=st.integers(0, 2**33))
@example(
    secret=SECRET, msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", body=b'{"test": 2432232314}', when=1614265330
)  # the specification's example
def test_signatures_equal_the_standardwebhooks_packages(secret: str, msg_id: str, body: bytes, when: int) -> None:
    ours = signature_headers(secret, body, msg_id=msg_id, timestamp=str(when))
    theirs = standardwebhooks.Webhook(secret).sign(msg_id, datetime.fromtimestamp(when, UTC), body)
    assert ours["webhook-signature"] == theirs
    assert verify(
        secret,
        body,
        {"webhook-id": msg_id, "webhook-timestamp": str(when), "webhook-signature": theirs},
        now=datetime.fromtimestamp(when, UTC),
    )


@given(
    secret=secrets,
    msg_id=ids,
    body=bodies,
    change=st.sampled_from(["body", "id", "timestamp", "secret"]),
    data=st.data(),
)
def test_a_tampered_body_id_timestamp_or_secret_never_verifies(
    secret: str, msg_id: str, body: bytes, change: str, data: st.DataObject
) -> None:
    headers = signature_headers([secret, OLD_SECRET], body, msg_id=msg_id, timestamp=TS)
    assert verify(secret, body, headers, now=NOW) and verify(OLD_SECRET, body, headers, now=NOW)
    if change == "body":
        other = data.draw(bodies.filter(lambda b: b != body), label="body")
        assert not verify(secret, other, headers, now=NOW)
    elif change == "id":
        headers["webhook-id"] = data.draw(ids.filter(lambda i: i != msg_id), label="id")
        assert not verify(secret, body, headers, now=NOW)
    elif change == "timestamp":
        moved = data.draw(st.integers(-300, 300).filter(bool), label="seconds")
        headers["webhook-timestamp"] = str(int(TS) + moved)
        assert not verify(secret, body, headers, now=NOW)
    else:
        other_secret = data.draw(secrets.filter(lambda s: s != secret), label="secret")
        assert not verify(other_secret, body, headers, now=NOW)


@given(offset=st.integers(-10_000, 10_000), tolerance=st.integers(0, 3600))
@example(offset=301, tolerance=300)
@example(offset=-301, tolerance=300)
@example(offset=300, tolerance=300)
@example(offset=1, tolerance=0)
def test_timestamps_outside_the_tolerance_are_refused(offset: int, tolerance: int) -> None:
    headers = signature_headers(SECRET, b"{}", msg_id="msg_1", timestamp=TS)
    now = NOW + timedelta(seconds=offset)
    assert verify(SECRET, b"{}", headers, now=now, tolerance=tolerance) is (abs(offset) <= tolerance)


def test_any_one_secret_of_several_verifies_and_any_one_signature_of_several_suffices() -> None:
    body = b'{"id":"abc"}'
    headers = signature_headers(OLD_SECRET, body, msg_id="msg_1", timestamp=TS)
    assert verify([generate_secret(), OLD_SECRET], body, headers, now=NOW)
    assert not verify([generate_secret(), generate_secret()], body, headers, now=NOW)
    headers["webhook-signature"] = "v1,AAAA v2,x " + headers["webhook-signature"]
    assert verify(OLD_SECRET, body, headers, now=NOW)
    as_bytes: dict[str, Any] = {k.upper(): v.encode() for k, v in headers.items()}
    assert verify(OLD_SECRET, body, as_bytes, now=NOW), "bytes, any case"
    assert verify(OLD_SECRET, body, list(headers.items()), now=NOW)


def test_ambiguous_or_incomplete_headers_never_verify() -> None:
    body = b"{}"
    headers = signature_headers(SECRET, body, msg_id="msg_1", timestamp=TS)
    # The same header twice with another value: the receiver's framework may read the other one (and take a
    # replay for a new message), so the signature checks nothing.
    for forged in ({"Webhook-Id": "msg_2", **headers}, {**headers, "Webhook-Id": "msg_2"}):
        assert not verify(SECRET, body, forged, now=NOW)
    assert not verify(SECRET, body, [("webhook-id", "msg_2"), *headers.items()], now=NOW)
    assert verify(SECRET, body, [("webhook-id", "msg_1"), *headers.items()], now=NOW), (
        "a repeat of one value is no doubt"
    )
    for missing in headers:
        assert not verify(SECRET, body, {k: v for k, v in headers.items() if k != missing}, now=NOW)
    custdata_only = {"X-Custdata-Timestamp": TS, "X-Custdata-Signature": WebhookNotifier.sign(SECRET, TS, body)}
    assert verify(SECRET, body, custdata_only, now=NOW)
    assert not verify(SECRET, body, custdata_only, now=NOW, signature_format="standard")


header_values = (
    st.none()
    | st.integers()
    | st.binary(max_size=60)
    | st.text(st.characters(codec=None, categories=None), max_size=60)
    | st.text("0123456789", min_size=1, max_size=400)
    | st.text("\u0660\u0661\u0667\u00b2\u00b3\u00b9", min_size=1, max_size=12)
)
header_names = (
    st.sampled_from(
        [
            *("webhook-id", "Webhook-Id", "webhook-timestamp", "WEBHOOK-TIMESTAMP", "webhook-signature"),
            *("Webhook-Signature", "x-custdata-signature", "X-Custdata-Timestamp", "content-type"),
        ]
    )
    | st.binary(max_size=20)
    | st.integers()
)


@given(
    headers=st.dictionaries(header_names, header_values, max_size=8)
    | st.lists(st.tuples(header_names, header_values) | st.none() | st.tuples(st.text()), max_size=8),
    body=st.binary(max_size=50) | st.text(max_size=20) | st.none(),
)
@example(headers={"webhook-id": "\ud800", "webhook-timestamp": TS, "webhook-signature": "v1,AAAA"}, body=b"{}")
@example(headers={"webhook-id": "m", "webhook-timestamp": "9" * 5000, "webhook-signature": "v1,AAAA"}, body=b"{}")
@example(headers={"webhook-id": "m", "webhook-timestamp": TS, "webhook-signature": "v1,\ud800"}, body=b"{}")
@example(headers={"webhook-id": "m" * 100_000, "webhook-timestamp": TS, "webhook-signature": "v1,A"}, body=b"{}")
def test_hostile_headers_get_an_answer_never_an_exception(headers: Any, body: Any) -> None:
    assert verify(SECRET, body, headers, now=NOW) is False


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"secret": "short"}, "secret"),
        ({"secret": "whsec_!!!!"}, "secret"),
        ({"secret": []}, "secret"),
        ({"secret": [SECRET, b"short"]}, "secret[1]"),
        ({"tolerance": -1}, "tolerance"),
        ({"now": "2024-01-01"}, "now"),
        ({"signature_format": "v2"}, "signature_format"),
        ({"headers": 42}, "headers"),
    ],
)
def test_programming_errors_are_validation_errors(arguments: dict[str, Any], path: str) -> None:
    args: dict[str, Any] = {"secret": SECRET, "body": b"{}", "headers": {}, "now": NOW}
    args.update(arguments)
    with pytest.raises(ValidationError) as caught:
        verify(args.pop("secret"), args.pop("body"), args.pop("headers"), **args)
    assert caught.value.problems[0].path == path


def test_secrets_in_both_forms() -> None:
    assert standard_secret(SECRET) == SECRET
    assert base64.b64decode(standard_secret("a-long-shared-secret")[6:]) == b"a-long-shared-secret"
    fresh = generate_secret()
    assert fresh.startswith("whsec_") and len(base64.b64decode(fresh[6:])) == 24 and fresh != generate_secret()
