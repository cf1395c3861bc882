"""RFM and per-customer metrics over a SQLite store: custdata's StoreAnalytics against pandas, same file, same run.

    python benchmarks/bench_analytics.py [--n 1000000] [--small 100000] [--runs 3] [--data DIR]

The store holds ``n`` orders of ``n / 10`` customers, in EUR and USD, with cancellations, returns and refunds.
custdata computes the per-customer figures (historic CLV per customer and currency: orders, revenue, refunds,
first and last order) with :class:`custdata.analytics.StoreAnalytics` (one GROUP BY inside SQLite), then RFM
scores in euros from them. The baseline does the same the way a
pandas user would: read the orders' columns and the refunds from the same file (``pandas.read_sql_query``,
letting SQLite's ``json_extract`` pick the fields out of the documents), then ``groupby``, ``merge`` and
``rank``; money in integer cents so both sides add exactly. Both sides' RFM codes are compared before any
time is reported. Also reports how each side's time grows from ``small`` to ``n`` orders, and, for reference
(no target), the same pandas code reading the order columns that schema version 3 added (status, currency,
total) instead of the documents.

Store files are built once per size and kept in ``--data`` (the system's temporary folder by default); a file
from an older release is migrated before anything is timed.
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    import pandas as pd
except ImportError as exc:  # pragma: no cover - guidance for a missing extra
    raise SystemExit("this benchmark needs: pip install 'custdata[notebook]'") from exc

from _report import record, verdict

from custdata import Customer, Money, Order, OrderLine, OrderStatus, Return, ReturnLine, ReturnReason, ReturnStatus
from custdata.analytics import StoreAnalytics, rfm_from_values
from custdata.domain._checks import trusting
from custdata.storage.records import micros
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2023, 1, 1, tzinfo=UTC)
AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
STATUSES = [OrderStatus.DELIVERED] * 12 + [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.CANCELLED]
SKUS = [(f"SKU-{i:03d}", f"{9 + (i * 7) % 120}.{(i * 13) % 100:02d}") for i in range(60)]


def _orders(n: int, customers: int, seed: int) -> Iterator[Order]:
    rng = random.Random(seed)
    for i in range(n):
        currency = "USD" if i % 9 == 0 else "EUR"
        lines = tuple(
            OrderLine(
                f"l{j}", sku, "Product", rng.randint(1, 3), Money(price, currency), {"size": str(rng.randint(38, 45))}
            )
            for j, (sku, price) in enumerate(rng.sample(SKUS, rng.randint(1, 3)))
        )
        placed = T0 + timedelta(seconds=rng.randrange(700 * 86400))
        returns: tuple[Return, ...] = ()
        if rng.random() < 0.08:
            first = lines[0]
            status = rng.choice([ReturnStatus.CLOSED, ReturnStatus.RECEIVED, ReturnStatus.DECLINED])
            refund = Money(first.unit_price.amount, currency)
            back = (ReturnLine(first.id, 1, ReturnReason.WRONG_SIZE),)
            returns = (Return("r1", placed + timedelta(days=rng.randint(3, 30)), back, status, refund),)
        yield Order(
            f"ord_{i:08d}",
            f"cus_{rng.randrange(customers):07d}",
            currency,
            lines,
            placed,
            status=rng.choice(STATUSES),
            shipping=Money("4.90", currency),
            returns=returns,
        )


def build(path: Path, n: int, seed: int = 11) -> Path:
    """A SQLite store file with ``n`` orders of ``n // 10`` customers, written through the store's own API."""
    if path.exists():
        started = time.perf_counter()
        SQLiteStore(path).close()  # a file from an older release is migrated now, not while timed
        if time.perf_counter() - started > 1:
            print(f"migrated {path} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    customers = max(1, n // 10)
    started = time.perf_counter()
    with trusting(), SQLiteStore(partial) as store:
        with store.unit_of_work() as uow:
            uow.customers.add_many(Customer(f"cus_{c:07d}", T0 - timedelta(days=1)) for c in range(customers))
            uow.commit()
        batch: list[Order] = []
        for o in _orders(n, customers, seed):
            batch.append(o)
            if len(batch) == 50_000:
                with store.unit_of_work() as uow:
                    uow.orders.add_many(batch)
                    uow.commit()
                batch = []
        if batch:
            with store.unit_of_work() as uow:
                uow.orders.add_many(batch)
                uow.commit()
    partial.rename(path)
    print(f"built {path} ({n:,} orders) in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return path


# -- the two sides ---------------------------------------------------------------------------------------------


def with_custdata(path: Path) -> dict[str, str]:
    """Per-customer figures (historic CLV) and euro RFM codes from StoreAnalytics; the codes by customer id."""
    with SQLiteStore(path) as store:
        values = StoreAnalytics(store).historic_clv(as_of=AS_OF)  # one GROUP BY statement
        scores = rfm_from_values(values, as_of=AS_OF, currency="EUR")
    return {str(row.customer_id): row.code for row in scores}


ORDERS_SQL = """
SELECT customer_id, placed_us, json_extract(doc, '$.status') AS status, json_extract(doc, '$.currency') AS currency,
       json_extract(doc, '$.total.amount') AS amount
FROM orders"""
REFUNDS_SQL = """
SELECT o.customer_id, o.placed_us, json_extract(o.doc, '$.status') AS order_status,
       json_extract(o.doc, '$.currency') AS currency, json_extract(r.value, '$.status') AS status,
       json_extract(r.value, '$.refund.amount') AS refund, json_extract(r.value, '$.requested_at') AS requested_at
FROM orders AS o, json_each(o.doc, '$.returns') AS r"""


def _cents(column: Any) -> Any:
    return (column.astype(float) * 100).round().astype("int64")


def _scores(values: Any, ascending: bool) -> Any:
    """The same tie rule as custdata: k = customers strictly worse, score = min(5, 1 + 5k // (n - 1))."""
    n = len(values)
    worse = values.rank(method="min", ascending=ascending).astype("int64") - 1
    return (1 + 5 * worse // max(n - 1, 1)).clip(upper=5) if n > 1 else worse * 0 + 3


# What a pandas user reads from the order columns of schema version 3 instead of the documents (refunds are
# only in the documents, of orders that have returns).
COLUMNS_ORDERS_SQL = "SELECT customer_id, placed_us, status, currency, total AS amount FROM orders"
COLUMNS_REFUNDS_SQL = """
SELECT o.customer_id, o.placed_us, o.status AS order_status, o.currency, json_extract(r.value, '$.status') AS status,
       json_extract(r.value, '$.refund.amount') AS refund, json_extract(r.value, '$.requested_at') AS requested_at
FROM orders AS o, json_each(o.doc, '$.returns') AS r WHERE o.return_count > 0"""


def with_pandas(path: Path, orders_sql: str = ORDERS_SQL, refunds_sql: str = REFUNDS_SQL) -> dict[str, str]:
    """The same figures with pandas: load the columns from the same file, then groupby."""
    as_of_us = micros(AS_OF)
    with sqlite3.connect(path) as conn:
        orders = pd.read_sql_query(orders_sql, conn)
        refunds = pd.read_sql_query(refunds_sql, conn)
    orders = orders[orders["placed_us"] <= as_of_us]
    live = orders[orders["status"] != "cancelled"].assign(cents=lambda f: _cents(f["amount"]))
    per = live.groupby(["customer_id", "currency"]).agg(
        orders=("cents", "size"), revenue=("cents", "sum"), first_us=("placed_us", "min"), last_us=("placed_us", "max")
    )
    counted = refunds[
        (refunds["placed_us"] <= as_of_us)
        & (refunds["order_status"] != "cancelled")
        & refunds["refund"].notna()
        & ~refunds["status"].isin(["declined", "cancelled"])
        & (pd.to_datetime(refunds["requested_at"], format="ISO8601", utc=True) <= pd.Timestamp(AS_OF))
    ]
    refunded = counted.assign(cents=lambda f: _cents(f["refund"])).groupby(["customer_id", "currency"])["cents"].sum()
    per = per.join(refunded.rename("refunds"), how="left").fillna({"refunds": 0})
    per["clv"] = per["revenue"] - per["refunds"]
    euro = per.xs("EUR", level="currency")
    recency = (as_of_us - euro["last_us"]) / 86_400_000_000
    codes = (
        _scores(recency, ascending=False).astype(str)
        + _scores(euro["orders"], ascending=True).astype(str)
        + _scores(euro["clv"], ascending=True).astype(str)
    )
    return dict(zip(euro.index.astype(str), codes, strict=True))


def with_pandas_columns(path: Path) -> dict[str, str]:
    """:func:`with_pandas` reading the order columns rather than picking the fields out of the documents."""
    return with_pandas(path, COLUMNS_ORDERS_SQL, COLUMNS_REFUNDS_SQL)


def best(runs: int, work: Callable[[Path], dict[str, str]], path: Path) -> tuple[float, float, dict[str, str]]:
    """The best wall-clock and the best CPU time of ``runs`` runs, and the result."""
    walls, cpus, result = [], [], {}
    for _ in range(runs):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = work(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="orders in the large store")
    parser.add_argument("--small", type=int, default=100_000, help="orders in the small store (0: skip it)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()), help="where store files are kept")
    args = parser.parse_args()
    sizes = sorted({n for n in (args.small, args.n) if n > 0})
    args.data.mkdir(parents=True, exist_ok=True)
    print(f"RFM + per-customer metrics from a SQLite store (best of {args.runs}); pandas {pd.__version__}")
    print(f"{'orders':>10}{'custdata':>11}{'pandas':>10}{'ratio':>8}{'cpu ratio':>11}")
    timings: dict[int, tuple[float, float]] = {}
    for n in sizes:
        path = build(args.data / f"custdata-bench-analytics-{n}.db", n)
        ours, our_cpu, our_codes = best(args.runs, with_custdata, path)
        base, base_cpu, their_codes = best(args.runs, with_pandas, path)
        columns, _, column_codes = best(args.runs, with_pandas_columns, path)
        if our_codes != their_codes or column_codes != their_codes:
            raise SystemExit(f"the two sides disagree on {n:,} orders; no figures reported")
        timings[n] = (ours, base)
        cpu = our_cpu / base_cpu
        row = record(
            "analytics",
            "rfm + customer metrics",
            ours,
            "pandas read_sql + groupby",
            base,
            target=1.0,
            size=f"{n:,}",
            note=f"CPU time ratio {cpu:.2f}",
        )
        print(f"{n:>10,}{ours:>10.2f}s{base:>9.2f}s{row['ratio']:>8.2f}{cpu:>11.2f}  (target <= 1.00: {verdict(row)})")
        extra = record(
            "analytics",
            "rfm + customer metrics",
            ours,
            "pandas read_sql of the order columns + groupby",
            columns,
            size=f"{n:,}",
        )
        print(f"{'':>10}{'':>11}{columns:>9.2f}s{extra['ratio']:>8.2f}  (pandas reading the order columns)")
    if len(sizes) == 2:
        (small, large) = sizes
        ours = timings[large][0] / timings[small][0]
        base = timings[large][1] / timings[small][1]
        print(f"growth {small:,} -> {large:,} orders ({large / small:.0f}x): custdata {ours:.1f}x, pandas {base:.1f}x")


if __name__ == "__main__":
    main()
