"""The aggregate-query port: StoreAnalytics asks any store that offers it (a store of one's own too), streams
from stores that do not, and bad input to the port is reported by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import pytest
from analytics_builders import CUSTOMERS, T0, at, order, returned
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import Customer, Money, OrderStatus, ProgrammingError, ValidationError
from custdata.analytics import StoreAnalytics, historic_clv, order_metrics, rfm
from custdata.storage.aggregates import AggregateQueries, OrderAggregates, aggregates_of, order_figures
from custdata.storage.memory import MemoryStore, MemoryUnitOfWork
from custdata.storage.ports import walk
from custdata.storage.sql.aggregates import aggregate_orders, aggregate_queries
from custdata.storage.sqlite import SQLiteStore

ORDERS = [
    order("o1", "cus_a", 1),
    order("o2", "cus_a", 5, returns=(returned("r1", ("X", 1), refund=Money("4.00", "EUR"), day=6),)),
    order("o3", "cus_b", 2, currency="USD"),
    order("o4", "cus_b", 3, status=OrderStatus.CANCELLED),
]


class StreamingPort:
    """A store's own port: the reference over its orders, page by page; records what it was asked."""

    def __init__(self, uow: MemoryUnitOfWork, calls: list[datetime | None], answer: Any = None) -> None:
        self._uow, self._calls, self._answer = uow, calls, answer

    def order_figures(self, *, as_of: datetime | None = None) -> OrderAggregates:
        self._calls.append(as_of)
        if self._answer is not None:
            return self._answer  # type: ignore[no-any-return]
        return order_figures(walk(lambda c: self._uow.orders.page(limit=2, cursor=c)), as_of=as_of)


class PortUnitOfWork(MemoryUnitOfWork):
    @property
    def aggregates(self) -> AggregateQueries:
        store: PortStore = self._store  # type: ignore[assignment]
        return StreamingPort(self, store.calls, store.answer)


class PortStore(MemoryStore):
    """A store of one's own that offers the aggregate-query port."""

    def __init__(self, answer: Any = None) -> None:
        super().__init__()
        self.calls: list[datetime | None] = []
        self.answer = answer

    def unit_of_work(self) -> PortUnitOfWork:
        return PortUnitOfWork(self)


def filled(store: Any) -> Any:
    with store.unit_of_work() as uow:
        uow.customers.add_many(Customer(c, T0) for c in CUSTOMERS)
        uow.orders.add_many(ORDERS)
        uow.commit()
    return store


def test_a_store_of_ones_own_is_asked_through_the_port() -> None:
    store = filled(PortStore())
    analytics = StoreAnalytics(store)
    assert analytics.pushes_down
    as_of = at(5)
    assert analytics.historic_clv(as_of=as_of) == historic_clv(ORDERS, as_of=as_of)
    assert analytics.order_metrics() == order_metrics(ORDERS)
    assert analytics.rfm(as_of=as_of, currency="EUR") == rfm(ORDERS, as_of=as_of, currency="EUR")
    assert store.calls == [as_of, None, as_of]
    streaming = StoreAnalytics(store, pushdown=False)
    assert not streaming.pushes_down
    assert streaming.historic_clv() == historic_clv(ORDERS)
    assert len(store.calls) == 3  # not asked


def test_a_port_that_answers_something_else_is_a_programming_error() -> None:
    store = filled(PortStore(answer={"cus_a": 1}))
    with pytest.raises(ProgrammingError, match=r"StreamingPort\.order_figures returned dict"):
        StoreAnalytics(store).historic_clv()


def test_stores_without_the_port_stream() -> None:
    with MemoryStore() as store, store.unit_of_work() as uow:
        assert aggregates_of(uow) is None
        assert aggregates_of(object()) is None


class OtherDialect:
    """A SQLite session under another dialect name, as a third-party SQL backend would present it."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.dialect = attrs.evolve(session.dialect, name="elsewhere")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def test_an_sql_dialect_without_aggregation_statements_offers_no_port() -> None:
    with SQLiteStore() as store, store.unit_of_work() as uow:
        other = OtherDialect(uow.session)
        assert aggregate_queries(other, lambda: other) is None
        assert aggregate_queries(uow.session, lambda: uow.session) is not None
        with pytest.raises(ValidationError, match="elsewhere dialect"):
            aggregate_orders(other)


@pytest.mark.parametrize("as_of", [datetime(2024, 1, 1), "2024-01-01", 5])
def test_the_port_names_a_bad_as_of(as_of: Any) -> None:
    with SQLiteStore() as store, store.unit_of_work() as uow:
        assert uow.aggregates is not None
        with pytest.raises(ValidationError) as caught:
            uow.aggregates.order_figures(as_of=as_of)
        assert caught.value.problems[0].path == "as_of"
    with pytest.raises(ValidationError) as caught:
        order_figures(ORDERS, as_of=as_of)
    assert caught.value.problems[0].path == "as_of"


@pytest.mark.parametrize(
    ("orders", "path"), [(ORDERS[0], "orders"), ("orders", "orders"), (None, "orders"), ([ORDERS[0], {}], "orders[1]")]
)
def test_the_reference_names_what_is_not_an_order(orders: Any, path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        order_figures(orders)
    assert caught.value.problems[0].path == path


@settings(max_examples=30)
@given(day=st.integers(-1, 8))
def test_a_unit_of_work_sees_its_own_writes_through_the_port(day: int) -> None:
    with SQLiteStore() as store:
        filled(store)
        with store.unit_of_work() as uow:
            uow.orders.add(order("o9", "cus_c", 4, currency="EUR"))
            mine = order_figures([*ORDERS, order("o9", "cus_c", 4)], as_of=at(day))
            assert uow.aggregates is not None and uow.aggregates.order_figures(as_of=at(day)) == mine
        assert StoreAnalytics(store).order_figures() == order_figures(ORDERS)
