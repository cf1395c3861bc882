"""Replenishment reminders: learn how often customers buy a product again, and remind them when it is time.

**Intervals.** :func:`repurchase_intervals` looks at every customer who bought a sku more than once (orders
that count, :mod:`custdata.domain.order_rules`; several lines or orders of the sku on the same moment are one
purchase) and takes the gaps between their consecutive purchases. A sku's interval is the median gap over all
customers, kept only when there are at least ``min_samples`` gaps: a product people rarely buy twice gets no
reminders.

**Due.** :func:`due_reminders` finds, for every customer and sku with an interval, the customer's last
purchase; the reminder is due once that purchase is ``interval`` old, and stays due for ``grace`` more (one
interval by default): a customer who stopped buying the product long ago is no replenishment case (the
re-engagement rule speaks to them).

**Sending.** :func:`queue_replenishment_reminders` records each due reminder as the activity event
:data:`custdata.workflows.REPLENISHMENT_DUE` and lets the workflows decide it
(:func:`custdata.workflows.replenishment_rule`, part of the default rules): a marketing message, so it needs a
marketing opt-in on the channel, counts against the frequency caps, waits out quiet hours, and goes through
the outbox. The event's id is fixed by the purchase (sku and order), so each purchase's reminder is decided
once, whoever runs the job and however often; a later purchase starts a new interval. A customer whose data was
erased, or a record merged into another customer (its orders moved to the survivor, who is reminded instead),
gets no reminder.
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from custdata._clock import utc_now
from custdata._errors import ConflictError, IntegrityError, NotFoundError, ValidationError
from custdata.domain import ActivityEvent, CustomerId, Order, OrderId
from custdata.domain import order_rules as rules
from custdata.domain.personal import IDENTIFIER, NOT_PERSONAL
from custdata.storage.aggregates import check_as_of
from custdata.storage.ports import Store, walk
from custdata.workflows import REPLENISHMENT_DUE, Step, Workflows


@attrs.frozen
class ProductInterval:
    """How long customers usually wait before buying ``sku`` again: the median of ``samples`` gaps."""

    sku: str = attrs.field(metadata=NOT_PERSONAL)
    interval: timedelta = attrs.field(metadata=NOT_PERSONAL)
    samples: int = attrs.field(metadata=NOT_PERSONAL)


@attrs.frozen
class ReminderDue:
    """A customer's last purchase of ``sku`` (in order ``order_id``) is ``interval`` old at ``due_at``."""

    customer_id: CustomerId = attrs.field(metadata=IDENTIFIER)
    sku: str = attrs.field(metadata=NOT_PERSONAL)
    product_name: str = attrs.field(metadata=NOT_PERSONAL)
    order_id: OrderId = attrs.field(metadata=IDENTIFIER)
    purchased_at: datetime = attrs.field(metadata=NOT_PERSONAL)
    due_at: datetime = attrs.field(metadata=NOT_PERSONAL)


def _check_orders(orders: object) -> None:
    if isinstance(orders, Order | str | bytes) or not isinstance(orders, Iterable):
        raise ValidationError.single("orders", f"must be an iterable of Order, not {type(orders).__name__}")


def _purchases(orders: Iterable[Order], as_of: datetime | None) -> dict[tuple[str, str], list[Order]]:
    """The orders that count, by customer and sku."""
    out: dict[tuple[str, str], list[Order]] = defaultdict(list)
    for i, order in enumerate(orders):
        if not isinstance(order, Order):
            raise ValidationError.single(f"orders[{i}]", f"must be Order, not {type(order).__name__}")
        if rules.counts_by(order, as_of):
            for sku in {line.sku for line in order.lines}:
                out[(str(order.customer_id), sku)].append(order)
    return out


