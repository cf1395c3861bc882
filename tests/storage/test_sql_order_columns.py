"""The order columns of schema version 3 (status, currency, total_minor, total, return_count) on SQLite and
PostgreSQL: every write keeps them equal to the order's document, and a database made by the previous release
(schema version 2) gets them filled in when it is opened, with the same analytics results.

PostgreSQL is the session's test server from the root ``tests/conftest.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import Customer, Money, Order, OrderLine, OrderStatus, Return, ReturnLine, ReturnReason, ReturnStatus
from custdata.analytics import historic_clv, order_metrics
from custdata.analytics.store import StoreAnalytics
from custdata.domain import OrderId
from custdata.domain.money import currency_exponent
from custdata.merge import merge, preview
from custdata.privacy import erase_customer
from custdata.storage.bulk import add_in_batches
from custdata.storage.postgres import PostgresStore
from custdata.storage.records import ORDERS, load_documents
from custdata.storage.sql import CORE, Schema, SqlRepository, SqlStore, schema_version
from custdata.storage.sql.tables import MINOR_LIMIT
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.strategies import orders as any_order

T0 = datetime(2024, 1, 1, tzinfo=UTC)
AS_OF = datetime(2024, 9, 1, tzinfo=UTC)
COLUMNS = "SELECT id, status, currency, total_minor, total, return_count, {doc_out} FROM orders ORDER BY id"


class _Version2:
    """Stops the core schema at version 2, as the previous release left it."""

    def migrate(self, schema: Schema = CORE, *, target: int | None = None) -> list[int]:
        capped = 2 if schema is CORE and target is None else target
        migrated: list[int] = super().migrate(schema, target=capped)  # type: ignore[misc]
        return migrated


class OldSQLiteStore(_Version2, SQLiteStore):
    pass


class OldPostgresStore(_Version2, PostgresStore):
    pass


class Databases:
    """Opens stores on new databases (SQLite files, PostgreSQL schemas) of one dialect; closes them all at the end."""

    def __init__(self, dialect: str, folder: Path, pg_url: str | None) -> None:
        self.dialect = dialect
        self._folder = folder
        self._pg_url = pg_url
        self.opened: list[SQLiteStore | PostgresStore] = []

    def new(self) -> str:
        """A database nobody has opened yet."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        return str(self._folder / f"{name}.db") if self.dialect == "sqlite" else name

    def open(self, where: str, *, old: bool = False) -> SQLiteStore | PostgresStore:
        """A store on ``where``, kept at schema version 2 when ``old``."""
        store: SQLiteStore | PostgresStore
        if self.dialect == "sqlite":
            store = (OldSQLiteStore if old else SQLiteStore)(where)
        else:
            assert self._pg_url is not None
            store = (OldPostgresStore if old else PostgresStore)(self._pg_url, schema=where, pool_max_size=2)
        self.opened.append(store)
        return store

    def fresh(self) -> SQLiteStore | PostgresStore:
        return self.open(self.new())


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    pg_url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    found = Databases(request.param, tmp_path, pg_url)
    yield found
    for store in found.opened:
        store.close()


def expected_columns(order: Order) -> tuple[Any, ...]:
    """What the columns must hold for ``order``, worked out the plain way."""
    amount = order.total.amount
    exponent = currency_exponent(order.currency)
    minor = None
    if exponent is not None:
        scaled = amount * Decimal(10) ** exponent
        if scaled == scaled.to_integral_value() and abs(scaled) < MINOR_LIMIT:
            minor = int(scaled)
    return (str(order.id), order.status.value, order.currency, minor, amount, len(order.returns))


def check_columns(store: SqlStore) -> list[Order]:
    """Every stored order's columns equal what its document says; returns the orders."""
    with store.unit_of_work() as uow:
        session = uow.session
        rows = session.fetch_all(session.dialect.render(COLUMNS))
    stored = load_documents(Order, [row[-1] for row in rows])
    for row, order in zip(rows, stored, strict=True):
        key, status, currency, minor, total, returns = row[:-1]
        assert (key, status, currency, minor, Decimal(total), returns) == expected_columns(order)
        if isinstance(total, str):  # SQLite keeps the total as the document writes it
            assert total == str(order.total.amount)
    return stored


