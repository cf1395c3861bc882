"""Long ``IN (...)`` lists go to PostgreSQL as one array parameter (``= ANY(%s)``), with the same results."""

from __future__ import annotations

from collections.abc import Callable

from custdata.storage._pg_values import _any_form, _with_arrays
from custdata.storage.postgres import PostgresStore
from custdata.testing.store_contract import make_customer

NewStore = Callable[..., PostgresStore]


def test_short_lists_and_statements_without_lists_are_left_alone() -> None:
    assert _any_form("SELECT doc FROM customers WHERE id = %s") is None
    assert _any_form("SELECT doc FROM customers WHERE id IN (%s, %s, %s)") is None
    sql = "SELECT doc FROM customers WHERE id IN (%s, %s)"
    assert _with_arrays(sql, ["a", "b"]) == (sql, ["a", "b"])


def test_each_long_list_becomes_one_array_parameter_in_its_place() -> None:
    first = ", ".join(["%s"] * 10)
    second = ", ".join(["%s"] * 9)
    sql = f"SELECT 1 FROM t WHERE a = %s AND x IN ({first}) AND b = %s AND y IN ({second}) AND z IN (%s, %s)"
    params = ["A", *range(10), "B", *range(100, 109), "z1", "z2"]
    rewritten, grouped = _with_arrays(sql, params)
    assert rewritten == "SELECT 1 FROM t WHERE a = %s AND x = ANY(%s) AND b = %s AND y = ANY(%s) AND z IN (%s, %s)"
    assert grouped == ["A", list(range(10)), "B", list(range(100, 109)), "z1", "z2"]


def test_get_many_of_many_ids_finds_exactly_the_stored_ones(new_store: NewStore) -> None:
    store = new_store()
    people = [make_customer() for _ in range(60)]
    with store.unit_of_work() as uow:
        uow.customers.add_many(people)
        uow.commit()
    wanted = [str(c.id) for c in people[::2]] + [f"{c.id}-missing" for c in people[:30]] + ["x'); DROP TABLE t; --"]
    with store.unit_of_work() as uow:
        found = uow.customers.get_many(wanted)
    assert found == {c.id: c for c in people[::2]}
