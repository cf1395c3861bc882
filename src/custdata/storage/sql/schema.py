"""SQL dialects, the versioned schema and the migration runner shared by the SQL stores.

A :class:`Schema` is a named, ordered list of :class:`Migration` steps. Each store records in the table
``custdata_migrations`` which version of which schema it has, and applies the missing steps when it opens,
one transaction per migration, under the store's write lock (two processes opening an old file at once
migrate it once). Components that keep tables of their own (an outbox, say) declare their own ``Schema``
with another name and call ``store.migrate(schema)``; their versions are counted separately.

Steps are SQL templates or Python callables taking the :class:`~custdata.storage.sql.session.SqlSession`.
Templates use ``{tokens}`` for what differs between dialects (types, collation) and ``?`` for parameters;
:meth:`Dialect.render` turns them into the dialect's SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import attrs

from custdata._errors import OperationalError
from custdata.storage.records import micros

if TYPE_CHECKING:
    from custdata.storage.sql.session import SqlSession


@attrs.frozen
class Dialect:
    """What the shared SQL needs to know about a database.

    ``tokens`` fill the ``{name}`` slots of templates: ``key`` (text compared in code point order), ``doc``
    (the document type), ``bigint``, ``amount`` (an exact decimal: ``numeric``, or its text where there is no
    such type), ``without_rowid`` (a table option), ``doc_in`` (how a document
    parameter is written) and ``doc_out`` (how a document column is read back as text).
    """

    name: str
    placeholder: str
    tokens: tuple[tuple[str, str], ...]
    table_exists_sql: str
    max_params: int = 900

    def render(self, template: str) -> str:
        """``template`` with its tokens filled in and ``?`` replaced by this dialect's placeholder."""
        return _render(self, template)


@lru_cache(maxsize=2048)
def _render(dialect: Dialect, template: str) -> str:
    text = template.format_map(dict(dialect.tokens)) if "{" in template else template
    return text.replace("?", dialect.placeholder) if dialect.placeholder != "?" else text


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    tokens=(
        ("key", "TEXT"),
        ("doc", "TEXT"),
        ("bigint", "INTEGER"),
        ("amount", "TEXT"),
        ("without_rowid", " WITHOUT ROWID"),
        ("doc_in", "?"),
        ("doc_out", "doc"),
    ),
    table_exists_sql="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
)

#: Suggested PostgreSQL dialect: text keys in "C" collation (code point order), JSONB documents.
POSTGRESQL = Dialect(
    name="postgresql",
    placeholder="%s",
    tokens=(
        ("key", 'TEXT COLLATE "C"'),
        ("doc", "JSONB"),
        ("bigint", "BIGINT"),
        ("amount", "NUMERIC"),
        ("without_rowid", ""),
        ("doc_in", "?::jsonb"),
        ("doc_out", "doc::text"),
    ),
    table_exists_sql=(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"
    ),
    max_params=10_000,
)


Step = str | Callable[["SqlSession"], None]


@attrs.frozen
class Migration:
    """One schema version: what it is for and the steps that take the previous version to it."""

    version: int
    description: str
    steps: tuple[Step, ...]


@attrs.frozen
class Schema:
    """A named sequence of migrations, versions counting up from 1 without gaps."""

    name: str
    migrations: tuple[Migration, ...]

    def __attrs_post_init__(self) -> None:
        versions = [m.version for m in self.migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"schema {self.name!r}: migration versions must be 1, 2, 3, ... in order")

    @property
    def latest(self) -> int:
        return len(self.migrations)


_LEDGER = """CREATE TABLE IF NOT EXISTS custdata_migrations (
    schema_name {key} NOT NULL,
    version {bigint} NOT NULL,
    description TEXT NOT NULL,
    applied_us {bigint} NOT NULL,
    PRIMARY KEY (schema_name, version)
)"""


def schema_version(session: SqlSession, schema_name: str) -> int:
    """The version of ``schema_name`` recorded in the database (0 when none)."""
    dialect = session.dialect
    if session.fetch_one(dialect.render(dialect.table_exists_sql), ("custdata_migrations",)) is None:
        return 0
    row = session.fetch_one(
        dialect.render("SELECT max(version) FROM custdata_migrations WHERE schema_name = ?"), (schema_name,)
    )
    return int(row[0]) if row and row[0] is not None else 0


def migrate(session: SqlSession, schema: Schema, *, target: int | None = None) -> list[int]:
    """Apply the migrations of ``schema`` the database lacks (up to ``target``); returns their versions.

    Each migration runs in its own transaction, re-checking the version once it holds the write lock.
    A database newer than this release is an :class:`~custdata.OperationalError`.
    """
    from datetime import UTC, datetime

    goal = schema.latest if target is None else target
    current = schema_version(session, schema.name)
    if current > schema.latest:
        raise OperationalError(
            f"the database has schema {schema.name!r} version {current}, newer than this release knows "
            f"({schema.latest}); upgrade custdata"
        )
    applied: list[int] = []
    dialect = session.dialect
    for migration in schema.migrations:
        if migration.version <= current or migration.version > goal:
            continue
        session.execute(dialect.render(_LEDGER))
        if schema_version(session, schema.name) >= migration.version:
            session.rollback()
            continue
        for step in migration.steps:
            if isinstance(step, str):
                session.execute(dialect.render(step))
            else:
                step(session)
        session.execute(
            dialect.render(
                "INSERT INTO custdata_migrations (schema_name, version, description, applied_us) VALUES (?, ?, ?, ?)"
            ),
            (schema.name, migration.version, migration.description, micros(datetime.now(UTC))),
        )
        session.commit()
        applied.append(migration.version)
    return applied
