"""Stores for customers, orders, communication and activity events, opened from a URL.

``open_store(url)`` picks the backend from the URL scheme:

- ``memory://``: in the process's memory, for tests and notebooks;
- ``sqlite:///shop.db`` (a relative path) or ``sqlite:////var/data/shop.db`` (absolute, four slashes):
  a SQLite file, the default embedded store; ``sqlite://`` gives a private temporary SQLite database that is
  removed when the store is closed;
- ``postgresql://user:password@host:port/dbname``: PostgreSQL, with the ``custdata[postgres]`` extra.

Every backend module offers ``open_url(url) -> Store``; the PostgreSQL one is imported only when asked for.
The ports (protocols) that every store implements are in :mod:`custdata.storage.ports`.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from urllib.parse import urlsplit

from custdata._errors import MissingExtraError, ProgrammingError
from custdata.storage.bulk import add_in_batches
from custdata.storage.ports import (
    ActivityRepository,
    CommunicationRepository,
    CustomerQuery,
    CustomerRepository,
    FindsByEmails,
    KeepsSuppressions,
    LocksEmails,
    OrderRepository,
    Page,
    Store,
    UnitOfWork,
    find_by_emails,
    lock_email,
    walk,
)

_BACKENDS = {
    "memory": "custdata.storage.memory",
    "sqlite": "custdata.storage.sqlite",
    "postgresql": "custdata.storage.postgres",
    "postgres": "custdata.storage.postgres",
}


def open_store(url: str) -> Store:
    """Open the store that ``url`` names; see the module docstring for the schemes.

    Raises :class:`custdata.ProgrammingError` for an unknown scheme or a missing optional dependency,
    and :class:`custdata.OperationalError` when the database cannot be reached or opened.
    """
    if not isinstance(url, str):
        raise ProgrammingError(f"a store URL must be a string, not {type(url).__name__}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ProgrammingError("a store URL has no control characters (such as NUL or a line break)")
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:
        raise ProgrammingError(f"not a store URL: {exc}") from None
    module_name = _BACKENDS.get(scheme)
    if module_name is None:
        known = ", ".join(f"{s}://" for s in ("memory", "sqlite", "postgresql"))
        raise ProgrammingError(f"unknown store URL scheme {scheme + '://' if scheme else '(none)'}; use {known}")
    backend = _import_backend(module_name)
    store: Store = backend.open_url(url)
    return store


def _import_backend(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in {"psycopg", "psycopg_pool"}:
            raise MissingExtraError(missing, "postgres", "the PostgreSQL store") from exc
        raise


__all__ = [
    "ActivityRepository",
    "CommunicationRepository",
    "CustomerQuery",
    "CustomerRepository",
    "FindsByEmails",
    "KeepsSuppressions",
    "LocksEmails",
    "OrderRepository",
    "Page",
    "Store",
    "UnitOfWork",
    "add_in_batches",
    "find_by_emails",
    "lock_email",
    "open_store",
    "walk",
]
