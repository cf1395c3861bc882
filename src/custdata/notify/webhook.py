"""Sending messages as signed JSON over HTTP POST, and checking that signature on the receiving side.

By default each request is signed the Standard Webhooks way (https://www.standardwebhooks.com/), so that a
receiver verifies it with any Standard Webhooks or Svix library, or with :func:`verify`:

- ``webhook-id``: the message's delivery id (the same on every resend of one message);
- ``webhook-timestamp``: Unix seconds when it was sent;
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``"{id}.{timestamp}." + body``, one per secret,
  separated by spaces (several secrets let a secret be rotated without a gap).

A ``whsec_``-prefixed secret is base64 after its prefix, and those bytes are the key; any other secret's UTF-8
bytes are (:meth:`WebhookNotifier.standard_secret` writes it in the ``whsec_`` form for receivers). The
earlier custdata format (``signature_format="custdata"``) sends ``X-Custdata-Timestamp`` and
``X-Custdata-Signature: v1=<hex>``, an HMAC-SHA256 over ``"<timestamp>." + body``. Either way requests carry
``Idempotency-Key`` (the message's key) and ``X-Custdata-Delivery`` (its delivery id) so that receivers can drop
repeats.

A 2xx answer means sent; 408, 425, 429 and 5xx, timeouts and network errors are transient; any other 4xx is
permanent, and so are redirects unless ``follow_redirects`` is set (then each hop is posted the same signed body,
never from https down to http, at most five times). Connections are kept open and reused (httpx, from the
``webhooks`` extra). Hook URLs taken from messages (a customer's own hook) may not lead to loopback, private,
link-local or other non-public addresses: see ``block_private_addresses``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import json
import logging
import secrets as _secrets
import ssl
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from custdata._clock import Clock
from custdata._clock import utc_now as _utc_now
from custdata._errors import MissingExtraError, ValidationError
from custdata._telemetry import log_event
from custdata.domain.checks import Checker
from custdata.domain.enums import Channel
from custdata.notify._addresses import AddressPolicy, Resolver
from custdata.notify.message import Message, ensure_message, url_problem
from custdata.notify.result import SendResult, scrub

if TYPE_CHECKING:
    import httpx

    from custdata.notify._http import Post

_log = logging.getLogger("custdata.notify.webhook")

#: The Standard Webhooks headers (lower case, as HTTP/2 sends them; HTTP header names ignore case).
ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
#: The custdata format's headers (``signature_format="custdata"``).
SIGNATURE_HEADER = "X-Custdata-Signature"
TIMESTAMP_HEADER = "X-Custdata-Timestamp"
#: Sent in both formats: the message's delivery id.
DELIVERY_HEADER = "X-Custdata-Delivery"
PAYLOAD_VERSION = 1

SignatureFormat: TypeAlias = Literal["standard", "custdata"]
#: A secret, or several (while rotating): text (``whsec_`` and base64, or any text of 16 bytes or more) or bytes.
Secrets: TypeAlias = "str | bytes | Sequence[str | bytes]"

_FORMATS: tuple[str, ...] = ("standard", "custdata")
_SECRET_PREFIX = "whsec_"
_MAX_SECRETS = 16
_MAX_ID = 1024
_MAX_SIGNATURE_HEADER = 16_384
_MAX_SIGNATURES = 64
_MAX_HEADERS = 1000
_WANTED = frozenset(
    {
        ID_HEADER,
        STANDARD_TIMESTAMP_HEADER,
        STANDARD_SIGNATURE_HEADER,
        SIGNATURE_HEADER.lower(),
        TIMESTAMP_HEADER.lower(),
    }
)


# -- secrets and signatures ------------------------------------------------------------------------------------


def _one_key(secret: object, signature_format: str, path: str) -> bytes:
    if isinstance(secret, str):
        if signature_format == "standard" and secret.startswith(_SECRET_PREFIX):
            text = secret[len(_SECRET_PREFIX) :]
            try:
                key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError.single(path, "a whsec_ secret must be base64 after its prefix") from None
        else:
            try:
                key = secret.encode("utf-8")
            except UnicodeEncodeError:
                raise ValidationError.single(path, "must be text that UTF-8 can encode") from None
    elif isinstance(secret, bytes):
        key = secret
    else:
        raise ValidationError.single(path, "must be a string or bytes of at least 16 bytes")
    if len(key) < 16:
        raise ValidationError.single(path, "must be a string or bytes of at least 16 bytes")
    return key


def _keys(secret: object, signature_format: str = "standard") -> tuple[bytes, ...]:
    """The HMAC keys of ``secret`` (one secret, or a list of them) in ``signature_format``."""
    if isinstance(secret, (str, bytes)):
        return (_one_key(secret, signature_format, "secret"),)
    if not isinstance(secret, (list, tuple)) or not 1 <= len(secret) <= _MAX_SECRETS:
        raise ValidationError.single(
            "secret", f"must be a secret (text or bytes) or a list of 1 to {_MAX_SECRETS} secrets"
        )
    return tuple(_one_key(s, signature_format, f"secret[{i}]") for i, s in enumerate(secret))


def _format(value: object, path: str = "signature_format") -> SignatureFormat:
    if value == "standard":
        return "standard"
    if value == "custdata":
        return "custdata"
    raise ValidationError.single(path, "must be 'standard' or 'custdata'")


def _standard_signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return b"v1," + base64.b64encode(mac)


def _custdata_signature(key: bytes, timestamp: str, body: bytes) -> bytes:
    return b"v1=" + hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest().encode()


def signature_headers(
    secret: Secrets, body: bytes, *, msg_id: str, timestamp: str, signature_format: SignatureFormat = "standard"
) -> dict[str, str]:
    """The signature headers for ``body`` sent as ``msg_id`` at ``timestamp`` (Unix seconds, as text).

    >>> signature_headers("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b'{"test": 2432232314}',
    ...                   msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp="1614265330")
    {'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='}
    """
    form = _format(signature_format)
    keys = _keys(secret, form)
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise ValidationError.single("timestamp", "must be Unix seconds in ASCII digits")
    data = bytes(body)
    if form == "custdata":
        value = b", ".join(_custdata_signature(k, timestamp, data) for k in keys)
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: value.decode("ascii")}
    value = b" ".join(_standard_signature(k, msg_id, timestamp, data) for k in keys)
    return {ID_HEADER: msg_id, STANDARD_TIMESTAMP_HEADER: timestamp, STANDARD_SIGNATURE_HEADER: value.decode("ascii")}


def standard_secret(secret: str | bytes) -> str:
    """``secret`` in the ``whsec_`` form that Standard Webhooks libraries take, for handing to receivers.

    >>> standard_secret("a-long-shared-secret")
    'whsec_YS1sb25nLXNoYXJlZC1zZWNyZXQ='
    """
    return _SECRET_PREFIX + base64.b64encode(_one_key(secret, "standard", "secret")).decode("ascii")


def generate_secret() -> str:
    """A fresh random secret (24 bytes) in the ``whsec_`` form."""
    return _SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode("ascii")


# -- verifying ---------------------------------------------------------------------------------------------


def _tolerance(value: object) -> float:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ValidationError.single("tolerance", "must be a number of seconds or a timedelta")
    if not 0 <= seconds <= 86_400 * 366:  # NaN fails this too
        raise ValidationError.single("tolerance", "must be between 0 seconds and a year")
    return seconds


def _check_now(now: object) -> None:
    if now is not None and not isinstance(now, datetime):
        raise ValidationError.single("now", f"must be a datetime, not {type(now).__name__}")


def _fresh(timestamp: object, window: float, now: datetime | None) -> bool:
    """True when ``timestamp`` is Unix seconds in ASCII digits within ``window`` seconds of ``now``."""
    # ASCII digits only (str.isdigit() takes other scripts' digits, which int() reads too), and few enough
    # of them to be a time at all.
    if not isinstance(timestamp, str) or not (0 < len(timestamp) <= 12 and timestamp.isascii() and timestamp.isdigit()):
        return False
    try:
        current = (now or _utc_now()).timestamp()
    except (OverflowError, ValueError, OSError):
        return False
    return abs(current - int(timestamp)) <= window


def _matches(header: str, separator: str | None, expected: Iterable[bytes]) -> bool:
    wanted = list(expected)
    matched = False
    for part in header[:_MAX_SIGNATURE_HEADER].split(separator)[:_MAX_SIGNATURES]:
        candidate = part.strip().encode("utf-8", "replace")
        for value in wanted:
            if hmac.compare_digest(candidate, value):
                matched = True
    return matched


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return None


def _signature_fields(headers: object) -> dict[str, str] | None:
    """The signature headers among ``headers`` (names in lower case), or None when they are unreadable or
    ambiguous (one name twice with different values)."""
    if isinstance(headers, Mapping) or hasattr(headers, "items"):
        pairs: Any = headers.items()
    elif isinstance(headers, (list, tuple)):
        pairs = headers
    else:
        raise ValidationError.single("headers", "must be a mapping of header names to values, or a list of pairs")
    found: dict[str, str] = {}
    for count, pair in enumerate(pairs):
        if count >= _MAX_HEADERS or not isinstance(pair, tuple) or len(pair) != 2:
            return None
        name = _text(pair[0])
        if name is None or name.lower() not in _WANTED:
            continue
        key, value = name.lower(), _text(pair[1])
        if value is None or found.get(key, value) != value:
            return None
        found[key] = value
    return found


def verify(
    secret: Secrets,
    body: bytes,
    headers: Mapping[str, str] | Sequence[tuple[str, str]],
    *,
    tolerance: float | timedelta = 300,
    now: datetime | None = None,
    signature_format: SignatureFormat | None = None,
) -> bool:
    """True when ``headers`` sign ``body`` with ``secret`` (or any of several secrets) at a time within
    ``tolerance`` seconds of ``now``; for receivers. Compares in constant time.

    Reads the Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) or,
    without them, the custdata ones; ``signature_format`` accepts only the one named. ``headers`` is the
    request's headers as a mapping (any case of names) or a list of ``(name, value)`` pairs, text or bytes;
    ``body`` the raw bytes as received. Whatever they hold, the answer is True or False; only a bad ``secret``,
    ``tolerance``, ``now``, ``signature_format`` or a ``headers`` that is no mapping (programming errors) raises
    :class:`custdata.ValidationError`.

    >>> headers = signature_headers("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b'{"id":"abc"}',
    ...                             msg_id="msg_1", timestamp="1700000000")
    >>> from datetime import UTC
    >>> when = datetime.fromtimestamp(1700000060, UTC)
    >>> verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b'{"id":"abc"}', headers, now=when)
    True
    >>> verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b'{"id":"abd"}', headers, now=when)
    False
    """
    forms = _FORMATS if signature_format is None else (_format(signature_format),)
    keys = {form: _keys(secret, form) for form in forms}
    window = _tolerance(tolerance)
    _check_now(now)
    fields = _signature_fields(headers)
    if fields is None or not isinstance(body, (bytes, bytearray, memoryview)):
        return False
    data = bytes(body)
    if "standard" in keys and STANDARD_SIGNATURE_HEADER in fields:
        msg_id, timestamp = fields.get(ID_HEADER), fields.get(STANDARD_TIMESTAMP_HEADER)
        if not msg_id or len(msg_id) > _MAX_ID or not _fresh(timestamp, window, now):
            return False
        assert timestamp is not None
        try:
            msg_id.encode("utf-8")
        except UnicodeEncodeError:
            return False
        expected = (_standard_signature(k, msg_id, timestamp, data) for k in keys["standard"])
        return _matches(fields[STANDARD_SIGNATURE_HEADER], None, expected)
    if "custdata" in keys and SIGNATURE_HEADER.lower() in fields:
        return _verify_custdata(
            keys["custdata"], data, fields.get(TIMESTAMP_HEADER.lower()), fields[SIGNATURE_HEADER.lower()], window, now
        )
    return False


def _verify_custdata(
    keys: Sequence[bytes], body: bytes, timestamp: object, signature: object, window: float, now: datetime | None
) -> bool:
    if not isinstance(signature, str) or not _fresh(timestamp, window, now):
        return False
    assert isinstance(timestamp, str)
    return _matches(signature, ",", (_custdata_signature(k, timestamp, body) for k in keys))


# -- the notifiers -----------------------------------------------------------------------------------------


class _Webhooks:
    """What the sync and async webhook notifiers share: settings, the request, signatures, and results."""

    def __init__(
        self,
        secret: Secrets,
        *,
        endpoint: str | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
        user_agent: str = "custdata-webhook/1",
        clock: Clock | None = None,
        signature_format: SignatureFormat = "standard",
        block_private_addresses: bool | None = None,
        allowed_networks: Iterable[str] = (),
        resolver: Resolver | None = None,
        follow_redirects: bool = False,
    ) -> None:
        check = Checker()
        form: SignatureFormat = "standard"
        try:
            form = _format(signature_format)
        except ValidationError as exc:
            check.nested("", exc)
        try:
            self._keys = _keys(secret, form)
        except ValidationError as exc:
            check.nested("", exc)
        if check.text("endpoint", endpoint, optional=True, max_length=2048) and endpoint is not None:
            problem = url_problem(endpoint, schemes=("http", "https"))
            if problem:
                check.add("endpoint", problem)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 600:
            check.add("timeout", "must be a number of seconds between 0 and 600")
        extra = dict(headers or {})
        for name, value in extra.items():
            if not isinstance(name, str) or not name.isascii() or not name.replace("-", "").isalnum():
                check.add("headers", "names must be ASCII letters, digits and '-'")
            elif check.text(f"headers[{name!r}]", value, max_length=4096) and ("\r" in value or "\n" in value):
                check.add(f"headers[{name!r}]", "must be one line (no line breaks)")
        check.text("user_agent", user_agent, max_length=256)
        check.boolean("trust_env", trust_env)
        check.boolean("follow_redirects", follow_redirects)
        if block_private_addresses is not None:
            check.boolean("block_private_addresses", block_private_addresses)
        if ssl_context is not None:
            check.instance("ssl_context", ssl_context, ssl.SSLContext)
        policy: AddressPolicy | None = None
        try:
            block = endpoint is None if block_private_addresses is None else bool(block_private_addresses)
            policy = AddressPolicy.build(block=block, allowed_networks=allowed_networks, resolver=resolver)
        except ValidationError as exc:
            check.nested("", exc)
        check.done()
        assert policy is not None
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self.signature_format: SignatureFormat = form
        self.follow_redirects = follow_redirects
        self._headers = extra
        self._user_agent = user_agent
        self._clock: Clock = clock or _utc_now
        # Without the check (and with no resolver to use), httpx connects as usual, through environment proxies.
        self._policy = policy if policy.block or resolver is not None else None
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._trust_env = trust_env
        self._connect()

    def _connect(self) -> None:
        """Open the HTTP client (the connection pool)."""
        raise NotImplementedError

    @property
    def blocks_private_addresses(self) -> bool:
        """Whether this notifier refuses to connect to loopback, private and other non-public addresses."""
        return self._policy is not None and self._policy.block

    def _prepare(self, message: Message) -> Post | SendResult:
        """The POST for ``message``, or the result that settles it without one."""
        from custdata.notify._http import Post

        ensure_message(message)
        url = self.endpoint
        if url is None:
            if message.channel != Channel.WEBHOOK:
                channel = message.channel.value
                return SendResult.skipped(
                    f"{type(self).__name__} without an endpoint delivers webhooks only, not {channel}"
                )
            url = message.recipient
        try:
            body = self.body(message)
            timestamp = str(int(self._clock().timestamp()))
            signed = self._signed(body, message.delivery_id, timestamp)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": self._user_agent,
                "Idempotency-Key": message.idempotency_key,
                DELIVERY_HEADER: message.delivery_id,
                **signed,
            }
            return Post(
                url,
                body=body,
                headers=headers,
                extra=self._headers,
                provider_id=message.delivery_id,
                follow_redirects=self.follow_redirects,
                timeout=self.timeout,
                now=self._clock,
            )
        except (ValueError, TypeError, OverflowError) as exc:  # text no JSON/HTTP can carry, in an unchecked message
            return SendResult.permanent(f"the message cannot be posted as JSON ({type(exc).__name__})")

    def _signed(self, body: bytes, msg_id: str, timestamp: str) -> dict[str, str]:
        if self.signature_format == "custdata":
            value = b", ".join(_custdata_signature(k, timestamp, body) for k in self._keys)
            return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: value.decode("ascii")}
        value = b" ".join(_standard_signature(k, msg_id, timestamp, body) for k in self._keys)
        return {ID_HEADER: msg_id, STANDARD_TIMESTAMP_HEADER: timestamp, STANDARD_SIGNATURE_HEADER: value.decode()}

    @staticmethod
    def _finish(result: SendResult, message: Message) -> SendResult:
        if not result.ok:
            reason = scrub(result.reason or "", message.recipient)
            result = SendResult(outcome=result.outcome, reason=reason, code=result.code, retry_after=result.retry_after)
            # the endpoint's reply (scrubbed, but it may still say something of the person) goes to the result only
            log_event(
                _log,
                "notify.webhook.not_sent",
                key=message.idempotency_key,
                outcome=result.outcome.value,
                code=result.code,
                retry_after=result.retry_after,
            )
        return result

    # -- the wire format -----------------------------------------------------------------------------

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        """The JSON object posted for ``message``."""
        return {
            "type": "custdata.message",
            "version": PAYLOAD_VERSION,
            "id": message.delivery_id,
            "idempotency_key": message.idempotency_key,
            "channel": message.channel.value,
            "topic": message.topic.value,
            "recipient": message.recipient,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "locale": message.locale,
            "marketing": message.marketing,
            "unsubscribe_url": message.unsubscribe_url,
            "customer_id": message.customer_id,
            "order_id": message.order_id,
            "headers": dict(message.headers),
            "metadata": dict(message.metadata),
        }

    @classmethod
    def body(cls, message: Message) -> bytes:
        """The exact bytes posted (and signed) for ``message``: compact UTF-8 JSON."""
        return json.dumps(cls.payload(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    #: See :func:`signature_headers`.
    signature_headers = staticmethod(signature_headers)
    #: See :func:`standard_secret`.
    standard_secret = staticmethod(standard_secret)
    #: See :func:`generate_secret`.
    generate_secret = staticmethod(generate_secret)
    #: See :func:`verify`.
    verify = staticmethod(verify)

    @staticmethod
    def sign(secret: Secrets, timestamp: str, body: bytes) -> str:
        """The custdata format's signature header value: ``v1=`` and the hex HMAC-SHA256 of
        ``timestamp + "." + body`` (one per secret, separated by ``", "``)."""
        return signature_headers(secret, body, msg_id="", timestamp=timestamp, signature_format="custdata")[
            SIGNATURE_HEADER
        ]

    @staticmethod
    def verify_signature(
        secret: Secrets,
        body: bytes,
        *,
        timestamp: str | None,
        signature: str | None,
        tolerance: float | timedelta = 300,
        now: datetime | None = None,
    ) -> bool:
        """True when the custdata format's ``signature`` (the header value) signs ``body`` at ``timestamp``
        with ``secret`` (or any of several) and the timestamp is within ``tolerance`` seconds of ``now``.
        Compares in constant time; for receivers of ``signature_format="custdata"`` (:func:`verify` reads both
        formats from the request's headers).

        Whatever the headers and body hold (any text, any length, bytes, None), the answer is True or False;
        only a bad ``secret``, ``tolerance`` or ``now`` (a programming error) raises
        :class:`custdata.ValidationError`.

        >>> from datetime import UTC
        >>> body = b'{"id":"abc"}'
        >>> sig = WebhookNotifier.sign("a-long-shared-secret", "1700000000", body)
        >>> when = datetime.fromtimestamp(1700000060, UTC)
        >>> WebhookNotifier.verify_signature("a-long-shared-secret", body, timestamp="1700000000",
        ...                                  signature=sig, now=when)
        True
        >>> WebhookNotifier.verify_signature("a-long-shared-secret", body + b" ", timestamp="1700000000",
        ...                                  signature=sig, now=when)
        False
        """
        keys = _keys(secret, "custdata")
        window = _tolerance(tolerance)
        _check_now(now)
        if not isinstance(body, (bytes, bytearray)):
            return False
        return _verify_custdata(keys, bytes(body), timestamp, signature, window, now)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r})"


def _load_http(needed_by: str) -> ModuleType:
    """The httpx side of the notifiers, or a :class:`MissingExtraError` naming the ``webhooks`` extra."""
    try:
        return importlib.import_module("custdata.notify._http")
    except ImportError as exc:
        raise MissingExtraError(exc.name or "httpx", "webhooks", needed_by) from exc


class WebhookNotifier(_Webhooks):
    """POSTs each message as signed JSON, over kept-open connections.

    Without ``endpoint`` it delivers webhook-channel messages to their recipient URL (a customer's or
    partner's hook) and skips other channels; with ``endpoint`` it posts every message there (a gateway
    that sends SMS, push or chat for you). ``secret`` is one secret or a list (all sign each request).
    ``signature_format`` is ``"standard"`` (Standard Webhooks, the default) or ``"custdata"`` (the earlier
    ``X-Custdata-Signature`` headers). ``trust_env`` honours the ``*_proxy`` environment variables when
    addresses are not checked.

    ``block_private_addresses`` refuses loopback, private, link-local, multicast, reserved and unspecified
    addresses (and IPv6 forms that carry one), checked on the address actually connected to after name
    resolution, on every redirect hop too; by default it is on for hook URLs taken from messages and off for a
    fixed ``endpoint``. ``allowed_networks`` (``["10.1.2.0/24"]``) are let through all the same; ``resolver``
    (a function from a host name to IP addresses) replaces the system's. ``follow_redirects`` posts to where
    a redirect points (at most 5 hops, never from https to http) instead of failing permanently.

    Needs the ``webhooks`` extra (httpx). Safe to call from several threads; ``close()`` releases the
    connections.

    >>> notifier = WebhookNotifier("a-long-shared-secret", endpoint="https://gateway.example/notify")
    >>> notifier
    WebhookNotifier(endpoint='https://gateway.example/notify')
    >>> notifier.close()
    """

    def _connect(self) -> None:
        _http = _load_http("WebhookNotifier")
        self._client: httpx.Client = _http.sync_client(
            policy=self._policy, ssl_context=self._ssl_context, trust_env=self._trust_env, timeout=self.timeout
        )

    def send(self, message: Message, /) -> SendResult:
        """POST ``message``; the result's ``provider_id`` is its delivery id (the ``webhook-id`` header)."""
        from custdata.notify._http import post

        prepared = self._prepare(message)
        result = prepared if isinstance(prepared, SendResult) else post(self._client, prepared)
        return self._finish(result, message)

    def close(self) -> None:
        """Close the kept-open connections; the notifier reconnects if it sends again."""
        self._client.close()
        self._connect()

    def __enter__(self) -> WebhookNotifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncWebhookNotifier(_Webhooks):
    """The asynchronous :class:`WebhookNotifier`: the same options, requests and results, on
    ``httpx.AsyncClient``. ``await notifier.send(message)``; ``await notifier.aclose()`` when done. Use one
    notifier within one event loop.

    >>> import asyncio
    >>> async def main() -> None:
    ...     async with AsyncWebhookNotifier("a-long-shared-secret", endpoint="https://gateway.example/n") as n:
    ...         print(n)
    >>> asyncio.run(main())
    AsyncWebhookNotifier(endpoint='https://gateway.example/n')
    """

    def _connect(self) -> None:
        _http = _load_http("AsyncWebhookNotifier")
        self._client: httpx.AsyncClient = _http.async_client(
            policy=self._policy, ssl_context=self._ssl_context, trust_env=self._trust_env, timeout=self.timeout
        )

    async def send(self, message: Message, /) -> SendResult:
        """POST ``message``; the result's ``provider_id`` is its delivery id (the ``webhook-id`` header)."""
        from custdata.notify._http import apost

        prepared = self._prepare(message)
        result = prepared if isinstance(prepared, SendResult) else await apost(self._client, prepared)
        return self._finish(result, message)

    async def aclose(self) -> None:
        """Close the kept-open connections; the notifier reconnects if it sends again."""
        await self._client.aclose()
        self._connect()

    async def __aenter__(self) -> AsyncWebhookNotifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


#: Checks a custdata-format signature; see :meth:`WebhookNotifier.verify_signature`.
verify_signature = WebhookNotifier.verify_signature
