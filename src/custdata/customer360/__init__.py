"""Customer 360: one customer's profile, orders, shipments, returns, messages and activity as one
chronological timeline, with summary figures (spend per currency, recency, return rate, open issues).

>>> from custdata.customer360 import EntryKind
>>> EntryKind.ORDER_PLACED.value
'order_placed'
"""

from custdata.customer360.figures import Figures, IssueKind, OpenIssue, figures, open_issues
from custdata.customer360.timeline import EntryKind, TimelineEntry, build_timeline, is_support_contact
from custdata.customer360.view import MAX_MERGE_HOPS, Customer360, customer_360, resolve_customer

__all__ = [
    "MAX_MERGE_HOPS",
    "Customer360",
    "EntryKind",
    "Figures",
    "IssueKind",
    "OpenIssue",
    "TimelineEntry",
    "build_timeline",
    "customer_360",
    "figures",
    "is_support_contact",
    "open_issues",
    "resolve_customer",
]
