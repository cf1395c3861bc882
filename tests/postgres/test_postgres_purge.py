"""``PostgresStore.purge_residue``: deleted and overwritten personal data is gone from the files of the store's
tables, TOAST data and indexes, while live data stays."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from pg_test_server import PostgresServer
from required_extras import require

from custdata import Address, Customer, EmailAddress, OperationalError, PhoneNumber, ProgrammingError
from custdata.storage.postgres import PostgresStore
from custdata.testing.store_contract import make_customer, make_order

NewStore = Callable[..., PostgresStore]
SECRETS = ("zebulonqx", "quillfeatherby", "zq.erase.me", "3098765", "yarrowstrasse")
KEEPER = "keeperinaxx"


def secret_customer(i: int, *, big: bool) -> Customer:
    return make_customer(
        given_name=f"Zebulonqx{i}",
        family_name="Quillfeatherby",
        email=EmailAddress(f"zq.erase.me{i}@example.com"),
        phone=PhoneNumber.parse(f"+49 30 98765{i:03d}"),
        addresses=(
            Address(
                first_name="Zebulonqx",
                last_name="Quillfeatherby",
                street_address_1=f"Yarrowstrasse {i + 1}",
                city="BERLIN",
                postal_code="10115",
                country_code="DE",
            ),
        ),
        # random-looking text that PostgreSQL cannot compress, so that it is stored out of line (TOAST)
        metadata={"note": " ".join(f"Yarrowstrasse{n * 7919 % 10007}" for n in range(600 if big else 1))},
    )


def residue(server: PostgresServer, url: str, schema: str) -> dict[str, int]:
    """How often each secret (and the keeper's name) occurs in the files of the schema's relations, after a
    checkpoint has written every changed page to disk."""
    import psycopg  # here, so that without the extra the server fixture reports it (a failure in CI)

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        paths = [
            path
            for (path,) in conn.execute(
                """SELECT pg_relation_filepath(c.oid) FROM pg_class c
                   WHERE c.relnamespace = to_regnamespace(%(s)s)
                      OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = to_regnamespace(%(s)s))
                      OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.reltoastrelid = i.indrelid
                                   WHERE t.relnamespace = to_regnamespace(%(s)s))""",
                {"s": schema},
            ).fetchall()
            if path is not None
        ]
    assert len(paths) > 10  # tables, their indexes, TOAST tables and TOAST indexes
    counts = dict.fromkeys((*SECRETS, KEEPER), 0)
    for path in paths:
        for file in server.data_dir.glob(f"{path}*"):  # the main fork, its extra segments, free space maps...
            data = file.read_bytes().lower()
            for text in counts:
                counts[text] += data.count(text.encode())
    return counts


def test_erased_customers_leave_no_bytes_in_the_relation_files(
    pg_server: PostgresServer, pg_url: str, new_store: NewStore
) -> None:
    store = new_store()
    keepers = [make_customer(given_name=f"Keeperinaxx{i}") for i in range(150)]
    victims = [secret_customer(i, big=i % 4 == 0) for i in range(40)]
    with store.unit_of_work() as uow:
        uow.customers.add_many(keepers[:75])
        uow.customers.add_many(victims)
        uow.customers.add_many(keepers[75:])
        uow.orders.add(make_order(keepers[0].id))
        uow.commit()
    before = residue(pg_server, pg_url, store.schema)
    assert all(before[s] for s in SECRETS), before
    with store.unit_of_work() as uow:
        for i, victim in enumerate(victims):
            if i % 2:
                uow.customers.delete(victim.id)
                continue
            victim.given_name, victim.family_name = "Plain", "Person"
            victim.email, victim.phone = EmailAddress(f"plain{i}@example.com"), None
            victim.addresses, victim.default_shipping_address, victim.metadata = (), None, {}
            uow.customers.update(victim)
        uow.commit()
    assert any(residue(pg_server, pg_url, store.schema)[s] for s in SECRETS), "old row versions linger"

    store.purge_residue()

    after = residue(pg_server, pg_url, store.schema)
    assert {s: n for s, n in after.items() if n and s != KEEPER} == {}
    assert after[KEEPER] >= 150, "live data must stay"
    with store.unit_of_work() as uow:
        assert uow.customers.get_many(c.id for c in keepers) == {c.id: c for c in keepers}
        assert uow.customers.count() == 170
        assert uow.customers.find_by_email("zq.erase.me2@example.com") == []


def test_a_table_in_use_makes_the_purge_fail_loudly(new_store: NewStore) -> None:
    store = new_store(timeout=0.3)
    customer = make_customer()
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    with store.unit_of_work() as busy:
        busy.customers.update(customer)  # holds a row lock, and so a lock on the table, until rolled back
        with pytest.raises(OperationalError):
            store.purge_residue()
    store.purge_residue()
    with store.unit_of_work() as uow:
        assert uow.customers.get(customer.id).version == 0


def _erase_one(store: PostgresStore) -> Customer:
    """A secret customer, added then deleted (committed)."""
    victim = secret_customer(1, big=False)
    with store.unit_of_work() as uow:
        uow.customers.add(victim)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.customers.delete(victim.id)
        uow.commit()
    return victim


def _snapshot_holder(url: str) -> Any:
    """A session in a ``REPEATABLE READ`` transaction whose snapshot is taken now."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True, application_name="old-report")
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    conn.execute("SELECT 1")
    return conn


