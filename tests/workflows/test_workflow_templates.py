"""Templates: declared variables checked at registration and at render, locale fallback, escaping."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import Channel, Topic, ValidationError
from custdata.workflows import (
    COMMON_VARIABLES,
    OPTIONAL_VARIABLES,
    TOPIC_VARIABLES,
    Template,
    TemplateRegistry,
    default_registry,
    default_rules,
    default_templates,
)


def values(registry: TemplateRegistry, topic: Topic, **given: Any) -> dict[str, Any]:
    out: dict[str, Any] = {name: None for name in registry.variables(topic)}
    out.update(shop_name="Example Shop", shop_url="https://shop.example", order_number="1001", items=[])
    out.update(given)
    return {k: v for k, v in out.items() if k in registry.variables(topic)}


def test_unknown_variables_are_refused_at_registration() -> None:
    registry = TemplateRegistry()
    with pytest.raises(ValidationError) as info:
        registry.register(
            Template(
                Topic.ORDER_PACKED, Channel.EMAIL, "en", "{{ tracking_url }}", subject="{{ coupon }} {{ shop_name }}"
            )
        )
    problems = {p.path: p.message for p in info.value.problems}
    assert set(problems) == {"text", "subject"}
    assert problems["text"].startswith("uses tracking_url, which order_packed templates do not have")
    assert "coupon" in problems["subject"]
    assert len(registry) == 0


def test_syntax_errors_name_the_part_and_line() -> None:
    with pytest.raises(ValidationError, match=r"html: is not a valid template: .* \(line 2\)"):
        TemplateRegistry([Template("support", "email", "en", "ok", subject="s", html="<p>\n{% if %}</p>")])


def test_declared_extra_variables_are_allowed() -> None:
    registry = TemplateRegistry(variables={Topic.RE_ENGAGEMENT: {"coupon"}})
    registry.register(Template("re_engagement", "sms", "en", "Use {{ coupon }} at {{ shop_url }}"))
    assert "coupon" in registry.variables(Topic.RE_ENGAGEMENT)


def test_render_needs_exactly_the_declared_variables() -> None:
    registry = default_registry()
    complete = values(registry, Topic.ORDER_PACKED, customer_name="Jane", order_url="https://shop.example/o/1")
    rendered = registry.render(Topic.ORDER_PACKED, Channel.SMS, "en", complete)
    assert rendered.text == "Example Shop: order 1001 is packed."
    missing = dict(complete)
    del missing["order_number"]
    with pytest.raises(ValidationError, match=r"variables\['order_number'\]: is missing"):
        registry.render(Topic.ORDER_PACKED, Channel.SMS, "en", missing)
    with pytest.raises(ValidationError, match="is not declared"):
        registry.render(Topic.ORDER_PACKED, Channel.SMS, "en", {**complete, "tracking_url": "x"})


def test_a_template_failing_at_render_renders_nothing() -> None:
    registry = TemplateRegistry(
        [Template("support", "sms", "en", "Ticket {{ ticket_id.upper() }} {{ ticket_id.x.y }}")]
    )
    with pytest.raises(ValidationError, match=r"support\.sms\.en failed to render"):
        registry.render(Topic.SUPPORT, Channel.SMS, "en", {**dict.fromkeys(COMMON_VARIABLES), "ticket_id": "t1"})


def test_the_sandbox_refuses_reaching_into_python() -> None:
    registry = TemplateRegistry([Template("support", "sms", "en", "{{ ticket_id.__class__.__mro__ }}")])
    with pytest.raises(ValidationError, match="failed to render"):
        registry.render(Topic.SUPPORT, Channel.SMS, "en", {**dict.fromkeys(COMMON_VARIABLES), "ticket_id": "t1"})


def test_locales_fall_back_to_language_then_default() -> None:
    registry = default_registry()
    assert registry.locales("de_at") == ["de-AT", "de", "en"]
    assert registry.locales(None) == ["en"]
    assert registry.locales("not a locale") == ["en"]
    found = registry.find(Topic.ORDER_SHIPPED, Channel.EMAIL, "de-AT")
    assert found is not None and found.locale == "de"
    fallback = registry.find(Topic.ORDER_PACKED, Channel.EMAIL, "de-AT")
    assert fallback is not None and fallback.locale == "en"
    shipped = values(registry, Topic.ORDER_SHIPPED, carrier="DHL", tracking_url="https://track.example/1")
    text = registry.render(Topic.ORDER_SHIPPED, Channel.EMAIL, "de-AT", shipped).text
    assert "wurde mit DHL verschickt.\nSendungsverfolgung: https://track.example/1" in text


def test_html_is_escaped_and_text_is_not() -> None:
    registry = default_registry()
    given = values(registry, Topic.ORDER_SHIPPED, customer_name="Jo <script>", carrier="DHL", tracking_url=None)
    rendered = registry.render(Topic.ORDER_SHIPPED, Channel.EMAIL, "en", given)
    assert rendered.html is not None and "Jo &lt;script&gt;" in rendered.html and "<script>" not in rendered.html
    assert "Hello Jo <script>," in rendered.text
    assert "Track it" not in rendered.text  # no link, no dangling label


def test_subjects_are_folded_to_one_line() -> None:
    registry = TemplateRegistry([Template("support", "email", "en", "Body", subject="Ticket\n{{ ticket_id }}\n")])
    rendered = registry.render(
        Topic.SUPPORT, Channel.EMAIL, "en", {**dict.fromkeys(COMMON_VARIABLES), "ticket_id": "7"}
    )
    assert rendered.subject == "Ticket 7"


def test_every_default_rule_has_english_email_and_sms_and_some_german() -> None:
    registry = default_registry()
    for rule in default_rules():
        assert registry.channels(rule.topic) >= {Channel.EMAIL, Channel.SMS}, rule.name
    german = [t for t in default_templates() if t.locale == "de"]
    assert len(german) >= 3


def test_every_default_template_renders_with_every_variable_present_or_none() -> None:
    registry = default_registry()
    for template in default_templates():
        names = registry.variables(template.topic)
        for filler in (None, "x"):
            given: dict[str, Any] = dict.fromkeys(names, "x")
            given.update(dict.fromkeys(names & OPTIONAL_VARIABLES, filler))
            if "items" in given:
                given["items"] = [] if filler is None else [{"name": "n", "quantity": 1, "price": "1", "variant": ""}]
            rendered = registry.render(template.topic, template.channel, template.locale, given)
            assert rendered.text and "None" not in rendered.text, template.name
            assert (rendered.subject is not None) == (template.channel == Channel.EMAIL)


@given(
    st.one_of(
        st.none(), st.integers(), st.just("xx-YY-ZZ"), st.just(""), st.text(alphabet="0123456789 _-!", max_size=4)
    )
)
def test_templates_name_a_bad_locale(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Template(Topic.SUPPORT, Channel.SMS, value, "text")
    assert info.value.problems[0].path.startswith("locale")


@given(
    st.sampled_from(["topic", "channel", "text", "subject"]),
    st.one_of(st.none(), st.integers(), st.just(""), st.just("nope")),
)
def test_templates_name_every_bad_field(field: str, value: Any) -> None:
    fields: dict[str, Any] = {"topic": "support", "channel": "email", "locale": "en", "text": "t", "subject": "s"}
    fields[field] = value
    if field == "text" and value == "nope":
        return  # any non-empty text is a valid template source
    if field == "subject" and value == "nope":
        return
    with pytest.raises(ValidationError) as info:
        Template(**fields)
    assert [p.path for p in info.value.problems] == [field]


def test_topic_variables_cover_every_topic() -> None:
    assert set(TOPIC_VARIABLES) == set(Topic)
