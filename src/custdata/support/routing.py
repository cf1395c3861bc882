"""Routing a conversation to a team by rules: the first rule that matches wins, else the default team."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from custdata._errors import ValidationError
from custdata.domain import OrderStatus


def _names(value: Iterable[str] | str | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


def _statuses(value: Iterable[OrderStatus | str] | OrderStatus | str | None) -> frozenset[OrderStatus] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    try:
        return frozenset(OrderStatus(v) for v in items)
    except ValueError as exc:
        raise ValidationError.single("order_statuses", str(exc)) from None


@attrs.frozen
class RoutingFacts:
    """What a rule looks at: the intent, the linked order's status, the customer's segments and the language."""

    intent: str | None = None
    order_status: OrderStatus | None = None
    segments: frozenset[str] = frozenset()
    language: str | None = None


@attrs.frozen
class Rule:
    """Send to ``team`` when every condition given holds (a condition left None matches anything); ``segments``
    matches when the customer is in at least one of them."""

    team: str
    intents: frozenset[str] | None = attrs.field(default=None, converter=_names)
    order_statuses: frozenset[OrderStatus] | None = attrs.field(default=None, converter=_statuses)
    segments: frozenset[str] | None = attrs.field(default=None, converter=_names)
    languages: frozenset[str] | None = attrs.field(default=None, converter=_names)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.team, str) or not self.team.strip() or len(self.team) > 128:
            raise ValidationError.single("team", "must be a non-empty name of at most 128 characters")

    def matches(self, facts: RoutingFacts) -> bool:
        return (
            (self.intents is None or facts.intent in self.intents)
            and (self.order_statuses is None or facts.order_status in self.order_statuses)
            and (self.segments is None or bool(self.segments & facts.segments))
            and (self.languages is None or facts.language in self.languages)
        )


def _as_rules(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(rules)


@attrs.frozen
class RoutingRules:
    """Rules tried in order; the first match names the team, else ``default_team``."""

    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_as_rules)
    default_team: str = "support"

    def __attrs_post_init__(self) -> None:
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, Rule):
                raise ValidationError.single(f"rules[{i}]", f"must be a Rule, not {type(rule).__name__}")
        if not isinstance(self.default_team, str) or not self.default_team.strip():
            raise ValidationError.single("default_team", "must be a non-empty name")

    def route(self, facts: RoutingFacts) -> str:
        """The team for a conversation with these facts."""
        for rule in self.rules:
            if rule.matches(facts):
                return rule.team
        return self.default_team
