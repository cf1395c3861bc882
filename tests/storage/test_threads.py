"""One sync store shared by threads: memory, a SQLite file and PostgreSQL.

Eight threads each run read-modify-write units of work on one shared customer and on their own, through units
of work of their own, all starting each round at once. Every write that committed must be in the final state
(no lost update), every stale write must raise ConflictError and change nothing, a unit of work's two writes
commit together or not at all, and no exception but the documented ones may come out.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from custdata._errors import ConflictError, NotFoundError
from custdata.domain import Customer
from custdata.storage import CustomerQuery, Store
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.store_builders import make_customer

THREADS = 8
ROUNDS = 5


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore(timeout=60)
    elif request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "shared.db", timeout=60)
    else:
        from custdata.storage.postgres import PostgresStore

        opened = PostgresStore(
            request.getfixturevalue("pg_url"), schema=f"th_{uuid.uuid4().hex[:12]}", pool_max_size=THREADS, timeout=60
        )
    try:
        yield opened
    finally:
        opened.close()


def run_threads(work: Callable[[int], Any]) -> list[Any]:
    """``work(i)`` in thread i, for each of the threads at once; the first failure that is not a broken barrier
    (one thread failing aborts the barrier the others wait at) is raised."""
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(work, i) for i in range(THREADS)]
    failures = [f.exception() for f in futures if f.exception() is not None]
    for failure in sorted(failures, key=lambda e: isinstance(e, threading.BrokenBarrierError)):
        raise failure  # type: ignore[misc]
    return [f.result() for f in futures]


def test_threads_sharing_a_store_lose_no_write_and_see_every_conflict(store: Store) -> None:
    shared = make_customer(metadata={"total": 0})
    own = [make_customer(metadata={"n": 0}, tags=frozenset({"threads"})) for _ in range(THREADS)]
    with store.unit_of_work() as uow:
        uow.customers.add_many([shared, *own])
        uow.commit()
    barrier = threading.Barrier(THREADS)

    def work(me: int) -> tuple[int, int]:
        try:
            return rounds(me)
        except BaseException:
            barrier.abort()  # the others must not wait for a thread that has failed
            raise

    def rounds(me: int) -> tuple[int, int]:
        committed = conflicts = 0
        for _ in range(ROUNDS):
            synchronised = True
            while True:
                with store.unit_of_work() as uow:
                    mine = uow.customers.get(own[me].id)
                    current = uow.customers.get(shared.id)
                    if synchronised:  # all threads hold the same version of the shared customer now
                        barrier.wait(timeout=120)
                        synchronised = False
                    mine.metadata = {"n": mine.metadata["n"] + 1}
                    uow.customers.update(mine)  # written first: a conflict below must take it back
                    seen = current.version
                    current.metadata = {
                        **current.metadata,
                        "total": current.metadata["total"] + 1,
                        f"t{me}": committed + 1,
                    }
                    try:
                        uow.customers.update(current)
                    except ConflictError as exc:
                        conflicts += 1
                        assert exc.expected == seen and exc.actual is not None and exc.actual > seen
                        continue  # leaving the block rolls back the write of our own customer
                    uow.commit()
                    committed += 1
                    break
        return committed, conflicts

    results = run_threads(work)
    committed = [c for c, _ in results]
    assert committed == [ROUNDS] * THREADS
    with store.unit_of_work() as uow:
        final = uow.customers.get(shared.id)
        mine = uow.customers.get_many([c.id for c in own])
        tagged = uow.customers.search(CustomerQuery(tag="threads"), limit=THREADS + 1)
    assert final.metadata == {"total": THREADS * ROUNDS, **{f"t{i}": ROUNDS for i in range(THREADS)}}
    assert final.version == shared.version + THREADS * ROUNDS
    for customer in own:  # the own write committed exactly when the shared one did
        assert mine[customer.id].metadata == {"n": ROUNDS}
        assert mine[customer.id].version == customer.version + ROUNDS
    assert len(tagged) == THREADS
    # in each round every thread read the same version, so all but one of them conflicted at least once
    assert sum(c for _, c in results) >= ROUNDS * (THREADS - 1)


def test_threads_adding_reading_and_deleting_at_once_keep_every_record_whole(store: Store) -> None:
    per_thread = 15

    def work(me: int) -> list[str]:
        mine: list[Customer] = []
        for i in range(per_thread):
            customer = make_customer(tags=frozenset({f"t{me}"}), metadata={"i": i})
            with store.unit_of_work() as uow:
                uow.customers.add(customer)
                uow.commit()
            mine.append(customer)
            with store.unit_of_work() as uow:  # reads while the other threads write
                assert uow.customers.get(customer.id) == customer
                assert uow.customers.find_by_email(str(customer.email)) == [customer]
                page = uow.customers.search(CustomerQuery(tag=f"t{me}"), limit=per_thread + 1)
                assert [c.id for c in page] == sorted(c.id for c in mine)
                assert uow.customers.count(CustomerQuery(tag=f"t{me}")) == len(mine)
            if i % 3 == 0:
                gone = mine.pop(0)
                with store.unit_of_work() as uow:
                    uow.customers.delete(gone.id, version=gone.version)
                    uow.commit()
                    with pytest.raises(NotFoundError):
                        uow.customers.get(gone.id)
        return sorted(c.id for c in mine)

    kept = run_threads(work)
    with store.unit_of_work() as uow:
        for me, ids in enumerate(kept):
            assert [c.id for c in uow.customers.search(CustomerQuery(tag=f"t{me}"), limit=per_thread)] == ids
        assert uow.customers.count() == sum(len(ids) for ids in kept)


#: Threads of a fresh interpreter reading the first documents of each model at once (the code that reads a model
#: is built on first use); prints how many reads failed, a read after them included.
FIRST_READS = """
import threading
from custdata.domain import Customer, Order
from custdata.storage.records import document, load_documents
from custdata.testing.store_builders import make_customer, make_order

customer = make_customer(metadata={"a": 1})
docs = {Customer: document(customer, 0), Order: document(make_order(customer.id), 0)}
barrier = threading.Barrier(8)
failures = []

def read():
    barrier.wait()
    try:
        for cls, doc in docs.items():
            load_documents(cls, [doc])
    except RecursionError as exc:
        failures.append(exc)

threads = [threading.Thread(target=read) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
try:
    for cls, doc in docs.items():
        load_documents(cls, [doc])
except RecursionError as exc:
    failures.append(exc)
print(len(failures))
"""


def test_threads_reading_a_model_first_at_once_all_read_it() -> None:
    for _ in range(4):
        done = subprocess.run([sys.executable, "-c", FIRST_READS], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "0", "a thread could not read a document while another built the reader"
