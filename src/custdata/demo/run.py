"""Running the demo: fill a store with a synthetic shop, let the workflows talk to its customers, send.

:func:`load_shop` writes customers, orders and browsing into the store and runs every change through the
communication workflows, in committed batches (one unit of work per batch of customers, so messages are
written with the changes that caused them). :func:`run_demo` then fires the timers that are due, drains the
outbox through a :class:`~custdata.notify.FolderNotifier` and builds the report.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

from custdata._errors import ValidationError
from custdata.domain import ActivityEvent
from custdata.domain.checks import trusting
from custdata.lifecycle import OrderEvent, Place, apply
from custdata.notify.folder import FolderNotifier
from custdata.outbox.dispatcher import Dispatcher, DrainReport
from custdata.outbox.ports import OutboxUnitOfWork
from custdata.storage.ports import Store
from custdata.workflows import Shop, Workflows, default_rules

from .people import DemoPeople, demo_customers
from .report import DemoReport, build_report
from .shop import PlannedOrder, plan_activity, plan_orders
from .support import run_support

#: The demo's "now" unless told otherwise: fixed, so that a seed always gives the same shop and report.
DEFAULT_NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
#: The shop the demo's messages come from.
DEMO_SHOP = Shop(name="Northwind Outdoor", url="https://shop.example", secret=b"demo-secret-not-for-production-use")

#: How long after an order the re-engagement rule waits (the default rules' setting).
RE_ENGAGEMENT = timedelta(days=90)

Progress = Callable[[str, int, int], None]


@attrs.frozen
class DemoSettings:
    """How big a shop to make, from which seed, as of when, and where the messages go."""

    customers: int = 2000
    seed: int = 1
    now: datetime = DEFAULT_NOW
    days: int = 14
    outbox_folder: Path = Path("custdata-messages")
    batch_size: int = 200

    def __attrs_post_init__(self) -> None:
        if (
            isinstance(self.customers, bool)
            or not isinstance(self.customers, int)
            or not 1 <= self.customers <= 200_000
        ):
            raise ValidationError.single("customers", "must be a whole number from 1 to 200000")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValidationError.single("seed", "must be a whole number")
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 1 <= self.days <= 365:
            raise ValidationError.single("days", "must be a whole number from 1 to 365")
        if not isinstance(self.now, datetime) or self.now.tzinfo is None:
            raise ValidationError.single("now", "must be a timezone-aware datetime")


def run_demo(store: Store, settings: DemoSettings | None = None, *, progress: Progress | None = None) -> DemoReport:
    """Fill ``store`` with the demo shop (unless it holds it already), live its last ``settings.days`` days
    with the workflows and a dispatcher sending to ``settings.outbox_folder``, and return the report.
    The same settings give the same report."""
    settings = settings or DemoSettings()
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    people = demo_customers(settings.customers, seed=settings.seed, now=settings.now)
    reused = _holds(store, people)
    drained = DrainReport()
    if not reused:
        history = load_shop(store, people, settings, progress=progress)
        timings["load"] = time.perf_counter() - mark
        mark = time.perf_counter()
        drained = live(store, history, settings, progress=progress)
        timings["workflows"] = time.perf_counter() - mark
    mark = time.perf_counter()
    support = run_support(store, seed=settings.seed, now=settings.now)
    report = attrs.evolve(build_report(store, people, settings, drained, reused=reused), support=support.line())
    timings["report"] = time.perf_counter() - mark
    return attrs.evolve(report, timings=timings)


def _holds(store: Store, people: DemoPeople) -> bool:
    """True when the store holds the demo shop already; refuses a store holding anything else, whose pending
    messages the demo's dispatcher would otherwise send to its folder."""
    with store.unit_of_work() as uow:
        if uow.customers.get_many([people.customers[0].id]):
            return True
        if uow.customers.count() or uow.orders.count():
            raise DemoStoreError.single(
                "store", "holds data that is not the demo shop's: run the demo on an empty store of its own"
            )
    return False


class DemoStoreError(ValidationError):
    """The demo was pointed at a store that holds other data."""


Trigger = OrderEvent | ActivityEvent


@attrs.define
class History:
    """What happened in the shop, in time order: the triggers the workflows see in the days they run over,
    and for customers whose last order came before those days, that order's placement (for re-engagement)."""

    triggers: list[tuple[datetime, int, Trigger]] = attrs.Factory(list)
    last_orders: list[Trigger] = attrs.Factory(list)


