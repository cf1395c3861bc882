"""Rule-based segments: predicates over :class:`~custdata.analytics.CustomerFacts`, composed with ``&``,
``|`` and ``~``, and named :class:`Segment` objects that test a customer or select the members of a group.

    >>> from decimal import Decimal
    >>> from custdata import Money
    >>> rule = vip(Money("500", "EUR")) & ~high_returner(Decimal("0.5"))
    >>> str(rule)
    'vip(min_spent=500.00 EUR) and not high_returner(min_rate=0.5, min_items=3)'

Predicates refuse ``and``/``or``/``not`` (Python would call ``bool()`` and silently drop a side); use the
operators instead.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import Decimal

import attrs
import pycountry

from custdata._errors import ValidationError
from custdata.analytics._input import duration, number, whole
from custdata.analytics.facts import CustomerFacts, iter_facts
from custdata.analytics.rfm import RfmSegment, RfmTable
from custdata.domain import CustomerId, Money

#: The most days a rule can count back (the longest span a ``timedelta`` holds).
MAX_DAYS = timedelta.max.days


class Predicate(abc.ABC):
    """A yes/no question about a customer's facts."""

    __slots__ = ()

    @abc.abstractmethod
    def test(self, facts: CustomerFacts) -> bool:
        """True when the customer described by ``facts`` satisfies the predicate."""

    @abc.abstractmethod
    def __str__(self) -> str: ...

    def __call__(self, facts: CustomerFacts) -> bool:
        return self.test(facts)

    def __and__(self, other: Predicate) -> Predicate:
        if not isinstance(other, Predicate):
            return NotImplemented
        return AllOf((*_parts(self, AllOf), *_parts(other, AllOf)))

    def __or__(self, other: Predicate) -> Predicate:
        if not isinstance(other, Predicate):
            return NotImplemented
        return AnyOf((*_parts(self, AnyOf), *_parts(other, AnyOf)))

    def __invert__(self) -> Predicate:
        return self.part if isinstance(self, Not) else Not(self)

    def __bool__(self) -> bool:
        raise TypeError("combine predicates with &, | and ~ rather than and, or and not")


def _parts(predicate: Predicate, kind: type[AllOf | AnyOf]) -> tuple[Predicate, ...]:
    return predicate.parts if isinstance(predicate, kind) else (predicate,)


def _wrap(predicate: Predicate) -> str:
    return f"({predicate})" if isinstance(predicate, (AllOf, AnyOf)) else str(predicate)


@attrs.frozen(repr=False)
class Rule(Predicate):
    """A named test: ``name`` is what ``str()`` shows, ``check`` does the work."""

    name: str
    check: Callable[[CustomerFacts], bool] = attrs.field(eq=False)

    def test(self, facts: CustomerFacts) -> bool:
        return bool(self.check(facts))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Rule({self.name!r})"


@attrs.frozen(repr=False)
class AllOf(Predicate):
    """True when every part is (``a & b``)."""

    parts: tuple[Predicate, ...]

    def test(self, facts: CustomerFacts) -> bool:
        return all(part.test(facts) for part in self.parts)

    def __str__(self) -> str:
        return " and ".join(_wrap(p) for p in self.parts)

    def __repr__(self) -> str:
        return f"AllOf({self})"


@attrs.frozen(repr=False)
class AnyOf(Predicate):
    """True when any part is (``a | b``)."""

    parts: tuple[Predicate, ...]

    def test(self, facts: CustomerFacts) -> bool:
        return any(part.test(facts) for part in self.parts)

    def __str__(self) -> str:
        return " or ".join(_wrap(p) for p in self.parts)

    def __repr__(self) -> str:
        return f"AnyOf({self})"


@attrs.frozen(repr=False)
class Not(Predicate):
    """True when the part is not (``~a``)."""

    part: Predicate

    def test(self, facts: CustomerFacts) -> bool:
        return not self.part.test(facts)

    def __str__(self) -> str:
        return f"not {_wrap(self.part)}"

    def __repr__(self) -> str:
        return f"Not({self.part})"


def _name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise ValidationError.single("name", "must be a non-empty string of at most 256 characters")
    return name


def where(name: str, check: Callable[[CustomerFacts], bool]) -> Rule:
    """A predicate of your own, such as ``where("big basket", lambda f: f.items >= 10 * f.orders)``."""
    _name(name)
    if not callable(check):
        raise ValidationError.single("check", "must be a function taking CustomerFacts and returning a bool")
    return Rule(name, check)


# -- the built-in predicates ------------------------------------------------------------------------


def vip(min_spent: Money, *, min_orders: int = 1) -> Rule:
    """Customers who spent at least ``min_spent`` (revenue less refunds, in that money's currency only)."""
    if not isinstance(min_spent, Money):
        raise ValidationError.single("min_spent", f"must be Money, not {type(min_spent).__name__}")
    min_orders = whole("min_orders", min_orders, minimum=1)
    suffix = "" if min_orders == 1 else f", min_orders={min_orders}"
    return Rule(
        f"vip(min_spent={min_spent}{suffix})",
        lambda f: f.orders >= min_orders and f.spent(min_spent.currency) >= min_spent,
    )


def first_time_shopper() -> Rule:
    """Customers with exactly one order that was not cancelled."""
    return Rule("first_time_shopper()", lambda f: f.orders == 1)


