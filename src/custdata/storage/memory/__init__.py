"""The in-memory store, for tests and notebooks: the same behaviour as the SQLite store, no file.

Records are kept as serialized documents (so nothing handed out aliases stored data), with the indexed
columns and search keys of :mod:`custdata.storage.records`. A unit of work collects its writes in an
overlay and applies them on commit; like SQLite, its first write takes the store's single write lock
(waiting up to ``timeout`` seconds, then :class:`~custdata.OperationalError`) until commit or rollback.
Data lives as long as the store object; ``memory://`` URLs always open a new, empty store.
"""

from custdata.storage.memory.data import Record
from custdata.storage.memory.repositories import (
    MemoryActivityRepository,
    MemoryCommunicationRepository,
    MemoryCustomerRepository,
    MemoryOrderRepository,
    MemoryRepository,
)
from custdata.storage.memory.store import MemoryStore, MemoryUnitOfWork, open_url

__all__ = [
    "MemoryActivityRepository",
    "MemoryCommunicationRepository",
    "MemoryCustomerRepository",
    "MemoryOrderRepository",
    "MemoryRepository",
    "MemoryStore",
    "MemoryUnitOfWork",
    "Record",
    "open_url",
]
