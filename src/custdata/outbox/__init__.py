"""The transactional outbox: messages stored with the change that caused them, sent once by a dispatcher.

- :mod:`custdata.outbox.model`: :class:`OutboxEntry` and :class:`Timer`, with their states;
- :mod:`custdata.outbox.ports`: what a store offers (``uow.outbox``, ``uow.timers``; an :class:`OutboxStore`);
- these two, and the memory and SQL tables, live in the storage layer (:mod:`custdata.storage.outbox`) and are
  exported here too;
- :mod:`custdata.outbox.service`: :func:`enqueue`, :func:`suppress`, :func:`cancel`, :func:`dead_letters`,
  :func:`requeue`, :func:`erase`, :func:`forget`, inside the caller's unit of work;
- :mod:`custdata.outbox.dispatcher`: the :class:`Dispatcher` that drains the outbox through a notifier;
- :func:`outbox_status` (an :class:`OutboxStatus`): what the outbox holds, what is due and why the rest waits.
"""

from custdata._errors import OutboxMissingError
from custdata.outbox.dispatcher import Dispatcher, DrainReport, RetryPolicy
from custdata.outbox.service import Forgotten, cancel, dead_letters, enqueue, erase, forget, requeue, suppress
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.ports import OutboxRepository, OutboxStore, OutboxUnitOfWork, TimerRepository
from custdata.storage.outbox.status import OutboxStatus, outbox_status

__all__ = [
    "Dispatcher",
    "DrainReport",
    "Forgotten",
    "OutboxEntry",
    "OutboxMissingError",
    "OutboxRepository",
    "OutboxState",
    "OutboxStatus",
    "OutboxStore",
    "OutboxUnitOfWork",
    "RetryPolicy",
    "Timer",
    "TimerRepository",
    "TimerState",
    "cancel",
    "dead_letters",
    "enqueue",
    "erase",
    "forget",
    "outbox_status",
    "requeue",
    "suppress",
]
