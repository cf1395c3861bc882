"""Shared machinery of the SQL stores: dialects, schema and migrations, repositories, unit of work.

A new SQL backend supplies a :class:`Dialect` (or uses :data:`POSTGRESQL` / :data:`SQLITE`), a
:class:`SqlSession` over its driver's connection, and a :class:`SqlStore` subclass; the repositories,
queries, migrations and unit of work come from here, so every SQL store behaves the same.
"""

from custdata.storage.sql.repositories import (
    SqlActivityRepository,
    SqlCommunicationRepository,
    SqlCustomerRepository,
    SqlOrderRepository,
    SqlRepository,
)
from custdata.storage.sql.schema import POSTGRESQL, SQLITE, Dialect, Migration, Schema, migrate, schema_version
from custdata.storage.sql.session import SqlSession
from custdata.storage.sql.tables import CORE, reindex_customers
from custdata.storage.sql.unit_of_work import SqlStore, SqlUnitOfWork

__all__ = [
    "CORE",
    "POSTGRESQL",
    "SQLITE",
    "Dialect",
    "Migration",
    "Schema",
    "SqlActivityRepository",
    "SqlCommunicationRepository",
    "SqlCustomerRepository",
    "SqlOrderRepository",
    "SqlRepository",
    "SqlSession",
    "SqlStore",
    "SqlUnitOfWork",
    "migrate",
    "reindex_customers",
    "schema_version",
]
