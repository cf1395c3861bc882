"""Sending messages to SMS, chat, push and other services through Apprise (https://github.com/caronc/apprise).

Each route (a channel, or a channel and topic) names one or more Apprise URLs. A URL may hold placeholders that
are filled in per message: ``{recipient}``, ``{delivery_id}``, ``{channel}``, ``{topic}``, ``{locale}`` and
``{unsubscribe_url}`` (the last in the query part only)::

    AppriseNotifier({"sms": "twilio://SID:TOKEN@+15551234567/{recipient}"})

Every filled-in value is percent-encoded, and a recipient may only hold letters, digits and ``@ . + _ ~ -``:
Apprise splits its targets at commas, spaces and slashes *after* decoding, so a recipient such as
``"a@shop.example,b@elsewhere.example"`` would otherwise reach a second address. A message whose recipient
holds anything else fails permanently and is sent nowhere.

What Apprise tells about a send, and so what the result can say: per service, success, failure or a timeout, and
the log lines it wrote on the way. A success is ``sent``; a timeout is transient; a failure is transient unless the
service's log line carries an HTTP status (``error=404.``, the form most Apprise services write) in the 4xx range
other than 408, 425 and 429, which is permanent, with that status as the result's ``code``. Apprise does not pass
on ``Retry-After`` or a provider's own message id: ``retry_after`` stays empty and the result's ``provider_id`` is
the message's delivery id, which the far side sees only where a URL carries ``{delivery_id}``.
"""

from __future__ import annotations

import importlib
import logging
import re
import string
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

from custdata._errors import MissingExtraError
from custdata.domain.checks import Checker
from custdata.domain.enums import Channel, Topic
from custdata.notify.message import Message, ensure_message
from custdata.notify.result import SendResult, scrub

if TYPE_CHECKING:
    import apprise

_log = logging.getLogger("custdata.notify.apprise")

#: The placeholders a URL may hold, each filled in from the message.
PLACEHOLDERS = frozenset({"recipient", "delivery_id", "channel", "topic", "locale", "unsubscribe_url"})
#: What a value put into a URL path or a target list may hold (Apprise splits targets at most other characters).
_SAFE_VALUE = re.compile(r"[A-Za-z0-9@.+_~-]{1,512}")
#: The HTTP status in an Apprise service's failure log line ("Failed to send ... notification: ..., error=404.").
_STATUS_IN_LOG = re.compile(r"\berror=([1-5]\d\d)\b")
#: An Apprise service's log line when the URL (with the recipient filled in) left it no target it can deliver to.
_NO_TARGET_IN_LOG = re.compile(r"\bno\b[^.]*\b(?:targets?|recipients?)\b[^.]*\bto notify", re.IGNORECASE)
_RETRYABLE_4XX = frozenset({408, 425, 429})
_MAX_URLS = 20
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_SAMPLES: Mapping[Channel, str] = {
    Channel.EMAIL: "customer@example.com",
    Channel.SMS: "+14155550123",
    Channel.PHONE: "+14155550123",
}

#: A route: a channel (``"sms"``) or a channel and a topic (``("email", "review_request")``).
RouteKey: TypeAlias = "Channel | str | tuple[Channel | str, Topic | str]"
#: One Apprise URL or several.
URLs: TypeAlias = "str | Sequence[str]"


def _load_apprise() -> ModuleType:
    """The apprise package, or a :class:`MissingExtraError` naming the ``apprise`` extra."""
    try:
        return importlib.import_module("apprise")
    except ImportError as exc:
        raise MissingExtraError(exc.name or "apprise", "apprise", "AppriseNotifier") from exc


def _masked(url: str) -> str:
    """Only the scheme of ``url``: in Apprise URLs, user, password, host and path can all be credentials."""
    found = _SCHEME.match(url)
    return f"{found.group(1)}://***" if found else "***"


