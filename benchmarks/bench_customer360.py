"""customer_360 on a SQLite file against reading the same records through the repositories, same file, same run.

    python benchmarks/bench_customer360.py [--orders 2000] [--messages 1000] [--activity 2000] [--runs 5]

One customer with many orders (each shipped with tracking events, one in ten returned), messages and activity
events sits among 2,000 other customers with a few orders each. custdata builds the whole 360 view: it resolves
the id, reads every record of the customer, merges them into one sorted timeline and computes the figures and
open issues. The baseline is the least any 360 view has to do: read the customer and walk the customer's
orders, messages and activity page by page through the same store. The ratio is the cost of the timeline and
the figures on top of the reads; the target (2.0) says they may cost at most as much as the reads themselves.
Both sides must find the same records before any time is reported.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _report import record, verdict

from custdata import (
    ActivityEvent,
    Channel,
    CommunicationEvent,
    CommunicationStatus,
    Customer,
    Direction,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnReason,
    Shipment,
    Topic,
    TrackingEvent,
    TrackingStatus,
)
from custdata.customer360 import customer_360
from custdata.storage import open_store, walk
from custdata.storage.ports import MAX_LIMIT, Store

T0 = datetime(2022, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=1500)
HEAVY = "cus_heavy"


def heavy_order(i: int, rng: random.Random) -> Order:
    placed = T0 + timedelta(minutes=rng.randrange(1400 * 24 * 60))
    line = OrderLine("l1", f"SKU-{i % 50}", "Product", rng.randint(1, 3), Money(f"{rng.randint(5, 200)}.00", "EUR"))
    shipped = placed + timedelta(days=1)
    events = (
        TrackingEvent(TrackingStatus.CONFIRMED, shipped),
        TrackingEvent(TrackingStatus.IN_TRANSIT, shipped + timedelta(hours=8), shipped + timedelta(days=2)),
        TrackingEvent(rng.choice((TrackingStatus.DELIVERED, TrackingStatus.DELAYED)), shipped + timedelta(days=2)),
    )
    returns = ()
    if i % 10 == 0:
        returns = (Return("ret_1", shipped + timedelta(days=5), (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE),)),)
    return Order(
        f"ord_h{i:06d}",
        HEAVY,
        "EUR",
        (line,),
        placed,
        status=OrderStatus.SHIPPED,
        shipments=(Shipment("shp_1", "DHL", {"l1": 1}, shipped_at=shipped, events=events),),
        returns=returns,
    )


def build(path: Path, orders: int, messages: int, activity: int) -> None:
    rng = random.Random(42)
    started = time.perf_counter()
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        uow.customers.add(Customer(HEAVY, T0, given_name="Heavy"))
        uow.customers.add_many(Customer(f"cus_{c:05d}", T0) for c in range(2000))
        line = OrderLine("l1", "SKU", "Product", 1, Money("10.00", "EUR"))
        uow.orders.add_many(
            Order(f"ord_{c:05d}_{k}", f"cus_{c:05d}", "EUR", (line,), T0 + timedelta(days=k))
            for c in range(2000)
            for k in range(3)
        )
        uow.orders.add_many(heavy_order(i, rng) for i in range(orders))
        uow.communications.add_many(
            CommunicationEvent(
                f"msg_{i:06d}",
                HEAVY,
                Channel.EMAIL,
                Topic.SUPPORT if i % 4 == 0 else Topic.ORDER_SHIPPED,
                T0 + timedelta(minutes=rng.randrange(1400 * 24 * 60)),
                direction=Direction.INBOUND if i % 4 == 0 else Direction.OUTBOUND,
                status=CommunicationStatus.RECEIVED if i % 4 == 0 else CommunicationStatus.SENT,
                ticket_id=f"t-{i // 8}" if i % 4 == 0 else None,
            )
            for i in range(messages)
        )
        uow.activity.add_many(
            ActivityEvent(
                f"act_{i:06d}", "Product Viewed", T0 + timedelta(minutes=rng.randrange(1400 * 24 * 60)), HEAVY
            )
            for i in range(activity)
        )
        uow.commit()
    print(f"built {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def with_custdata(store: Store) -> tuple[int, int, int]:
    view = customer_360(store, HEAVY, now=NOW)
    return len(view.orders), len(view.communications), len(view.activity)


def reads_only(store: Store) -> tuple[int, int, int]:
    with store.unit_of_work() as uow:
        uow.customers.get(HEAVY)
        orders = list(walk(lambda c: uow.orders.for_customer(HEAVY, limit=MAX_LIMIT, cursor=c)))
        messages = list(walk(lambda c: uow.communications.for_customer(HEAVY, limit=MAX_LIMIT, cursor=c)))
        activity = list(walk(lambda c: uow.activity.for_customer(HEAVY, limit=MAX_LIMIT, cursor=c)))
    return len(orders), len(messages), len(activity)


def best(runs: int, work: Callable[[Store], Any], store: Store) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work(store)
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2000, help="orders of the customer viewed")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--activity", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c360.db"
        build(path, args.orders, args.messages, args.activity)
        with open_store(f"sqlite:///{path}") as store:
            ours, found = best(args.runs, with_custdata, store)
            base, read = best(args.runs, reads_only, store)
    if found != read:
        raise SystemExit(f"the two sides found different records ({found} and {read}); no figures reported")
    size = f"{args.orders:,} orders, {args.messages:,} messages, {args.activity:,} events"
    row = record("customer360", "customer_360 view", ours, "repository reads", base, target=2.0, size=size)
    print(f"customer_360 over {size} (best of {args.runs})")
    print(f"custdata {ours * 1000:.0f} ms, reads only {base * 1000:.0f} ms, ratio {row['ratio']:.2f}")
    print(f"(target <= 2.00: {verdict(row)})")


if __name__ == "__main__":
    main()
