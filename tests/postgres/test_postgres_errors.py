"""Every exception psycopg or its pool can raise becomes a custdata error, with no stored value in the message."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from pg_test_server import PostgresServer

from custdata import IntegrityError, OperationalError, ProgrammingError, StoreError, ValidationError

if TYPE_CHECKING:
    from custdata.storage.postgres import PostgresStore


def _driver_exceptions(pg_server: PostgresServer) -> list[type[BaseException]]:
    import psycopg
    import psycopg_pool
    from psycopg import errors

    found = {
        cls
        for module in (psycopg, errors, psycopg_pool)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, psycopg.Error | psycopg_pool.PoolTimeout | psycopg_pool.PoolClosed)
    }
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def test_every_driver_exception_class_is_translated(pg_server: PostgresServer) -> None:
    from custdata.storage._pg_values import translate

    classes = _driver_exceptions(pg_server)
    assert len(classes) > 200
    for cls in classes:
        exc: Any = cls("driver text with a secret value 'Jane Doe'")
        result = translate(exc)
        assert isinstance(result, StoreError | ValidationError), cls
        if getattr(cls, "sqlstate", None):
            assert "Jane Doe" not in str(result), cls


@pytest.mark.parametrize(
    ("name", "expected", "words"),
    [
        ("UniqueViolation", IntegrityError, "constraint"),
        ("ForeignKeyViolation", IntegrityError, "customer referred to"),
        ("NumericValueOutOfRange", ValidationError, "cannot store"),
        ("UntranslatableCharacter", ValidationError, "cannot store"),
        ("LockNotAvailable", OperationalError, "lock"),
        ("DeadlockDetected", OperationalError, "retry"),
        ("SerializationFailure", OperationalError, "retry"),
        ("QueryCanceled", OperationalError, "cancelled"),
        ("InFailedSqlTransaction", OperationalError, "roll back"),
        ("AdminShutdown", OperationalError, "57P01"),
        ("UndefinedTable", ProgrammingError, "42P01"),
        ("InsufficientPrivilege", ProgrammingError, "42501"),
    ],
)
def test_server_errors_map_by_kind(pg_server: PostgresServer, name: str, expected: type, words: str) -> None:
    from psycopg import errors

    from custdata.storage._pg_values import translate

    result = translate(getattr(errors, name)())
    assert type(result) is expected
    assert words in str(result)


def test_pool_and_client_errors_map_too(pg_server: PostgresServer) -> None:
    import psycopg
    import psycopg_pool

    from custdata.storage._pg_values import translate

    assert isinstance(translate(psycopg_pool.PoolClosed("closed")), ProgrammingError)
    assert isinstance(translate(psycopg_pool.PoolTimeout("couldn't get a connection")), OperationalError)
    assert isinstance(translate(psycopg.InterfaceError("the connection is closed")), OperationalError)
    assert isinstance(translate(psycopg.OperationalError("connection refused")), OperationalError)
    assert isinstance(translate(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates")), ValidationError)
    assert isinstance(translate(RuntimeError("other")), OperationalError)
    already = IntegrityError("ours")
    assert translate(already) is already


def test_printed_tracebacks_of_server_errors_quote_no_stored_value(new_store: Callable[..., PostgresStore]) -> None:
    import traceback

    from custdata.testing.store_contract import make_customer, make_message

    store = new_store()
    owner = make_customer()
    secret = "welcome:zebulon.quillfeatherby@example.org"
    with store.unit_of_work() as uow:
        uow.customers.add(owner)
        uow.communications.add(make_message(owner.id, idempotency_key=secret))
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(IntegrityError) as caught:
        uow.communications.add(make_message(owner.id, idempotency_key=secret))
    printed = "".join(traceback.format_exception(caught.value))
    assert "quillfeatherby" not in printed and "idempotency key" in printed
    assert caught.value.__cause__ is None


def test_a_client_side_failure_keeps_the_drivers_reason(pg_server: PostgresServer) -> None:
    from pg_test_server import free_port

    from custdata.storage.postgres import PostgresStore

    with pytest.raises(OperationalError) as caught:
        PostgresStore(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", timeout=2)
    assert caught.value.__cause__ is not None
