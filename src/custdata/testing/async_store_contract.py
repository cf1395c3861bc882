"""``AsyncStoreContract``: the behaviour every async custdata store must show, as a pytest class to subclass.

::

    from custdata.testing.async_store_contract import AsyncStoreContract

    class TestMyAsyncStore(AsyncStoreContract):
        async def make_store(self):
            return await open_async_store(...)     # a fresh, empty async store each time

The test methods are plain synchronous ones: each runs its coroutines on an event loop of its own
(``asyncio.Runner``, one loop for the whole test, so a store bound to its loop, like the PostgreSQL pool, serves
every Hypothesis example of the test). No pytest plugin is needed.

It covers adding and reading back (generated customers included), missing and duplicate ids, ``get_many``,
``find_by_email``, versions and conflicts, deletes, cursor paging, rollback when the block is left without a
commit, on an exception and on a cancellation, privacy of uncommitted writes, the unit of work's one-block
rule, the outbox and timers, ``run_sync``, and many concurrent tasks sharing one store (``asyncio.gather``):
no write lost, every conflict raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings

from custdata._errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    OperationalError,
    ProgrammingError,
    ValidationError,
)
from custdata.aio.store import AsyncStore
from custdata.domain import Customer, EmailAddress
from custdata.storage.outbox.model import OutboxState
from custdata.storage.outbox.ports import OutboxUnitOfWork
from custdata.storage.ports import CustomerQuery, Page
from custdata.testing import strategies
from custdata.testing.outbox_contract import T0 as OUTBOX_T0
from custdata.testing.outbox_contract import entry
from custdata.testing.store_builders import make_customer, make_order

__all__ = ["AsyncStoreContract"]

T = TypeVar("T")


class AsyncStoreContract:
    """Subclass with one coroutine method, :meth:`make_store`; pytest runs every ``test_*`` against it.

    ``concurrent_tasks`` is how many tasks the concurrency test runs at once on one store.
    """

    concurrent_tasks = 8

    async def make_store(self) -> AsyncStore:
        raise NotImplementedError("return a fresh, empty async store")

    # -- running ----------------------------------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[tuple[asyncio.Runner, AsyncStore]]:
        """An event loop and a fresh store on it, closed afterwards."""
        with asyncio.Runner() as runner:
            store = runner.run(self.make_store())
            try:
                yield runner, store
            finally:
                runner.run(store.close())

    def check(self, test: Callable[[AsyncStore], Awaitable[T]]) -> T:
        """Run ``test(store)`` on a fresh store."""
        with self.running() as (runner, store):
            return runner.run(_awaited(test(store)))

    @staticmethod
    async def put(store: AsyncStore, *customers: Customer) -> None:
        async with store.unit_of_work() as uow:
            for customer in customers:
                await uow.customers.add(customer)
            await uow.commit()

    # -- reads and writes ---------------------------------------------------------------------------------------

    def test_added_customers_come_back_equal(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada = make_customer(tags=frozenset({"vip"}), metadata={"a": [1, "b"]})
            await self.put(store, ada)
            async with store.unit_of_work() as uow:
                assert await uow.customers.get(ada.id) == ada
                assert await uow.customers.count() == 1

        self.check(test)

    def test_generated_customers_round_trip(self) -> None:
        with self.running() as (runner, store):

            @settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
            @given(strategies.customers())
            def round_trip(customer: Customer) -> None:
                async def body() -> Customer | None:
                    async with store.unit_of_work() as uow:
                        try:
                            await uow.customers.add(customer)
                        except ValidationError:  # a value the database cannot hold (PostgreSQL and NUL)
                            with pytest.raises(NotFoundError):
                                await uow.customers.get(customer.id)
                            return None
                        await uow.commit()
                    async with store.unit_of_work() as uow:
                        found = await uow.customers.get(customer.id)
                        await uow.customers.delete(customer.id)
                        await uow.commit()
                    return found

                found = runner.run(body())
                assert found is None or found == customer

            round_trip()

    def test_missing_ids_and_duplicates(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada = make_customer()
            await self.put(store, ada)
            async with store.unit_of_work() as uow:
                with pytest.raises(NotFoundError):
                    await uow.customers.get("cus_missing")
                with pytest.raises(NotFoundError):
                    await uow.orders.get("ord_missing")
                with pytest.raises(IntegrityError):
                    await uow.customers.add(make_customer(id=ada.id))
                with pytest.raises(IntegrityError):  # an order of no customer
                    await uow.orders.add(make_order("cus_nobody"))
                await uow.customers.add(make_customer())  # the failed writes left the unit of work usable
                await uow.commit()
                assert await uow.customers.count() == 2

        self.check(test)

    def test_bad_arguments_are_validation_errors(self) -> None:
        async def test(store: AsyncStore) -> None:
            async with store.unit_of_work() as uow:
                with pytest.raises(ValidationError):
                    await uow.customers.add("not a customer")  # type: ignore[arg-type]
                with pytest.raises(ValidationError):
                    await uow.customers.search(limit=0)
                with pytest.raises(ValidationError):
                    await uow.customers.search(cursor="not a cursor")
                assert await uow.customers.count() == 0

        self.check(test)

    def test_get_many_returns_what_exists_keyed_by_id(self) -> None:
        async def test(store: AsyncStore) -> None:
            people = [make_customer() for _ in range(5)]
            await self.put(store, *people)
            async with store.unit_of_work() as uow:
                wanted = [people[0].id, "cus_missing", people[3].id, people[0].id]
                found = await uow.customers.get_many(wanted)
            assert found == {people[0].id: people[0], people[3].id: people[3]}

        self.check(test)

    def test_find_by_email_uses_the_canonical_form(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada = make_customer(email=EmailAddress("Ada.Async@Example.COM"))
            await self.put(store, ada, make_customer())
            async with store.unit_of_work() as uow:
                assert await uow.customers.find_by_email("ada.async@example.com") == [ada]
                assert await uow.customers.find_by_email("nobody@example.com") == []

        self.check(test)

    def test_find_by_emails_finds_what_find_by_email_finds_for_each(self) -> None:
        """find_by_emails() maps each address's canonical form to the customers find_by_email() finds for it."""

        async def test(store: AsyncStore) -> None:
            ada = make_customer(email=EmailAddress("Ada.Many@Example.COM"))
            twin = make_customer(email=EmailAddress("ada.many@example.com"))
            other = make_customer(email=EmailAddress("bo.many@example.com"))
            await self.put(store, ada, twin, other)
            async with store.unit_of_work() as uow:
                found = await uow.customers.find_by_emails(
                    ["ADA.MANY@example.com", "nobody@example.com", "bo.many@example.com"]
                )
                single = await uow.customers.find_by_email("ada.many@example.com")
            assert found == {"ada.many@example.com": single, "nobody@example.com": [], "bo.many@example.com": [other]}
            assert sorted(c.id for c in single) == sorted([ada.id, twin.id])

        self.check(test)

    def test_update_bumps_the_version_and_a_stale_one_conflicts(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada = make_customer(metadata={"n": 0})
            await self.put(store, ada)
            async with store.unit_of_work() as uow:
                current = await uow.customers.get(ada.id)
                current.metadata = {"n": 1}
                await uow.customers.update(current)
                assert current.version == ada.version + 1
                await uow.commit()
            stale = ada
            stale.metadata = {"n": 99}
            async with store.unit_of_work() as uow:
                with pytest.raises(ConflictError):
                    await uow.customers.update(stale)
                await uow.commit()
                with pytest.raises(NotFoundError):
                    await uow.customers.update(make_customer())
            async with store.unit_of_work() as uow:
                stored = await uow.customers.get(ada.id)
            assert stored.metadata == {"n": 1} and stored.version == current.version

        self.check(test)

    def test_delete_honours_the_version(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada = make_customer()
            await self.put(store, ada)
            async with store.unit_of_work() as uow:
                with pytest.raises(ConflictError):
                    await uow.customers.delete(ada.id, version=ada.version + 5)
                await uow.customers.delete(ada.id, version=ada.version)
                await uow.commit()
                with pytest.raises(NotFoundError):
                    await uow.customers.get(ada.id)

        self.check(test)

    def test_cursor_paging_walks_every_record_once_in_order(self) -> None:
        async def test(store: AsyncStore) -> None:
            people = [make_customer(tags=frozenset({"walk"})) for _ in range(23)]
            await self.put(store, *people)
            seen: list[str] = []
            cursor: str | None = None
            async with store.unit_of_work() as uow:
                while True:
                    page: Page[Customer] = await uow.customers.search(CustomerQuery(tag="walk"), limit=5, cursor=cursor)
                    assert len(page) <= 5
                    seen += [c.id for c in page]
                    if page.next_cursor is None:
                        break
                    cursor = page.next_cursor
                orders = [make_order(people[0].id) for _ in range(7)]
                await uow.orders.add_many(orders)
                first = await uow.orders.for_customer(people[0].id, limit=4)
                rest = await uow.orders.for_customer(people[0].id, limit=4, cursor=first.next_cursor)
                assert rest.next_cursor is None
                assert [o.id for o in (*first, *rest)] == [
                    o.id for o in sorted(orders, key=lambda o: (o.placed_at, o.id))
                ]
            assert seen == sorted(c.id for c in people)

        self.check(test)

    # -- transactions -------------------------------------------------------------------------------------------

    def test_leaving_without_commit_or_on_an_exception_rolls_back(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada, bob = make_customer(), make_customer()
            async with store.unit_of_work() as uow:
                await uow.customers.add(ada)
            with pytest.raises(LookupError, match="boom"):
                async with store.unit_of_work() as uow:
                    await uow.customers.add(bob)
                    raise LookupError("boom")
            async with store.unit_of_work() as uow:
                await uow.customers.add(make_customer())
                await uow.rollback()
                assert await uow.customers.count() == 0

        self.check(test)

    def test_a_cancelled_task_rolls_back_and_leaves_the_store_usable(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada = make_customer()
            written = asyncio.Event()

            async def writer() -> None:
                async with store.unit_of_work() as uow:
                    await uow.customers.add(ada)
                    written.set()
                    await asyncio.sleep(3600)
                    await uow.commit()

            task = asyncio.create_task(writer())
            await written.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            async with store.unit_of_work() as uow:  # the write lock was released too
                assert await uow.customers.count() == 0
                await uow.customers.add(make_customer())
                await uow.commit()
                assert await uow.customers.count() == 1

        self.check(test)

    def test_a_task_cancelled_while_it_waits_for_a_lock_ends_at_once_and_writes_nothing(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada, bob = make_customer(metadata={"n": 0}), make_customer(metadata={"n": 0})
            await self.put(store, ada, bob)
            async with store.unit_of_work() as holder:
                held = await holder.customers.get(ada.id)
                held.metadata = {"n": 1}
                await holder.customers.update(held)  # holds the write lock (the row lock on PostgreSQL)

                async def waiter() -> None:
                    async with store.unit_of_work() as uow:
                        other, contested = await uow.customers.get(bob.id), await uow.customers.get(ada.id)
                        other.metadata = contested.metadata = {"n": 100}
                        await uow.customers.update(other)  # a write lock: waits for the holder...
                        await uow.customers.update(contested)  # ...or a row lock (PostgreSQL): waits here
                        await uow.commit()

                task = asyncio.create_task(waiter())
                await asyncio.sleep(0.3)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.wait_for(task, 5)  # not held up by the lock the cancelled write waited for
                await holder.commit()
            for _attempt in range(100):  # the abandoned unit of work ends soon after the lock is free
                async with store.unit_of_work() as uow:
                    stored = await uow.customers.get(ada.id)
                    stored.metadata = {"n": 2}
                    try:
                        await uow.customers.update(stored)
                    except OperationalError:
                        await asyncio.sleep(0.05)
                        continue
                    await uow.commit()
                    break
            async with store.unit_of_work() as uow:
                final = await uow.customers.get_many([ada.id, bob.id])
            assert final[ada.id].metadata == {"n": 2} and final[ada.id].version == ada.version + 2
            assert final[bob.id] == bob, "a write of the cancelled unit of work landed"

        self.check(test)

    def test_uncommitted_writes_stay_private_and_commit_publishes_them(self) -> None:
        async def test(store: AsyncStore) -> None:
            ada = make_customer()
            async with store.unit_of_work() as writer:
                await writer.customers.add(ada)
                assert await writer.customers.get(ada.id) == ada
                async with store.unit_of_work() as reader:
                    with pytest.raises(NotFoundError):
                        await reader.customers.get(ada.id)
                await writer.commit()
                async with store.unit_of_work() as reader:
                    assert await reader.customers.get(ada.id) == ada

        self.check(test)

    def test_units_of_work_are_used_once_and_only_inside_their_block(self) -> None:
        async def test(store: AsyncStore) -> None:
            uow = store.unit_of_work()
            with pytest.raises(ProgrammingError):
                await uow.customers.count()
            async with uow:
                await uow.customers.count()
            with pytest.raises(ProgrammingError):
                await uow.customers.count()
            with pytest.raises(ProgrammingError):
                await uow.commit()
            with pytest.raises(ProgrammingError):
                async with uow:
                    pass

        self.check(test)

    def test_outbox_timers_and_run_sync_share_the_transaction(self) -> None:
        async def test(store: AsyncStore) -> None:
            first = entry()
            async with store.unit_of_work() as uow:
                assert await uow.outbox.add(first) is True
                assert await uow.outbox.add(entry(first.idempotency_key)) is False

                def count(sync: OutboxUnitOfWork) -> int:
                    return sync.outbox.count()

                assert await uow.run_sync(count) == 1  # the sync side sees the uncommitted entry
                await uow.commit()
            async with store.unit_of_work() as uow:
                leased = await uow.outbox.lease("me", now=OUTBOX_T0, limit=10, duration=timedelta(minutes=5))
                assert [e.id for e in leased] == [first.id]
                assert await uow.outbox.settle(str(first.id), "me", state=OutboxState.SENT, now=OUTBOX_T0)
                await uow.commit()
                assert (await uow.outbox.get(str(first.id))).state == OutboxState.SENT
                assert await uow.timers.due(OUTBOX_T0) == []

        self.check(test)

    # -- concurrency --------------------------------------------------------------------------------------------

    def test_concurrent_tasks_lose_no_write_and_raise_every_conflict(self) -> None:
        tasks, rounds = self.concurrent_tasks, 3

        async def test(store: AsyncStore) -> None:
            shared = make_customer(metadata={"n": 0})
            own = [make_customer(metadata={"n": 0}) for _ in range(tasks)]
            await self.put(store, shared, *own)
            barrier = asyncio.Barrier(tasks)

            async def work(mine: Customer) -> tuple[int, int]:
                conflicts = done = 0
                for _ in range(rounds):
                    synchronised = True
                    for _attempt in range(10 * tasks):
                        async with store.unit_of_work() as uow:
                            current = await uow.customers.get(shared.id)
                            if synchronised:  # every task has read the same version: all but one must conflict
                                await asyncio.wait_for(barrier.wait(), 60)
                                synchronised = False
                            current.metadata = {"n": current.metadata["n"] + 1}
                            try:
                                await uow.customers.update(current)
                            except ConflictError:
                                conflicts += 1
                                continue
                            personal = await uow.customers.get(mine.id)
                            personal.metadata = {"n": personal.metadata["n"] + 1}
                            await uow.customers.update(personal)
                            await uow.commit()
                            done += 1
                            break
                    else:
                        raise AssertionError("a task met a conflict on every attempt")
                return conflicts, done

            results = await asyncio.gather(*(work(c) for c in own))
            async with store.unit_of_work() as uow:
                stored = await uow.customers.get(shared.id)
                mine = await uow.customers.get_many([c.id for c in own])
            assert sum(d for _, d in results) == tasks * rounds
            assert stored.metadata == {"n": tasks * rounds}, "an update was lost"
            assert stored.version == shared.version + tasks * rounds
            assert all(c.metadata == {"n": rounds} for c in mine.values())
            assert sum(c for c, _ in results) >= rounds * (tasks - 1), "tasks that read one version must conflict"

        self.check(test)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable
