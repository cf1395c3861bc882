"""The async PostgreSQL store beside the sync one: the same tables and data, the URL's password kept out of
sight, and several async stores opening one new schema at once migrating it once."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from required_extras import require

from custdata._errors import OperationalError, ProgrammingError
from custdata.storage.postgres import PostgresStore
from custdata.testing.store_builders import make_customer


@pytest.fixture(autouse=True)
def _greenlet() -> None:
    require("greenlet", "async")


def with_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user or 'postgres'}:s3cret-pass@{host}"))


def test_async_and_sync_stores_share_one_schema(pg_url: str) -> None:
    from custdata.aio.postgres import AsyncPostgresStore

    schema = f"as_{uuid.uuid4().hex[:12]}"
    ada = make_customer()

    async def main() -> None:
        stores = await asyncio.gather(
            *(AsyncPostgresStore.open(with_password(pg_url), schema=schema, pool_min_size=0) for _ in range(3))
        )
        try:
            assert all("s3cret" not in repr(s) and "s3cret" not in s.url for s in stores)
            async with stores[0].unit_of_work() as uow:
                await uow.customers.add(ada)
                await uow.commit()
            with PostgresStore(pg_url, schema=schema) as sync, sync.unit_of_work() as uow:
                assert uow.customers.get(ada.id) == ada
                mine = uow.customers.get(ada.id)
                mine.given_name = "Augusta"
                uow.customers.update(mine)
                uow.commit()
            async with stores[2].unit_of_work() as uow:
                assert (await uow.customers.get(ada.id)).given_name == "Augusta"
        finally:
            for store in stores:
                await store.close()
        with pytest.raises(ProgrammingError, match="closed"):
            stores[0].unit_of_work()

    asyncio.run(main())


def test_an_unreachable_server_is_an_operational_error() -> None:
    from custdata.aio.postgres import AsyncPostgresStore

    with pytest.raises(OperationalError):
        asyncio.run(AsyncPostgresStore.open("postgresql://nobody@127.0.0.1:1/db?timeout=2"))


def test_a_failed_first_write_is_undone_alone_with_no_savepoint_of_its_own(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write that opens the transaction goes without a savepoint (BEGIN and the write); when it fails, the
    transaction is rolled back, and the unit of work carries on as after any failed write: the writes after it
    commit, each later one inside a savepoint that undoes it alone."""
    import psycopg

    from custdata._errors import IntegrityError
    from custdata.aio.postgres import AsyncPostgresStore
    from custdata.testing.store_builders import make_order

    sent: list[str] = []
    execute = psycopg.AsyncCursor.execute

    async def recording(self: psycopg.AsyncCursor[object], query: object, *args: object, **kwargs: object) -> object:
        sent.append(query if isinstance(query, str) else repr(query))
        return await execute(self, query, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", recording)
    first, second = make_customer(), make_customer()

    async def main() -> None:
        store = await AsyncPostgresStore.open(pg_url, schema=f"fw_{uuid.uuid4().hex[:12]}")
        try:
            async with store.unit_of_work() as uow:
                sent.clear()
                with pytest.raises(IntegrityError):
                    await uow.orders.add(make_order("nobody"))  # opens the transaction, and fails
                assert [q.split()[0] for q in sent if not q.startswith("SELECT")][:2] == ["BEGIN", "INSERT"]
                assert not any("SAVEPOINT" in q for q in sent)
                await uow.customers.add(first)  # opens a new transaction
                with pytest.raises(IntegrityError):
                    await uow.customers.add(make_customer(id=first.id))  # undone alone: first stays
                await uow.customers.add(second)
                await uow.commit()
            assert any(q.startswith("ROLLBACK TO SAVEPOINT") for q in sent)
            async with store.unit_of_work() as uow:
                assert await uow.customers.get_many([first.id, second.id]) == {first.id: first, second.id: second}
                assert await uow.orders.count() == 0
        finally:
            await store.close()

    asyncio.run(main())
