"""Message validation: good input round-trips, bad input is a ValidationError naming the field, never a crash."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import Channel, EmailAddress, PhoneNumber, Topic, ValidationError, from_dict, from_json, to_dict, to_json
from custdata.notify import Message
from custdata.notify.message import RESERVED_HEADERS

RECIPIENTS = {
    Channel.EMAIL: st.sampled_from(["jane@example.com", "Jörg.Ü@bücher.example", "a+tag@sub.example.co.uk"]),
    Channel.SMS: st.sampled_from(["+14155550123", "+4930123456", "+819012345678"]),
    Channel.PHONE: st.sampled_from(["+14155550123", "+442071838750"]),
    Channel.WEBHOOK: st.sampled_from(["https://hooks.example.com/x?y=1", "http://127.0.0.1:8080/h"]),
    Channel.PUSH: st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=64),
}
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200).filter(str.strip)
JSON_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=10)
KEYS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    """Valid messages on every channel, marketing and transactional."""
    channel = draw(st.sampled_from(sorted(RECIPIENTS)))
    topic = draw(st.sampled_from(list(Topic)))
    marketing = topic.is_marketing or draw(st.booleans())
    return Message(
        idempotency_key=draw(KEYS),
        channel=channel,
        topic=topic,
        recipient=draw(RECIPIENTS[channel]),
        subject=draw(SAFE_TEXT.map(lambda s: s.replace("\n", " ").replace("\r", " ").strip() or "s"))
        if channel == Channel.EMAIL or draw(st.booleans())
        else None,
        text=draw(SAFE_TEXT),
        html=draw(st.none() | SAFE_TEXT.map(lambda s: f"<p>{s}</p>")),
        locale=draw(st.sampled_from(["en", "de-AT", "pt_br", "FR"])),
        headers=draw(
            st.dictionaries(
                st.sampled_from(["X-Campaign", "X-Tag", "Reply-To"]),
                SAFE_TEXT.map(str.split).map(" ".join).filter(bool),
                max_size=2,
            )
        ),
        metadata=draw(st.dictionaries(JSON_TEXT, st.integers() | JSON_TEXT | st.none(), max_size=3)),
        customer_id=draw(st.none() | st.just("cus_123")),
        order_id=draw(st.none() | st.just("ord_9")),
        marketing=marketing,
        unsubscribe_url="https://shop.example/u/1" if marketing else None,
    )


@given(messages())
def test_valid_messages_round_trip_through_serialization(message: Message) -> None:
    assert from_dict(Message, to_dict(message)) == message
    assert from_json(Message, to_json(message), trusted=True) == message
    assert hash(message) == hash(attrs.evolve(message))


@given(messages())
def test_repr_never_shows_personal_data(message: Message) -> None:
    assert repr(message) == (
        f"Message(idempotency_key={message.idempotency_key!r}, channel={message.channel.value!r}, "
        f"topic={message.topic.value!r}, recipient={message.masked_recipient!r})"
    )
    personal = message.recipient.split("@")[0] if message.channel == Channel.EMAIL else message.recipient
    if len(personal) > 4 and message.channel != Channel.WEBHOOK:
        assert personal not in message.masked_recipient


BASE: dict[str, Any] = {
    "idempotency_key": "ord_1:order_shipped",
    "channel": "email",
    "topic": "order_shipped",
    "recipient": "jane@example.com",
    "subject": "Shipped",
    "text": "Hello",
}

BAD_VALUES: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("idempotency_key", st.just("") | st.just("has space") | st.text(min_size=513, max_size=600) | st.integers()),
    ("idempotency_key", st.text(min_size=1, max_size=20).filter(lambda s: any(not 0x21 <= ord(c) <= 0x7E for c in s))),
    ("channel", st.text(max_size=10).filter(lambda s: s not in set(Channel)) | st.integers()),
    ("topic", st.text(max_size=10).filter(lambda s: s not in set(Topic)) | st.none()),
    ("recipient", st.text(max_size=40).filter(lambda s: "@" not in s) | st.none() | st.integers()),
    ("subject", st.text(max_size=20).map(lambda s: s + "\r\nBcc: victim@example.com") | st.just("") | st.none()),
    ("text", st.just("") | st.just("   ") | st.none() | st.binary(min_size=1, max_size=5)),
    ("html", st.just("a\x00b") | st.integers()),
    ("locale", st.text(max_size=12).filter(lambda s: s.strip().lower() not in {"en", "de", "fr"}) | st.none()),
    ("headers", st.sampled_from(sorted(RESERVED_HEADERS)).map(lambda h: {h.title(): "x"})),
    ("headers", st.just({"X-Ok": "a\r\nInjected: yes"}) | st.just({"Bad Name": "x"}) | st.just({"X:Y": "x"})),
    ("headers", st.just([("X-A", "b")]) | st.just({f"X-{i}": "v" for i in range(51)})),
    ("metadata", st.just({"when": object()}) | st.just({"x": float("nan")}) | st.just({1: "int key"})),
    ("customer_id", st.just("") | st.just("has space") | st.integers()),
    ("order_id", st.just("-leading-dash") | st.just("x" * 200)),
    ("marketing", st.just("yes") | st.just(1)),
    ("unsubscribe_url", st.sampled_from(["http://shop.example/u", "shop.example/u", "https://", "https://a b/"])),
]


@given(
    st.sampled_from(range(len(BAD_VALUES))).flatmap(lambda i: st.tuples(st.just(BAD_VALUES[i][0]), BAD_VALUES[i][1]))
)
def test_bad_fields_raise_validation_errors_with_their_path(case: tuple[str, Any]) -> None:
    field, value = case
    fields = {**BASE, field: value}
    if field == "unsubscribe_url":
        fields["topic"] = "review_request"
    try:
        Message(**fields)
    except ValidationError as exc:
        paths = [p.path for p in exc.problems]
        assert any(p == field or p.startswith(f"{field}[") or p.startswith(f"{field}.") for p in paths), paths
        for problem in exc.problems:
            assert "victim" not in problem.message
    else:
        if field == "locale":
            return  # some random strings are real locales, such as "ja" or "EN-gb"
        pytest.fail(f"{field}={value!r} was accepted")


@given(channel=st.sampled_from(list(Channel)), recipient=st.text(max_size=60))
def test_any_recipient_text_is_accepted_or_refused_cleanly(channel: Channel, recipient: str) -> None:
    try:
        message = Message(**{**BASE, "channel": channel, "recipient": recipient})
    except ValidationError as exc:
        assert {p.path.split(".")[0] for p in exc.problems} == {"recipient"}
        assert recipient.strip() == "" or len(recipient) <= 3 or all(recipient not in str(p) for p in exc.problems)
    else:
        if channel == Channel.EMAIL:
            assert message.recipient == EmailAddress.parse(recipient).value
        elif channel in (Channel.SMS, Channel.PHONE):
            assert message.recipient == PhoneNumber(recipient).e164


@given(
    st.dictionaries(st.sampled_from([*BASE, "html", "locale", "headers", "extra"]), st.from_type(object), max_size=8)
)
def test_from_dict_on_junk_raises_only_validation_errors(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        from_dict(Message, {**data, "text": 42})


def test_marketing_rules() -> None:
    with pytest.raises(ValidationError, match="unsubscribe_url: is required for marketing email"):
        Message(**{**BASE, "topic": "re_engagement"})
    with pytest.raises(ValidationError, match="marketing: cannot be false"):
        Message(**{**BASE, "topic": "cart_reminder", "marketing": False, "unsubscribe_url": "https://s.example/u"})
    with pytest.raises(ValidationError, match="unsubscribe_url: is only for marketing"):
        Message(**{**BASE, "unsubscribe_url": "https://s.example/u"})
    sms = Message(**{**BASE, "channel": "sms", "recipient": "+14155550123", "topic": "cart_reminder", "subject": None})
    assert sms.marketing and sms.unsubscribe_url is None, "marketing SMS needs no unsubscribe URL (STOP replies)"
    newsletter = Message(**{**BASE, "topic": "support", "marketing": True, "unsubscribe_url": "https://s.example/u"})
    assert newsletter.marketing


def test_normalisation_and_typed_inputs() -> None:
    message = Message(
        **{**BASE, "recipient": EmailAddress.parse("Jane@EXAMPLE.com"), "locale": "pt_br", "customer_id": "cus_1"}
    )
    assert message.recipient == "Jane@example.com" and message.locale == "pt-BR"
    assert message.channel is Channel.EMAIL and message.topic is Topic.ORDER_SHIPPED
    assert type(message.customer_id).__name__ == "CustomerId"
    phone = Message(**{**BASE, "channel": "sms", "recipient": PhoneNumber.parse("030 1234567", "DE")})
    assert phone.recipient == "+49301234567"
    with pytest.raises(TypeError):
        message.headers["X-New"] = "x"  # type: ignore[index]
    assert message.delivery_id == attrs.evolve(message, text="other").delivery_id
    assert message.delivery_id != attrs.evolve(message, idempotency_key="other").delivery_id


def test_webhook_recipients_must_be_plain_http_urls() -> None:
    for url, problem in [
        ("ftp://x.example/h", "must be an http or https URL"),
        ("https://user:pw@x.example/h", "must not carry credentials"),
        ("https:///path", "must name a host"),
        ("https://x.example:99999/", "is not a valid URL"),
    ]:
        with pytest.raises(ValidationError, match=problem):
            Message(**{**BASE, "channel": "webhook", "recipient": url, "subject": None})
