"""asyncio for custdata: async stores and units of work, async notifiers and the async dispatcher.

::

    store = await open_async_store("sqlite:///shop.db")
    async with store.unit_of_work() as uow:
        customer = await uow.customers.get(customer_id)
        ...
        await uow.commit()

See the *Async* page of the documentation for the backends, what runs in threads, and the dispatcher as a
background task.
"""

from custdata.aio.dispatcher import AsyncDispatcher
from custdata.aio.notify import AsyncRecordingNotifier, ThreadedNotifier
from custdata.aio.store import AsyncStore, AsyncUnitOfWork, ThreadedAsyncStore, open_async_store
from custdata.notify.typing import AsyncNotifier

__all__ = [
    "AsyncDispatcher",
    "AsyncNotifier",
    "AsyncRecordingNotifier",
    "AsyncStore",
    "AsyncUnitOfWork",
    "ThreadedAsyncStore",
    "ThreadedNotifier",
    "open_async_store",
]
