"""The summary figures of a customer 360 view: orders, spend per currency, recency, returns, support and the
issues that are still open (late or failed deliveries, open returns).

Counting follows :mod:`custdata.analytics` so the numbers agree with it: cancelled orders sold nothing and
are left out of counts and spend; the return rate counts items (returned / bought) over orders that were
not cancelled, with returns that are requested, open, received or closed; refunds count unless the return
was declined or cancelled; support contacts are inbound support messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import attrs

from custdata.customer360.timeline import is_support_contact
from custdata.domain import (
    CommunicationEvent,
    Money,
    Order,
    OrderId,
    Shipment,
    TrackingStatus,
)

# The rules of which orders, returns and refunds count live in custdata.domain.order_rules, shared with the
# analytics and the stores' aggregation queries; COUNTED_RETURNS and OPEN_RETURNS stay importable from here.
from custdata.domain.order_rules import COUNTED_RETURNS as COUNTED_RETURNS
from custdata.domain.order_rules import OPEN_RETURNS as OPEN_RETURNS
from custdata.domain.order_rules import SETTLED_ORDERS, is_sold, refund_counts, refunded, returned_items

_FAILED = frozenset({TrackingStatus.FAILURE, TrackingStatus.ATTEMPTED_DELIVERY})


class IssueKind(StrEnum):
    """What is wrong: a delivery past its estimate (or reported delayed), a failed delivery, an open return."""

    LATE_DELIVERY = "late_delivery"
    FAILED_DELIVERY = "failed_delivery"
    OPEN_RETURN = "open_return"


@attrs.frozen
class OpenIssue:
    """An issue that still needs attention: its kind, the order and the shipment or return (``ref``) it is
    about, since when, and a PII-free description."""

    kind: IssueKind
    order_id: OrderId
    ref: str
    since: datetime
    description: str


@attrs.frozen
class Figures:
    """A customer's summary figures as of ``as_of``; money is kept per currency, never added across them.

    ``days_since_last_order`` is whole days from the last order to ``as_of`` (None without orders);
    ``return_rate`` is items returned / items bought (None when nothing was bought).
    """

    as_of: datetime
    order_count: int
    cancelled_orders: int
    total_spent: Mapping[str, Money]
    refunded: Mapping[str, Money]
    average_order_value: Mapping[str, Money]
    first_order_at: datetime | None
    last_order_at: datetime | None
    days_since_last_order: int | None
    items_bought: int
    items_returned: int
    return_rate: float | None
    support_contacts: int
    support_tickets: int
    open_issues: tuple[OpenIssue, ...]


def _rounded(amount: Decimal, currency: str) -> Money:
    return Money(Money.zero(currency).rounded(amount), currency)


def _shipment_issue(order: Order, shipment: Shipment, as_of: datetime) -> OpenIssue | None:
    latest = shipment.latest_event
    if order.status in SETTLED_ORDERS or (latest is not None and latest.status is TrackingStatus.DELIVERED):
        return None
    if latest is not None and latest.status in _FAILED:
        what = latest.status.value.replace("_", " ")
        return OpenIssue(
            IssueKind.FAILED_DELIVERY,
            order.id,
            shipment.id,
            latest.happened_at,
            f"Shipment {shipment.id} of order {order.id} ({shipment.carrier}): {what}",
        )
    if latest is not None and latest.status is TrackingStatus.DELAYED:
        return OpenIssue(
            IssueKind.LATE_DELIVERY,
            order.id,
            shipment.id,
            latest.happened_at,
            f"Shipment {shipment.id} of order {order.id} ({shipment.carrier}) reported delayed",
        )
    estimate = shipment.estimated_delivery_at
    if estimate is not None and estimate < as_of:
        return OpenIssue(
            IssueKind.LATE_DELIVERY,
            order.id,
            shipment.id,
            estimate,
            f"Shipment {shipment.id} of order {order.id} ({shipment.carrier}) is past its estimated delivery",
        )
    return None


def open_issues(orders: Iterable[Order], as_of: datetime) -> tuple[OpenIssue, ...]:
    """Late or failed deliveries and open returns among ``orders``, oldest first.

    Shipments of delivered orders, and shipments whose latest tracking event is ``delivered``, have no
    issue. Otherwise a shipment has failed when its latest event is a failure or a failed attempt, and is
    late when the carrier last reported a delay or its estimated delivery is before ``as_of``.
    """
    issues: list[OpenIssue] = []
    for order in orders:
        if not is_sold(order):
            continue
        for shipment in order.shipments:
            issue = _shipment_issue(order, shipment, as_of)
            if issue is not None:
                issues.append(issue)
        for ret in order.returns:
            if ret.status in OPEN_RETURNS:
                issues.append(
                    OpenIssue(
                        IssueKind.OPEN_RETURN,
                        order.id,
                        ret.id,
                        ret.requested_at,
                        f"Return {ret.id} of order {order.id} is {ret.status.value}",
                    )
                )
    issues.sort(key=lambda i: (i.since, i.kind.value, str(i.order_id), i.ref))
    return tuple(issues)


def figures(orders: Iterable[Order], communications: Iterable[CommunicationEvent], *, as_of: datetime) -> Figures:
    """The summary figures of one customer's orders and messages (see :class:`Figures`)."""
    orders = list(orders)
    sold = [o for o in orders if is_sold(o)]
    spent: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    refunds: dict[str, Decimal] = {}
    bought = returned = 0
    for order in sold:
        spent[order.currency] = spent.get(order.currency, Decimal(0)) + order.total.amount
        counts[order.currency] = counts.get(order.currency, 0) + 1
        bought += order.item_count
        returned += returned_items(order)
        if any(refund_counts(ret) for ret in order.returns):
            refunds[order.currency] = refunds.get(order.currency, Decimal(0)) + refunded(order)
    first = min((o.placed_at for o in sold), default=None)
    last = max((o.placed_at for o in sold), default=None)
    support = [e for e in communications if is_support_contact(e)]
    tickets = {e.ticket_id for e in support if e.ticket_id} | {e.id for e in support if not e.ticket_id}
    return Figures(
        as_of=as_of,
        order_count=len(sold),
        cancelled_orders=len(orders) - len(sold),
        total_spent={c: _rounded(spent[c], c) for c in sorted(spent)},
        refunded={c: _rounded(refunds[c], c) for c in sorted(refunds)},
        average_order_value={c: _rounded(spent[c] / counts[c], c) for c in sorted(spent)},
        first_order_at=first,
        last_order_at=last,
        days_since_last_order=None if last is None else (as_of - last).days,
        items_bought=bought,
        items_returned=returned,
        return_rate=returned / bought if bought else None,
        support_contacts=len(support),
        support_tickets=len(tickets),
        open_issues=open_issues(sold, as_of),
    )
