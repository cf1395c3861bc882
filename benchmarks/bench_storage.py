"""The SQLite store against raw sqlite3 on the same rows, the same tables and the same settings, in one run.

    python benchmarks/bench_storage.py [--n 1000000] [--get 100000] [--lookups 2000] [--folder DIR] [--quick]

Measured:

- ``add_many`` of n customers in one unit of work, against ``executemany`` of the very same rows (documents and
  search keys serialized beforehand, untimed) into the same tables of a second file, in one transaction: the
  store's figure includes validating and serializing every customer and deriving its search keys. Customers are
  fed in chunks of 50,000 to both sides, so that memory stays flat whatever n is;
- ``get_many`` of ``--get`` random ids, against the same ``SELECT doc ... WHERE id IN (...)`` in chunks plus
  ``json.loads``: the store's figure includes building the Customer objects;
- look-up by email, one unit of work each, against the same query on one raw connection plus ``json.loads``:
  p50 and p99.

Prints each figure, its ratio to the baseline (targets: add_many and get_many <= 2.0), and the process's peak
resident memory after each step. The cyclic garbage collector is paused while timing, on both sides alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from _report import record

from custdata import Address, Customer, EmailAddress, PhoneNumber
from custdata.domain._checks import trusting
from custdata.storage.records import CUSTOMERS, document
from custdata.storage.sql.tables import INSERT_KEY, insert_sql, key_rows
from custdata.storage.sqlite import SQLiteStore

GIVEN = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Tim")
FAMILY = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Lee")
CITIES = (("BERLIN", "10115", "DE"), ("PARIS", "75001", "FR"), ("WIEN", "1010", "AT"), ("AMSTERDAM", "1011 AB", "NL"))
CHUNK = 50_000


def customers(start: int, count: int) -> list[Customer]:
    """Plausible customers ``start`` to ``start + count``: names, email, phone, an address, tags, groups.

    Built on the trusted path (the values are valid by construction); the store validates them on add.
    """
    base = datetime(2022, 1, 1, tzinfo=UTC)
    made = []
    with trusting():
        for i in range(start, start + count):
            city, postal, country = CITIES[i % len(CITIES)]
            given, family = GIVEN[i % 10], FAMILY[(i // 10) % 10]
            address = Address(
                first_name=given,
                last_name=family,
                street_address_1=f"Street {i % 200 + 1}",
                city=city,
                postal_code=postal,
                country_code=country,
            )
            made.append(
                Customer(
                    id=f"cus_{i:010d}",
                    created_at=base + timedelta(seconds=i),
                    updated_at=base + timedelta(seconds=i),
                    given_name=given,
                    family_name=family,
                    email=EmailAddress(f"{given.lower()}.{family.lower()}.{i}@example.com"),
                    phone=PhoneNumber(f"+4930{i:08d}", "DE"),
                    addresses=(address,),
                    default_shipping_address=0,
                    tags=frozenset({"vip"}) if i % 7 == 0 else frozenset(),
                    groups=frozenset({"retail"}),
                    metadata={"source": "benchmark", "score": i % 100},
                )
            )
    return made


def chunks(n: int) -> Iterator[list[Customer]]:
    for start in range(0, n, CHUNK):
        yield customers(start, min(CHUNK, n - start))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        return time.perf_counter() - start, result
    finally:
        gc.enable()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_connection(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the store's settings."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "foreign_keys = ON", "synchronous = NORMAL", "secure_delete = ON"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def raw_insert(raw: sqlite3.Connection, insert_customer: str, rows: list[Any], keys: list[Any]) -> None:
    raw.executemany(insert_customer, rows)
    raw.executemany(INSERT_KEY, keys)


def bench_add(store: SQLiteStore, raw: sqlite3.Connection, n: int) -> tuple[float, float]:
    insert_customer = insert_sql(CUSTOMERS).replace("{doc_in}", "?")
    ours = theirs = 0.0
    with store.unit_of_work() as uow:
        raw.execute("BEGIN IMMEDIATE")
        for chunk in chunks(n):
            rows = [(str(c.id), c.version, *CUSTOMERS.values(c), document(c, c.version)) for c in chunk]
            keys = key_rows(chunk)
            seconds, _ = timed(partial(uow.customers.add_many, chunk))
            ours += seconds
            seconds, _ = timed(partial(raw_insert, raw, insert_customer, rows, keys))
            theirs += seconds
        seconds, _ = timed(uow.commit)
        ours += seconds
        seconds, _ = timed(lambda: raw.execute("COMMIT"))
        theirs += seconds
    return ours, theirs


def bench_get(store: SQLiteStore, raw: sqlite3.Connection, ids: list[str]) -> tuple[float, float]:
    def ours() -> int:
        with store.unit_of_work() as uow:
            return len(uow.customers.get_many(ids))

    def theirs() -> int:
        loaded = []
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            sql = f"SELECT doc FROM customers WHERE id IN ({', '.join('?' * len(chunk))})"
            loaded.extend(json.loads(row[0]) for row in raw.execute(sql, chunk))
        return len(loaded)

    seconds_ours, found_ours = timed(ours)
    seconds_theirs, found_theirs = timed(theirs)
    assert found_ours == found_theirs == len(ids), (found_ours, found_theirs)
    return seconds_ours, seconds_theirs


def bench_lookups(store: SQLiteStore, raw: sqlite3.Connection, emails: list[str]) -> tuple[list[float], list[float]]:
    sql = (
        "SELECT doc FROM customers WHERE id IN "
        "(SELECT customer_id FROM customer_keys WHERE field = 'email' AND value = ?) ORDER BY id"
    )
    ours, theirs = [], []
    gc.disable()
    try:
        for email in emails:
            start = time.perf_counter()
            with store.unit_of_work() as uow:
                found = uow.customers.find_by_email(email)
            ours.append(time.perf_counter() - start)
            assert len(found) == 1
            start = time.perf_counter()
            rows = [json.loads(row[0]) for row in raw.execute(sql, (email,))]
            theirs.append(time.perf_counter() - start)
            assert len(rows) == 1
    finally:
        gc.enable()
    return ours, theirs


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="customers to add (default 1,000,000)")
    parser.add_argument("--get", type=int, default=100_000, help="customers to fetch with get_many")
    parser.add_argument("--lookups", type=int, default=2000, help="email look-ups to time")
    parser.add_argument("--folder", type=Path, default=None, help="where to put the two database files")
    parser.add_argument("--quick", action="store_true", help="small sizes (20,000 customers), to check it runs")
    args = parser.parse_args()
    if args.quick:
        args.n, args.get, args.lookups = 20_000, 5_000, 300
    folder = args.folder or Path(tempfile.mkdtemp(prefix="custdata-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    ours_path, raw_path = folder / "store.db", folder / "raw.db"
    for path in (ours_path, raw_path):
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
    SQLiteStore(raw_path).close()  # the same tables and indexes, created by the store's migrations
    rng = random.Random(3)
    print(f"SQLite {sqlite3.sqlite_version}, n={args.n:,}, files in {folder}")
    with SQLiteStore(ours_path) as store:
        raw = raw_connection(raw_path)
        ours, theirs = bench_add(store, raw, args.n)
        report(f"add_many of {args.n:,} customers", ours, theirs, f"raw executemany, {args.n / theirs:,.0f}/s")
        record("storage", "SQLite add_many", ours, "raw sqlite3 executemany", theirs, target=2.0, size=f"{args.n:,}")
        size = min(args.get, args.n)
        ids = [f"cus_{i:010d}" for i in rng.sample(range(args.n), size)]
        ours, theirs = bench_get(store, raw, ids)
        report(f"get_many of {size:,} customers", ours, theirs, "raw select + json.loads")
        record("storage", "SQLite get_many", ours, "raw select + json.loads", theirs, target=2.0, size=f"{size:,}")
        picks = [rng.randrange(args.n) for _ in range(args.lookups)]
        emails = [f"{GIVEN[i % 10].lower()}.{FAMILY[(i // 10) % 10].lower()}.{i}@example.com" for i in picks]
        ours_times, theirs_times = bench_lookups(store, raw, emails)
        record(
            "storage",
            "SQLite find_by_email p50",
            percentile(ours_times, 50) / 1e6,
            "raw query + json.loads p50",
            percentile(theirs_times, 50) / 1e6,
            size=f"{args.lookups:,}",
            note=f"p99 {percentile(ours_times, 99):.0f} us against {percentile(theirs_times, 99):.0f} us",
        )
        print(
            f"find_by_email, {args.lookups:,} look-ups, one unit of work each: "
            f"p50 {percentile(ours_times, 50):.0f} us, p99 {percentile(ours_times, 99):.0f} us "
            f"(raw query + json.loads: p50 {percentile(theirs_times, 50):.0f} us, "
            f"p99 {percentile(theirs_times, 99):.0f} us); peak RSS {peak_mib():,.0f} MiB"
        )
        raw.close()
    print(
        f"file sizes: store {ours_path.stat().st_size / 2**20:,.0f} MiB, raw {raw_path.stat().st_size / 2**20:,.0f} MiB"
    )


def report(label: str, ours: float, theirs: float, baseline: str) -> None:
    print(
        f"{label}: custdata {ours:.2f} s, {baseline} {theirs:.2f} s, ratio {ours / theirs:.2f} (target <= 2.0); "
        f"peak RSS {peak_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
