"""Writes are prepared statements once psycopg has seen them a few times on a connection, and a failed write in a
unit of work (a duplicate id, an order of no customer, a duplicate inside a batch) leaves the preparation of every
statement sound: the writes after it, past psycopg's threshold, run and store exactly what was committed."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import IntegrityError, OperationalError
from custdata.storage.postgres import PostgresStore
from custdata.testing.store_contract import make_customer, make_order

NewStore = Callable[..., PostgresStore]

#: What a unit of work does: add a new customer, add one whose id is taken, add an order of a known customer or
#: of no customer, add a batch of new customers with one taken id among them; then commit or roll back.
STEPS = st.lists(
    st.one_of(
        st.sampled_from(["customer", "taken id", "order", "orphan order", "batch"]).map(lambda step: (step, 0, 0)),
        # a batch of new customers with a taken id at a position: the rows after it are skipped by the server
        st.integers(2, 8).flatmap(
            lambda n: st.tuples(st.just("batch with a taken id"), st.just(n), st.integers(0, n - 1))
        ),
    ),
    min_size=1,
    max_size=8,
)
UNITS = st.lists(st.tuples(STEPS, st.booleans()), min_size=1, max_size=4)


def _session(uow: Any) -> Any:
    """The SQL session of a sync unit of work of the async store (as its run_sync hands it)."""
    return uow.session


#: The prepared writes; a customer with search keys goes in with them in one statement (``WITH customer AS (INSERT
#: INTO customers ...) INSERT INTO customer_keys ...``).
PREPARED_WRITES = (
    "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO %%' "
    "OR statement LIKE 'WITH customer AS (INSERT INTO %%'"
)


def _run_unit(uow: Any, steps: list[tuple[str, int, int]], committed: dict[str, set[str]]) -> dict[str, set[str]]:
    """Run ``steps`` in ``uow``; the ids its successful writes added (failed ones raise and add nothing)."""
    added: dict[str, set[str]] = {"customers": set(), "orders": set()}
    for step, size, position in steps:
        known = sorted(committed["customers"] | added["customers"])
        if step == "customer":
            customer = make_customer()
            uow.customers.add(customer)
            added["customers"].add(customer.id)
        elif step == "taken id" and known:
            with pytest.raises(IntegrityError):
                uow.customers.add(make_customer(id=known[-1]))
        elif step == "order" and known:
            order = make_order(known[0])
            uow.orders.add(order)
            added["orders"].add(order.id)
        elif step == "orphan order":
            with pytest.raises(IntegrityError):
                uow.orders.add(make_order(f"cus_{uuid.uuid4().hex[:24]}"))
        elif step == "batch":
            batch = [make_customer() for _ in range(3)]
            uow.customers.add_many(batch)
            added["customers"].update(c.id for c in batch)
        elif step == "batch with a taken id" and known:
            batch = [make_customer() for _ in range(size)]
            batch[position] = make_customer(id=known[0])
            with pytest.raises(IntegrityError):
                uow.customers.add_many(batch)
    return added


def test_writes_after_failed_writes_store_what_was_committed_with_statements_prepared(new_store: NewStore) -> None:
    # one connection, so that every statement passes psycopg's preparation threshold within a few examples
    store = new_store(pool_min_size=1, pool_max_size=1)
    committed: dict[str, set[str]] = {"customers": set(), "orders": set()}

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(UNITS)
    def check(units: list[tuple[list[tuple[str, int, int]], bool]]) -> None:
        for steps, commit in units:
            with store.unit_of_work() as uow:
                added = _run_unit(uow, steps, committed)
                if commit:
                    uow.commit()
                    for kind, ids in added.items():
                        committed[kind] |= ids
        with store.unit_of_work() as uow:
            assert uow.customers.count() == len(committed["customers"])
            assert set(uow.customers.get_many(committed["customers"])) == committed["customers"]
            assert uow.orders.count() == len(committed["orders"])

    check()
    # a constraint's failure keeps the connection and its prepared statements: no reconnect for a duplicate id
    with store.unit_of_work() as uow:
        (backend,) = uow.session.fetch_all("SELECT pg_backend_pid()")
    for _ in range(6):  # past psycopg's threshold of five uses
        with store.unit_of_work() as uow:
            _run_unit(
                uow, [(step, 0, 0) for step in ("customer", "taken id", "orphan order", "order", "customer")], committed
            )
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.session.fetch_all("SELECT pg_backend_pid()") == [backend]
        prepared = [row[0] for row in uow.session.fetch_all(PREPARED_WRITES)]
    assert any(
        s.startswith(("INSERT INTO customers ", "WITH customer AS (INSERT INTO customers ")) for s in prepared
    ), prepared
    assert any(s.startswith("INSERT INTO orders ") for s in prepared), prepared


def test_the_async_store_prepares_its_writes_and_carries_on_after_failed_ones(pg_url: str) -> None:
    from custdata.aio.postgres import AsyncPostgresStore

    async def main() -> tuple[int, list[str]]:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = await AsyncPostgresStore.open(pg_url, schema=schema, pool_min_size=1, pool_max_size=1)
        try:
            kept: set[str] = set()
            for i in range(12):  # more than twice psycopg's threshold of five uses
                first, second = make_customer(), make_customer()
                async with store.unit_of_work() as uow:
                    await uow.customers.add(first)
                    with pytest.raises(IntegrityError):
                        await uow.customers.add(make_customer(id=first.id))
                    with pytest.raises(IntegrityError):
                        await uow.orders.add(make_order("cus_nobody"))
                    if i in (3, 7):  # a failed batch: its connection leaves the pool afterwards
                        with pytest.raises(IntegrityError):
                            await uow.customers.add_many([make_customer(), make_customer(id=first.id)])
                    await uow.customers.add(second)
                    await uow.orders.add(make_order(second.id))
                    await uow.commit()
                kept |= {first.id, second.id}
            async with store.unit_of_work() as uow:
                found = await uow.customers.get_many(sorted(kept))
                orders = await uow.orders.count()
                prepared = await uow.run_sync(lambda sync: _session(sync).fetch_all(PREPARED_WRITES))
            assert set(found) == kept
            return orders, [row[0] for row in prepared]
        finally:
            await store.close()

    orders, prepared = asyncio.run(main())
    assert orders == 12
    assert any(
        s.startswith(("INSERT INTO customers ", "WITH customer AS (INSERT INTO customers ")) for s in prepared
    ), prepared
    assert any(s.startswith("INSERT INTO orders ") for s in prepared), prepared


def _statements_after_a_failed_one(session: Any, table: str, round_: int) -> None:
    """A duplicate id fails the first statement, and the server skips the second one (its preparation too, when
    psycopg chose to prepare it on this use)."""
    session.execute_each(
        [
            (f"INSERT INTO {table} (id) VALUES (%s)", (0,)),
            (f"INSERT INTO {table} (id) VALUES (%s + 1000)", (round_,)),
        ]
    )


def test_a_statement_skipped_after_a_failed_one_is_never_taken_for_prepared(new_store: NewStore) -> None:
    store = new_store(pool_min_size=1, pool_max_size=1)
    table = f"{store.schema}.skipped"
    with store.unit_of_work() as uow:
        uow.session.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY)")
        _statements_after_a_failed_one(uow.session, table, 0)
        uow.commit()
    for round_ in range(1, 12):  # the second statement passes psycopg's threshold while it is being skipped
        with store.unit_of_work() as uow:
            with pytest.raises(IntegrityError):
                _statements_after_a_failed_one(uow.session, table, round_)
            uow.session.execute(f"INSERT INTO {table} (id) VALUES (%s + 1000)", (round_,))
            uow.commit()
    with store.unit_of_work() as uow:
        assert [row[0] for row in uow.session.fetch_all(f"SELECT id FROM {table} ORDER BY id")] == [
            0,
            *range(1000, 1012),
        ]


def test_the_async_store_never_takes_a_skipped_statement_for_prepared(pg_url: str) -> None:
    from custdata.aio.postgres import AsyncPostgresStore

    async def main() -> list[int]:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        table = f"{schema}.skipped"
        store = await AsyncPostgresStore.open(pg_url, schema=schema, pool_min_size=1, pool_max_size=1)

        def first(sync: Any) -> None:
            sync.session.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY)")
            _statements_after_a_failed_one(sync.session, table, 0)

        def again(sync: Any, round_: int) -> None:
            with pytest.raises(IntegrityError):
                _statements_after_a_failed_one(sync.session, table, round_)
            sync.session.execute(f"INSERT INTO {table} (id) VALUES (%s + 1000)", (round_,))

        try:
            async with store.unit_of_work() as uow:
                await uow.run_sync(first)
                await uow.commit()
            for round_ in range(1, 12):
                async with store.unit_of_work() as uow:
                    await uow.run_sync(functools.partial(again, round_=round_))
                    await uow.commit()
            async with store.unit_of_work() as uow:
                rows = await uow.run_sync(lambda sync: _session(sync).fetch_all(f"SELECT id FROM {table} ORDER BY id"))
            return [row[0] for row in rows]
        finally:
            await store.close()

    assert asyncio.run(main()) == [0, *range(1000, 1012)]


def test_a_write_refused_while_parsed_is_never_taken_for_prepared(new_store: NewStore, pg_url: str) -> None:
    """A lock not granted in time can refuse a statement while the server parses it, before it is prepared."""
    import psycopg

    store = new_store(pool_min_size=1, pool_max_size=1, timeout=0.3)
    table = f"{store.schema}.locked"
    insert = f"INSERT INTO {table} (id) VALUES (%s)"
    with store.unit_of_work() as uow:
        uow.session.execute(f"CREATE TABLE {table} (id integer PRIMARY KEY)")
        uow.commit()
    with store.unit_of_work() as uow:  # failed writes before, as in any busy service
        taken = make_customer()
        uow.customers.add(taken)
        for _ in range(2):
            with pytest.raises(IntegrityError):
                uow.customers.add(make_customer(id=taken.id))
        uow.session.execute(insert, (100,))  # so that the insert's sixth use, which psycopg prepares, is refused
        uow.commit()
    for round_ in range(12):
        with psycopg.connect(pg_url) as other, store.unit_of_work() as uow:
            other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            uow.customers.add(make_customer())  # the transaction is open: the insert runs in a savepoint
            with pytest.raises(OperationalError):
                uow.session.execute(insert, (round_,))
            other.rollback()
            uow.session.execute(insert, (round_,))
            uow.commit()
    with store.unit_of_work() as uow:
        assert [row[0] for row in uow.session.fetch_all(f"SELECT id FROM {table} ORDER BY id")] == [*range(12), 100]


class _Rewriting:
    """A psycopg connection that sends ``new`` where it is asked to send ``old``."""

    def __init__(self, conn: Any, old: str, new: str) -> None:
        self.conn, self.old, self.new = conn, old, new

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        return self.conn.execute(self.new if query == self.old else query, params, **options)


def test_a_write_whose_savepoint_was_not_set_never_undoes_an_earlier_write(new_store: NewStore) -> None:
    """Each write's savepoint stays until the next write releases it; when that release fails, the next write's
    savepoint is never set, and going back to the open one would silently undo the write before: the unit of
    work is refused instead."""
    from custdata import CustdataError

    store = new_store()
    first, second, third = make_customer(), make_customer(), make_customer()
    with store.unit_of_work() as uow:
        session: Any = uow.session
        uow.customers.add(first)
        uow.orders.add(make_order(first.id))  # its savepoint stays open
        real = session._conn
        session._conn = _Rewriting(real, "RELEASE SAVEPOINT custdata_write", "RELEASE SAVEPOINT no_such_savepoint")
        try:
            with pytest.raises(CustdataError):
                uow.customers.add(second)
        finally:
            session._conn = real
        with pytest.raises(OperationalError):
            uow.customers.add(third)
        with pytest.raises(OperationalError):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 0 and uow.orders.count() == 0
