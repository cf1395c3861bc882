"""SQLite under stress from real processes: concurrent writers on one file, and a bulk import killed by SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from custdata import Customer, IntegrityError, Order, ValidationError
from custdata.storage import add_in_batches
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.store_contract import make_customer, make_order

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from custdata import ConflictError
    from custdata.storage.sqlite import SQLiteStore

    path, ids, rounds, go = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
    successes, conflicts = [], 0
    with SQLiteStore(path) as store:
        # start together with the other writers, so that their updates really interleave
        open(f"{go}.ready.{os.getpid()}", "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.005)
        for n in range(rounds):
            customer_id = ids[n % len(ids)]
            while True:
                with store.unit_of_work() as uow:
                    customer = uow.customers.get(customer_id)
                    read_version = customer.version
                    customer.metadata = {"n": customer.metadata["n"] + 1}
                    time.sleep(0.001)  # some work between reading and writing, as a real service would do
                    try:
                        uow.customers.update(customer)
                        uow.commit()
                    except ConflictError:
                        conflicts += 1
                        continue
                successes.append([customer_id, read_version])
                break
    print(json.dumps({"successes": successes, "conflicts": conflicts}))
    """
)

IMPORTER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from custdata import Customer, CustomerId, EmailAddress
    from custdata.storage import add_in_batches
    from custdata.storage.sqlite import SQLiteStore

    def customers():
        n = 0
        while True:
            yield Customer(
                id=CustomerId(f"cus_{n:09d}"), created_at=datetime(2024, 1, 1, tzinfo=UTC),
                given_name="Imported", email=EmailAddress(f"import{n}@example.com"),
                metadata={"batch": n // 500},
            )
            n += 1

    with SQLiteStore(sys.argv[1]) as store:
        add_in_batches(store, customers(), batch_size=500, on_batch=lambda total: print(total, flush=True))
    """
)


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_processes_updating_the_same_customers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    customers = [make_customer(metadata={"n": 0}) for _ in range(3)]
    with SQLiteStore(path) as store:
        add_in_batches(store, customers)
    processes, rounds = 4, 30
    ids = ",".join(c.id for c in customers)
    go = tmp_path / "go"
    workers = [run_python(WRITER, str(path), ids, str(rounds), str(go)) for _ in range(processes)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready.*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))
    successes = [tuple(s) for r in reports for s in r["successes"]]
    assert len(successes) == processes * rounds
    # every successful update started from a distinct version: no two writers both won from the same read
    assert len(set(successes)) == len(successes)
    per_customer = Counter(customer_id for customer_id, _ in successes)
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        for customer in customers:
            stored = uow.customers.get(customer.id)
            assert stored.metadata["n"] == per_customer[customer.id] == stored.version
            versions = sorted(v for c, v in successes if c == customer.id)
            assert versions == list(range(stored.version))
        assert store.integrity_check() == ["ok"]
    assert sum(r["conflicts"] for r in reports) > 0, "four processes on three customers never collided"


def test_a_bulk_import_killed_midway_keeps_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "import.db"
    SQLiteStore(path).close()
    importer = run_python(IMPORTER, str(path))
    assert importer.stdout is not None
    committed = 0
    for line in importer.stdout:
        committed = int(line)
        if committed >= 3000:
            break
    os.kill(importer.pid, signal.SIGKILL)
    importer.wait(timeout=30)
    assert importer.returncode == -signal.SIGKILL
    with SQLiteStore(path) as store:
        assert store.integrity_check() == ["ok"]
        with store.unit_of_work() as uow:
            total = uow.customers.count()
            everyone = list(uow.customers.get_many(f"cus_{n:09d}" for n in range(total + 1000)).values())
        assert total >= committed and total % 500 == 0 and len(everyone) == total
        sizes = Counter(c.metadata["batch"] for c in everyone)
        assert sorted(sizes) == list(range(total // 500)) and set(sizes.values()) == {500}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM customer_keys WHERE field = 'email'").fetchone() == (total,)


def test_add_in_batches_commits_each_batch_and_stops_at_a_bad_one(tmp_path: Path) -> None:
    customer = make_customer()
    entities: list[Customer | Order] = [
        customer,
        make_order(customer.id),
        *(make_customer() for _ in range(5)),
        make_order("nobody"),
    ]
    seen: list[int] = []
    with SQLiteStore(tmp_path / "b.db") as store:
        with pytest.raises(IntegrityError):
            add_in_batches(store, entities, batch_size=4, on_batch=seen.append)
        with store.unit_of_work() as uow:
            assert uow.customers.count() == 3 and uow.orders.count() == 1
        assert seen == [4]
        with pytest.raises(ValidationError):
            add_in_batches(store, [], batch_size=0)
        with pytest.raises(ValidationError):
            add_in_batches(store, ["not an entity"])  # type: ignore[list-item]