def repurchase_intervals(
    orders: Iterable[Order], *, min_samples: int = 3, as_of: datetime | None = None
) -> dict[str, ProductInterval]:
    """Each sku's usual repurchase interval (see the module docstring), from the orders placed by ``as_of``."""
    _check_orders(orders)
    check_as_of(as_of)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        raise ValidationError.single("min_samples", "must be a whole number of at least 1")
    gaps: dict[str, list[int]] = defaultdict(list)
    micro = timedelta(microseconds=1)
    for (_, sku), bought in _purchases(orders, as_of).items():
        times = sorted({o.placed_at for o in bought})
        gaps[sku].extend((later - earlier) // micro for earlier, later in itertools.pairwise(times))
    out = {}
    for sku in sorted(gaps):
        found = gaps[sku]
        if len(found) >= min_samples:
            out[sku] = ProductInterval(sku, timedelta(microseconds=int(statistics.median_low(found))), len(found))
    return out


def due_reminders(
    orders: Iterable[Order],
    intervals: dict[str, ProductInterval],
    *,
    now: datetime,
    grace: timedelta | None = None,
) -> list[ReminderDue]:
    """The reminders due at ``now``: one per customer and sku whose last purchase (by ``now``) is at least the
    sku's interval old, and less than the interval plus ``grace`` (the interval when None); by customer, then
    sku."""
    _check_orders(orders)
    if check_as_of(now) is None:
        raise ValidationError.single("now", "is required")
    if grace is not None and (not isinstance(grace, timedelta) or grace <= timedelta(0)):
        raise ValidationError.single("grace", "must be a positive timedelta (or None for one interval)")
    due = []
    for (customer_id, sku), bought in sorted(_purchases(orders, now).items()):
        usual = intervals.get(sku)
        if usual is None:
            continue
        last = max(bought, key=lambda o: (o.placed_at, str(o.id)))
        try:
            at = last.placed_at + usual.interval
        except OverflowError:
            continue  # due beyond the year 9999
        if at > now:
            continue
        try:
            if now >= at + (usual.interval if grace is None else grace):
                continue  # too long ago to be a replenishment
        except OverflowError:
            pass
        name = next(line.product_name for line in last.lines if line.sku == sku)
        due.append(ReminderDue(CustomerId(customer_id), sku, name, last.id, last.placed_at, at))
    return due


def reminder_event(due: ReminderDue, now: datetime) -> ActivityEvent:
    """The activity event that asks the workflows for ``due``'s reminder; its id is fixed by the purchase."""
    digest = hashlib.sha256(f"{due.sku}\x1f{due.order_id}".encode()).hexdigest()[:32]
    return ActivityEvent(
        f"rpl_{digest}",
        REPLENISHMENT_DUE,
        now,
        customer_id=due.customer_id,
        properties={
            "sku": due.sku,
            "product_name": due.product_name,
            "order_id": str(due.order_id),
            "purchased_at": due.purchased_at.isoformat(),
        },
    )


def queue_replenishment_reminders(
    store: Store,
    workflows: Workflows,
    *,
    now: datetime | None = None,
    min_samples: int = 3,
    intervals: dict[str, ProductInterval] | None = None,
    grace: timedelta | None = None,
) -> list[Step]:
    """Learn the intervals from ``store`` (unless given), and hand every reminder due at ``now`` that was not
    decided before to ``workflows`` (see the module docstring); what the workflows did, step by step."""
    if not isinstance(workflows, Workflows):
        raise ValidationError.single("workflows", f"must be Workflows, not {type(workflows).__name__}")
    moment = utc_now() if now is None else now
    check_as_of(moment)
    with store.unit_of_work() as uow:
        orders = list(walk(lambda cursor: uow.orders.page(limit=1000, cursor=cursor)))
    if intervals is None:
        intervals = repurchase_intervals(orders, min_samples=min_samples, as_of=moment)
    steps: list[Step] = []
    for due in due_reminders(orders, intervals, now=moment, grace=grace):
        event = reminder_event(due, moment)
        with store.unit_of_work() as uow:
            try:
                customer = uow.customers.get(str(due.customer_id))
            except NotFoundError:
                continue
            if customer.redacted_at is not None or customer.merged_into is not None:
                continue
            try:
                uow.activity.get(str(event.id))
                continue  # decided before
            except NotFoundError:
                pass
        try:
            steps += workflows.track(store, event, now=moment)
        except (IntegrityError, ConflictError):
            continue  # another run recorded it meanwhile: it decides this reminder
    return steps


__all__ = [
    "ProductInterval",
    "ReminderDue",
    "due_reminders",
    "queue_replenishment_reminders",
    "reminder_event",
    "repurchase_intervals",
]
