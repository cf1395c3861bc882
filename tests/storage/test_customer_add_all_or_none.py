"""Adding a customer writes its row and its search keys all or none, on every store: when the store refuses one
of the keys, no row is left behind, the unit of work goes on, and what it wrote before and after is kept.

The refusal is the database's own: a trigger (SQLite) or a check constraint (PostgreSQL) on ``customer_keys``
that refuses the keys of customers whose id starts with ``cus_refused``; the memory store, which keeps a
customer's row and keys in one record, is refused while that record's keys are built."""

from __future__ import annotations

import itertools
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from custdata import Customer, IntegrityError, NotFoundError, open_store
from custdata.storage.ports import Store
from custdata.storage.records import customer_keys
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.strategies import customers

REFUSED = "cus_refused"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    if request.param == "memory":
        import custdata.storage.memory.repositories as memory

        def refusing(customer: Customer) -> Any:
            if str(customer.id).startswith(REFUSED):
                raise IntegrityError("the search keys were refused")
            return customer_keys(customer)

        monkeypatch.setattr(memory, "customer_keys", refusing)
        opened: Store = open_store("memory://")
    elif request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "shop.db")
        with sqlite3.connect(tmp_path / "shop.db") as raw:
            raw.execute(
                "CREATE TRIGGER refuse_keys BEFORE INSERT ON customer_keys "
                f"WHEN NEW.customer_id LIKE '{REFUSED}%' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        raw.close()
    else:
        psycopg = pytest.importorskip("psycopg")
        url = request.getfixturevalue("pg_url")
        schema = f"keys_{uuid.uuid4().hex[:12]}"
        opened = open_store(f"{url}{'&' if '?' in url else '?'}schema={schema}&pool_max_size=2")
        with psycopg.connect(url, autocommit=True) as raw:
            raw.execute(
                f"ALTER TABLE {schema}.customer_keys ADD CONSTRAINT refuse_keys "
                f"CHECK (customer_id NOT LIKE '{REFUSED}%')"
            )
    try:
        yield opened
    finally:
        opened.close()


_COUNT = itertools.count()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.none() | customers(), refused=customers(), after=customers())
def test_a_customer_whose_keys_are_refused_leaves_no_row(
    store: Store, before: Customer | None, refused: Customer, after: Customer
) -> None:
    assume(customer_keys(refused))  # a customer without keys writes its row alone
    n = next(_COUNT)
    refused = _plain(refused, f"{REFUSED}_{n}")
    kept = [_plain(c, f"cus_kept_{n}_{i}") for i, c in enumerate((before, after)) if c is not None]
    with store.unit_of_work() as uow:
        if before is not None:
            uow.customers.add(kept[0])
        with pytest.raises(IntegrityError):
            uow.customers.add(refused)
        uow.customers.add(kept[-1])  # the unit of work goes on
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            uow.customers.get(refused.id)
        assert all(refused.id not in {c.id for c in uow.customers.find_by_email(e)} for e in _emails(refused))
        found = uow.customers.get_many(c.id for c in kept)
        assert sorted(found) == sorted(c.id for c in kept)
        for customer in kept:
            for email in _emails(customer):
                assert customer.id in {c.id for c in uow.customers.find_by_email(email)}


def _plain(customer: Customer, customer_id: str) -> Customer:
    """``customer`` under ``customer_id``, without metadata (whose NUL characters PostgreSQL refuses anyway)."""
    return attrs.evolve(customer, id=customer_id, metadata={}, private_metadata={})


def _emails(customer: Customer) -> list[str]:
    return [str(e) for e in (customer.email, *customer.other_emails) if e is not None]