def test_the_purge_waits_for_a_transaction_that_can_still_read_the_deleted_rows(
    pg_server: PostgresServer, pg_url: str, new_store: NewStore
) -> None:
    store = new_store(timeout=30)
    holder = _snapshot_holder(pg_url)
    _erase_one(store)
    ended = threading.Timer(0.5, holder.execute, ("COMMIT",))
    ended.start()
    try:
        store.purge_residue()
        assert not holder.info.transaction_status, "the purge returned while the old snapshot was still open"
    finally:
        ended.join()
        holder.close()
    assert {s: n for s, n in residue(pg_server, pg_url, store.schema).items() if n and s != KEEPER} == {}


def test_a_transaction_that_stays_open_makes_the_purge_fail_and_name_it(
    pg_server: PostgresServer, pg_url: str, new_store: NewStore
) -> None:
    store = new_store(timeout=0.3)
    holder = _snapshot_holder(pg_url)
    try:
        _erase_one(store)
        with pytest.raises(OperationalError, match=r"session \d+ \(old-report, idle in transaction\)"):
            store.purge_residue()
    finally:
        holder.close()
    store.purge_residue()
    assert {s: n for s, n in residue(pg_server, pg_url, store.schema).items() if n and s != KEEPER} == {}


def test_transactions_younger_than_the_delete_do_not_hold_the_purge(
    pg_server: PostgresServer, pg_url: str, new_store: NewStore
) -> None:
    store = new_store(timeout=0.3)
    _erase_one(store)
    holder = _snapshot_holder(pg_url)  # its snapshot sees the delete, so it reads no deleted row
    try:
        store.purge_residue()
    finally:
        holder.close()
    assert {s: n for s, n in residue(pg_server, pg_url, store.schema).items() if n and s != KEEPER} == {}


def test_the_async_store_purges_as_the_sync_one_does(pg_server: PostgresServer, pg_url: str) -> None:
    """``AsyncPostgresStore.purge_residue()`` waits for an older snapshot and names it, then leaves no deleted
    value in the files, while the event loop goes on."""
    import asyncio
    import uuid

    require("greenlet", "async")
    from custdata.aio.postgres import AsyncPostgresStore

    schema = f"ap_{uuid.uuid4().hex[:12]}"
    victim = secret_customer(1, big=True)

    async def main() -> None:
        async with await AsyncPostgresStore.open(pg_url, schema=schema, timeout=0.3) as store:
            async with store.unit_of_work() as uow:
                await uow.customers.add(victim)
                await uow.commit()
            holder = _snapshot_holder(pg_url)
            try:
                async with store.unit_of_work() as uow:
                    await uow.customers.delete(victim.id)
                    await uow.commit()
                with pytest.raises(OperationalError, match=r"session \d+ \(old-report, idle in transaction\)"):
                    await store.purge_residue()
            finally:
                holder.close()
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            ticking = asyncio.create_task(tick())
            await store.purge_residue()
            ticking.cancel()
            assert ticks > 1, "the purge blocked the event loop"
            await store.close()
            with pytest.raises(ProgrammingError, match="closed"):
                await store.purge_residue()

    asyncio.run(main())
    assert {s: n for s, n in residue(pg_server, pg_url, schema).items() if n and s != KEEPER} == {}
