"""Message templates per topic, channel and locale, rendered with Jinja2 in its sandbox.

Every topic declares the variables its templates may use (:data:`TOPIC_VARIABLES`, plus
:data:`COMMON_VARIABLES`). A template that uses anything else is refused when it is registered, and a render
that lacks a declared variable is refused too: a message is whole or it is not made. Variables may be None
(:data:`OPTIONAL_VARIABLES`: a parcel without a tracking link), which templates test with
``{% if tracking_url %}``.

Locales fall back from the most specific to the registry's default: ``de-AT`` -> ``de`` -> ``en``. HTML bodies
are auto-escaped; text bodies and subjects are not (they are not HTML), and subjects are folded to one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any

import attrs

from custdata._errors import MissingExtraError, Problem, ValidationError
from custdata.domain import Channel, Topic
from custdata.domain.checks import Checker
from custdata.domain.customer import normalise_locale

#: Variables every template may use.
COMMON_VARIABLES = frozenset({"customer_name", "shop_name", "shop_url"})

#: Variables that may be None (a customer without a name, a parcel without tracking); test them with ``if``.
OPTIONAL_VARIABLES = frozenset(
    {"customer_name", "tracking_number", "tracking_url", "estimated_delivery", "reason", "detail", "item_count"}
)

_ORDER = frozenset({"order_id", "order_number", "order_url", "order_total", "order_date"})
_PARCEL = frozenset({"carrier", "tracking_number", "tracking_url", "estimated_delivery"})

#: The variables each topic's templates may use, beside :data:`COMMON_VARIABLES`.
TOPIC_VARIABLES: Mapping[Topic, frozenset[str]] = MappingProxyType(
    {
        Topic.ORDER_CONFIRMATION: _ORDER | {"items", "item_count"},
        Topic.ORDER_PACKED: _ORDER,
        Topic.ORDER_SHIPPED: _ORDER | _PARCEL,
        Topic.OUT_FOR_DELIVERY: _ORDER | _PARCEL | {"pickup"},
        Topic.DELIVERED: _ORDER | {"carrier", "order_complete"},
        Topic.DELIVERY_DELAYED: _ORDER | _PARCEL,
        Topic.DELIVERY_FAILED: _ORDER | {"carrier", "tracking_url", "problem", "detail"},
        Topic.ORDER_CANCELLED: _ORDER | {"reason"},
        Topic.RETURN_UPDATE: _ORDER | {"return_id", "return_status", "item_count"},
        Topic.REFUND_ISSUED: _ORDER | {"return_id", "refund_amount"},
        Topic.REVIEW_REQUEST: _ORDER | {"review_url"},
        Topic.RE_ENGAGEMENT: frozenset({"days_since_order", "last_order_number"}),
        Topic.CART_REMINDER: frozenset({"cart_url", "item_count"}),
        Topic.REPLENISHMENT: frozenset({"product_name", "days_since_purchase"}),
        Topic.SUPPORT: frozenset({"ticket_id"}),
        Topic.ACCOUNT: frozenset(),
    }
)


def _to_topic(value: object) -> Any:
    try:
        return Topic(value) if isinstance(value, str) else value
    except ValueError:
        return value


def _to_channel(value: object) -> Any:
    try:
        return Channel(value) if isinstance(value, str) else value
    except ValueError:
        return value


@attrs.frozen
class Template:
    """The text of one topic on one channel in one locale. Email needs a ``subject``; ``html`` is optional."""

    topic: Topic = attrs.field(converter=_to_topic)
    channel: Channel = attrs.field(converter=_to_channel)
    locale: str
    text: str
    subject: str | None = None
    html: str | None = None

    def __attrs_post_init__(self) -> None:
        check = Checker()
        check.enum("topic", self.topic, Topic)
        channel_ok = check.enum("channel", self.channel, Channel)
        if check.text("locale", self.locale, max_length=35):
            try:
                object.__setattr__(self, "locale", normalise_locale(self.locale))
            except ValidationError as exc:
                check.nested("locale", exc)
        check.text("text", self.text, max_length=200_000, multiline=True)
        needs_subject = channel_ok and self.channel == Channel.EMAIL
        check.text("subject", self.subject, optional=not needs_subject, max_length=998)
        check.text("html", self.html, optional=True, max_length=1_000_000, multiline=True)
        check.done()

    @property
    def name(self) -> str:
        """How communication events name the template: ``order_shipped.email.de``."""
        return f"{self.topic.value}.{self.channel.value}.{self.locale}"


@attrs.frozen
class Rendered:
    """A rendered template: final subject, text and HTML, and which template made them."""

    template: str
    locale: str
    text: str
    subject: str | None = None
    html: str | None = None


class _Compiled:
    """A template with its Jinja2 parts compiled once."""

    def __init__(self, template: Template, text: Any, subject: Any | None, html: Any | None) -> None:
        self.template = template
        self.text = text
        self.subject = subject
        self.html = html


class TemplateRegistry:
    """Templates by topic, channel and locale, checked on registration (see the module docstring).

    >>> registry = TemplateRegistry()
    >>> registry.register(Template("order_packed", "sms", "en", "Hi {{ customer_name }}, order {{ order_number }} is packed."))
    >>> registry.register(Template("order_packed", "sms", "en", "{{ tracking_url }}"))
    Traceback (most recent call last):
    ...
    custdata._errors.ValidationError: text: uses tracking_url, which order_packed templates do not have (they have: customer_name, order_date, order_id, order_number, order_total, order_url, shop_name, shop_url)
    """

    def __init__(
        self,
        templates: Iterable[Template] = (),
        *,
        default_locale: str = "en",
        variables: Mapping[Topic, Iterable[str]] | None = None,
    ) -> None:
        try:
            self.default_locale = normalise_locale(default_locale)
        except ValidationError as exc:
            raise exc.prefixed("default_locale") from None
        extra = {Topic(t): frozenset(v) for t, v in (variables or {}).items()}
        self._variables = {
            topic: COMMON_VARIABLES | TOPIC_VARIABLES[topic] | extra.get(topic, frozenset()) for topic in Topic
        }
        self._templates: dict[tuple[Topic, Channel, str], _Compiled] = {}
        for template in templates:
            self.register(template)

    @cached_property
    def _environments(self) -> tuple[Any, Any]:
        try:
            from jinja2 import StrictUndefined
            from jinja2.sandbox import ImmutableSandboxedEnvironment
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
            raise MissingExtraError("jinja2", "workflows", "custdata's message templates") from exc
        options: dict[str, Any] = {"undefined": StrictUndefined}
        plain = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=False, **options)
        markup = ImmutableSandboxedEnvironment(autoescape=True, **options)
        return plain, markup

    def variables(self, topic: Topic) -> frozenset[str]:
        """The variables templates of ``topic`` may use (and renders of it must supply)."""
        return self._variables[Topic(topic)]

    def register(self, template: Template) -> None:
        """Add ``template`` (replacing one for the same topic, channel and locale) after checking that it parses
        and uses only its topic's variables; a :class:`custdata.ValidationError` names the part and the names."""
        if not isinstance(template, Template):
            raise ValidationError.single("template", f"must be a Template, not {type(template).__name__}")
        plain, markup = self._environments
        allowed = self._variables[template.topic]
        problems: list[Problem] = []
        compiled: dict[str, Any] = {}
        for part, env in (("text", plain), ("subject", plain), ("html", markup)):
            source = getattr(template, part)
            if source is None:
                compiled[part] = None
                continue
            compiled[part], problem = self._compile(env, part, source, template.topic, allowed)
            if problem is not None:
                problems.append(problem)
        if problems:
            raise ValidationError(problems)
        key = (template.topic, template.channel, template.locale)
        self._templates[key] = _Compiled(template, compiled["text"], compiled["subject"], compiled["html"])

    @staticmethod
    def _compile(env: Any, part: str, source: str, topic: Topic, allowed: frozenset[str]) -> tuple[Any, Problem | None]:
        from jinja2 import TemplateSyntaxError, meta

        try:
            used = meta.find_undeclared_variables(env.parse(source))
            compiled = env.from_string(source)
        except TemplateSyntaxError as exc:
            return None, Problem(part, f"is not a valid template: {exc.message} (line {exc.lineno})")
        unknown = sorted(used - allowed)
        if unknown:
            names = ", ".join(unknown)
            have = ", ".join(sorted(allowed))
            return None, Problem(part, f"uses {names}, which {topic.value} templates do not have (they have: {have})")
        return compiled, None

    # -- looking up and rendering ------------------------------------------------------------------------

    def locales(self, locale: str | None) -> list[str]:
        """The locales tried for ``locale``, most specific first: ``de-AT`` -> ``['de-AT', 'de', 'en']``."""
        chain: list[str] = []
        if locale:
            try:
                parts = normalise_locale(locale).split("-")
            except ValidationError:
                parts = []
            chain = ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]
        if self.default_locale not in chain:
            chain.append(self.default_locale)
        return chain

    def find(self, topic: Topic, channel: Channel, locale: str | None = None) -> Template | None:
        """The template used for ``topic`` on ``channel`` in ``locale`` (after falling back), if any."""
        compiled = self._find(Topic(topic), Channel(channel), locale)
        return None if compiled is None else compiled.template

    def _find(self, topic: Topic, channel: Channel, locale: str | None) -> _Compiled | None:
        for candidate in self.locales(locale):
            found = self._templates.get((topic, channel, candidate))
            if found is not None:
                return found
        return None

    def channels(self, topic: Topic) -> frozenset[Channel]:
        """The channels that have a template for ``topic`` in the default locale (so any locale renders)."""
        return frozenset(c for (t, c, loc) in self._templates if t == topic and loc == self.default_locale)

    def render(self, topic: Topic, channel: Channel, locale: str | None, variables: Mapping[str, object]) -> Rendered:
        """Render the template for ``topic`` / ``channel`` / ``locale`` with ``variables``.

        ``variables`` must hold exactly the topic's declared variables (None allowed); anything missing or
        unknown, or a template that fails, raises a :class:`custdata.ValidationError` and renders nothing.
        """
        topic, channel = Topic(topic), Channel(channel)
        compiled = self._find(topic, channel, locale)
        if compiled is None:
            tried = ", ".join(self.locales(locale))
            raise ValidationError.single("template", f"none for {topic.value} on {channel.value} (locales {tried})")
        expected = self._variables[topic]
        given = set(variables)
        problems = [Problem(f"variables[{name!r}]", "is missing") for name in sorted(expected - given)]
        problems += [
            Problem(f"variables[{name!r}]", "is not declared for this topic") for name in sorted(given - expected)
        ]
        if problems:
            raise ValidationError(problems)
        from jinja2 import TemplateError

        template = compiled.template
        try:
            text = compiled.text.render(variables).strip()
            subject = None if compiled.subject is None else " ".join(compiled.subject.render(variables).split())
            html = None if compiled.html is None else compiled.html.render(variables)
        except TemplateError as exc:
            raise ValidationError.single("template", f"{template.name} failed to render: {exc}") from None
        if not text:
            raise ValidationError.single("template", f"{template.name} rendered an empty text")
        return Rendered(template.name, template.locale, text, subject, html)

    def __len__(self) -> int:
        return len(self._templates)

    def __iter__(self) -> Any:
        return iter(sorted((c.template for c in self._templates.values()), key=lambda t: t.name))
