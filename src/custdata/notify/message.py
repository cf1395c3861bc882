"""The message a notifier delivers: one logical notification to one recipient on one channel.

A :class:`Message` is already rendered (subject and bodies are final text) and already decided (consent,
quiet hours and caps were checked upstream); a notifier only moves it. Its ``idempotency_key`` names the
logical message, so that a retry or a replay is recognisably the same message at the far side.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs

from custdata._errors import ValidationError
from custdata.domain.checks import Checker, trusted
from custdata.domain.contact import EmailAddress, PhoneNumber, mask
from custdata.domain.customer import normalise_locale
from custdata.domain.enums import Channel, Topic
from custdata.domain.ids import CustomerId, OrderId
from custdata.domain.personal import IDENTIFIER, LINKED, NOT_PERSONAL, PERSONAL

E = TypeVar("E", Channel, Topic)

MAX_BODY = 1_000_000
MAX_HEADERS = 50
_KEY = re.compile(r"[\x21-\x7e]{1,512}")
#: RFC 5322 field names: printable ASCII except the colon.
_HEADER_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]{1,76}")
#: Everything that ends a line somewhere: CR, LF, VT, FF, the file/group/record separators, NEL and the Unicode
#: line and paragraph separators (``str.splitlines()`` and some mail software split at each of them).
LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
#: A lone surrogate: no UTF-8 encoding exists, so no channel could carry it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_PHONE_CHANNELS = frozenset({Channel.SMS, Channel.PHONE})

#: Headers that notifiers set themselves from the message's fields; ``headers`` may not override them.
RESERVED_HEADERS = frozenset(
    {
        "bcc",
        "cc",
        "content-language",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "message-id",
        "mime-version",
        "return-path",
        "sender",
        "subject",
        "to",
    }
)


def _lenient_enum(cls: type[E], value: object) -> object:
    if isinstance(value, str) and not isinstance(value, cls):
        try:
            return cls(value)
        except ValueError:
            return value  # left for validate() to report with its path
    return value


def _to_channel(value: object) -> Any:
    return _lenient_enum(Channel, value)


def _to_topic(value: object) -> Any:
    return _lenient_enum(Topic, value)


def _to_customer_id(value: object) -> Any:
    return CustomerId(value) if type(value) is str else value


def _to_order_id(value: object) -> Any:
    return OrderId(value) if type(value) is str else value


def _recipient(value: object) -> object:
    if isinstance(value, EmailAddress):
        return value.value
    if isinstance(value, PhoneNumber):
        return value.e164
    return value


def _read_only(value: object) -> object:
    if isinstance(value, Mapping) and not isinstance(value, MappingProxyType):
        return MappingProxyType(dict(value))
    return value


def _default_marketing(self: Any) -> bool:
    return bool(getattr(self.topic, "is_marketing", False))


@attrs.frozen(kw_only=True, repr=False)
class Message:
    """One rendered notification, ready to send. Build it with keywords; bad input raises
    :class:`custdata.ValidationError` naming each bad field.

    ``recipient`` depends on the channel: an email address (an :class:`~custdata.EmailAddress` or a string),
    an E.164 phone number for sms and phone, an ``http(s)`` URL for webhook, an opaque handle (device token,
    chat id) otherwise. ``marketing`` defaults to ``topic.is_marketing``; marketing email needs an
    ``https`` ``unsubscribe_url``. ``headers`` are extra email headers; ``metadata`` is JSON data passed
    along to the far side where the channel can carry it.

    >>> m = Message(idempotency_key="ord_1:order_shipped", channel="email", topic="order_shipped",
    ...             recipient="Jane@Example.com", subject="Your order is on its way", text="Hello!")
    >>> m.recipient, m.marketing, m.locale
    ('Jane@example.com', False, 'en')
    >>> m
    Message(idempotency_key='ord_1:order_shipped', channel='email', topic='order_shipped', recipient='J***@e***')
    """

    idempotency_key: str = attrs.field(metadata=IDENTIFIER)
    channel: Channel = attrs.field(converter=_to_channel, metadata=NOT_PERSONAL)
    topic: Topic = attrs.field(converter=_to_topic, metadata=NOT_PERSONAL)
    recipient: str = attrs.field(converter=_recipient, metadata=PERSONAL)
    text: str = attrs.field(metadata=PERSONAL)
    subject: str | None = attrs.field(default=None, metadata=PERSONAL)
    html: str | None = attrs.field(default=None, metadata=PERSONAL)
    locale: str = attrs.field(default="en", metadata=LINKED)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_read_only, hash=False, metadata=PERSONAL)
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=_read_only, hash=False, metadata=PERSONAL)
    customer_id: CustomerId | None = attrs.field(default=None, converter=_to_customer_id, metadata=IDENTIFIER)
    order_id: OrderId | None = attrs.field(default=None, converter=_to_order_id, metadata=IDENTIFIER)
    marketing: bool = attrs.field(default=attrs.Factory(_default_marketing, takes_self=True), metadata=NOT_PERSONAL)
    unsubscribe_url: str | None = attrs.field(default=None, metadata=PERSONAL)

    def __attrs_post_init__(self) -> None:
        if not trusted():
            self.validate()

    def validate(self) -> None:
        """Check every field and raise one :class:`custdata.ValidationError` listing all problems."""
        check = Checker()
        if isinstance(self.idempotency_key, str) and not _KEY.fullmatch(self.idempotency_key):
            check.add("idempotency_key", "must be 1 to 512 visible ASCII characters (no spaces)")
        else:
            check.text("idempotency_key", self.idempotency_key, max_length=512)
        channel_ok = check.enum("channel", self.channel, Channel)
        topic_ok = check.enum("topic", self.topic, Topic)
        if channel_ok:
            self._check_recipient(check)
        subject_ok = check.text("subject", self.subject, optional=self.channel != Channel.EMAIL, max_length=998)
        if subject_ok and self.subject is not None and LINE_BREAK.search(self.subject):
            check.add("subject", "must be one line (no line breaks)")
        elif subject_ok:
            _check_encodable(check, "subject", self.subject)
        if check.text("text", self.text, max_length=MAX_BODY, multiline=True):
            _check_encodable(check, "text", self.text)
        if check.text("html", self.html, optional=True, max_length=MAX_BODY, multiline=True):
            _check_encodable(check, "html", self.html)
        if check.text("locale", self.locale, max_length=35):
            try:
                object.__setattr__(self, "locale", normalise_locale(self.locale))
            except ValidationError as exc:
                check.nested("locale", exc)
        self._check_headers(check)
        metadata = dict(self.metadata) if isinstance(self.metadata, Mapping) else self.metadata
        if check.json_object("metadata", metadata):
            _check_encodable(check, "metadata", metadata)
        check.identifier("customer_id", self.customer_id, optional=True)
        check.identifier("order_id", self.order_id, optional=True)
        if check.boolean("marketing", self.marketing) and topic_ok and self.topic.is_marketing and not self.marketing:
            check.add("marketing", f"cannot be false: {self.topic.value} is a marketing topic")
        self._check_unsubscribe(check)
        check.done()

    def _check_recipient(self, check: Checker) -> None:
        value = self.recipient
        if not check.text("recipient", value, max_length=2048):
            return
        if LINE_BREAK.search(value) or _SURROGATE.search(value):
            check.add("recipient", "must be one line of valid Unicode (no line breaks, no lone surrogates)")
            return
        if self.channel == Channel.EMAIL:
            try:
                object.__setattr__(self, "recipient", EmailAddress.parse(value).value)
            except ValidationError as exc:
                check.nested("recipient", exc)
        elif self.channel in _PHONE_CHANNELS:
            try:
                PhoneNumber(value)
            except ValidationError:
                check.add("recipient", "must be a phone number in E.164 form, such as +4930123456")
        elif self.channel == Channel.WEBHOOK:
            problem = url_problem(value, schemes=("http", "https"))
            if problem:
                check.add("recipient", problem)
        elif value != value.strip():
            check.add("recipient", "must not start or end with whitespace")

    def _check_headers(self, check: Checker) -> None:
        if not isinstance(self.headers, Mapping):
            check.add("headers", f"must be a mapping of header names to values, not {type(self.headers).__name__}")
            return
        if len(self.headers) > MAX_HEADERS:
            check.add("headers", f"has more than {MAX_HEADERS} entries")
            return
        for name, value in self.headers.items():
            if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
                check.add("headers", "names must be 1 to 76 printable ASCII characters without ':' or spaces")
                continue
            path = f"headers[{name!r}]"
            if name.lower() in RESERVED_HEADERS:
                check.add(path, "is set by the notifier from the message's fields and cannot be given here")
            elif check.text(path, value, max_length=998) and LINE_BREAK.search(value):
                check.add(path, "must be one line (no line breaks)")
            else:
                _check_encodable(check, path, value)

    def _check_unsubscribe(self, check: Checker) -> None:
        url = self.unsubscribe_url
        if url is None:
            if self.marketing is True and self.channel == Channel.EMAIL:
                check.add("unsubscribe_url", "is required for marketing email (one-click unsubscribe)")
            return
        if not check.text("unsubscribe_url", url, max_length=2048):
            return
        problem = url_problem(url, schemes=("https",))
        if problem:
            check.add("unsubscribe_url", problem)
        elif self.marketing is not True:
            check.add("unsubscribe_url", "is only for marketing messages (set marketing=True)")

    @cached_property
    def delivery_id(self) -> str:
        """A stable opaque id derived from the idempotency key (SHA-256), safe to show to providers.

        Every notifier uses it for what the far side sees as the message's identity (an email's
        Message-ID, a webhook's delivery id), so a resend is recognisably the same message.
        """
        return hashlib.sha256(self.idempotency_key.encode("ascii")).hexdigest()[:32]

    @property
    def masked_recipient(self) -> str:
        """The recipient with the personal part hidden, for logs and reprs."""
        return mask_recipient(self.channel, self.recipient)

    def __repr__(self) -> str:
        return (
            f"Message(idempotency_key={self.idempotency_key!r}, channel={str(self.channel)!r}, "
            f"topic={str(self.topic)!r}, recipient={self.masked_recipient!r})"
        )


def _check_encodable(check: Checker, path: str, value: object) -> None:
    """Report a lone surrogate anywhere in ``value`` (text, or JSON data with text keys and values)."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            check.add(path, "contains a lone surrogate (not valid Unicode)")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and _SURROGATE.search(key):
                check.add(path, "has a key with a lone surrogate (not valid Unicode)")
            else:
                _check_encodable(check, f"{path}[{key!r}]", item)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_encodable(check, f"{path}[{i}]", item)


