"""Lifetime value that includes the history before custdata: the orders in the store where there are any, the
totals a shop's export stated (:class:`custdata.importing.ImportedTotals`) where there are none. Never both added:
a customer whose orders were imported after its totals counts its orders only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import attrs

from custdata.analytics._input import each, moment
from custdata.analytics._results import Table
from custdata.analytics.metrics import HistoricClv, historic_clv
from custdata.domain import Customer, CustomerId, Money, Order
from custdata.domain.money import EXACT
from custdata.importing.totals import ImportedTotals, imported_totals

#: ``CustomerLifetime.basis`` of a row worked out from stored orders.
FROM_ORDERS = "orders"
#: ``CustomerLifetime.basis`` of a row taken from imported totals.
FROM_IMPORT = "imported"


@attrs.frozen
class CustomerLifetime:
    """One customer's orders and spending in one currency (``currency`` None: an imported orders count that
    came without an amount), and its ``basis``: ``orders`` (the stored orders, as
    :func:`~custdata.analytics.historic_clv` counts them) or ``imported`` (the export's totals)."""

    customer_id: CustomerId
    currency: str | None
    orders: int
    spent: Money | None
    basis: str


@attrs.frozen(repr=False)
class LifetimeTotals(Table[CustomerLifetime]):
    """Lifetime orders and spending per customer and currency, sorted by customer id then currency."""

    row_type = CustomerLifetime

    def for_customer(self, customer_id: str) -> list[CustomerLifetime]:
        return [row for row in self.rows if row.customer_id == customer_id]


def lifetime_totals(
    customers: Iterable[Customer], orders: Iterable[Order], *, as_of: datetime | None = None
) -> LifetimeTotals:
    """Each live customer's orders and spending over its whole history: from its stored orders (and those of
    the records merged into it) when there are any, else from the totals imported with it and with the records
    merged into it (each imported record counted once, however merges copied its metadata). With ``as_of``,
    orders placed after it and totals imported after it are left out. Erased customers hold no imported totals
    (erasure removes metadata); their kept orders still count."""
    if as_of is not None:
        moment("as_of", as_of)
    return lifetime_of(each(customers, Customer, "customers"), historic_clv(orders, as_of=as_of), as_of=as_of)


def lifetime_of(customers: Iterable[Customer], clv: HistoricClv, *, as_of: datetime | None = None) -> LifetimeTotals:
    """:func:`lifetime_totals` from the customers and their historic CLV (as :class:`StoreAnalytics` has it)."""
    records = {customer.id: customer for customer in customers}

    def survivor(customer_id: CustomerId) -> CustomerId:
        seen = {customer_id}
        current = records.get(customer_id)
        while current is not None and current.merged_into is not None and current.merged_into not in seen:
            seen.add(current.merged_into)
            customer_id = current.merged_into
            current = records.get(customer_id)
        return customer_id

    groups: dict[CustomerId, list[Customer]] = {}
    for customer in records.values():
        groups.setdefault(survivor(customer.id), []).append(customer)
    from_orders: dict[CustomerId, dict[str, tuple[int, Money]]] = {}
    for row in clv.rows:
        owner = survivor(row.customer_id)
        per_currency = from_orders.setdefault(owner, {})
        count, spent = per_currency.get(row.currency, (0, Money(0, row.currency)))
        per_currency[row.currency] = (count + row.orders, spent + row.clv)
    rows: list[CustomerLifetime] = []
    for owner in sorted(set(groups) | set(from_orders)):
        live = records.get(owner)
        if live is not None and live.merged_into is not None:
            continue  # a chain that ends outside the customers given: counted by nobody here
        if owner in from_orders:
            for currency, (count, spent) in sorted(from_orders[owner].items()):
                rows.append(CustomerLifetime(owner, currency, count, spent, FROM_ORDERS))
            continue
        rows.extend(_imported_rows(owner, groups.get(owner, []), as_of))
    return LifetimeTotals(tuple(rows))


def _imported_rows(owner: CustomerId, group: list[Customer], as_of: datetime | None) -> list[CustomerLifetime]:
    entries: dict[str, ImportedTotals] = {}
    for customer in group:
        for origin, totals in imported_totals(customer).items():
            if as_of is None or totals.as_of <= as_of:
                entries.setdefault(origin, totals)
    if not entries:
        return []
    count = sum(t.orders_count or 0 for t in entries.values())
    spent: dict[str, Decimal] = {}
    for totals in entries.values():
        if totals.amount_spent is not None:
            currency = totals.amount_spent.currency
            spent[currency] = EXACT.add(spent.get(currency, Decimal(0)), totals.amount_spent.amount)
    if not spent:
        return [CustomerLifetime(owner, None, count, None, FROM_IMPORT)]
    # the orders count is the export's for all the customer's orders: it goes with each currency's row
    return [
        CustomerLifetime(owner, currency, count, Money(amount, currency), FROM_IMPORT)
        for currency, amount in sorted(spent.items())
    ]
