"""Several connections, threads and processes writing the same customers: no update lost, every conflict reported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable

from custdata import ConflictError, IntegrityError
from custdata.storage.postgres import PostgresStore
from custdata.testing.store_contract import make_customer

NewStore = Callable[..., PostgresStore]


def _increment(store: PostgresStore, customer_id: str, times: int, barrier: threading.Barrier | None) -> dict[str, int]:
    """Add 1 to ``metadata["n"]`` ``times`` times by read-modify-write, retrying on conflict."""
    tally = {"conflicts": 0, "attempts": 0}
    for _ in range(times):
        while True:
            tally["attempts"] += 1
            with store.unit_of_work() as uow:
                current = uow.customers.get(customer_id)
                if barrier is not None:
                    barrier.wait(timeout=60)  # only before the first attempt: all writers hold the same version
                    barrier = None
                current.metadata = {"n": current.metadata["n"] + 1}
                try:
                    uow.customers.update(current)
                    uow.commit()
                    break
                except ConflictError as exc:
                    assert exc.actual is not None and exc.actual > exc.expected
                    tally["conflicts"] += 1
    return tally


def test_writers_on_separate_pools_lose_no_update_and_report_every_conflict(new_store: NewStore, pg_url: str) -> None:
    store = new_store()
    customers = [make_customer(metadata={"n": 0}) for _ in range(3)]
    with store.unit_of_work() as uow:
        uow.customers.add_many(customers)
        uow.commit()
    writers, rounds = 4, 12
    handles = [PostgresStore(pg_url, schema=store.schema, pool_max_size=1) for _ in range(writers)]
    tallies: list[dict[str, int]] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def work(handle: PostgresStore, index: int) -> None:
        try:
            # the first round of each writer starts from the same version on purpose
            first = _increment(handle, customers[0].id, 1, barrier)
            rest = [_increment(handle, customers[(index + k) % 3].id, 1, None) for k in range(rounds - 1)]
            tallies.append({key: first[key] + sum(t[key] for t in rest) for key in first})
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(h, i)) for i, h in enumerate(handles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for handle in handles:
        handle.close()
    assert not failures, failures
    with store.unit_of_work() as uow:
        stored = uow.customers.get_many(c.id for c in customers)
    total = sum(s.metadata["n"] for s in stored.values())
    assert total == writers * rounds, "an update was lost"
    assert all(s.version == s.metadata["n"] for s in stored.values())
    conflicts = sum(t["conflicts"] for t in tallies)
    assert conflicts == sum(t["attempts"] for t in tallies) - writers * rounds, "a failed attempt went unreported"
    assert conflicts >= writers - 1, "writers that read the same version must see conflicts"


_PROCESS = """
import json, sys
from custdata import ConflictError
from custdata.storage.postgres import PostgresStore

url, schema, customer_id, times = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = PostgresStore(url, schema=schema, pool_max_size=1)
conflicts = attempts = 0
for _ in range(times):
    while True:
        attempts += 1
        with store.unit_of_work() as uow:
            current = uow.customers.get(customer_id)
            current.metadata = {"n": current.metadata["n"] + 1}
            try:
                uow.customers.update(current)
                uow.commit()
                break
            except ConflictError:
                conflicts += 1
store.close()
print(json.dumps({"conflicts": conflicts, "attempts": attempts}))
"""


def test_processes_updating_one_customer_lose_no_update(new_store: NewStore, pg_url: str) -> None:
    store = new_store()
    customer = make_customer(metadata={"n": 0})
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    processes, times = 3, 25
    running = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_PROCESS), pg_url, store.schema, customer.id, str(times)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    reports = []
    for process in running:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    with store.unit_of_work() as uow:
        stored = uow.customers.get(customer.id)
    assert stored.metadata == {"n": processes * times} and stored.version == processes * times
    assert sum(r["attempts"] - r["conflicts"] for r in reports) == processes * times


def test_the_same_id_added_at_once_is_stored_once(new_store: NewStore, pg_url: str) -> None:
    store = new_store()
    customer_id = make_customer().id
    handles = [PostgresStore(pg_url, schema=store.schema, pool_max_size=1) for _ in range(4)]
    barrier = threading.Barrier(len(handles))
    outcomes: list[str] = []

    def add(handle: PostgresStore, n: int) -> None:
        with handle.unit_of_work() as uow:
            barrier.wait(timeout=30)
            try:
                uow.customers.add(make_customer(id=customer_id, display_name=f"writer {n}"))
                uow.commit()
                outcomes.append("added")
            except IntegrityError:
                outcomes.append("refused")

    threads = [threading.Thread(target=add, args=(h, n)) for n, h in enumerate(handles)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for handle in handles:
        handle.close()
    assert sorted(outcomes) == ["added", "refused", "refused", "refused"]
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 1


def test_bulk_imports_from_several_connections_all_arrive(new_store: NewStore, pg_url: str) -> None:
    store = new_store(pool_max_size=4)
    batches = [[make_customer() for _ in range(700)] for _ in range(4)]

    def load(batch: list) -> None:  # type: ignore[type-arg]
        with store.unit_of_work() as uow:
            assert uow.customers.add_many(batch) == len(batch)
            uow.commit()

    threads = [threading.Thread(target=load, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 2800
        assert uow.customers.find_by_email(batches[2][5].email) == [batches[2][5]]  # type: ignore[arg-type]
