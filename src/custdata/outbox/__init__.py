"""The transactional outbox: messages stored with the change that caused them, sent once by a dispatcher.

- :mod:`custdata.outbox.model`: :class:`OutboxEntry` and :class:`Timer`, with their states;
- :mod:`custdata.outbox.ports`: what a store offers (``uow.outbox``, ``uow.timers``);
- :mod:`custdata.outbox.service`: :func:`enqueue`, :func:`suppress`, :func:`cancel`, :func:`dead_letters`,
  :func:`requeue`, :func:`erase`, :func:`forget`, inside the caller's unit of work;
- :mod:`custdata.outbox.dispatcher`: the :class:`Dispatcher` that drains the outbox through a notifier.
"""

from custdata.outbox.dispatcher import Dispatcher, DrainReport, RetryPolicy
from custdata.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.outbox.ports import OutboxRepository, OutboxUnitOfWork, TimerRepository
from custdata.outbox.service import Forgotten, cancel, dead_letters, enqueue, erase, forget, requeue, suppress

__all__ = [
    "Dispatcher",
    "DrainReport",
    "Forgotten",
    "OutboxEntry",
    "OutboxRepository",
    "OutboxState",
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
    "requeue",
    "suppress",
]
