"""Segments evaluated against a store, in the shape the communication workflows take: ``callable(customer)``.

Two ways, both built by :class:`~custdata.analytics.StoreAnalytics`:

- :class:`Audience` (``StoreAnalytics.audience``) is a snapshot: the segment evaluated once over every
  customer as of a moment, kept as a frozen set of ids. Testing a customer is a set look-up, so it suits
  rules that fire often; build a new one when the data has moved on (nightly, say).
- :class:`SegmentCheck` (``StoreAnalytics.segment_check``) is live: each call reads that one customer's
  orders and activity from the store and tests their facts as of the clock's current time. It reads
  through a unit of work of its own, so it does not see writes not yet committed elsewhere.

Both accept a :class:`~custdata.Customer` or a customer id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from custdata._clock import utc_now
from custdata._errors import NotFoundError, ValidationError
from custdata.analytics._input import moment
from custdata.analytics._results import frame
from custdata.analytics.facts import CustomerFacts, customer_facts
from custdata.analytics.segments import Segment
from custdata.domain import Customer, CustomerId

if TYPE_CHECKING:
    from custdata.analytics.store import StoreAnalytics


def _customer_id(customer: object) -> str:
    if isinstance(customer, Customer):
        return str(customer.id)
    if isinstance(customer, str) and customer:
        return customer
    raise ValidationError.single("customer", f"must be a Customer or a customer id, not {type(customer).__name__}")


def check_segment(segment: object) -> Segment:
    if not isinstance(segment, Segment):
        raise ValidationError.single("segment", f"must be a Segment, not {type(segment).__name__}")
    return segment


@attrs.frozen
class Audience:
    """The members of segment ``name`` as of ``as_of``: ``audience(customer)`` and ``customer_id in audience``
    test one customer, iterating gives the ids in id order."""

    name: str
    as_of: datetime
    customer_ids: frozenset[CustomerId] = attrs.field(repr=lambda ids: f"<{len(ids)} customers>")

    def __call__(self, customer: Customer | str) -> bool:
        return _customer_id(customer) in self.customer_ids

    def __contains__(self, customer: object) -> bool:
        return _customer_id(customer) in self.customer_ids

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __iter__(self) -> Iterator[CustomerId]:
        return iter(sorted(self.customer_ids))

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per member, in id order: ``customer_id``, ``segment`` and ``as_of``."""
        return [{"customer_id": str(c), "segment": self.name, "as_of": self.as_of} for c in self]

    def to_pandas(self) -> Any:
        """The members as a ``pandas.DataFrame`` (needs ``pip install 'custdata[notebook]'``)."""
        return frame(self.to_records(), ["customer_id", "segment", "as_of"])


def audience_of(analytics: StoreAnalytics, segment: Segment, as_of: datetime | None) -> Audience:
    """Evaluate ``segment`` over every customer of ``analytics``' source as of ``as_of`` (now when None)."""
    check_segment(segment)
    when = utc_now() if as_of is None else moment("as_of", as_of)
    members = segment.members(analytics.customer_facts(as_of=when))
    return Audience(segment.name, when, frozenset(members))


class SegmentCheck:
    """``check(customer)``: whether the customer is in ``segment`` now, read live from the store."""

    __slots__ = ("_analytics", "_clock", "segment")

    def __init__(
        self, analytics: StoreAnalytics, segment: Segment, clock: Callable[[], datetime] | None = None
    ) -> None:
        if clock is not None and not callable(clock):
            raise ValidationError.single("clock", "must be a function returning a timezone-aware datetime")
        self._analytics = analytics
        self.segment = check_segment(segment)
        self._clock = clock or utc_now

    def __repr__(self) -> str:
        return f"SegmentCheck({self.segment.name!r})"

    def facts(self, customer: Customer | str) -> CustomerFacts:
        """The customer's facts as of the clock's time, from their orders and activity in the store; an unknown
        id raises :class:`~custdata.NotFoundError`."""
        customer_id = _customer_id(customer)
        as_of = moment("clock()", self._clock())
        profile = customer if isinstance(customer, Customer) else self._analytics.customer(customer_id)
        found = customer_facts(
            as_of=as_of,
            orders=self._analytics.orders_of(customer_id),
            activity=self._analytics.activity_of(customer_id),
            customers=(profile,),
        ).get(customer_id)
        return found or CustomerFacts(CustomerId(customer_id), as_of, customer=profile)

    def __call__(self, customer: Customer | str) -> bool:
        """True when the customer belongs to the segment now; an unknown id is not a member."""
        try:
            return self.facts(customer) in self.segment
        except NotFoundError:
            return False
