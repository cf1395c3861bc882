"""Reading a store for matching: the SQLite and PostgreSQL stores hand over their customer documents page by page,
read into records without building a Customer each, and give exactly the records of the customers themselves
(:meth:`CustomerRecord.from_customer`), merged and erased customers left out; the memory store pages through its
customers. Checked on generated customers in every store kind, and through the DuckDB engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from required_extras import require

from custdata import Address, Customer, EmailAddress, PhoneNumber, ValidationError
from custdata.matching import CustomerRecord, Matcher, store_records
from custdata.storage import Store, open_store
from custdata.storage.aggregates import customer_documents_of
from custdata.testing import strategies as cst

KINDS = ["memory", "sqlite", "postgres"]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=KINDS)
def open_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens a fresh, empty store of one kind each time it is called (a new SQLite file, a new schema)."""
    opened: list[Store] = []
    counter = iter(range(10**6))

    def make() -> Store:
        if request.param == "postgres":
            return request.getfixturevalue("new_store")(pool_max_size=2)  # type: ignore[no-any-return]
        url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/shop{next(counter)}.db"
        store = open_store(url)
        opened.append(store)
        return store

    make.kind = request.param  # type: ignore[attr-defined]
    yield make
    for store in opened:
        store.close()


@st.composite
def customer_sets(draw: st.DrawFn) -> list[Customer]:
    """Customers with every kind of contact data and address, some merged into another, some erased."""
    customers = draw(st.lists(cst.customers(), max_size=8, unique_by=lambda c: c.id))
    changed = []
    for customer in customers:
        customer = attrs.evolve(customer, metadata={}, private_metadata={})  # PostgreSQL refuses NUL in keys
        fate = draw(st.sampled_from(["kept", "kept", "merged", "erased"]))
        if fate == "merged" and customer.id != customers[0].id:
            customer = attrs.evolve(customer, merged_into=customers[0].id)
        elif fate == "erased":
            customer = attrs.evolve(customer, redacted_at=customer.created_at)
        changed.append(customer)
    return changed


def _expected(customers: list[Customer], include_merged: bool) -> list[CustomerRecord]:
    return [
        CustomerRecord.from_customer(c)
        for c in sorted(customers, key=lambda c: c.id)
        if c.redacted_at is None and (include_merged or c.merged_into is None)
    ]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(customers=customer_sets(), page_size=st.sampled_from([1, 2, 1000]), include_merged=st.booleans())
def test_the_records_read_from_a_store_are_those_of_its_customers(
    open_kind: Any, customers: list[Customer], page_size: int, include_merged: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_kind() as store:  # closed after each example: a server takes only so many connections
        with store.unit_of_work() as uow:
            uow.customers.add_many(customers)
            uow.commit()
        with store.unit_of_work() as uow:
            offered = customer_documents_of(uow) is not None
        assert offered == (open_kind.kind != "memory")
        if offered:
            # the documents are read as plain data: building a Customer on the way is what this path avoids
            import custdata.storage.records as records

            def no_customers(*_: object) -> Any:
                raise AssertionError("a Customer was built")

            monkeypatch.setattr(records, "load_documents", no_customers)
        got = list(store_records(store, page_size=page_size, include_merged=include_merged))
        monkeypatch.undo()
    assert got == _expected(customers, include_merged)


def test_the_duckdb_engine_matches_a_store_as_python_does(open_kind: Any) -> None:
    require("duckdb", "scale")
    from custdata.matching import generate_customers

    data = generate_customers(200, seed=4)
    customers = [_customer_of(record) for record in data.records]
    store = open_kind()
    with store.unit_of_work() as uow:
        uow.customers.add_many(customers)
        uow.commit()
    expected = Matcher().find_duplicates(CustomerRecord.from_customer(c) for c in sorted(customers, key=lambda c: c.id))
    assert len(expected) > 20
    got = Matcher(engine="duckdb").find_duplicates(store_records(store))
    assert (got.pairs, got.records, got.compared, got.blocking) == (
        expected.pairs,
        expected.records,
        expected.compared,
        expected.blocking,
    )


def _customer_of(record: CustomerRecord) -> Customer:
    """A stored customer holding what a synthetic record says, each part that a Customer accepts."""
    fields: dict[str, Any] = {"given_name": record.given_name, "family_name": record.family_name}
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("is_guest", lambda: bool(record.is_guest)),
        ("email", lambda: EmailAddress.parse(record.email or "")),
        ("phone", lambda: PhoneNumber.parse(record.phone or "", record.country)),
        ("birthday", lambda: date.fromisoformat(record.birthday or "")),
        (
            "addresses",
            lambda: (
                Address(
                    street_address_1=record.street or "",
                    postal_code=record.postal_code or "",
                    city=record.city or "",
                    country_code=record.country or "",
                ),
            ),
        ),
    ]
    for name, make in parts:
        try:
            trial = {**fields, name: make()}
            Customer(f"cus_{record.id}", created_at=T0, **trial)
        except (ValidationError, ValueError):
            continue
        fields = trial
    return Customer(f"cus_{record.id}", created_at=T0, **fields)


def test_the_dedupe_command_lists_the_same_pairs_on_duckdb(tmp_path: Path) -> None:
    require("duckdb", "scale")
    import json
    import os
    import subprocess
    import sys

    from custdata.matching import generate_customers

    path = tmp_path / "shop.db"
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        uow.customers.add_many(_customer_of(record) for record in generate_customers(150, seed=8).records)
        uow.commit()
    environment = {k: v for k, v in os.environ.items() if k not in {"CUSTDATA_STORE", "CUSTDATA_DEBUG"}}
    listed = {}
    for engine in ("python", "duckdb"):
        done = subprocess.run(
            [sys.executable, "-m", "custdata", "dedupe", "--json", "--engine", engine, "--store", str(path)],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        listed[engine] = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(listed["python"]) > 10
    assert listed["duckdb"] == listed["python"]
