"""Sending messages as signed JSON over HTTP POST, and checking that signature on the receiving side.

Each request carries ``X-Custdata-Timestamp`` (Unix seconds) and ``X-Custdata-Signature: v1=<hex>``, an
HMAC-SHA256 over ``"<timestamp>." + body`` with the shared secret, plus ``Idempotency-Key`` (the message's
key) and ``X-Custdata-Delivery`` (its delivery id) so that receivers can drop repeats. A 2xx answer means
sent; 408, 429 and 5xx, timeouts and network errors are transient; any other 4xx and redirects are
permanent (redirects are not followed, so a signed body never lands somewhere unexpected).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.message import Message as HTTPHeaders
from email.utils import parsedate_to_datetime
from typing import Any

from custdata._clock import Clock
from custdata._clock import utc_now as _utc_now
from custdata._errors import ValidationError
from custdata.domain.checks import Checker
from custdata.domain.enums import Channel
from custdata.notify.message import Message, ensure_message, url_problem
from custdata.notify.result import SendResult, scrub

_log = logging.getLogger("custdata.notify.webhook")

SIGNATURE_HEADER = "X-Custdata-Signature"
TIMESTAMP_HEADER = "X-Custdata-Timestamp"
DELIVERY_HEADER = "X-Custdata-Delivery"
PAYLOAD_VERSION = 1
_TRANSIENT_STATUS = frozenset({408, 425, 429})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not isinstance(key, bytes) or len(key) < 16:
        raise ValidationError.single("secret", "must be a string or bytes of at least 16 bytes")
    return key


class WebhookNotifier:
    """POSTs each message as signed JSON.

    Without ``endpoint`` it delivers webhook-channel messages to their recipient URL (a customer's or
    partner's hook) and skips other channels; with ``endpoint`` it posts every message there (a gateway
    that sends SMS, push or chat for you). ``trust_env`` honours the ``*_proxy`` environment variables.

    >>> notifier = WebhookNotifier("a-long-shared-secret", endpoint="https://gateway.example/notify")
    >>> notifier
    WebhookNotifier(endpoint='https://gateway.example/notify')
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        endpoint: str | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
        user_agent: str = "custdata-webhook/1",
        clock: Clock | None = None,
    ) -> None:
        check = Checker()
        try:
            self._secret = _key(secret)
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
        check.done()
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self._headers = extra
        self._user_agent = user_agent
        self._clock: Clock = clock or _utc_now
        handlers: list[urllib.request.BaseHandler] = [
            _NoRedirects(),
            urllib.request.HTTPSHandler(context=ssl_context or ssl.create_default_context()),
        ]
        if not trust_env:
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    # -- sending -------------------------------------------------------------------------------------

    def send(self, message: Message, /) -> SendResult:
        """POST ``message``; the result's ``provider_id`` is its delivery id (the X-Custdata-Delivery header)."""
        ensure_message(message)
        url = self.endpoint
        if url is None:
            if message.channel != Channel.WEBHOOK:
                channel = message.channel.value
                return SendResult.skipped(f"WebhookNotifier without an endpoint delivers webhooks only, not {channel}")
            url = message.recipient
        try:
            body = self.body(message)
            timestamp = str(int(self._clock().timestamp()))
            request = urllib.request.Request(url, data=body, method="POST", headers=self._request_headers(message))
            request.add_header(TIMESTAMP_HEADER, timestamp)
            request.add_header(SIGNATURE_HEADER, self.sign(self._secret, timestamp, body))
        except (
            ValueError,
            TypeError,
            OverflowError,
        ) as exc:  # text no JSON/HTTP can carry, in a message loaded unchecked
            result = SendResult.permanent(f"the message cannot be posted as JSON ({type(exc).__name__})")
        else:
            result = self._post(request, message.delivery_id)
        if not result.ok:
            reason = scrub(result.reason or "", message.recipient)
            result = SendResult(outcome=result.outcome, reason=reason, code=result.code, retry_after=result.retry_after)
            _log.info("webhook %s not sent: %s", message.idempotency_key, result)
        return result

    def _request_headers(self, message: Message) -> dict[str, str]:
        return {
            **self._headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self._user_agent,
            "Idempotency-Key": message.idempotency_key,
            DELIVERY_HEADER: message.delivery_id,
        }

    def _post(self, request: urllib.request.Request, delivery_id: str) -> SendResult:
        where = request.host
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            try:
                return self._status_failure(exc.code, exc.headers, where)
            finally:
                exc.close()
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, BaseException):
                return _network_failure(reason, where, self.timeout)
            return SendResult.transient(f"could not reach {where}: {reason}")
        except (OSError, http.client.HTTPException) as exc:
            return _network_failure(exc, where, self.timeout)
        except ValueError as exc:  # a header or URL http.client refuses (invalid characters)
            return SendResult.permanent(f"the request to {where} could not be made ({type(exc).__name__})")
        if 200 <= status < 300:
            return SendResult.sent(delivery_id, code=status)
        return self._status_failure(status, HTTPHeaders(), where)

    def _status_failure(self, status: int, headers: HTTPHeaders, where: str) -> SendResult:
        if status >= 500 or status in _TRANSIENT_STATUS:
            retry_after = _retry_after(headers.get("Retry-After"), self._clock())
            return SendResult.transient(f"{where} answered HTTP {status}", code=status, retry_after=retry_after)
        if 300 <= status < 400:
            return SendResult.permanent(
                f"{where} answered with a redirect (HTTP {status}), which is not followed", code=status
            )
        return SendResult.permanent(f"{where} refused the message with HTTP {status}", code=status)

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

    @staticmethod
    def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
        """The signature header value: ``v1=`` and the hex HMAC-SHA256 of ``timestamp + "." + body``."""
        mac = hmac.new(_key(secret), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
        return f"v1={mac.hexdigest()}"

    @staticmethod
    def verify_signature(
        secret: str | bytes,
        body: bytes,
        *,
        timestamp: str | None,
        signature: str | None,
        tolerance: float | timedelta = 300,
        now: datetime | None = None,
    ) -> bool:
        """True when ``signature`` (the header value) signs ``body`` at ``timestamp`` with ``secret`` and the
        timestamp is within ``tolerance`` seconds of ``now``. Compares in constant time; for receivers.

        Whatever the headers and body hold (any text, any length, bytes, None), the answer is True or False;
        only a bad ``secret``, ``tolerance`` or ``now`` (a programming error) raises
        :class:`custdata.ValidationError`.

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
        key = _key(secret)
        window = _tolerance(tolerance)
        if now is not None and not isinstance(now, datetime):
            raise ValidationError.single("now", f"must be a datetime, not {type(now).__name__}")
        if not isinstance(body, (bytes, bytearray)) or not isinstance(timestamp, str) or not isinstance(signature, str):
            return False
        # Unix seconds in ASCII digits only (str.isdigit() takes other scripts' digits, which int() reads too),
        # and few enough of them to be a time at all.
        if not (0 < len(timestamp) <= 12 and timestamp.isascii() and timestamp.isdigit()):
            return False
        try:
            current = (now or _utc_now()).timestamp()
        except (OverflowError, ValueError, OSError):
            return False
        if abs(current - int(timestamp)) > window:
            return False
        expected = hmac.new(key, timestamp.encode("ascii") + b"." + bytes(body), hashlib.sha256).hexdigest()
        matched = False
        for part in signature[:4096].split(","):
            scheme, _, value = part.strip().partition("=")
            if scheme == "v1" and hmac.compare_digest(value.encode("utf-8", "replace"), expected.encode("ascii")):
                matched = True
        return matched

    def __repr__(self) -> str:
        return f"WebhookNotifier(endpoint={self.endpoint!r})"


#: Checks a webhook's signature headers; see :meth:`WebhookNotifier.verify_signature`.
verify_signature = WebhookNotifier.verify_signature


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


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86_400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - now).total_seconds(), 86_400.0))


def _network_failure(exc: BaseException, where: str, timeout: float) -> SendResult:
    if isinstance(exc, TimeoutError):
        return SendResult.transient(f"timed out after {timeout:g}s waiting for {where}")
    if isinstance(exc, ConnectionRefusedError):
        return SendResult.transient(f"connection refused by {where}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendResult.transient(f"TLS certificate of {where} not trusted: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return SendResult.transient(f"TLS failed with {where}: {exc.reason or exc}")
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return SendResult.transient(f"{where} dropped the connection or sent no valid HTTP response")
    if isinstance(exc, OSError):
        return SendResult.transient(f"network error with {where}: {exc.strerror or type(exc).__name__}")
    return SendResult.transient(f"could not reach {where}: {type(exc).__name__}")
