"""The async dispatcher: the outbox drained by an asyncio task, through an async notifier.

:class:`AsyncDispatcher` keeps every promise of :class:`custdata.outbox.Dispatcher` (read its module
docstring): leases, retries with backoff, the entry and its customer read again just before each send (an entry
erased or cancelled meanwhile is not sent; nothing goes to an erased or deleted customer, no marketing without
consent), each result recorded at once in its own unit of work, a lease lost before recording written nowhere,
decided once and delivered at least once. It makes the very same decisions: both inherit them from
:class:`custdata.outbox.dispatcher.DispatchRules`, whose store accesses run inside the async units of work
(``uow.run_sync``); only the send is awaited. Run it as a background task of your service::

    stop = asyncio.Event()
    task = asyncio.create_task(AsyncDispatcher(store, notifier).run_forever(stop))
    ...
    stop.set()
    await task
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
from datetime import timedelta

from custdata._clock import Clock
from custdata._errors import OperationalError, ValidationError
from custdata._telemetry import log_event, set_attributes, span
from custdata.aio.store import AsyncStore
from custdata.notify.typing import AsyncNotifier
from custdata.outbox.dispatcher import DispatchRules, DrainReport, RetryPolicy, report_attributes
from custdata.storage.outbox.status import OutboxStatus

_log = logging.getLogger("custdata.outbox")


class AsyncDispatcher(DispatchRules):
    """Sends what the outbox of the async ``store`` holds through the async ``notifier`` (wrap a sync one in
    :class:`custdata.aio.ThreadedNotifier`); the options are those of :class:`custdata.outbox.Dispatcher`.

    One dispatcher sends one message at a time; run several (each with its own ``owner``) for more throughput:
    their leases never overlap.
    """

    def __init__(
        self,
        store: AsyncStore,
        notifier: AsyncNotifier,
        *,
        owner: str | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=5),
        lease_margin: timedelta = timedelta(seconds=30),
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        send = getattr(notifier, "send", None)
        if callable(send) and not inspect.iscoroutinefunction(send):
            raise ValidationError.single(
                "notifier", "must have an async send(message) method; wrap a sync notifier in ThreadedNotifier"
            )
        if not isinstance(store, AsyncStore):
            raise ValidationError.single("store", f"must be an async store, not {type(store).__name__}")
        super().__init__(
            notifier,
            owner=owner,
            batch_size=batch_size,
            lease=lease,
            lease_margin=lease_margin,
            retry=retry,
            clock=clock,
            rng=rng,
        )
        self.store = store
        self.notifier = notifier

    async def run_once(self) -> DrainReport:
        """Lease one batch, send it, record the results; a round with fewer ready entries than a batch ends with a
        look at what waits (``waiting``, ``next_due_at``), as :meth:`custdata.outbox.Dispatcher.run_once` does."""
        report = DrainReport()
        with span("outbox.drain", owner=self.owner, batch_size=self.batch_size) as current_span:
            async with self.store.unit_of_work() as uow:
                batch = await uow.run_sync(self.lease_batch)
            report.leased = len(batch)
            for entry in batch:
                now = self._clock()
                if self.running_out(entry, now):
                    break
                with span("outbox.send", entry=entry.id, topic=entry.topic.value, channel=entry.channel.value) as sp:
                    async with self.store.unit_of_work() as uow:
                        current, customer, event = await uow.run_sync(functools.partial(self.recheck, entry=entry))
                    if current is None:  # cancelled or erased since the lease (the customer's data was erased, say)
                        self.lost(entry, report)
                        set_attributes(sp, outcome="lost")
                        continue
                    settlement = self.before_send(current, now, customer)
                    if settlement is None:
                        assert current.message is not None
                        try:
                            result: object = await self.notifier.send(current.message)
                        except Exception as exc:  # noqa: BLE001 - a notifier bug must not stop the dispatcher
                            result = self.raised(exc)
                        settlement = self.after_send(current, result)
                    record = functools.partial(
                        self.record, entry=current, settlement=settlement, report=report, event=event
                    )
                    async with self.store.unit_of_work() as uow:
                        await uow.run_sync(record)
                    set_attributes(sp, outcome=settlement.state.value, attempts=current.attempts)
            if self.needs_look(report):
                async with self.store.unit_of_work() as uow:
                    await uow.run_sync(functools.partial(self.look, report=report))
            report_attributes(current_span, report)
        return report

    async def status(self) -> OutboxStatus:
        """What the outbox holds now (by this dispatcher's clock): counts by state, what is due, why the rest waits
        and when it falls due (:class:`~custdata.outbox.OutboxStatus`)."""
        async with self.store.unit_of_work() as uow:
            return await uow.run_sync(self.read_status)

    async def drain(self, *, max_rounds: int | None = None) -> DrainReport:
        """Run rounds until no entry is ready (or ``max_rounds`` ran); the sum of their reports."""
        total = DrainReport()
        rounds = 0
        while max_rounds is None or rounds < max_rounds:
            report = await self.run_once()
            rounds += 1
            total.add(report)
            if report.leased == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event, *, idle: float = 1.0) -> DrainReport:
        """Drain until ``stop`` is set, waiting ``idle`` seconds whenever nothing is ready (the wait ends early
        when ``stop`` is set). The store being unavailable for a while is logged and waited out, as by
        :meth:`custdata.outbox.Dispatcher.run`. Cancelling the task stops it too: the unit of work open then is
        rolled back, and a message being sent is recorded by whichever dispatcher leases it after its lease
        expires (at least once)."""
        total = DrainReport()
        while not stop.is_set():
            try:
                report = await self.run_once()
            except OperationalError as exc:
                log_event(_log, "outbox.store_unavailable", error=type(exc).__name__, retry_in=idle)
                await _wait(stop, idle)
                continue
            total.add(report)
            if report.leased == 0:
                await _wait(stop, idle)
        return total

    async def close(self) -> None:
        """Close the notifier if it holds connections (awaiting an async ``close()``)."""
        close = getattr(self.notifier, "close", None)
        if callable(close):
            closing = close()
            if inspect.isawaitable(closing):
                await closing


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass
