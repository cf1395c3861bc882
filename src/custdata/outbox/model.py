"""What the outbox keeps: :class:`OutboxEntry` and :class:`Timer`, with their states.

They live in the storage layer (:mod:`custdata.storage.outbox.model`); this module exports the same classes.
"""

from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState

__all__ = ["OutboxEntry", "OutboxState", "Timer", "TimerState"]
