"""Importing customers with worker processes (``jobs``): the same store, report and rejects file as one process,
on SQLite, PostgreSQL and the memory store; and the rows a worker builds for a SQL store are the rows
``add_many`` writes."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shopify_columns import SHOPIFY_CUSTOMER_COLUMNS

from custdata import ValidationError, to_json
from custdata.importing import ImportOptions, ImportReport, RejectsFile, import_customers, read_rows
from custdata.importing.convert import CustomerFields, customer_from_fields
from custdata.storage import Store, open_store
from custdata.storage.sql.repositories import prepare_customer
from custdata.testing.strategies import customers

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
HEADER = ["Customer ID", *SHOPIFY_CUSTOMER_COLUMNS]
PLACES = [
    ("DE", "", "Berlin", "10115", "+49 30 {n:07d}"),
    ("US", "CA", "San Francisco", "94103", "+1 415 555 {n4:04d}"),
    ("GB", "", "London", "EC1Y 8SY", "+44 20 7946 {n4:04d}"),
]


def _row(n: int) -> list[str]:
    country, province, city, postal, phone = PLACES[n % len(PLACES)]
    return [
        str(900 + n),
        "Ada",
        "Lovelace",
        f"customer{n}@example.com",
        "yes" if n % 2 else "no",
        "",
        f"{n} Example Street",
        "",
        city,
        province,
        country,
        postal,
        "",
        phone.format(n=n, n4=n % 10_000),
        "no" if n % 3 else "yes",
        f"{n}.50",
        str(n % 7),
        "",
        "no",
        "vip" if n % 4 else "",
    ]


def _export(path: Path) -> Path:
    """Good rows with bad ones among them: every way a record is refused, dropped from or repaired in."""
    rows = [_row(n) for n in range(60)]
    rows[3][3] = "not-an-email"  # a bad email: refused
    rows[7][13] = "12"  # a bad phone: refused, or the field dropped
    rows[11][11] = "ABCDE"  # a postal code Germany does not have
    rows[15][0] = rows[14][0]  # the same customer twice
    rows[19][13] = "'+49 30 1234567"  # a spreadsheet's apostrophe: repaired
    rows[23][4] = "perhaps"  # a consent answer that is no yes or no
    rows[27][16] = "-3"  # a negative order count
    rows[31][0] = "x@example.com"  # an id holding an email address
    rows[40][10] = "ZZ"  # no such country
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows[:20])
        writer.writerow([*rows[20], "one value too many"])  # cannot be read at all
        writer.writerows(rows[21:])
        writer.writerow([*rows[50], "again too many", "values"])
    return path


def _import(store: Store, export: Path, rejects_path: Path, jobs: int, **options: Any) -> ImportReport:
    lines: list[int] = []
    with RejectsFile(rejects_path) as rejects:
        return import_customers(
            store,
            read_rows(export, "csv"),
            shopify=True,
            options=ImportOptions(platform="shopify", now=NOW, batch_size=4, **options),
            rejects=rejects,
            progress=lines.append,
            jobs=jobs,
        )


def _tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall())
            for table in ("customers", "customer_keys")
        }


@pytest.mark.parametrize("on_bad_field", ["reject_row", "drop_field"])
def test_workers_give_the_same_store_report_and_rejects_file_as_one_process_on_sqlite(
    tmp_path: Path, on_bad_field: str
) -> None:
    export = _export(tmp_path / "customers.csv")
    outcome: dict[int, tuple[dict[str, Any], dict[str, Any], list[bytes], Any]] = {}
    for jobs in (1, 2):
        db = tmp_path / f"shop{jobs}.db"
        with open_store(f"sqlite:///{db}") as store:
            made = _import(store, export, tmp_path / f"first{jobs}.csv", jobs, on_bad_field=on_bad_field)
            rerun = _import(store, export, tmp_path / f"again{jobs}.csv", jobs, on_bad_field=on_bad_field)
        files = [(tmp_path / f"{run}{jobs}.csv").read_bytes() for run in ("first", "again")]
        outcome[jobs] = (attrs.asdict(made), attrs.asdict(rerun), files, _tables(db))
    assert outcome[2] == outcome[1]
    first, again, files, tables = outcome[1]
    # the fixture exercises what it means to: refusals, repeats, unreadable lines, repairs, and a re-run skip
    assert (
        first["rejected"] >= 5
        and first["rejected"] + first["fields_dropped"] >= 8
        and first["imported"] > 40
        and first["batches"] > 10
    )
    assert b"the same customer as line" in files[0] and b"rejected" in files[0]
    assert first["repairs"] == {"apostrophe": 1}
    assert again["imported"] == 0 and again["skipped"] == first["imported"]
    assert len(tables["customers"]) == first["imported"]


def _documents(store: Store, ids: list[str]) -> dict[str, str]:
    with store.unit_of_work() as uow:
        return {key: to_json(customer) for key, customer in uow.customers.get_many(ids).items()}


@pytest.fixture(params=["memory", "postgresql"])
def other_store(request: pytest.FixtureRequest) -> Iterator[Callable[[], Store]]:
    if request.param == "memory":
        yield lambda: open_store("memory://")
    else:
        new_store = request.getfixturevalue("new_store")
        yield new_store


def test_workers_give_the_same_outcome_on_the_other_stores(tmp_path: Path, other_store: Callable[[], Store]) -> None:
    export = _export(tmp_path / "customers.csv")
    ids = [f"cus_shopify_{900 + n}" for n in range(60)]
    outcome = {}
    for jobs in (1, 2):
        store = other_store()
        report = _import(store, export, tmp_path / f"rejects{jobs}.csv", jobs)
        outcome[jobs] = (attrs.asdict(report), (tmp_path / f"rejects{jobs}.csv").read_bytes(), _documents(store, ids))
    assert outcome[2] == outcome[1]
    assert len(outcome[1][2]) == outcome[1][0]["imported"] > 40


def test_customers_known_by_email_are_recognised_again_with_workers(tmp_path: Path) -> None:
    path = tmp_path / "by_email.csv"
    rows = [_row(n) for n in range(12)]
    for row in rows:
        row[0] = ""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    with open_store(f"sqlite:///{tmp_path / 'shop.db'}") as store:
        first = _import(store, path, tmp_path / "first.csv", 2)
        again = _import(store, path, tmp_path / "again.csv", 2)
        with store.unit_of_work() as uow:
            assert uow.customers.count() == 12
    assert (first.imported, again.imported, again.skipped) == (12, 0, 12)


@pytest.mark.parametrize("jobs", [-1, True, 1.5, "2"])
def test_jobs_must_be_a_count_of_processes(tmp_path: Path, jobs: Any) -> None:
    with open_store("memory://") as store, pytest.raises(ValidationError) as caught:
        import_customers(store, iter([]), jobs=jobs)
    assert caught.value.problems[0].path == "jobs"


def test_a_sql_store_refuses_rows_of_another_customer(tmp_path: Path) -> None:
    context = CustomerFields("shopify", NOW)
    one = customer_from_fields({"id": "1", "email": "ada@example.com"}, context)
    other = customer_from_fields({"id": "2", "email": "grace@example.com"}, context)
    row, _ = prepare_customer(one)
    _, keys = prepare_customer(other)
    assert keys
    with open_store(f"sqlite:///{tmp_path / 'shop.db'}") as store, store.unit_of_work() as uow:
        with pytest.raises(ValidationError) as caught:
            uow.customers.add_prepared([(row, keys)])  # type: ignore[attr-defined]
        assert caught.value.problems[0].path == "prepared"
        uow.customers.add_prepared([prepare_customer(one)])  # type: ignore[attr-defined]
        assert list(uow.customers.get_many([one.id])) == [one.id]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(customers(), min_size=1, max_size=4, unique_by=lambda c: str(c.id)))
def test_rows_built_elsewhere_are_the_rows_add_many_writes(
    tmp_path_factory: pytest.TempPathFactory, batch: list[Any]
) -> None:
    folder = tmp_path_factory.mktemp("rows")
    writes: tuple[tuple[str, Callable[[Any], object]], ...] = (
        ("many", lambda uow: uow.customers.add_many(batch)),
        ("prepared", lambda uow: uow.customers.add_prepared([prepare_customer(c) for c in batch])),
    )
    for name, write in writes:
        with open_store(f"sqlite:///{folder / name}.db") as store, store.unit_of_work() as uow:
            write(uow)
            uow.commit()
    assert _tables(folder / "prepared.db") == _tables(folder / "many.db")


#: Values of one customer record as a worker receives them: with an id or known by email alone (guest or
#: registered), values a spreadsheet mangled, bad fields, and junk.
_record_values = st.fixed_dictionaries(
    {
        "id": st.one_of(st.none(), st.integers(1, 10**12).map(str), st.just("jo@example.com")),
        "email": st.one_of(st.none(), st.emails(), st.sampled_from(["Jo@Example.COM", "not an email", " a@b.de "])),
        "is_guest": st.sampled_from([None, "yes", "no", "maybe"]),
        "given_name": st.one_of(st.none(), st.text(max_size=8)),
        "phone": st.sampled_from([None, "+49 30 1234567", "4.15555E+10", "12", "+1 415 555 0123"]),
        "street_address_1": st.sampled_from([None, "1 Main St"]),
        "city": st.sampled_from([None, "Berlin"]),
        "postal_code": st.sampled_from([None, "10115", "1011", "2134"]),
        "country_code": st.sampled_from([None, "DE", "US", "XX"]),
        "accepts_marketing": st.sampled_from([None, "yes", "no", "sometimes"]),
        "orders_count": st.sampled_from([None, "3", "-1", "1e3"]),
    }
)


@settings(max_examples=40, deadline=None)
@given(
    records=st.lists(_record_values, min_size=1, max_size=6),
    drop=st.booleans(),
    rows=st.booleans(),
)
def test_what_a_worker_sends_back_is_rebuilt_to_what_it_made(
    records: list[dict[str, Any]], drop: bool, rows: bool
) -> None:
    from custdata.importing.importer import _outcome, _prepared, _quick, _unflat

    context = CustomerFields("shopify", NOW, "EUR", "shopify-csv")
    pending = [(n + 2, values, {name: name for name in values}) for n, values in enumerate(records)]
    known, outcomes = _unflat(_prepared("shopify", context, drop, rows, pending))
    assert known == [_quick("shopify", values) for _, values, _ in pending]
    expected = [_outcome(values, columns, context, drop, rows=rows) for _, values, columns in pending]
    assert [_comparable(o) for o in outcomes] == [_comparable(o) for o in expected]


def _comparable(outcome: Any) -> Any:
    """An outcome with the ids a record known by email gets at random, and the emails' types, made comparable."""
    if isinstance(outcome, list):
        return outcome
    customer, changes, written = outcome
    email = None if customer.email is None else (type(customer.email), customer.email.value, customer.email.canonical)
    random_id = customer.metadata.get("imported_from") is not None
    head = (
        type(customer.id),
        None if random_id else str(customer.id),
        email,
        customer.is_guest,
        dict(customer.metadata) if written is not None else None,
    )
    return head, changes, None if written is None or random_id else written
