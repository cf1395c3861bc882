"""The demo's report: what the store holds, what was said to customers (and what was not, and why),
segments, why things came back, and the duplicates found among the customers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from custdata.analytics import (
    Segment,
    cart_abandoner,
    customer_facts,
    first_time_shopper,
    high_returner,
    inactive_for,
    international,
    rfm,
    vip,
)
from custdata.domain import (
    ActivityEvent,
    CommunicationEvent,
    CommunicationStatus,
    Customer,
    Money,
    Order,
    Topic,
)
from custdata.outbox.dispatcher import DrainReport
from custdata.storage.ports import Store, walk

from .people import DemoPeople

if TYPE_CHECKING:
    from .run import DemoSettings


@attrs.frozen
class DemoReport:
    """Figures from a demo run; :meth:`render` lays them out for a terminal."""

    reused: bool
    counts: dict[str, int]
    sent_by_topic: dict[str, int]
    suppressed_by_reason: dict[str, int]
    outcomes: dict[str, int]
    segments: dict[str, int]
    rfm_segments: dict[str, int]
    return_reasons: dict[str, int]
    duplicates: dict[str, int]
    folder: Path
    timings: dict[str, float] = attrs.Factory(dict)
    support: str | None = None
    commerce: dict[str, str] = attrs.Factory(dict)

    def render(self) -> str:
        """The report as text, one section per heading."""
        out: list[str] = []

        def section(title: str, rows: Iterable[tuple[str, object]]) -> None:
            out.append(title)
            items = list(rows)
            width = max((len(k) for k, _ in items), default=0)
            out.extend(f"  {key.ljust(width)}  {value}" for key, value in items)
            out.append("")

        if self.reused:
            out += ["The store already held the demo shop: it was reused, not generated again.", ""]
        section("Store", self.counts.items())
        section("Messages", self.outcomes.items())
        section("Sent, by topic", _by_count(self.sent_by_topic))
        section("Not sent, by reason", _by_count(self.suppressed_by_reason))
        section("Segments", self.segments.items())
        section("RFM segments", self.rfm_segments.items())
        section("Top return reasons", list(self.return_reasons.items())[:5])
        section("Duplicates", self.duplicates.items())
        if self.support is not None:
            section("Support", [("inbound", self.support)])
        section("Commerce: shipping, demand, replenishment", self.commerce.items())
        out.append(f"Messages written to {self.folder}/ (one file per message).")
        return "\n".join(out)


def _by_count(figures: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(figures.items(), key=lambda kv: (-kv[1], kv[0]))


def build_report(
    store: Store, people: DemoPeople, settings: DemoSettings, drained: DrainReport, *, reused: bool
) -> DemoReport:
    """Read back what the demo stored and summarise it."""
    now, folder = settings.now, settings.outbox_folder
    with store.unit_of_work() as uow:
        customers = list(walk(lambda c: uow.customers.search(limit=1000, cursor=c)))
        orders = list(walk(lambda c: uow.orders.page(limit=1000, cursor=c)))
        activity = list(walk(lambda c: uow.activity.page(limit=1000, cursor=c)))
        messages = list(walk(lambda c: uow.communications.page(limit=1000, cursor=c)))
    counts = {
        "customers": len(customers),
        "countries": len({a.country_code for c in customers for a in c.addresses}),
        "consent records": sum(len(c.consents) for c in customers),
        "orders": len(orders),
        "shipments": sum(len(o.shipments) for o in orders),
        "tracking events": sum(len(s.events) for o in orders for s in o.shipments),
        "returns": sum(len(o.returns) for o in orders),
        "activity events": len(activity),
        "communication events": len(messages),
    }
    return DemoReport(
        reused=reused,
        counts=counts,
        sent_by_topic=dict(Counter(m.topic.value for m in messages if m.status == CommunicationStatus.SENT)),
        suppressed_by_reason=_suppressed(messages),
        outcomes=_outcomes(messages, drained),
        segments=segment_sizes(customers, orders, activity, now),
        rfm_segments={str(k): v for k, v in rfm(orders, as_of=now, currency="EUR").segment_sizes().items()},
        return_reasons=dict(
            Counter(line.reason.value for o in orders for r in o.returns for line in r.lines).most_common()
        ),
        duplicates=_duplicates(customers, people),
        folder=folder,
        commerce=commerce_summary(store, customers, orders, messages, now),
    )


def _suppressed(messages: list[CommunicationEvent]) -> dict[str, int]:
    reasons = Counter(
        (m.suppression_reason or "no reason recorded").split(" (")[0]
        for m in messages
        if m.status == CommunicationStatus.SUPPRESSED
    )
    return dict(reasons)


def _outcomes(messages: list[CommunicationEvent], drained: DrainReport) -> dict[str, int]:
    statuses = Counter(m.status for m in messages)
    return {
        "sent": statuses[CommunicationStatus.SENT],
        "not sent (suppressed)": statuses[CommunicationStatus.SUPPRESSED],
        "waiting (quiet hours, retries)": statuses[CommunicationStatus.QUEUED],
        "failed": statuses[CommunicationStatus.FAILED],
        "sent in this run": drained.sent,
    }


def segment_sizes(
    customers: Iterable[Customer],
    orders: Iterable[Order],
    activity: Iterable[ActivityEvent],
    now: datetime,
    *,
    home_country: str = "DE",
    vip_spend: Money | None = None,
    inactive_days: int = 180,
) -> dict[str, int]:
    """How many customers each of the standard rule-based segments holds as of ``now``."""
    facts = customer_facts(as_of=now, orders=orders, activity=activity, customers=customers)
    segments = (
        Segment("VIP", vip(vip_spend or Money("400", "EUR"))),
        Segment("first-time shoppers", first_time_shopper()),
        Segment("cart abandoners", cart_abandoner(within=timedelta(days=14))),
        Segment(f"international (outside {home_country})", international(home_country)),
        Segment("high returners", high_returner(Decimal("0.3"))),
        Segment(f"inactive for {inactive_days} days", inactive_for(inactive_days)),
    )
    return {segment.name: len(segment.members(facts)) for segment in segments}


def _duplicates(customers: list[Customer], people: DemoPeople) -> dict[str, int]:
    from custdata.matching import Decision, Matcher
    from custdata.matching.records import CustomerRecord

    found = Matcher().find_duplicates(CustomerRecord.from_customer(c) for c in customers)
    flagged = {tuple(sorted(p.ids)) for p in found if p.decision in (Decision.AUTO_MERGE, Decision.REVIEW)}
    planted = {tuple(sorted(p)) for p in people.true_pairs}
    return {
        "likely duplicates (merge)": len(found.with_decision(Decision.AUTO_MERGE)),
        "possible duplicates (review)": len(found.with_decision(Decision.REVIEW)),
        "planted duplicate pairs": len(planted),
        "planted pairs found": len(flagged & planted),
    }


def commerce_summary(
    store: Store, customers: list[Customer], orders: list[Order], messages: list[CommunicationEvent], now: datetime
) -> dict[str, str]:
    """Shipping options for one customer of three RFM segments (a 30 EUR cart to their own address), the largest
    demand spikes of the last twelve weeks, and the replenishment reminders the workflows decided. The labels
    name segments and regions, never a customer."""
    from custdata.commerce import Cart, CartLine, ShippingCustomer, ShippingPolicy, regional_demand_report

    out: dict[str, str] = {}
    policy = ShippingPolicy()
    scores = {str(s.customer_id): s for s in rfm(orders, as_of=now, currency="EUR")}
    wanted = ["Champions", "Loyal", "New"]
    for customer in customers:
        score = scores.get(str(customer.id))
        if score is None or not customer.addresses or score.segment.value not in wanted:
            continue
        wanted.remove(score.segment.value)
        cart = Cart([CartLine("DEMO", 1, Money("30.00", "EUR"))], customer.addresses[0])
        offer = policy.options(ShippingCustomer(score.segment.value, score.monetary), cart)
        options = ", ".join(f"{o.code} {'free' if not o.price else o.price}" for o in offer.options)
        out[f"shipping, {score.segment.value} customer"] = options
    report = regional_demand_report(store, weeks=12, as_of=now, min_quantity=3)
    for spike in sorted(report.spikes, key=lambda s: (-s.quantity, s.week))[:3]:
        out[f"demand spike {spike.week} {spike.label}"] = f"{spike.sku}: {spike.quantity} items vs {spike.baseline:.1f}"
    if not report.spikes:
        out["demand spikes (12 weeks)"] = "none"
    reminders = Counter(m.status.value for m in messages if m.topic == Topic.REPLENISHMENT)
    out["replenishment reminders"] = ", ".join(f"{n} {state}" for state, n in sorted(reminders.items())) or "none due"
    return out