class _Template:
    """One route's URL, split into literal text and placeholders once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.parts: list[tuple[str, str | None]] = []
        query_at = url.find("?")
        position = 0
        problem: str | None = None
        try:
            parsed = list(string.Formatter().parse(url))
        except ValueError:
            parsed = []
            problem = "has unbalanced braces (write {{ and }} for literal braces)"
        for literal, field, spec, conversion in parsed:
            position += len(literal)
            if field is not None:
                if field not in PLACEHOLDERS:
                    problem = f"has an unknown placeholder {{{field}}}; known: {', '.join(sorted(PLACEHOLDERS))}"
                elif spec or conversion:
                    problem = f"placeholder {{{field}}} takes no format or conversion"
                elif field == "unsubscribe_url" and (query_at < 0 or position < query_at):
                    problem = "may hold {unsubscribe_url} only in its query part (after '?')"
            self.parts.append((literal, field))
        self.problem = problem
        self.fields = frozenset(field for _, field in self.parts if field is not None)

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(literal + (values[field] if field is not None else "") for literal, field in self.parts)


def _route_key(key: object) -> tuple[Channel, Topic | None]:
    """The channel and topic of a route key, or ValueError."""
    if isinstance(key, tuple) and len(key) == 2:
        return Channel(key[0]), Topic(key[1])
    if isinstance(key, str):
        return Channel(key), None
    raise ValueError(key)


def _route_name(channel: Channel, topic: Topic | None) -> str:
    return channel.value if topic is None else f"{channel.value}/{topic.value}"


def _status_of(failure: Any) -> int | None:
    """The HTTP status an Apprise service's log lines report for a failed attempt, if any."""
    codes = [int(m.group(1)) for entry in failure.logs() for m in _STATUS_IN_LOG.finditer(str(entry.message))]
    return codes[-1] if codes else None


def _had_no_target(failure: Any) -> bool:
    """Whether an Apprise service's log lines say it had no valid target (it dropped the recipient as invalid)."""
    return any(_NO_TARGET_IN_LOG.search(str(entry.message)) for entry in failure.logs())