def customers(n: int) -> list[Customer]:
    return [Customer(f"cus_{i}", T0) for i in range(n)]


def owned(orders: list[Order], n: int) -> list[Order]:
    """``orders`` with fresh ids, spread over customers ``cus_0`` .. ``cus_{n-1}``, without external references
    (which must be unique) or metadata (PostgreSQL refuses NUL characters there)."""
    return [
        attrs.evolve(o, id=OrderId.new(), customer_id=f"cus_{i % n}", version=0, external_ref=None, metadata={})
        for i, o in enumerate(orders)
    ]


def unusual_orders() -> list[Order]:
    """Totals a minor unit cannot hold (no ISO 4217 minor unit, too large), zero, and returns with refunds."""
    gold = Order("o-xau", "cus_0", "XAU", (OrderLine("l", "G", "Gold", 1, Money("1.0000005", "XAU")),), T0)
    yacht = Order("o-big", "cus_1", "EUR", (OrderLine("l", "Y", "Yacht", 3, Money("9999999999.99", "EUR")),), T0)
    free = Order("o-free", "cus_1", "JPY", (OrderLine("l", "F", "Free", 1, Money("0", "JPY")),), T0)
    back = Return("r1", T0 + timedelta(days=3), (ReturnLine("l", 1, ReturnReason.WRONG_SIZE),), ReturnStatus.CLOSED)
    returned = Order(
        "o-ret",
        "cus_2",
        "BHD",
        (OrderLine("l", "S", "Shoe", 2, Money("12.345", "BHD")),),
        T0 + timedelta(days=1),
        status=OrderStatus.DELIVERED,
        returns=(attrs.evolve(back, refund=Money("12.345", "BHD")), attrs.evolve(back, id="r2")),
    )
    cancelled = Order(
        "o-can", "cus_2", "EUR", (OrderLine("l", "S", "Shoe", 1, Money("5", "EUR")),), T0, status=OrderStatus.CANCELLED
    )
    return [gold, yacht, free, returned, cancelled]


def holding_unusual_orders(databases: Databases) -> tuple[SQLiteStore | PostgresStore, list[Order]]:
    """A fresh database with three customers and the unusual orders, which it returns too."""
    store = databases.fresh()
    orders = unusual_orders()
    with store.unit_of_work() as uow:
        uow.customers.add_many(customers(3))
        uow.orders.add_many(orders)
        uow.commit()
    return store, orders


def test_unusual_totals_and_returns(databases: Databases) -> None:
    store, orders = holding_unusual_orders(databases)
    by_id = {str(o.id): o for o in check_columns(store)}
    assert expected_columns(by_id["o-xau"])[3] is None
    assert expected_columns(by_id["o-big"])[3] is None  # 29,999,999,999.97 EUR is 3e12 cents
    assert expected_columns(by_id["o-free"])[3] == 0
    assert expected_columns(by_id["o-ret"])[3:] == (24690, Decimal("24.690"), 2)
    analytics = StoreAnalytics(store)
    assert analytics.historic_clv(as_of=AS_OF) == historic_clv(orders, as_of=AS_OF)
    assert analytics.order_metrics() == order_metrics(orders)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(any_order(), min_size=1, max_size=6),
    replacements=st.lists(any_order(), max_size=6),
    data=st.data(),
)
def test_every_write_keeps_the_columns_equal_to_the_document(
    databases: Databases, first: list[Order], replacements: list[Order], data: st.DataObject
) -> None:
    store = databases.fresh()
    with store.unit_of_work() as uow:
        uow.customers.add_many(customers(3))
        uow.commit()
    orders = owned(first, 3)
    split = data.draw(st.integers(0, len(orders)), label="added one by one")
    with store.unit_of_work() as uow:
        for o in orders[:split]:
            uow.orders.add(o)
        uow.orders.add_many(orders[split:])
        uow.commit()
    check_columns(store)
    with store.unit_of_work() as uow:
        for old, new in zip(orders, replacements, strict=False):
            # another status, currency, total and returns under the same id and owner
            changed = attrs.evolve(
                new, id=old.id, customer_id=old.customer_id, version=old.version, external_ref=None, metadata={}
            )
            uow.orders.update(changed)
        if data.draw(st.booleans(), label="delete one"):
            uow.orders.delete(orders[-1].id)
        uow.commit()
    check_columns(store)
    add_in_batches(store, owned(replacements, 3), batch_size=2)
    check_columns(store)


