"""The transactional outbox: messages stored with the change that caused them, sent once by a dispatcher."""

from custdata.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.outbox.ports import OutboxRepository, OutboxUnitOfWork, TimerRepository

__all__ = [
    "OutboxEntry",
    "OutboxRepository",
    "OutboxState",
    "OutboxUnitOfWork",
    "Timer",
    "TimerRepository",
    "TimerState",
]