class AppriseNotifier:
    """Sends each message through the Apprise URLs of its route: SMS, chat, push and the many other services that
    Apprise speaks (https://github.com/caronc/apprise/wiki).

    ``routes`` maps a channel (``"sms"``), or a channel and topic (``("chat", "support")``, which wins over the
    channel alone), to one Apprise URL or a list; a message on a route without URLs is skipped. URLs may hold the
    placeholders ``{recipient}``, ``{delivery_id}``, ``{channel}``, ``{topic}``, ``{locale}`` and
    ``{unsubscribe_url}`` (see the module's description). A marketing message goes out with its unsubscribe URL:
    through a URL's ``{unsubscribe_url}``, or else as a last line of the text, ``unsubscribe_text`` with ``{url}``
    filled in. Each message is sent as its text (``body_format="text"``) with its subject as the title; HTML bodies
    are not sent.

    With several URLs on a route, the message is sent to each in turn: it is sent when all took it; when one
    fails, the result is a failure naming the services that did not take it, and a retry sends it to all again
    (with the same ``{delivery_id}``, so that the far sides can drop the repeat).

    ``timeout`` bounds each service's call, in seconds. ``asset`` is an ``apprise.AppriseAsset``; by default one
    that keeps Apprise's persistent storage in memory (no files of personal data on disk) and masks secrets in
    Apprise's log lines (``secure_logging``, which may not be turned off). The URLs are checked when the notifier
    is built, and are never shown: ``repr()`` shows their schemes only. Needs the ``apprise`` extra; safe to call
    from several threads. For asyncio, wrap it in :class:`custdata.aio.ThreadedNotifier`.

    >>> notifier = AppriseNotifier({"sms": "twilio://AC0123456789abcdef0123456789abcdef:0123456789abcdef0123456789abcdef@+15551234567/{recipient}"})
    >>> notifier
    AppriseNotifier({'sms': ['twilio://***']})
    """

    def __init__(
        self,
        routes: Mapping[RouteKey, URLs],
        *,
        timeout: float = 30.0,
        unsubscribe_text: str = "Unsubscribe: {url}",
        asset: apprise.AppriseAsset | None = None,
    ) -> None:
        self._apprise = _load_apprise()
        check = Checker()
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 600:
            check.add("timeout", "must be a number of seconds between 0 and 600")
        if check.text("unsubscribe_text", unsubscribe_text, max_length=500, multiline=True):
            if "{url}" not in unsubscribe_text:
                check.add("unsubscribe_text", "must hold {url}, where the unsubscribe URL goes")
        if asset is None:
            asset = self._apprise.AppriseAsset(storage_mode="memory", secure_logging=True)
        elif not isinstance(asset, self._apprise.AppriseAsset):
            check.add("asset", f"must be an apprise.AppriseAsset, not {type(asset).__name__}")
        elif not asset.secure_logging:
            check.add("asset", "must keep secure_logging on: Apprise would log the credentials in its URLs")
        table: dict[tuple[Channel, Topic | None], list[_Template]] = {}
        if not isinstance(routes, Mapping) or not routes:
            check.add("routes", "must map at least one channel (or channel and topic) to Apprise URLs")
            routes = {}
        for key, urls in routes.items():
            try:
                channel, topic = _route_key(key)
            except ValueError:
                check.add("routes", "keys must be a channel or a (channel, topic) pair of known names")
                continue
            path = f"routes[{_route_name(channel, topic)!r}]"
            listed = [urls] if isinstance(urls, str) else urls
            if not isinstance(listed, (list, tuple)) or not 1 <= len(listed) <= _MAX_URLS:
                check.add(path, f"must be an Apprise URL or a list of 1 to {_MAX_URLS} of them")
                continue
            templates = []
            for i, url in enumerate(listed):
                template = self._template(check, f"{path}[{i}]", url, channel, asset)
                if template is not None:
                    templates.append(template)
            table[(channel, topic)] = templates
        check.done()
        assert asset is not None
        self._asset = asset
        self._routes = table
        self.timeout = float(timeout)
        self.unsubscribe_text = unsubscribe_text

    def _template(
        self, check: Checker, path: str, url: object, channel: Channel, asset: apprise.AppriseAsset | None
    ) -> _Template | None:
        """The checked template of one URL, or None after adding its problem to ``check`` (never quoting it)."""
        if not isinstance(url, str) or not url or len(url) > 8192 or any(c.isspace() for c in url):
            check.add(path, "must be an Apprise URL (text without spaces, such as 'tgram://token/chat')")
            return None
        if not _SCHEME.match(url):
            check.add(path, "must be an Apprise URL starting with a scheme, such as 'tgram://'")
            return None
        template = _Template(url)
        if template.problem:
            check.add(path, template.problem)
            return None
        sample = {
            "recipient": _SAMPLES.get(channel, "handle-0001"),
            "delivery_id": "0" * 32,
            "channel": channel.value,
            "topic": Topic.ORDER_SHIPPED.value,
            "locale": "en",
            "unsubscribe_url": "https://shop.example/unsubscribe",
        }
        rendered = template.render({k: quote(v, safe="") for k, v in sample.items()})
        if self._apprise.Apprise.instantiate(rendered, asset=asset) is None:
            check.add(path, f"is not a URL that Apprise can load ({_masked(url)}: check its scheme and fields)")
            return None
        return template

    @property
    def routes(self) -> frozenset[tuple[Channel, Topic | None]]:
        """The routes set up: channels with None, or channels with a topic."""
        return frozenset(self._routes)

    def send(self, message: Message, /) -> SendResult:
        """Send ``message`` through the URLs of its route; see the class's description for the results."""
        ensure_message(message)
        templates = self._routes.get((message.channel, message.topic)) or self._routes.get((message.channel, None))
        if not templates:
            return SendResult.skipped(f"no Apprise URL is set up for the {message.channel.value} channel")
        if any("recipient" in t.fields for t in templates) and not _SAFE_VALUE.fullmatch(message.recipient):
            refused = SendResult.permanent(
                "the recipient holds characters that cannot be put into an Apprise URL safely "
                "(only letters, digits and @ . + _ ~ - can)"
            )
            return self._finish(refused, message)
        values = self._values(message)
        failures: list[SendResult] = []
        for index, template in enumerate(templates):
            failure = self._send_one(message, template, values)
            if failure is not None:
                where = f"URL {index + 1} of {len(templates)}" if len(templates) > 1 else "its URL"
                failures.append(_with_reason(failure, f"{where} ({_masked(template.url)}): {failure.reason}"))
        if not failures:
            return SendResult.sent(message.delivery_id)
        reason = "; ".join(f.reason or "" for f in failures)
        if len(templates) > 1:
            reason += f" (sent through {len(templates) - len(failures)} of {len(templates)} URLs)"
        codes = {f.code for f in failures}
        code = codes.pop() if len(codes) == 1 else None
        if any(f.retryable for f in failures):
            result = SendResult.transient(reason, code=code)
        else:
            result = SendResult.permanent(reason, code=code)
        return self._finish(result, message)

    @staticmethod
    def _values(message: Message) -> dict[str, str]:
        """The message's placeholder values, percent-encoded."""
        raw = {
            "recipient": message.recipient,
            "delivery_id": message.delivery_id,
            "channel": message.channel.value,
            "topic": message.topic.value,
            "locale": message.locale,
            "unsubscribe_url": message.unsubscribe_url or "",
        }
        return {key: quote(value, safe="") for key, value in raw.items()}

    def _send_one(self, message: Message, template: _Template, values: Mapping[str, str]) -> SendResult | None:
        """Send ``message`` through one URL: None when it went out, the failure otherwise."""
        service = self._apprise.Apprise.instantiate(template.render(values), asset=self._asset)
        if service is None:
            return SendResult.permanent("Apprise cannot load the URL with this message's values")
        body = message.text
        if message.marketing and message.unsubscribe_url and "unsubscribe_url" not in template.fields:
            body = f"{body}\n\n{self.unsubscribe_text.replace('{url}', message.unsubscribe_url)}"
        name = str(getattr(service, "service_name", None) or "the service")
        sender = self._apprise.Apprise(asset=self._asset)
        sender.add(service)
        try:
            answer = sender.notify(
                body=body,
                title=message.subject or "",
                body_format="text",
                interpret_escapes=False,
                timeout=self.timeout,
            )
        except Exception as exc:  # noqa: BLE001 - a notifier reports failures as results, never raises them
            return SendResult.transient(f"{name}: Apprise raised {type(exc).__name__}")
        return self._read(answer, name)

    def _read(self, answer: Any, name: str) -> SendResult | None:
        """Apprise's result of one service's call: None when it took the message, the failure otherwise."""
        status = self._apprise.AppriseResultStatus
        results = list(getattr(answer, "results", ()))
        if results and results[0].status == status.SUCCESS:
            return None
        if not results:
            return SendResult.permanent(f"{name}: Apprise could not prepare the message for sending")
        failed = results[0]
        if failed.status == status.TIMEOUT:
            return SendResult.transient(f"{name}: no answer within {self.timeout:g} s")
        code = _status_of(failed)
        if code is None and _had_no_target(failed):
            return SendResult.permanent(f"{name}: the recipient is no target this service can deliver to")
        if code is None:
            return SendResult.transient(f"{name}: not delivered (Apprise does not say why: a network error or outage)")
        if 400 <= code < 500 and code not in _RETRYABLE_4XX:
            return SendResult.permanent(f"{name}: refused with HTTP {code}", code=code)
        return SendResult.transient(f"{name}: not delivered, HTTP {code}", code=code)

    @staticmethod
    def _finish(result: SendResult, message: Message) -> SendResult:
        if not result.ok:
            reason = scrub(result.reason or "", message.recipient)
            result = SendResult(outcome=result.outcome, reason=reason, code=result.code, retry_after=result.retry_after)
            _log.info("apprise %s not sent: %s", message.idempotency_key, result)
        return result

    def __repr__(self) -> str:
        shown = {
            _route_name(channel, topic): [_masked(t.url) for t in templates]
            for (channel, topic), templates in sorted(self._routes.items(), key=lambda item: str(item[0]))
        }
        return f"{type(self).__name__}({shown!r})"


def _with_reason(result: SendResult, reason: str) -> SendResult:
    """``result`` with another reason."""
    return SendResult(outcome=result.outcome, reason=reason, code=result.code, retry_after=result.retry_after)
