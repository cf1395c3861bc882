"""Memory stays flat as orders grow: StoreAnalytics holds one page and per-customer figures, never all orders.

The same calls run over a SQLite file with N and with 4N orders from the same few customers; the peak of
Python allocations (tracemalloc) while a call runs must stay well under twice the peak for N. Holding the
orders would make it about four times as large.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from analytics_builders import CUSTOMERS, T0, at, line, order, returned

from custdata import Customer, Money, OrderStatus
from custdata.analytics import (
    StoreAnalytics,
    cohort_retention,
    historic_clv,
    return_rates_by_product,
)
from custdata.storage.sqlite import SQLiteStore

N = 250
STATUSES = (OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.SHIPPED)


def build(path: Path, count: int) -> Path:
    """A SQLite file with ``count`` orders (a few cancelled, some returned and refunded) of ten customers."""
    with SQLiteStore(path) as store, store.unit_of_work() as uow:
        uow.customers.add_many(Customer(c, T0) for c in CUSTOMERS)
        uow.orders.add_many(
            order(
                f"o{i:07d}",
                CUSTOMERS[i % len(CUSTOMERS)],
                (i * 7) % 400,
                line("SHOE-1", "79.90", 1 + i % 2, size=str(40 + i % 4)),
                line("TEE-1", "19.00", line_id="tee"),
                status=STATUSES[i % len(STATUSES)],
                returns=(returned("r1", ("SHOE-1", 1), refund=Money("79.90", "EUR")),) if i % 5 == 0 else (),
            )
            for i in range(count)
        )
        uow.commit()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("memory")
    return {n: build(folder / f"orders-{n}.db", n) for n in (N, 4 * N)}


def peak(path: Path, work: Callable[[StoreAnalytics], object], **options: object) -> int:
    """The peak of Python allocations while ``work`` runs on the store at ``path``."""
    with SQLiteStore(path) as store:
        analytics = StoreAnalytics(store, **options)  # type: ignore[arg-type]
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            work(analytics)
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()


AS_OF = at(500)
WORK: dict[str, tuple[Callable[[StoreAnalytics], object], dict[str, object]]] = {
    "pushed-down clv, metrics and rfm": (
        lambda a: (a.historic_clv(), a.order_metrics(), a.rfm(as_of=AS_OF, currency="EUR")),
        {},
    ),
    "streamed metrics and rfm": (
        lambda a: (a.order_metrics(), a.rfm(as_of=AS_OF, currency="EUR")),
        {"pushdown": False, "page_size": 100},
    ),
    "iterable functions over the order stream": (
        lambda a: (
            historic_clv(a.orders()),
            cohort_retention(a.orders()),
            return_rates_by_product(a.orders(), by_variant=True),
        ),
        {"page_size": 100},
    ),
    "segment facts": (lambda a: a.customer_facts(as_of=AS_OF), {"page_size": 100}),
}


@pytest.mark.parametrize("name", WORK)
def test_peak_memory_does_not_grow_with_the_orders(files: dict[int, Path], name: str) -> None:
    work, options = WORK[name]
    peak(files[N], work, **options)  # fills caches (statements, converters) that stay whatever the size
    small, large = peak(files[N], work, **options), peak(files[4 * N], work, **options)
    assert large < 2 * small, f"{name}: peak {small} bytes for {N} orders, {large} bytes for {4 * N}"


def test_holding_every_order_would_fail_the_comparison(files: dict[int, Path]) -> None:
    """The measurement can fail: a list of all orders grows with them."""
    peak(files[N], lambda a: list(a.orders()))
    small = peak(files[N], lambda a: list(a.orders()))
    large = peak(files[4 * N], lambda a: list(a.orders()))
    assert large > 3 * small
