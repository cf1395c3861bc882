"""Schema version 4: the ``merged_into`` search key is built for existing customers, and the merge records of
undone merges that earlier versions left with whole snapshots of the customers are cut down to ids and times."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from custdata import Customer, EmailAddress, to_json
from custdata.merge import MergeRecord, merge, merges_of, preview, undo
from custdata.storage import CustomerQuery
from custdata.storage.postgres import PostgresStore
from custdata.storage.sql import CORE, Schema, SqlStore, schema_version
from custdata.storage.sqlite import SQLiteStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class _Version3:
    """Stops the core schema at version 3, as the previous release left it."""

    def migrate(self, schema: Schema = CORE, *, target: int | None = None) -> list[int]:
        capped = 3 if schema is CORE and target is None else target
        done: list[int] = super().migrate(schema, target=capped)  # type: ignore[misc]
        return done


class OldSQLiteStore(_Version3, SQLiteStore):
    pass


class OldPostgresStore(_Version3, PostgresStore):
    pass


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """``opener(old)`` opens the same database each time, at schema version 3 when ``old``."""
    opened: list[SqlStore] = []
    where = f"m_{uuid.uuid4().hex[:12]}"
    pg_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None

    def open_(old: bool = False) -> SqlStore:
        store: SqlStore
        if pg_url is None:
            store = (OldSQLiteStore if old else SQLiteStore)(tmp_path / f"{where}.db")
        else:
            store = (OldPostgresStore if old else PostgresStore)(pg_url, schema=where, pool_max_size=2)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def person(cid: str, name: str) -> Customer:
    return Customer(
        id=cid, created_at=T0, given_name=name, family_name=f"{name}son", email=EmailAddress(f"{name.lower()}@x.org")
    )


def test_version_4_cuts_old_undone_merge_records_and_indexes_merged_records(opener: Any) -> None:
    old = opener(old=True)
    with old.unit_of_work() as uow:
        assert schema_version(uow.session, CORE.name) == 3
        for c in (person("cus_a", "Alderney"), person("cus_b", "Brixworth"), person("cus_c", "Cotswold")):
            uow.customers.add(c)
        uow.customers.add(person("cus_d", "Dunmore"))
        uow.commit()
    with old.unit_of_work() as uow:
        undone = merge(uow, preview(uow, "cus_a", ["cus_b"], at=T0), at=T0)
        kept = merge(uow, preview(uow, "cus_c", ["cus_d"], at=T0), at=T0)
        uow.commit()
    with old.unit_of_work() as uow:
        done = undo(uow, undone.id, at=T0 + timedelta(days=1))
        uow.activity.update(attrs.evolve(done, before=undone.before).to_event())  # as earlier versions wrote it
        session = uow.session  # the search keys earlier versions had: none for merged records
        session.execute(session.dialect.render("DELETE FROM customer_keys WHERE field = ?"), ("merged_into",))
        uow.commit()
    with old.unit_of_work() as uow:
        assert "Brixworth" in to_json(merges_of(uow, "cus_a")[0])
        assert uow.customers.count(CustomerQuery(merged_into="cus_c")) == 0
    old.close()
    store = opener()
    with store.unit_of_work() as uow:
        assert schema_version(uow.session, CORE.name) == CORE.latest == 5
        (record,) = merges_of(uow, "cus_a")
        assert record.undone_at == done.undone_at
        assert [(c.id, c.created_at, c.is_guest) for c in record.before] == [
            (c.id, c.created_at, c.is_guest) for c in undone.before
        ]
        assert not any(c.given_name or c.email for c in record.before)
        assert record == attrs.evolve(done, before=record.before)  # nothing else changed
        assert MergeRecord.from_event(uow.activity.get(kept.id)) == kept  # a merge in force keeps its snapshots
        assert [c.id for c in uow.customers.search(CustomerQuery(merged_into="cus_c"))] == ["cus_d"]
        assert uow.customers.count(CustomerQuery(merged_into="cus_a")) == 0
    assert store.migrate() == []
    with store.unit_of_work() as uow:  # the merge in force can still be undone after the migration
        undo(uow, kept.id, at=T0 + timedelta(days=2))
        uow.commit()
