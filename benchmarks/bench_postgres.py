"""The PostgreSQL store against raw psycopg on the same rows, the same tables and the same server, in one run.

    python benchmarks/bench_postgres.py [--n 100000] [--lookups 2000] [--url postgresql://...] [--quick]

Without ``--url`` a throwaway server is started in a temporary folder (``initdb`` on 127.0.0.1, ``fsync=off``,
as in the tests). Measured:

- ``add_many`` of n customers in one unit of work, against writing the very same rows (documents and search keys
  serialized beforehand) into the same tables in one transaction with psycopg's ``executemany`` and with
  ``COPY``: the store's figure includes validating and serializing every customer;
- ``get_many`` of all n ids, against one ``SELECT doc::text ... WHERE id = ANY(...)`` plus ``json.loads``: the
  store's figure includes building the Customer objects;
- look-up by email, one unit of work each (pooled connection), against the same query on one raw connection
  plus ``json.loads``: p50 and p99.

Prints each figure, its ratio to the baseline (targets: add_many and get_many <= 2.0), and the process's peak
resident memory after each step.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from _report import record

# the throwaway server launcher is test tooling, kept beside the tests rather than in the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "_support"))
from pg_test_server import PostgresServer

from custdata import Address, Customer, CustomerId, EmailAddress, PhoneNumber
from custdata.storage.postgres import PostgresStore
from custdata.storage.records import document, micros
from custdata.storage.sql.tables import key_rows

GIVEN = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Tim")
FAMILY = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Lee")
CITIES = (("Berlin", "10115", "DE"), ("Paris", "75001", "FR"), ("Wien", "1010", "AT"), ("Amsterdam", "1011 AB", "NL"))


def customers(n: int) -> list[Customer]:
    """n plausible customers: names, email, phone, one address, tags and groups."""
    start = datetime(2022, 1, 1, tzinfo=UTC)
    phone = PhoneNumber.parse("+49 30 1234567")
    made = []
    for i in range(n):
        city, postal, country = CITIES[i % len(CITIES)]
        address = Address(
            first_name=GIVEN[i % 10],
            last_name=FAMILY[(i // 10) % 10],
            street_address_1=f"Street {i % 200 + 1}",
            city=city,
            postal_code=postal,
            country_code=country,
        )
        made.append(
            Customer(
                id=CustomerId.new(),
                created_at=start + timedelta(minutes=i),
                given_name=GIVEN[i % 10],
                family_name=FAMILY[(i // 10) % 10],
                email=EmailAddress(f"{GIVEN[i % 10].lower()}.{i}@example.com"),
                phone=phone,
                addresses=(address,),
                default_shipping_address=0,
                tags=frozenset({"newsletter"} if i % 3 else {"vip", "newsletter"}),
                groups=frozenset({"retail"}),
                metadata={"source": "benchmark", "score": i % 97},
            )
        )
    return made


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_connection(url: str, schema: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SELECT set_config('search_path', %s, false)", (psycopg.sql.Identifier(schema).as_string(conn),))
    return conn


def fresh_schema(url: str, name: str) -> PostgresStore:
    """A store on an empty, migrated schema (dropped first if an earlier run left it)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name)))
    return PostgresStore(url, schema=name)


INSERT_CUSTOMER = "INSERT INTO customers (id, version, created_us, updated_us, doc) VALUES (%s, %s, %s, %s, %s::jsonb)"
INSERT_KEY = "INSERT INTO customer_keys (field, value, customer_id) VALUES (%s, %s, %s)"


def raw_executemany(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]], keys: list[tuple[str, ...]]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(INSERT_CUSTOMER, rows)
        cur.executemany(INSERT_KEY, keys)