def test_merge_and_erasure_keep_the_columns(databases: Databases) -> None:
    store, _ = holding_unusual_orders(databases)
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, "cus_1", ["cus_2"]))
        uow.commit()
    erase_customer(store, "cus_1", purge=False)
    stored = check_columns(store)
    assert {str(o.customer_id) for o in stored if str(o.id) in ("o-ret", "o-can")} == {"cus_1"}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(any_order(), max_size=12))
def test_a_version_2_database_is_migrated_with_its_orders(databases: Databases, orders: list[Order]) -> None:
    orders = [*owned(orders, 3), *unusual_orders()]
    where = databases.new()
    old = databases.open(where, old=True)
    with old.unit_of_work() as uow:
        assert schema_version(uow.session, CORE.name) == 2
        uow.customers.add_many(customers(3))
        SqlRepository(lambda: uow.session, ORDERS).add_many(orders)  # as the previous release wrote them
        uow.commit()
    old.close()
    store = databases.open(where)
    with store.unit_of_work() as uow:
        assert schema_version(uow.session, CORE.name) == CORE.latest
    assert store.migrate() == []
    assert len(check_columns(store)) == len(orders)
    analytics = StoreAnalytics(store)
    assert analytics.historic_clv(as_of=AS_OF) == historic_clv(orders, as_of=AS_OF)
    assert analytics.historic_clv() == historic_clv(orders)
    assert analytics.order_metrics() == order_metrics(orders)
    with store.unit_of_work() as uow:
        for o in orders[:3]:
            uow.orders.update(attrs.evolve(o, status=OrderStatus.CANCELLED))
        uow.commit()
    check_columns(store)


@pytest.mark.parametrize("as_of", [None, AS_OF])
def test_sqlite_groups_orders_from_the_index_and_reads_documents_only_for_returns(
    tmp_path: Path, as_of: datetime | None
) -> None:
    from custdata.storage.sql.aggregates import _sqlite_sql

    with SQLiteStore(tmp_path / "plan.db") as store, store.unit_of_work() as uow:
        uow.customers.add_many(customers(3))
        uow.orders.add_many(unusual_orders())
        uow.commit()
        params = [] if as_of is None else [1] * 3
        plan = [row[3] for row in uow.session.fetch_all(f"EXPLAIN QUERY PLAN {_sqlite_sql(as_of is not None)}", params)]
    scans = [step for step in plan if step.startswith("SCAN") and " r " not in f" {step} " and "refunds" not in step]
    assert scans == ["SCAN orders USING COVERING INDEX orders_figures", "SCAN o USING INDEX orders_returned"], plan
    assert not any("TEMP B-TREE" in step for step in plan[: plan.index(scans[1])]), plan


class _OtherDialect:
    """A SQLite session under another dialect name, as a third-party SQL backend would present it."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.dialect = attrs.evolve(session.dialect, name="elsewhere")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


@pytest.mark.parametrize("other_dialect", [False, True])
def test_filling_the_columns_again_gives_the_same_values(tmp_path: Path, other_dialect: bool) -> None:
    from custdata.storage.sql.tables import fill_order_figures

    with SQLiteStore(tmp_path / "refill.db") as store:
        with store.unit_of_work() as uow:
            uow.customers.add_many(customers(3))
            uow.orders.add_many(unusual_orders())
            uow.session.execute(
                "UPDATE orders SET status = NULL, currency = NULL, total_minor = NULL, total = NULL, return_count = NULL"
            )
            fill_order_figures(_OtherDialect(uow.session) if other_dialect else uow.session, batch=2)
            uow.commit()
        assert len(check_columns(store)) == 5
