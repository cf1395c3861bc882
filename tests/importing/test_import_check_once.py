"""A one-process import checks each customer once, when it is built, and hands a SQL store the customer's rows
built from it (``prepare_customer`` and ``add_prepared``) instead of ``add_many``, which would check it again. The
reference: each record converted on its own with ``customer_from_fields`` and the customers accepted added with
``add_many``; the same rows in both tables of a SQLite file, and the same records refused, on generated records
with bad values anywhere."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import ValidationError
from custdata.importing import ImportOptions, RejectsList, Row, import_customers
from custdata.importing.convert import CustomerFields, customer_from_fields
from custdata.storage import open_store

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)

_values = st.fixed_dictionaries(
    {
        "email": st.one_of(st.none(), st.emails(), st.sampled_from(["Jo@Example.COM", "not an email", " a@b.de "])),
        "given_name": st.one_of(st.none(), st.text(max_size=8)),
        "family_name": st.one_of(st.none(), st.sampled_from(["Müller", "O'Brien", "x" * 300])),
        "phone": st.sampled_from([None, "+49 30 1234567", "+49 30 12-34-567", "12", "+1 415 555 0123", "0 0"]),
        "street_address_1": st.sampled_from([None, "1 Main St"]),
        "city": st.sampled_from([None, "Berlin", "San Francisco"]),
        "postal_code": st.sampled_from([None, "10115", "1011", "94103"]),
        "country_code": st.sampled_from([None, "DE", "US", "XX"]),
        "accepts_marketing": st.sampled_from([None, "yes", "no", "sometimes"]),
        "tags": st.sampled_from([None, "vip", "newsletter, repeat", "a" * 300]),
        "orders_count": st.sampled_from([None, "3", "-1"]),
        "locale": st.sampled_from([None, "de-DE", "en_us", "!!"]),
    }
)


def _tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("customers", "customer_keys")
        }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_values, min_size=1, max_size=8))
def test_an_import_stores_the_rows_add_many_writes_for_the_customers_it_accepts(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]
) -> None:
    folder = tmp_path_factory.mktemp("once")
    records = [{"id": str(1000 + n), **values} for n, values in enumerate(records)]
    options = ImportOptions(platform="shop", now=NOW, currency="EUR", batch_size=3)
    rows = [Row(n + 2, {k: v for k, v in values.items() if v is not None}) for n, values in enumerate(records)]
    rejects = RejectsList()
    with open_store(f"sqlite:///{folder / 'import.db'}") as store:
        report = import_customers(store, rows, options=options, rejects=rejects)
    context = CustomerFields("shop", NOW, "EUR")
    accepted, refused = [], []
    for row in rows:
        try:
            accepted.append(customer_from_fields(row.fields, context))
        except ValidationError:
            refused.append(row.line)
    with open_store(f"sqlite:///{folder / 'reference.db'}") as store, store.unit_of_work() as uow:
        uow.customers.add_many(accepted)
        uow.commit()
    assert _tables(folder / "import.db") == _tables(folder / "reference.db")
    assert report.imported == len(accepted) and sorted({line for line, *_ in rejects.items}) == refused
