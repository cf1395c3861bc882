"""The rules that turn orders into figures, in one place for everything that counts orders.

The analytics functions, the customer 360 figures, the order's own check of returned quantities, and the
aggregation queries of the SQL stores (which render these sets into their SQL, see
:mod:`custdata.storage.sql.aggregates`) all follow these definitions:

- **Sold.** An order is sold unless its status is in :data:`NOT_SOLD_STATUSES` (cancelled: nothing was sold).
  Only sold orders count as orders, add their total to revenue, and set the first and last order (recency)
  and the number of orders (frequency). Orders that were not sold are counted apart, as cancelled orders.
- **By a time.** With a time ``as_of``, an order counts when it is sold and was placed at or before ``as_of``
  (:func:`counts_by`); later orders are left out of everything, the cancelled count too.
- **Refunds.** What a return subtracts from revenue is its recorded ``refund``, when the return's status is
  not in :data:`UNREFUNDED_RETURNS` (declined or cancelled returns paid nothing back) and, with ``as_of``, it
  was requested at or before then (:func:`refund_counts`, :func:`refunded`). Only returns of sold orders are
  read: a cancelled order contributes nothing.
- **Returned items.** A return's items count as returned while its status is in :data:`COUNTED_RETURNS`
  (on their way back or back) and, with ``as_of``, it was requested by then (:func:`return_counts`).
- **Open returns** (:data:`OPEN_RETURNS`) still wait for the shop; **settled orders**
  (:data:`SETTLED_ORDERS`) expect no delivery any more.

The functions read the sets of this module when called, so the figures of every reader move together.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from custdata.domain.enums import OrderStatus, ReturnStatus
from custdata.domain.money import EXACT

if TYPE_CHECKING:
    from custdata.domain.order import Order, Return

#: Order statuses that sold nothing: such orders are counted apart and add nothing to any figure.
NOT_SOLD_STATUSES: frozenset[OrderStatus] = frozenset({OrderStatus.CANCELLED})
#: Return statuses whose refund paid nothing back, so it is not subtracted.
UNREFUNDED_RETURNS: frozenset[ReturnStatus] = frozenset({ReturnStatus.DECLINED, ReturnStatus.CANCELLED})
#: Return statuses whose items count as returned: on their way back, or back.
COUNTED_RETURNS: frozenset[ReturnStatus] = frozenset(
    {ReturnStatus.REQUESTED, ReturnStatus.OPEN, ReturnStatus.RECEIVED, ReturnStatus.CLOSED}
)
#: Return statuses still waiting for the shop to act: requested, open, or received but not yet closed.
OPEN_RETURNS: frozenset[ReturnStatus] = frozenset({ReturnStatus.REQUESTED, ReturnStatus.OPEN, ReturnStatus.RECEIVED})
#: Order statuses after which no delivery is expected (delivered, or never sold).
SETTLED_ORDERS: frozenset[OrderStatus] = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED})


def is_sold(order: Order) -> bool:
    """Whether ``order`` sold something (its status is not in :data:`NOT_SOLD_STATUSES`)."""
    return order.status not in NOT_SOLD_STATUSES


def counts_by(order: Order, as_of: datetime | None = None) -> bool:
    """Whether ``order`` counts in the figures as of ``as_of``: sold, and placed by then (any time when None)."""
    return order.status not in NOT_SOLD_STATUSES and (as_of is None or order.placed_at <= as_of)


def refund_counts(ret: Return, as_of: datetime | None = None) -> bool:
    """Whether the refund of ``ret`` is subtracted: one is recorded, the return was not declined or cancelled,
    and it was requested by ``as_of`` (any time when None)."""
    return (
        ret.refund is not None and ret.status not in UNREFUNDED_RETURNS and (as_of is None or ret.requested_at <= as_of)
    )


def refunded(order: Order, as_of: datetime | None = None) -> Decimal:
    """The exact sum of the refunds of ``order`` that :func:`refund_counts` keeps (whatever the order's status:
    callers read only sold orders)."""
    total = Decimal(0)
    for ret in order.returns:
        if ret.refund is not None and refund_counts(ret, as_of):
            total = EXACT.add(total, ret.refund.amount)
    return total


def return_counts(ret: Return, as_of: datetime | None = None) -> bool:
    """Whether the items of ``ret`` count as returned: its status is in :data:`COUNTED_RETURNS` and it was
    requested by ``as_of`` (any time when None)."""
    return ret.status in COUNTED_RETURNS and (as_of is None or ret.requested_at <= as_of)


def returned_items(order: Order, as_of: datetime | None = None) -> int:
    """How many items of ``order`` count as returned (see :func:`return_counts`)."""
    return sum(line.quantity for ret in order.returns if return_counts(ret, as_of) for line in ret.lines)


__all__ = [
    "COUNTED_RETURNS",
    "NOT_SOLD_STATUSES",
    "OPEN_RETURNS",
    "SETTLED_ORDERS",
    "UNREFUNDED_RETURNS",
    "counts_by",
    "is_sold",
    "refund_counts",
    "refunded",
    "return_counts",
    "returned_items",
]