def mask_recipient(channel: object, recipient: object) -> str:
    """``'jane@example.com'`` -> ``'j***@e***'``; phone numbers keep their first and last digits only."""
    if not isinstance(recipient, str):
        return "?"
    if channel == Channel.EMAIL and "@" in recipient:
        local, _, domain = recipient.rpartition("@")
        return f"{mask(local)}@{mask(domain)}"
    if channel in _PHONE_CHANNELS:
        return f"{recipient[:3]}***{recipient[-2:]}"
    if channel == Channel.WEBHOOK:
        parts = urlsplit(recipient)
        return f"{parts.scheme}://{parts.hostname}/***"
    return mask(recipient, keep=2)


def url_problem(url: str, *, schemes: tuple[str, ...]) -> str | None:
    """Why ``url`` is not an absolute URL with one of ``schemes``, or None when it is."""
    names = " or ".join(schemes)
    if any(c.isspace() for c in url):
        return "must be a URL without spaces"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in schemes:
        return f"must be an {names} URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (user:password@)"
    if port == 0:
        return "has an invalid port"
    return None


def ensure_message(value: object) -> Message:
    """``value`` when it is a :class:`Message`; a TypeError naming the wrong type otherwise."""
    if not isinstance(value, Message):
        raise TypeError(f"send() needs a custdata.notify.Message, not {type(value).__name__}")
    return value