def cart_abandoner(*, within: timedelta | None = None, min_age: timedelta = timedelta(hours=1)) -> Rule:
    """Customers whose latest cart event (``Product Added``, ``Checkout Started``, ``Cart Abandoned``) came
    after their latest purchase (an order or ``Order Completed``), at least ``min_age`` ago (so someone
    still checking out is not counted) and, when given, no more than ``within`` ago.
    """
    min_age = duration("min_age", min_age, positive=False)
    if within is not None:
        within = duration("within", within)

    def check(f: CustomerFacts) -> bool:
        if f.last_cart_at is None or (f.last_purchase_at is not None and f.last_purchase_at >= f.last_cart_at):
            return False
        age = f.as_of - f.last_cart_at
        return age >= min_age and (within is None or age <= within)

    parts = [f"within={_span(within)}" if within is not None else "", f"min_age={_span(min_age)}"]
    return Rule(f"cart_abandoner({', '.join(p for p in parts if p)})", check)


def _span(value: timedelta) -> str:
    """``7d``, ``1h``, ``90m`` or ``45s``: a duration as short as it can be said exactly."""
    seconds = int(value.total_seconds())
    if value != timedelta(seconds=seconds):
        return str(value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def international(home_country: str) -> Rule:
    """Customers with an order shipped, or a default shipping address, outside ``home_country`` (ISO 3166)."""
    if not isinstance(home_country, str) or pycountry.countries.get(alpha_2=home_country.upper()) is None:
        raise ValidationError.single("home_country", "must be an ISO 3166-1 alpha-2 country code such as 'DE'")
    home = home_country.upper()
    return Rule(f"international(home_country={home!r})", lambda f: any(c != home for c in f.countries))


def high_returner(min_rate: Decimal | float | str = Decimal("0.3"), *, min_items: int = 3) -> Rule:
    """Customers who sent back at least ``min_rate`` of the items they bought, over at least ``min_items`` items."""
    rate = number("min_rate", min_rate, maximum=Decimal(1))
    min_items = whole("min_items", min_items, minimum=1)
    return Rule(
        f"high_returner(min_rate={rate}, min_items={min_items})",
        lambda f: f.items >= min_items and f.items_returned >= rate * f.items,
    )


def inactive_for(days: int) -> Rule:
    """Customers who have ordered, but not in the ``days`` days before ``as_of``."""
    days = whole("days", days, minimum=1, maximum=MAX_DAYS)
    return Rule(
        f"inactive_for(days={days})",
        lambda f: f.last_order_at is not None and f.as_of - f.last_order_at >= timedelta(days=days),
    )


def tagged(tag: str) -> Rule:
    """Customers whose profile carries ``tag`` (needs the profiles passed to ``customer_facts``)."""
    if not isinstance(tag, str) or not tag.strip():
        raise ValidationError.single("tag", "must be a non-empty string")
    return Rule(f"tagged({tag!r})", lambda f: f.customer is not None and tag in f.customer.tags)


def member_of(customer_ids: Iterable[str], name: str) -> Rule:
    """Customers whose id is in ``customer_ids``: a list exported from elsewhere, or RFM segment members."""
    if isinstance(customer_ids, str):
        raise ValidationError.single("customer_ids", "must be a collection of customer ids, not one string")
    ids = frozenset(customer_ids)
    return Rule(_name(name), lambda f: f.customer_id in ids)


def in_rfm_segment(scores: RfmTable, *segments: RfmSegment | str) -> Rule:
    """Customers that ``scores`` puts in any of the named RFM ``segments``."""
    if not isinstance(scores, RfmTable):
        raise ValidationError.single("scores", f"must be an RfmTable, not {type(scores).__name__}")
    if not segments:
        raise ValidationError.single("segments", "name at least one RFM segment")
    members = scores.members(*segments)
    label = ", ".join(repr(RfmSegment(s).value) for s in segments)
    return member_of(members, f"in_rfm_segment({label})")


# -- segments ---------------------------------------------------------------------------------------


@attrs.frozen
class Segment:
    """A named group of customers defined by a predicate; ``facts in segment`` tests one customer.

    Communication workflows use :meth:`contains` to send only to a segment, and :meth:`members` to list it.
    """

    name: str
    rule: Predicate
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 128:
            raise ValidationError.single("name", "must be a non-empty string of at most 128 characters")
        if not isinstance(self.rule, Predicate):
            raise ValidationError.single("rule", f"must be a Predicate, not {type(self.rule).__name__}")
        if not isinstance(self.description, str) or len(self.description) > 2000:
            raise ValidationError.single("description", "must be a string of at most 2000 characters")

    def contains(self, facts: CustomerFacts) -> bool:
        """True when the customer described by ``facts`` belongs to the segment."""
        return self.__contains__(facts)

    def __contains__(self, facts: object) -> bool:
        if not isinstance(facts, CustomerFacts):
            raise ValidationError.single("facts", f"must be CustomerFacts, not {type(facts).__name__}")
        return self.rule.test(facts)

    def members(self, facts: Iterable[CustomerFacts]) -> list[CustomerId]:
        """The ids of the customers in ``facts`` that belong to the segment, in the order given."""
        return [f.customer_id for f in iter_facts(facts) if self.rule.test(f)]

    def __str__(self) -> str:
        return f"{self.name}: {self.rule}"