def load_shop(store: Store, people: DemoPeople, settings: DemoSettings, *, progress: Progress | None = None) -> History:
    """Write the people, their orders (as they stand at ``settings.now``) and browsing to ``store`` in
    committed batches; return the events of the last ``settings.days`` days for :func:`live`."""
    rng = random.Random(f"shop-{settings.seed}")
    start = settings.now - timedelta(days=365)
    window = settings.now - timedelta(days=settings.days)
    history = History()
    customers = people.customers
    for first in range(0, len(customers), settings.batch_size):
        batch = customers[first : first + settings.batch_size]
        with store.unit_of_work() as uow:
            uow.customers.add_many(batch)
            for customer in batch:
                plans = plan_orders(customer, _order_count(rng), rng=rng, start=start, now=settings.now)
                activity = plan_activity(customer, rng, now=settings.now, recent=[p.order.placed_at for p in plans])
                with trusting():  # planned changes to orders that validated when built; tests check the results
                    _follow(plans, activity, window, settings.now, history)
                uow.orders.add_many(plan.order for plan in plans)
                uow.activity.add_many(activity)
            uow.commit()
        if progress is not None:
            progress("customers", first + len(batch), len(customers))
    history.triggers.sort(key=lambda item: (item[0], item[1]))
    return history


def _order_count(rng: random.Random) -> int:
    return rng.choices((0, 1, 2, 3, 4, 6), weights=(12, 38, 24, 13, 8, 5))[0]


def _follow(
    plans: list[PlannedOrder], activity: list[ActivityEvent], window: datetime, now: datetime, history: History
) -> None:
    """Apply each order's planned changes up to ``now``, keeping the events from ``window`` on."""
    last: Trigger | None = None
    for plan in plans:
        for placed in apply(plan.order, Place()):
            if plan.order.placed_at >= window:
                history.triggers.append((plan.order.placed_at, len(history.triggers), placed))
            elif plan.order.placed_at >= window - RE_ENGAGEMENT:
                last = placed
        for moment, change in plan.steps:
            if moment > now:
                break
            for event in apply(plan.order, change):
                if moment >= window:
                    history.triggers.append((moment, len(history.triggers), event))
    if last is not None and all(p.order.placed_at < window for p in plans):
        history.last_orders.append(last)
    history.triggers += [
        (e.occurred_at, len(history.triggers) + i, e) for i, e in enumerate(activity) if e.occurred_at >= window
    ]


def live(store: Store, history: History, settings: DemoSettings, *, progress: Progress | None = None) -> DrainReport:
    """Run the shop's last days one at a time: the day's events through the workflows (one unit of work),
    then the timers that fell due, then a dispatcher round sending to the folder, with the clock at day's end."""
    clock = [settings.now - timedelta(days=settings.days)]
    workflows = Workflows(shop=DEMO_SHOP, clock=lambda: clock[0])
    catch_up = Workflows(shop=DEMO_SHOP, rules=[r for r in default_rules() if r.name == "re_engagement"])
    notifier = FolderNotifier(settings.outbox_folder)
    dispatcher = Dispatcher(store, notifier, owner="custdata-demo", batch_size=500, clock=lambda: clock[0])
    with store.unit_of_work() as uow:
        catch_up.handle(_outbox(uow), history.last_orders, now=clock[0])
        uow.commit()
    drained = DrainReport()
    pending = iter(history.triggers)
    item = next(pending, None)
    for day in range(1, settings.days + 1):
        clock[0] = min(settings.now, settings.now - timedelta(days=settings.days - day))
        with store.unit_of_work() as uow:
            while item is not None and item[0] <= clock[0]:
                workflows.handle(_outbox(uow), [item[2]], now=item[0])
                item = next(pending, None)
            uow.commit()
        workflows.run_due(store, now=clock[0], limit=500)
        drained.add(dispatcher.drain())
        if progress is not None:
            progress("days", day, settings.days)
    drained.add(_replenishment(store, workflows, dispatcher, clock[0]))
    return drained


def _replenishment(store: Store, workflows: Workflows, dispatcher: Dispatcher, now: datetime) -> DrainReport:
    """On the last day, the replenishment reminders that are due, through the workflows, then sent."""
    from custdata.commerce import queue_replenishment_reminders

    queue_replenishment_reminders(store, workflows, now=now, min_samples=2)
    return dispatcher.drain()


def _outbox(uow: object) -> OutboxUnitOfWork:
    if not isinstance(uow, OutboxUnitOfWork):
        raise ValidationError.single("store", "must be a store with an outbox")
    return uow
