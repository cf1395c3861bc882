"""The outbox ports: what a store offers so that messages are written with their cause and sent once.

They live in the storage layer (:mod:`custdata.storage.outbox.ports`, which states the rules every
implementation keeps); this module exports the same names.
"""

from custdata.storage.outbox.ports import (
    OutboxRepository,
    OutboxStore,
    OutboxUnitOfWork,
    TimerRepository,
    has_outbox,
    outbox_unit_of_work,
)

__all__ = [
    "OutboxRepository",
    "OutboxStore",
    "OutboxUnitOfWork",
    "TimerRepository",
    "has_outbox",
    "outbox_unit_of_work",
]
