"""The outbox and timers of the SQL stores.

They live in the storage layer (:mod:`custdata.storage.outbox.sql`); this module exports the same names.
"""

from custdata.storage.outbox.sql import MIGRATION_STEPS, SCHEMA, SqlOutboxRepository, SqlTimerRepository

__all__ = ["MIGRATION_STEPS", "SCHEMA", "SqlOutboxRepository", "SqlTimerRepository"]
