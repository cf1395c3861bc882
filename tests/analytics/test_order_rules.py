"""The order rules are kept once, in custdata.domain.order_rules, and every reader follows them: the stores'
aggregation SQL (SQLite, PostgreSQL), the streaming reference, the analytics functions and the customer 360
figures. Every combination of order status, return status, refund and time is checked against the rules, under
the shipped rules and under others put in their place (the SQL is rendered from the definitions, so it moves
with them)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from custdata import Customer, Money, Order, OrderLine, OrderStatus, Return, ReturnLine, ReturnReason, ReturnStatus
from custdata.analytics import StoreAnalytics, customer_facts
from custdata.customer360 import figures
from custdata.domain import order_rules
from custdata.storage import Store
from custdata.storage.aggregates import CustomerOrderFigures, OrderAggregates, order_figures
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore

AS_OF = datetime(2024, 6, 1, 12, tzinfo=UTC)
JUST_AFTER = AS_OF + timedelta(microseconds=1)
INDIA = timezone(timedelta(hours=5, minutes=30))
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def every_case() -> list[Order]:
    """One order per customer for every order status, return status, refund or none, placed at or just after
    AS_OF, return requested at or just after AS_OF (written in another offset)."""
    orders: list[Order] = []
    for status in OrderStatus:
        for ret_status in ReturnStatus:
            for refund in (None, Money("3.00", "EUR")):
                for placed in (AS_OF - timedelta(days=3), JUST_AFTER):
                    for requested in (AS_OF.astimezone(INDIA), JUST_AFTER.astimezone(INDIA)):
                        n = len(orders)
                        line = OrderLine("l1", "SHOE", "Shoe", 2, Money("10.00", "EUR"))
                        back = Return(
                            "r1", requested, (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE),), ret_status, refund
                        )
                        orders.append(
                            Order(f"o{n:03d}", f"c{n:03d}", "EUR", (line,), placed, status=status, returns=(back,))
                        )
    return orders


ORDERS = every_case()

# Rules to put in place of the shipped ones: (statuses not sold, returns not refunded, returns counted as back).
S, R = OrderStatus, ReturnStatus
VARIANTS: dict[str, tuple[frozenset[Any], frozenset[Any], frozenset[Any]]] = {
    "shipped": (order_rules.NOT_SOLD_STATUSES, order_rules.UNREFUNDED_RETURNS, order_rules.COUNTED_RETURNS),
    "stricter": (
        frozenset({S.CANCELLED, S.PLACED}),
        frozenset({R.DECLINED, R.CANCELLED, R.REQUESTED}),
        frozenset({R.RECEIVED, R.CLOSED}),
    ),
    "none": (frozenset(), frozenset(), frozenset()),
    "all but one": (frozenset(S) - {S.DELIVERED}, frozenset(R), frozenset({R.OPEN})),
}


@pytest.fixture(params=list(VARIANTS))
def rules(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[frozenset[Any], ...]:
    not_sold, unrefunded, counted = VARIANTS[request.param]
    monkeypatch.setattr(order_rules, "NOT_SOLD_STATUSES", not_sold)
    monkeypatch.setattr(order_rules, "UNREFUNDED_RETURNS", unrefunded)
    monkeypatch.setattr(order_rules, "COUNTED_RETURNS", counted)
    return not_sold, unrefunded, counted


def expected(orders: list[Order], as_of: datetime | None, rules: tuple[frozenset[Any], ...]) -> OrderAggregates:
    """The figures by the rules as the module docstring of order_rules words them, worked out here again."""
    not_sold, unrefunded, _ = rules
    rows, cancelled = [], 0
    for o in sorted(orders, key=lambda o: (o.customer_id, o.currency)):
        placed = as_of is None or o.placed_at <= as_of
        if o.status in not_sold or not placed:
            cancelled += placed
            continue
        refunds = sum(
            (
                r.refund.amount
                for r in o.returns
                if r.refund is not None and r.status not in unrefunded and (as_of is None or r.requested_at <= as_of)
            ),
            Decimal(0),
        )
        rows.append(
            CustomerOrderFigures(o.customer_id, o.currency, 1, o.total.amount, refunds, o.placed_at, o.placed_at)
        )
    return OrderAggregates(tuple(rows), cancelled)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store_of(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[list[Order]], Store]]:
    opened: list[Store] = []

    def make(orders: list[Order]) -> Store:
        if request.param == "postgresql":
            store: Store = request.getfixturevalue("new_store")(pool_max_size=2)
        else:
            store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / f"{len(opened)}.db")
            opened.append(store)
        with store.unit_of_work() as uow:
            uow.customers.add_many(Customer(o.customer_id, T0) for o in orders)
            uow.orders.add_many(orders)
            uow.commit()
        return store

    yield make
    for store in opened:
        store.close()


def test_every_store_follows_the_rules_in_place(store_of: Callable[[list[Order]], Store], rules: Any) -> None:
    store = store_of(ORDERS)
    analytics = StoreAnalytics(store)
    assert analytics.pushes_down == (not isinstance(store, MemoryStore))
    for as_of in (None, AS_OF):
        want = expected(ORDERS, as_of, rules)
        assert order_figures(ORDERS, as_of=as_of) == want
        assert analytics.order_figures(as_of=as_of) == want
        with store.unit_of_work() as uow:
            port = getattr(uow, "aggregates", None)
            if port is not None:
                assert port.order_figures(as_of=as_of) == want


def test_analytics_and_customer_360_follow_the_rules_in_place(rules: Any) -> None:
    not_sold, unrefunded, counted = rules
    facts = customer_facts(as_of=AS_OF, orders=ORDERS).by_id()
    for o in ORDERS:
        (back,) = o.returns
        sold = o.status not in not_sold
        refund = back.refund is not None and back.status not in unrefunded
        view = figures([o], [], as_of=AS_OF)
        assert (view.order_count, view.cancelled_orders) == ((1, 0) if sold else (0, 1))
        assert view.refunded == ({"EUR": Money("3.00", "EUR")} if sold and refund else {})
        assert view.items_returned == (1 if sold and back.status in counted else 0)
        if o.placed_at > AS_OF:
            assert o.customer_id not in facts
            continue
        fact = facts[o.customer_id]
        by_then = back.requested_at <= AS_OF
        assert (fact.orders, fact.cancelled_orders) == ((1, 0) if sold else (0, 1))
        assert fact.refunds.get("EUR", Money("0", "EUR")) == Money(
            "3.00" if sold and refund and by_then else "0", "EUR"
        )
        assert fact.items_returned == (1 if sold and by_then and back.status in counted else 0)


def test_the_rules_are_defined_once() -> None:
    """Everything that counts orders reads the one module: no other module spells a status set of its own."""
    from custdata.analytics import metrics, returns

    view = importlib.import_module("custdata.customer360.figures")

    assert metrics.UNREFUNDED_RETURNS is order_rules.UNREFUNDED_RETURNS
    assert returns.COUNTED_RETURNS is order_rules.COUNTED_RETURNS
    assert view.COUNTED_RETURNS is order_rules.COUNTED_RETURNS and view.OPEN_RETURNS is order_rules.OPEN_RETURNS
    src = Path(order_rules.__file__).resolve().parents[1]
    for folder in ("analytics", "customer360", "storage"):
        for path in (src / folder).rglob("*.py"):
            if path.is_relative_to(src / "storage" / "outbox"):
                continue  # the outbox's own states ('cancelled' messages), not order statuses
            text = path.read_text(encoding="utf-8")
            for name in ("OrderStatus.CANCELLED", "ReturnStatus.DECLINED", "'cancelled'", "'declined'"):
                assert name not in text, f"{path.relative_to(src)} spells {name} instead of using order_rules"


ANALYTICS = Path(order_rules.__file__).resolve().parents[1] / "analytics"
#: Storage modules below the ports: analytics must not reach into them.
ADAPTERS = ("custdata.storage.sql", "custdata.storage.sqlite", "custdata.storage.postgres", "custdata.storage.memory")


@pytest.mark.parametrize("path", sorted(ANALYTICS.rglob("*.py")), ids=lambda p: str(p.relative_to(ANALYTICS)))
def test_analytics_reaches_stores_only_through_ports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            assert not name.startswith(ADAPTERS) and name != "custdata.storage.records", f"{path.name} imports {name}"
