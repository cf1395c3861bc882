"""The repositories of an async unit of work: the synchronous ones of :mod:`custdata.storage`, awaited.

Each method runs the store's own synchronous repository method through the unit of work's runner (see
:mod:`custdata.aio._bridge`), so the rules, the SQL and the row mapping are the very ones of the sync stores:
``await uow.customers.get(id)`` returns what ``uow.customers.get(id)`` would, raises what it would, and pages
and cursors are the same :class:`~custdata.storage.Page` objects and strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from custdata.aio._bridge import Caller
from custdata.domain import (
    ActivityEvent,
    ActivityId,
    CommunicationEvent,
    CommunicationId,
    Customer,
    CustomerId,
    EmailAddress,
    ExternalRef,
    Order,
    OrderId,
    PhoneNumber,
    Topic,
)
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.ports import DEFAULT_LIMIT, CustomerQuery, Page, find_by_emails

E = TypeVar("E", Customer, Order, CommunicationEvent, ActivityEvent)
K = TypeVar("K", bound=str)
T = TypeVar("T")


class _Awaited:
    """Runs methods of one synchronous repository (found by ``repository()``) through ``runner``."""

    __slots__ = ("_repository", "_runner")

    def __init__(self, repository: Callable[[], Any], runner: Caller) -> None:
        self._repository = repository
        self._runner = runner

    async def _run(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            return getattr(self._repository(), name)(*args, **kwargs)

        return await self._runner.call(call)


class AsyncEntityRepository(_Awaited, Generic[E, K]):
    """What the four entity repositories share: ``add``, ``add_many``, ``get``, ``get_many``, ``update``."""

    async def add(self, entity: E) -> None:
        await self._run("add", entity)

    async def add_many(self, entities: Iterable[E]) -> int:
        count: int = await self._run("add_many", entities)
        return count

    async def get(self, entity_id: str) -> E:
        entity: E = await self._run("get", entity_id)
        return entity

    async def get_many(self, entity_ids: Iterable[str]) -> dict[K, E]:
        found: dict[K, E] = await self._run("get_many", entity_ids)
        return found

    async def update(self, entity: E) -> None:
        await self._run("update", entity)


class _Listed(AsyncEntityRepository[E, K]):
    async def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[E]:
        page: Page[E] = await self._run("page", limit=limit, cursor=cursor)
        return page

    async def for_customer(self, customer_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[E]:
        page: Page[E] = await self._run("for_customer", customer_id, limit=limit, cursor=cursor)
        return page

    async def count(self, *, customer_id: str | None = None) -> int:
        count: int = await self._run("count", customer_id=customer_id)
        return count


class AsyncCustomerRepository(AsyncEntityRepository[Customer, CustomerId]):
    """Customers (see :class:`custdata.storage.CustomerRepository`), awaited."""

    async def delete(self, customer_id: str, *, version: int | None = None) -> None:
        await self._run("delete", customer_id, version=version)

    async def find_by_email(self, email: str | EmailAddress) -> list[Customer]:
        found: list[Customer] = await self._run("find_by_email", email)
        return found

    async def find_by_emails(self, emails: Iterable[str | EmailAddress]) -> dict[str, list[Customer]]:
        """:func:`custdata.storage.find_by_emails` on the store's repository: for each address, by its canonical
        form, the customers having it, in a few queries."""
        wanted = list(emails)

        def call() -> dict[str, list[Customer]]:
            return find_by_emails(self._repository(), wanted)

        found: dict[str, list[Customer]] = await self._runner.call(call)
        return found

    async def find_by_phone(self, phone: str | PhoneNumber, *, region: str | None = None) -> list[Customer]:
        found: list[Customer] = await self._run("find_by_phone", phone, region=region)
        return found

    async def search(
        self, query: CustomerQuery | None = None, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Customer]:
        page: Page[Customer] = await self._run("search", query, limit=limit, cursor=cursor)
        return page

    async def count(self, query: CustomerQuery | None = None) -> int:
        count: int = await self._run("count", query)
        return count


class AsyncOrderRepository(_Listed[Order, OrderId]):
    """Orders (see :class:`custdata.storage.OrderRepository`), awaited."""

    async def delete(self, order_id: str, *, version: int | None = None) -> None:
        await self._run("delete", order_id, version=version)

    async def find_by_external_ref(self, ref: ExternalRef) -> Order | None:
        found: Order | None = await self._run("find_by_external_ref", ref)
        return found


class AsyncCommunicationRepository(_Listed[CommunicationEvent, CommunicationId]):
    """Communication events (see :class:`custdata.storage.CommunicationRepository`), awaited."""

    async def delete(self, event_id: str, *, version: int | None = None) -> None:
        await self._run("delete", event_id, version=version)

    async def find_by_idempotency_key(self, key: str) -> CommunicationEvent | None:
        found: CommunicationEvent | None = await self._run("find_by_idempotency_key", key)
        return found


class AsyncActivityRepository(_Listed[ActivityEvent, ActivityId]):
    """Activity events (see :class:`custdata.storage.ActivityRepository`), awaited."""

    async def delete(self, event_id: str) -> None:
        await self._run("delete", event_id)

    async def mentioning(self, event: str, value: str) -> list[ActivityEvent]:
        found: list[ActivityEvent] = await self._run("mentioning", event, value)
        return found


class AsyncOutboxRepository(_Awaited):
    """The outbox (see :class:`custdata.storage.outbox.ports.OutboxRepository`), awaited."""

    async def add(self, entry: OutboxEntry) -> bool:
        added: bool = await self._run("add", entry)
        return added

    async def get(self, entry_id: str) -> OutboxEntry:
        entry: OutboxEntry = await self._run("get", entry_id)
        return entry

    async def find(self, idempotency_key: str) -> OutboxEntry | None:
        entry: OutboxEntry | None = await self._run("find", idempotency_key)
        return entry

    async def lease(self, owner: str, *, now: datetime, limit: int, duration: timedelta) -> list[OutboxEntry]:
        entries: list[OutboxEntry] = await self._run("lease", owner, now=now, limit=limit, duration=duration)
        return entries

    async def settle(
        self,
        entry_id: str,
        owner: str,
        *,
        state: OutboxState,
        now: datetime,
        available_at: datetime | None = None,
        provider_id: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> bool:
        settled: bool = await self._run(
            "settle",
            entry_id,
            owner,
            state=state,
            now=now,
            available_at=available_at,
            provider_id=provider_id,
            error=error,
            reason=reason,
        )
        return settled

    async def cancel(
        self, *, customer_id: str, topics: Iterable[Topic], now: datetime, reason: str, order_id: str | None = None
    ) -> list[OutboxEntry]:
        entries: list[OutboxEntry] = await self._run(
            "cancel", customer_id=customer_id, topics=topics, now=now, reason=reason, order_id=order_id
        )
        return entries

    async def requeue(self, entry_id: str, *, now: datetime) -> OutboxEntry:
        entry: OutboxEntry = await self._run("requeue", entry_id, now=now)
        return entry

    async def with_state(
        self, state: OutboxState, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[OutboxEntry]:
        page: Page[OutboxEntry] = await self._run("with_state", state, limit=limit, cursor=cursor)
        return page

    async def count(self, state: OutboxState | None = None) -> int:
        count: int = await self._run("count", state)
        return count

    async def count_recent(self, customer_id: str, *, since: datetime, topics: Iterable[Topic]) -> int:
        count: int = await self._run("count_recent", customer_id, since=since, topics=topics)
        return count

    async def erase(self, customer_id: str, *, now: datetime) -> int:
        count: int = await self._run("erase", customer_id, now=now)
        return count

    async def for_customer(self, customer_id: str) -> list[OutboxEntry]:
        entries: list[OutboxEntry] = await self._run("for_customer", customer_id)
        return entries

    async def for_orders(self, order_ids: Iterable[str]) -> list[OutboxEntry]:
        entries: list[OutboxEntry] = await self._run("for_orders", order_ids)
        return entries

    async def forget(self, entry_id: str, *, now: datetime, reason: str) -> OutboxEntry | None:
        entry: OutboxEntry | None = await self._run("forget", entry_id, now=now, reason=reason)
        return entry

    async def reassign(self, customer_id: str, to: str, *, now: datetime) -> int:
        count: int = await self._run("reassign", customer_id, to, now=now)
        return count


class AsyncTimerRepository(_Awaited):
    """The timers (see :class:`custdata.storage.outbox.ports.TimerRepository`), awaited."""

    async def schedule(self, timer: Timer, *, replace: bool = False) -> bool:
        written: bool = await self._run("schedule", timer, replace=replace)
        return written

    async def get(self, key: str) -> Timer | None:
        timer: Timer | None = await self._run("get", key)
        return timer

    async def due(self, now: datetime, *, limit: int = DEFAULT_LIMIT) -> list[Timer]:
        timers: list[Timer] = await self._run("due", now, limit=limit)
        return timers

    async def finish(self, key: str, state: TimerState, *, reason: str | None = None) -> bool:
        finished: bool = await self._run("finish", key, state, reason=reason)
        return finished

    async def cancel(
        self, *, customer_id: str, topics: Iterable[Topic], reason: str, order_id: str | None = None
    ) -> int:
        count: int = await self._run("cancel", customer_id=customer_id, topics=topics, reason=reason, order_id=order_id)
        return count

    async def pending(self, customer_id: str) -> list[Timer]:
        timers: list[Timer] = await self._run("pending", customer_id)
        return timers

    async def erase(self, customer_id: str) -> int:
        count: int = await self._run("erase", customer_id)
        return count

    async def for_customer(self, customer_id: str) -> list[Timer]:
        timers: list[Timer] = await self._run("for_customer", customer_id)
        return timers

    async def for_orders(self, order_ids: Iterable[str]) -> list[Timer]:
        timers: list[Timer] = await self._run("for_orders", order_ids)
        return timers

    async def forget(self, key: str, *, reason: str) -> bool:
        changed: bool = await self._run("forget", key, reason=reason)
        return changed

    async def reassign(self, customer_id: str, to: str) -> int:
        count: int = await self._run("reassign", customer_id, to)
        return count

    async def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[Timer]:
        page: Page[Timer] = await self._run("page", limit=limit, cursor=cursor)
        return page
