"""An import looks the stored holders of email addresses up once per batch, and decides exactly as it would with
one look-up per address (which it still does on a store whose repository has no ``find_by_emails``)."""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata.importing import ImportOptions, RejectsList, import_customers, import_orders, read_rows
from custdata.storage import FindsByEmails, Store, open_store

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
OPTIONS = ImportOptions(now=NOW, batch_size=3)
CUSTOMERS = ["id", "email", "given_name", "is_guest"]
ORDERS = ["order_id", "customer_id", "customer_email", "currency", "placed_at", "sku", "quantity", "unit_price"]
MAILBOXES = ["ann@example.com", "Ann@Example.com", "bob@example.com", "cat@example.org"]


class _Customers:
    """A store's customer repository that counts look-ups by email; without ``batched`` it has no
    ``find_by_emails`` (as a store written before it)."""

    def __init__(self, inner: Any, calls: Counter[str], batched: bool) -> None:
        self._inner, self._calls, self._batched = inner, calls, batched

    def __getattr__(self, name: str) -> Any:
        if name == "find_by_emails" and not self._batched:
            raise AttributeError(name)
        method = getattr(self._inner, name)
        if name not in ("find_by_email", "find_by_emails"):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[name] += 1
            return method(*args, **kwargs)

        return counted


class _Unit:
    def __init__(self, inner: Any, calls: Counter[str], batched: bool) -> None:
        self._inner = inner
        self.customers = _Customers(inner.customers, calls, batched)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _Unit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)


class _CountingStore:
    def __init__(self, inner: Store, batched: bool) -> None:
        self.inner, self.batched, self.calls = inner, batched, Counter[str]()

    def unit_of_work(self) -> _Unit:
        return _Unit(self.inner.unit_of_work(), self.calls, self.batched)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


_CUSTOMER_ROWS = st.lists(
    st.tuples(st.sampled_from(["", "", "c1", "c2"]), st.sampled_from(MAILBOXES), st.sampled_from(["", "yes", "no"])),
    max_size=8,
)
_GUEST_ORDERS = st.lists(st.sampled_from(MAILBOXES), max_size=5)


def _import(store: _CountingStore, folder: Path, orders: list[str], runs: list[list[tuple[str, str, str]]]) -> Any:
    """Guest orders, then runs of customer rows; what each import reported and what the store holds."""
    path = _write(
        folder / "o.csv",
        ORDERS,
        [[f"o{i}", "", email, "EUR", "2025-06-01T10:00:00Z", "SKU", "1", "9.99"] for i, email in enumerate(orders)],
    )
    reports: list[Any] = [import_orders(store, read_rows(path, "csv"), options=OPTIONS)]  # type: ignore[arg-type]
    for n, rows in enumerate(runs):
        path = _write(folder / f"c{n}.csv", CUSTOMERS, [[i, e, f"P{k}", g] for k, (i, e, g) in enumerate(rows)])
        rejects = RejectsList()
        report = import_customers(store, read_rows(path, "csv"), options=OPTIONS, rejects=rejects)  # type: ignore[arg-type]
        reports.append((report, rejects.items))
    with store.inner.unit_of_work() as uow:
        held = sorted(
            (
                str(c.email),
                c.is_guest,
                c.given_name or "",
                c.metadata.get("external_ref", ""),
                uow.orders.count(customer_id=c.id),
            )
            for c in uow.customers.search(limit=1000)
        )
    summary: list[Any] = [
        (r.read, r.imported, r.skipped, r.rejected, r.customers_added, r.same_email) for r in (reports[0],)
    ]
    summary += [((r.read, r.imported, r.skipped, r.rejected, r.same_email), items) for r, items in reports[1:]]
    return summary, held


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """Opens a pair of fresh stores (a context manager) of the parameter's kind."""
    if request.param == "postgres":
        make = request.getfixturevalue("new_store")

        @contextmanager
        def postgres() -> Iterator[tuple[Store, Store, Path]]:
            with tempfile.TemporaryDirectory() as folder:
                yield make(), make(), Path(folder)

        yield postgres
        return

    @contextmanager
    def local() -> Iterator[tuple[Store, Store, Path]]:
        with tempfile.TemporaryDirectory() as folder:
            urls = ["memory://"] * 2 if request.param == "memory" else [f"sqlite:///{folder}/{n}.db" for n in "ab"]
            with open_store(urls[0]) as one, open_store(urls[1]) as other:
                yield one, other, Path(folder)

    yield local


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # it opens
@given(orders=_GUEST_ORDERS, runs=st.lists(_CUSTOMER_ROWS, min_size=1, max_size=2))
def test_batched_look_ups_decide_as_one_look_up_per_address(
    stores: Callable[[], Any], orders: list[str], runs: list[list[tuple[str, str, str]]]
) -> None:
    with stores() as (one, other, folder):
        batched, single = _CountingStore(one, batched=True), _CountingStore(other, batched=False)
        assert isinstance(one.unit_of_work().customers, FindsByEmails)
        (folder / "a").mkdir()
        (folder / "b").mkdir()
        assert _import(batched, folder / "a", orders, runs) == _import(single, folder / "b", orders, runs)
    assert batched.calls["find_by_email"] == 0, "the built-in stores are asked once per batch, never per address"
    batches = -(-len(orders) // OPTIONS.batch_size) + sum(-(-len(rows) // OPTIONS.batch_size) for rows in runs)
    assert batched.calls["find_by_emails"] <= 2 * batches, "at most two look-ups per batch (known, then added)"
