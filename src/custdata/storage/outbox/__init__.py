"""The outbox's tables in the storage layer: entries and timers (:mod:`.model`), the ports a store offers for them
(:mod:`.ports`) and their memory (:mod:`.memory`) and SQL (:mod:`.sql`) implementations.

The service and the dispatcher that use them are :mod:`custdata.outbox`, which exports these names too.
"""

from custdata._errors import OutboxMissingError
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.ports import (
    OutboxRepository,
    OutboxStore,
    OutboxUnitOfWork,
    TimerRepository,
    has_outbox,
    outbox_unit_of_work,
)

__all__ = [
    "OutboxEntry",
    "OutboxMissingError",
    "OutboxRepository",
    "OutboxState",
    "OutboxStore",
    "OutboxUnitOfWork",
    "Timer",
    "TimerRepository",
    "TimerState",
    "has_outbox",
    "outbox_unit_of_work",
]
