"""The in-memory store (``memory://``), for tests and notebooks: :class:`MemoryStore` and its parts."""

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