def raw_copy(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]], keys: list[tuple[str, ...]]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy("COPY customers (id, version, created_us, updated_us, doc) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        with cur.copy("COPY customer_keys (field, value, customer_id) FROM STDIN") as copy:
            for key in keys:
                copy.write_row(key)


def raw_get_many(conn: psycopg.Connection[Any], ids: list[str]) -> list[Any]:
    rows = conn.execute("SELECT doc::text FROM customers WHERE id = ANY(%s)", (ids,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1e6, cuts[98] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="customers (default 100000)")
    parser.add_argument("--lookups", type=int, default=2000, help="email look-ups timed (default 2000)")
    parser.add_argument("--url", help="an existing database to use instead of a throwaway server")
    parser.add_argument("--quick", action="store_true", help="small sizes (5,000 customers), to check it runs")
    args = parser.parse_args()
    if args.quick:
        args.n, args.lookups = 5_000, 300

    server = None if args.url else PostgresServer.start()
    url = args.url or server.url("postgres")  # type: ignore[union-attr]
    try:
        run(url, args.n, args.lookups)
    finally:
        if server is not None:
            server.stop()


def run(url: str, n: int, lookups: int) -> None:
    people = customers(n)
    rows = [(str(c.id), c.version, micros(c.created_at), micros(c.updated_at), document(c)) for c in people]
    keys = key_rows(people)
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    print(f"{n} customers ({len(keys)} search keys), PostgreSQL {version}, psycopg {psycopg.__version__}")
    print(f"after generating: peak RSS {peak_mb():.0f} MB")
    figures: list[tuple[str, float, float, str, float | None]] = []

    # -- add_many ------------------------------------------------------------------------------------------------
    stores = [fresh_schema(url, name) for name in ("bench_raw_many", "bench_raw_copy", "bench_store")]
    for store in stores[:2]:
        store.close()
    with raw_connection(url, "bench_raw_many") as conn:
        t_many = timed(lambda: raw_executemany(conn, rows, keys))
    with raw_connection(url, "bench_raw_copy") as conn:
        t_copy = timed(lambda: raw_copy(conn, rows, keys))
    store = stores[2]

    def add_all() -> None:
        with store.unit_of_work() as uow:
            uow.customers.add_many(people)
            uow.commit()

    t_add = timed(add_all)
    figures.append(("add_many", t_add, t_many, "raw executemany", 2.0))
    figures.append(("add_many", t_add, t_copy, "raw COPY", None))
    print(f"after add_many: peak RSS {peak_mb():.0f} MB")

    # -- get_many -------------------------------------------------------------------------------------------------
    ids = [str(c.id) for c in people]
    random.Random(7).shuffle(ids)
    with raw_connection(url, "bench_store") as conn:
        conn.execute("VACUUM ANALYZE customers")
        conn.execute("VACUUM ANALYZE customer_keys")
        raw_get_many(conn, ids[:1000])
        t_raw_get = timed(lambda: raw_get_many(conn, ids))

    def get_all() -> None:
        with store.unit_of_work() as uow:
            found = uow.customers.get_many(ids)
        assert len(found) == n

    t_get = timed(get_all)
    figures.append(("get_many", t_get, t_raw_get, "raw select + json.loads", 2.0))
    print(f"after get_many: peak RSS {peak_mb():.0f} MB")

    # -- look-up by email ------------------------------------------------------------------------------------------
    sample = random.Random(11).sample(people, min(lookups, n))
    ours: list[float] = []
    for customer in sample:
        started = time.perf_counter()
        with store.unit_of_work() as uow:
            found_one = uow.customers.find_by_email(customer.email)  # type: ignore[arg-type]
        ours.append(time.perf_counter() - started)
        assert found_one == [customer]
    lookup = (
        "SELECT doc::text FROM customers WHERE id IN "
        "(SELECT customer_id FROM customer_keys WHERE field = %s AND value = %s) ORDER BY id"
    )
    theirs: list[float] = []
    with raw_connection(url, "bench_store") as conn:
        for customer in sample:
            canonical = customer.email.canonical  # type: ignore[union-attr]
            started = time.perf_counter()
            docs = [json.loads(r[0]) for r in conn.execute(lookup, ("email", canonical)).fetchall()]
            theirs.append(time.perf_counter() - started)
            assert len(docs) == 1
    store.close()
    (p50, p99), (raw_p50, raw_p99) = percentiles(ours), percentiles(theirs)

    print()
    print(f"{'step':<12}{'custdata':>11}{'baseline':>11}{'ratio':>8}  baseline")
    for name, mine, base, label, target in figures:
        verdict = "" if target is None else f" (target <= {target:.1f}: {'met' if mine / base <= target else 'MISSED'})"
        print(f"{name:<12}{mine:>10.2f}s{base:>10.2f}s{mine / base:>8.2f}  {label}{verdict}")
    print(f"{'':<12}{'':>11}{'':>11}{'':>8}  (raw executemany {t_many / t_copy:.2f}x the time of raw COPY)")
    print(f"per customer: add_many {t_add / n * 1e6:.0f} us, get_many {t_get / n * 1e6:.0f} us")
    print(
        f"find_by_email p50 {p50:.0f} us, p99 {p99:.0f} us; raw query p50 {raw_p50:.0f} us, p99 {raw_p99:.0f} us; "
        f"p50 ratio {p50 / raw_p50:.2f} ({len(sample)} look-ups, one unit of work each)"
    )
    print(f"peak RSS {peak_mb():.0f} MB")
    size = f"{n:,}"
    for name, mine, base, label, target in figures:
        case = f"PostgreSQL {name}" if target is not None else f"PostgreSQL {name} (against {label})"
        record("postgres", case, mine, label, base, target=target, size=size)
    record(
        "postgres",
        "PostgreSQL find_by_email p50",
        p50 / 1e6,
        "raw query + json.loads p50",
        raw_p50 / 1e6,
        size=f"{len(sample):,}",
        note=f"p99 {p99:.0f} us against {raw_p99:.0f} us",
    )


if __name__ == "__main__":
    main()
