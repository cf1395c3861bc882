"""The transactional outbox: messages stored with the change that caused them, sent once by a dispatcher.

- :mod:`custdata.outbox.model`: :class:`OutboxEntry` and :class:`Timer`, with their states;
- :mod:`custdata.outbox.ports`: what a store offers (``uow.outbox``, ``uow.timers``);
- :mod:`custdata.outbox.service`: :func:`enqueue`, :func:`suppress`, :func:`cancel`, :func:`dead_letters`,
  :func:`requeue`, :func:`erase`, inside the caller's unit of work;
- :mod:`custdata.outbox.dispatcher`: the :class:`Dispatcher` that drains the outbox through a notifier.
"""

from custdata.outbox.dispatcher import Dispatcher, DrainReport, RetryPolicy
from custdata.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.outbox.ports import OutboxRepository, OutboxUnitOfWork, TimerRepository
from custdata.outbox.service import cancel, dead_letters, enqueue, erase, requeue, suppress

__all__ = [
    "Dispatcher",
    "DrainReport",
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
    "requeue",
    "suppress",
]
