"""Values PostgreSQL cannot hold at all are refused whole, and nothing of them is stored.

Hostile strings as search arguments and as stored values (quotes, placeholders such as ``%s`` and ``$1``,
``LIKE`` wildcards, case and collation look-alikes) are checked on every store by the contract
(:class:`custdata.testing.StoreContract`), which ``test_postgres_store_contract.py`` runs here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from custdata import ValidationError
from custdata.storage.postgres import PostgresStore
from custdata.testing.store_contract import make_customer


@pytest.fixture(scope="module")
def store(pg_url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(pg_url, schema="hostile_values")
    yield opened
    opened.close()


def test_a_lone_surrogate_is_refused_and_nothing_of_it_is_stored(store: PostgresStore) -> None:
    with store.unit_of_work() as uow:
        before = uow.customers.count()
        for fields in ({"tags": frozenset({"\ud800"})}, {"display_name": "x\udfff"}, {"metadata": {"\ud800": 1}}):
            with pytest.raises(ValidationError):
                uow.customers.add(make_customer(**fields))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.count() == before


def test_a_nul_inside_metadata_is_refused_and_the_unit_of_work_goes_on(store: PostgresStore) -> None:
    kept = make_customer()
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError):
            uow.customers.add(make_customer(metadata={"note": "a\x00b"}))
        uow.customers.add(kept)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.get(kept.id) == kept
