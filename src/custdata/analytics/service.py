"""How customers experience the shop: Net Promoter Score from survey answers, and support contacts per order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from custdata._errors import ValidationError
from custdata.analytics._input import each, moment
from custdata.analytics._results import Summary
from custdata.analytics.metrics import ratio
from custdata.domain import CommunicationEvent, Direction, Order, Topic
from custdata.domain.order_rules import is_sold


@attrs.frozen
class Nps(Summary):
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), from -100 to 100; None without answers."""

    responses: int
    promoters: int
    passives: int
    detractors: int
    score: float | None


def nps(scores: Iterable[int]) -> Nps:
    """The Net Promoter Score of survey answers, each a whole number from 0 to 10.

    >>> nps([10, 9, 8, 7, 3]).score
    20.0
    """
    if isinstance(scores, (str, bytes)) or not isinstance(scores, Iterable):
        raise ValidationError.single("scores", "must be an iterable of whole numbers from 0 to 10")
    counts = [0, 0, 0]  # detractors, passives, promoters
    for i, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
            raise ValidationError.single(f"scores[{i}]", "must be a whole number from 0 to 10")
        counts[0 if score <= 6 else 1 if score <= 8 else 2] += 1
    detractors, passives, promoters = counts
    total = sum(counts)
    value = None if not total else round(100 * (promoters - detractors) / total, 10)
    return Nps(total, promoters, passives, detractors, value)


@attrs.frozen
class SupportLoad(Summary):
    """Support contacts (inbound support messages) and tickets, per order that was not cancelled.

    Contacts without a ``ticket_id`` count as a ticket each. The ratios are None when there are no orders.
    """

    orders: int
    contacts: int
    tickets: int
    contacts_per_order: float | None
    tickets_per_order: float | None


def support_contacts_per_order(
    events: Iterable[CommunicationEvent],
    orders: Iterable[Order],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> SupportLoad:
    """Inbound ``support`` messages per order, optionally within ``[start, end)``.

    Contacts are timed by ``created_at`` and orders by ``placed_at``; cancelled orders are not counted.
    """
    if start is not None:
        moment("start", start)
    if end is not None:
        moment("end", end)
    if start is not None and end is not None and end <= start:
        raise ValidationError.single("end", "must be later than start")

    def inside(at: datetime) -> bool:
        return (start is None or at >= start) and (end is None or at < end)

    contacts = 0
    tickets: set[str] = set()
    loose = 0
    for event in each(events, CommunicationEvent, "events"):
        if event.topic is Topic.SUPPORT and event.direction is Direction.INBOUND and inside(event.created_at):
            contacts += 1
            if event.ticket_id:
                tickets.add(event.ticket_id)
            else:
                loose += 1
    count = sum(1 for order in each(orders, Order, "orders") if is_sold(order) and inside(order.placed_at))
    return SupportLoad(
        orders=count,
        contacts=contacts,
        tickets=len(tickets) + loose,
        contacts_per_order=ratio(contacts, count),
        tickets_per_order=ratio(len(tickets) + loose, count),
    )
