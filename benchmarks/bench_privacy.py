"""Export, erasure and retention sweeps on a SQLite store, against plain repository work on the same records.

    python benchmarks/bench_privacy.py [--customers 3000] [--each 300] [--quick]

A SQLite file holds ``--customers`` customers, each with 2 orders, 2 communication events and 2 activity events.

- ``export_customer`` of ``--each`` customers, against reading the same records in one unit of work each and
  serializing them with ``to_dict`` (what any export must do): the ratio is the cost of the document's shape;
- ``erase_customer(purge=False)`` of ``--each`` customers, against a unit of work per customer that reads the
  same records and writes each back unchanged (``update``) and commits: the ratio is the cost of finding merged
  records, scrubbing and comparing;
- ``sweep`` deleting every activity event and scrubbing every communication event (``purge=False``), against
  walking the same pages in units of work of the same size and doing the same deletes and updates directly.

Both sides are warmed up first (the serialization converters build their code on first use). The store's
``purge_residue()`` is timed once after the erasures, for information (no baseline: it is the
storage's own operation). The cyclic garbage collector is paused while timing, on both sides alike.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import record

from custdata import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    Customer,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    PhoneNumber,
    Topic,
)
from custdata.privacy import RetentionPolicy, erase_customer, export_customer, sweep
from custdata.privacy.erasure import scrub_communication
from custdata.serialization import to_dict
from custdata.storage import walk
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2023, 1, 1, tzinfo=UTC)


def fill(store: SQLiteStore, n: int) -> None:
    line = OrderLine("l1", "SKU-1", "Thing", 1, Money(Decimal("9.99"), "EUR"))
    with store.unit_of_work() as uow:
        for i in range(n):
            cid = f"cus_{i:06}"
            address = Address(first_name="Ada", last_name=f"Family{i}", street_address_1=f"Street {i}",
                              city="Berlin", postal_code="10115", country_code="DE")  # fmt: skip
            uow.customers.add(
                Customer(
                    id=cid,
                    created_at=T0,
                    given_name="Ada",
                    family_name=f"Family{i}",
                    email=EmailAddress.parse(f"ada{i}@example.com"),
                    phone=PhoneNumber.parse(f"+49301{i:06}"),
                    addresses=(address,),
                )
            )
            for j in range(2):
                at = T0 + timedelta(days=j)
                uow.orders.add(Order(id=f"ord_{i}_{j}", customer_id=cid, currency="EUR", lines=(line,),
                                     placed_at=at, shipping_address=address))  # fmt: skip
                uow.communications.add(
                    CommunicationEvent(
                        id=f"msg_{i}_{j}",
                        customer_id=cid,
                        channel=Channel.EMAIL,
                        topic=Topic.ORDER_SHIPPED,
                        created_at=at,
                        subject="Shipped",
                        body=f"Dear Ada Family{i}",
                    )
                )
                uow.activity.add(ActivityEvent(id=f"act_{i}_{j}", event="Product Viewed", occurred_at=at,
                                               customer_id=cid, properties={"q": f"ada{i}"}))  # fmt: skip
        uow.commit()


def timed(action: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started
    finally:
        gc.enable()


def read_records(store: SQLiteStore, cid: str, *, write_back: bool) -> list[dict[str, object]]:
    with store.unit_of_work() as uow:
        customer = uow.customers.get(cid)
        orders = list(walk(lambda c: uow.orders.for_customer(cid, cursor=c)))
        messages = list(walk(lambda c: uow.communications.for_customer(cid, cursor=c)))
        activity = list(walk(lambda c: uow.activity.for_customer(cid, cursor=c)))
        if write_back:
            uow.customers.update(customer)
            for o in orders:
                uow.orders.update(o)
            for m in messages:
                uow.communications.update(m)
            for a in activity:
                uow.activity.update(a)
            uow.commit()
            return []
        return [to_dict(x) for x in (customer, *orders, *messages, *activity)]


def baseline_sweep(store: SQLiteStore, page_size: int) -> None:
    for kind in ("activity", "communications"):
        cursor: str | None = None
        while True:
            with store.unit_of_work() as uow:
                repo = getattr(uow, kind)
                page = repo.page(limit=page_size, cursor=cursor)
                for item in page:
                    if kind == "activity":
                        repo.delete(item.id)
                    elif (scrubbed := scrub_communication(item)) != item:
                        repo.update(scrubbed)
                uow.commit()
            if page.next_cursor is None:
                break
            cursor = page.next_cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--each", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="300 customers, 50 each")
    args = parser.parse_args()
    n, each = (300, 50) if args.quick else (args.customers, args.each)
    with tempfile.TemporaryDirectory() as tmp:
        ours_store, base_store = SQLiteStore(Path(tmp) / "ours.db"), SQLiteStore(Path(tmp) / "base.db")
        with ours_store, base_store:
            for s in (ours_store, base_store):
                fill(s, n)
            ids = [f"cus_{i:06}" for i in range(0, n, max(1, n // each))][:each]
            now = lambda: T0 + timedelta(days=800)  # noqa: E731
            export_customer(ours_store, "cus_000001", clock=now)  # warm up the converters on both sides
            read_records(base_store, "cus_000001", write_back=False)
            ours = timed(lambda: [export_customer(ours_store, c, clock=now) for c in ids])
            base = timed(lambda: [read_records(base_store, c, write_back=False) for c in ids])
            print(f"export: {ours:.3f}s vs {base:.3f}s")
            record("privacy", "export_customer", ours, "read + to_dict", base, size=str(len(ids)))
            ours = timed(lambda: [erase_customer(ours_store, c, purge=False, clock=now) for c in ids])
            base = timed(lambda: [read_records(base_store, c, write_back=True) for c in ids])
            print(f"erase: {ours:.3f}s vs {base:.3f}s")
            record("privacy", "erase_customer (purge=False)", ours, "read + write back", base, size=str(len(ids)))
            purge = timed(ours_store.purge_residue)
            print(f"purge_residue once after {len(ids)} erasures of {n} customers: {purge:.3f}s")
            base_store.purge_residue()  # both files compacted alike before the sweeps (untimed)
            policy = RetentionPolicy(activity=timedelta(days=1), communications=timedelta(days=1))
            base = timed(lambda: baseline_sweep(base_store, 500))
            ours = timed(lambda: sweep(ours_store, policy, clock=now, purge=False, page_size=500))
            print(f"sweep: {ours:.3f}s vs {base:.3f}s")
            record("privacy", "sweep activity + communications", ours, "same deletes/updates", base, size=str(4 * n))


if __name__ == "__main__":
    main()
