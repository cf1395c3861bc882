"""The outbox's tables in the storage layer: entries and timers (:mod:`.model`), the ports a store offers for them
(:mod:`.ports`), what it holds and why (:mod:`.status`) and their memory (:mod:`.memory`) and SQL (:mod:`.sql`) implementations.

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
from custdata.storage.outbox.status import OutboxStatus, PendingSummary, outbox_status, read_status

__all__ = [
    "OutboxEntry",
    "OutboxMissingError",
    "OutboxRepository",
    "OutboxState",
    "OutboxStatus",
    "OutboxStore",
    "OutboxUnitOfWork",
    "Timer",
    "TimerRepository",
    "PendingSummary",
    "TimerState",
    "has_outbox",
    "outbox_status",
    "outbox_unit_of_work",
    "read_status",
]
