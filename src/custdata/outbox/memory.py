"""The outbox and timers of the in-memory store.

They live in the storage layer (:mod:`custdata.storage.outbox.memory`); this module exports the same names.
"""

from custdata.storage.outbox.memory import (
    MemoryOutboxRepository,
    MemoryTimerRepository,
    OutboxOverlay,
    OutboxTables,
    repositories,
)

__all__ = ["MemoryOutboxRepository", "MemoryTimerRepository", "OutboxOverlay", "OutboxTables", "repositories"]
