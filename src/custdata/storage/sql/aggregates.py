"""The aggregate-query port (:mod:`custdata.storage.aggregates`) of the SQLite and PostgreSQL stores: one
``GROUP BY`` statement instead of loading every order.

One statement (so one consistent snapshot) returns, per customer and currency, the number of orders that
count, their total, the first and last ``placed_us``, and the refunds recorded on their returns; plus the
number of orders that were not sold (grouped alongside, in the same pass over the table). The rules are those
of :mod:`custdata.domain.order_rules`, rendered into the SQL when a statement is built: the order statuses of
:data:`~custdata.domain.order_rules.NOT_SOLD_STATUSES` are counted apart and left out of every figure, orders
placed after ``as_of`` are left out, and a refund counts when its return's status is not in
:data:`~custdata.domain.order_rules.UNREFUNDED_RETURNS` and it was requested by ``as_of``.

The figures of each order are columns of ``orders`` (see :data:`custdata.storage.sql.tables.ORDER_FIGURES`),
so only the returns are read from the JSON documents, and only of orders that have returns (a partial index
finds them). SQLite reads the figures from an index by customer and currency (``orders_figures``), in group
order, without touching the table.

Money stays exact. PostgreSQL adds ``numeric`` values. SQLite has no decimal type, so order totals are summed
as integers of the currency's minor unit (``total_minor``) and scaled back in Python; a total without one (a
currency ISO 4217 gives no minor unit, or a sum too large) is sent back as text and added in Python. Refunds
are summed as integers of their smallest digit, grouped by how many decimal places they were written with;
those longer than twelve characters, or written unusually, are sent back as text. This keeps every SQLite
integer sum below overflow (one customer would need nine million orders).
SQLite compares return times with ``as_of`` after converting the stored ISO 8601 text (``...+HH:MM``) to
microseconds; a time written another way (an offset with seconds) is sent back and compared in Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from custdata._errors import ValidationError
from custdata.domain import CustomerId
from custdata.domain import order_rules as rules
from custdata.domain.money import EXACT
from custdata.serialization import SCHEMA_KEY
from custdata.storage.aggregates import (
    CustomerOrderFigures,
    OrderAggregates,
    RegionalDemandRow,
    check_as_of,
    check_demand,
    demand_region,
    demand_rows,
    week_of_epoch_day,
)
from custdata.storage.ports import check_limit
from custdata.storage.records import EPOCH, micros
from custdata.storage.sql.session import SqlSession
from custdata.storage.sql.tables import minor_exponent

#: Dialects whose documents this module knows how to aggregate.
DIALECTS = frozenset({"sqlite", "postgresql"})


class Sums:
    """Running figures of one customer in one currency."""

    __slots__ = ("first_us", "last_us", "orders", "refunds", "revenue")

    def __init__(self) -> None:
        self.orders = 0
        self.revenue = Decimal(0)
        self.refunds = Decimal(0)
        self.first_us: int | None = None
        self.last_us: int | None = None


class Aggregates:
    """What the aggregation statement found: figures per (customer, currency) and the orders not sold."""

    __slots__ = ("cancelled", "groups")

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], Sums] = {}
        self.cancelled = 0

    def group(self, customer_id: str, currency: str) -> Sums:
        key = (customer_id, currency)
        found = self.groups.get(key)
        if found is None:
            found = self.groups[key] = Sums()
        return found

    def result(self) -> OrderAggregates:
        """The port's rows: groups with at least one order that counts, by customer id then currency."""
        rows = []
        at, micro = EPOCH, timedelta(microseconds=1)
        for key in sorted(self.groups):
            sums = self.groups[key]
            if not sums.orders or sums.first_us is None or sums.last_us is None:
                continue
            rows.append(
                CustomerOrderFigures(
                    CustomerId(key[0]),
                    key[1],
                    sums.orders,
                    sums.revenue,
                    sums.refunds,
                    at + sums.first_us * micro,
                    at + sums.last_us * micro,
                )
            )
        return OrderAggregates(tuple(rows), self.cancelled)


# -- the rules, rendered ---------------------------------------------------------------------------------------


def _literals(values: Iterable[StrEnum]) -> str:
    return ", ".join(sorted("'" + v.value.replace("'", "''") + "'" for v in values))


def is_in(column: str, values: Iterable[StrEnum]) -> str:
    """SQL that is true when ``column`` holds one of ``values`` (false for none)."""
    listed = _literals(values)
    return f"{column} IN ({listed})" if listed else "1 = 0"


def not_in(column: str, values: Iterable[StrEnum]) -> str:
    """SQL that is true when ``column`` holds none of ``values`` (true for none)."""
    listed = _literals(values)
    return f"{column} NOT IN ({listed})" if listed else "1 = 1"


def sold(column: str = "status") -> str:
    """SQL that is true for an order status that sold something (see :func:`custdata.domain.order_rules.is_sold`)."""
    return not_in(column, rules.NOT_SOLD_STATUSES)


def refunding(column: str) -> str:
    """SQL that is true for a return status whose refund counts (see
    :func:`custdata.domain.order_rules.refund_counts`)."""
    return not_in(column, rules.UNREFUNDED_RETURNS)


# -- SQLite --------------------------------------------------------------------------------------------------

# A refund amount is summed in SQL when it is plain digits with an optional point, at most 12 characters;
# it is then the integer of its digits, scaled by its number of decimal places.
_SQLITE_SMALL = "(length(amount) <= 12 AND amount NOT GLOB '*[^0-9.]*' AND amount GLOB '*[0-9]*')"
_SQLITE_SCALE = (
    f"CASE WHEN {_SQLITE_SMALL} AND instr(amount, '.') > 0 THEN length(amount) - instr(amount, '.') ELSE 0 END"
)
_SQLITE_SUMS = (
    f"{_SQLITE_SCALE} AS scale, count(*) AS n, "
    f"sum(CASE WHEN {_SQLITE_SMALL} THEN CAST(replace(amount, '.', '') AS INTEGER) END) AS small, "
    f"group_concat(CASE WHEN {_SQLITE_SMALL} THEN NULL ELSE amount END, ' ') AS big"
)
# ISO 8601 as Python writes it: 'YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM' (25 or 32 characters).
_SQLITE_ISO = (
    "(length(ts) IN (25, 32) AND substr(ts, 11, 1) = 'T' AND substr(ts, -6, 1) IN ('+', '-') "
    "AND substr(ts, -3, 1) = ':' AND (length(ts) = 25 OR substr(ts, 20, 1) = '.'))"
)
_SQLITE_MICROS = (
    "((CAST(strftime('%s', substr(ts, 1, 19)) AS INTEGER) - "
    "(CASE substr(ts, -6, 1) WHEN '-' THEN -1 ELSE 1 END) * "
    "(CAST(substr(ts, -5, 2) AS INTEGER) * 3600 + CAST(substr(ts, -2, 2) AS INTEGER) * 60)) * 1000000 "
    "+ (CASE WHEN length(ts) = 32 THEN CAST(substr(ts, 21, 6) AS INTEGER) ELSE 0 END))"
)


def _sqlite_sql(with_as_of: bool) -> str:
    """The SQLite statement, with the rules of :mod:`custdata.domain.order_rules` rendered in.

    Orders are grouped in one pass over the index of their figures by customer and currency (no sorting, no
    documents), those not sold too (they are only counted).
    """
    placed = "placed_us <= ? AND " if with_as_of else ""
    refund_time = f"{_SQLITE_ISO} AND {_SQLITE_MICROS} <= ?" if with_as_of else "1 = 1"
    loose = f"NOT {_SQLITE_ISO}" if with_as_of else "0 = 1"
    live = f"CASE WHEN {sold('status')}"
    return f"""
WITH refunds AS MATERIALIZED (
    SELECT o.customer_id AS customer_id, o.currency AS currency,
           json_extract(r.value, '$.refund.amount') AS amount, json_extract(r.value, '$.requested_at') AS ts
    FROM orders AS o, json_each(o.doc, '$.returns') AS r
    WHERE o.return_count > 0 AND {placed.replace("placed_us", "o.placed_us")}{sold("o.status")}
      AND json_type(r.value, '$.refund') = 'object'
      AND {refunding("json_extract(r.value, '$.status')")}
)
SELECT 'o', customer_id, currency, count(*), sum({sold("status")}), sum({live} THEN total_minor END),
       group_concat({live} AND total_minor IS NULL THEN total END, ' '),
       min({live} THEN placed_us END), max({live} THEN placed_us END), NULL
    FROM orders WHERE {placed}1 = 1 GROUP BY customer_id, currency
UNION ALL
SELECT 'r', customer_id, currency, {_SQLITE_SUMS}, NULL, NULL, NULL
    FROM refunds WHERE {refund_time} GROUP BY customer_id, currency, scale
UNION ALL
SELECT 'x', customer_id, currency, 0, 1, NULL, amount, NULL, NULL, ts FROM refunds WHERE {loose}
"""


def _sqlite_amount(scale: int, small: int | None, big: str | None) -> Decimal:
    total = Decimal(0) if small is None else Decimal(small).scaleb(-scale)
    for text in big.split(" ") if big else ():
        total = EXACT.add(total, Decimal(text))
    return total


def _sqlite(session: SqlSession, as_of: datetime | None) -> Aggregates:
    params: list[Any] = [] if as_of is None else [micros(as_of), micros(as_of), micros(as_of)]
    found = Aggregates()
    groups, group, amount = found.groups, found.group, _sqlite_amount
    for kind, customer_id, currency, scale, count, small, big, first_us, last_us, ts in session.fetch_all(
        session.dialect.render(_sqlite_sql(as_of is not None)), params
    ):
        if kind == "o":  # 'scale' is the number of orders, 'count' of those sold
            found.cancelled += scale - count
            if not count:
                continue
            sums = groups.get((customer_id, currency)) or group(customer_id, currency)
            sums.orders += count
            sums.revenue = EXACT.add(sums.revenue, amount(minor_exponent(currency) or 0, small, big))
            sums.first_us = first_us if sums.first_us is None else min(sums.first_us, first_us)
            sums.last_us = last_us if sums.last_us is None else max(sums.last_us, last_us)
            continue
        sums = groups.get((customer_id, currency)) or group(customer_id, currency)
        if kind == "r":
            sums.refunds = EXACT.add(sums.refunds, amount(scale, small, big))
        elif as_of is not None and datetime.fromisoformat(ts) <= as_of:  # 'x': a time written unusually
            sums.refunds = EXACT.add(sums.refunds, Decimal(big))
    return found


# -- PostgreSQL ----------------------------------------------------------------------------------------------


def _postgres_sql(with_as_of: bool) -> str:
    """The PostgreSQL statement, with the rules of :mod:`custdata.domain.order_rules` rendered in."""
    placed = "placed_us <= ? AND " if with_as_of else ""
    refund_time = "AND (r.value ->> 'requested_at')::timestamptz <= ?" if with_as_of else ""
    not_sold = is_in("status", rules.NOT_SOLD_STATUSES)
    return f"""
SELECT 'o', customer_id, currency, {not_sold}, count(*), sum(total), min(placed_us), max(placed_us)
    FROM orders WHERE {placed}TRUE GROUP BY customer_id, currency, {not_sold}
UNION ALL
SELECT 'r', o.customer_id, o.currency, FALSE, count(*), sum((r.value -> 'refund' ->> 'amount')::numeric),
       NULL::bigint, NULL::bigint
    FROM orders AS o CROSS JOIN LATERAL jsonb_array_elements(o.doc -> 'returns') AS r(value)
    WHERE o.return_count > 0 AND {placed.replace("placed_us", "o.placed_us")}{sold("o.status")}
      AND jsonb_typeof(r.value -> 'refund') = 'object'
      AND {refunding("r.value ->> 'status'")} {refund_time}
    GROUP BY o.customer_id, o.currency
"""


def _postgres(session: SqlSession, as_of: datetime | None) -> Aggregates:
    params: list[Any] = [] if as_of is None else [micros(as_of), micros(as_of), as_of]
    found = Aggregates()
    for kind, customer_id, currency, cancelled, count, amount, first_us, last_us in session.fetch_all(
        session.dialect.render(_postgres_sql(as_of is not None)), params
    ):
        if cancelled:
            found.cancelled += int(count)
            continue
        sums = found.group(customer_id, currency)
        if kind == "o":
            sums.orders += int(count)
            sums.revenue = EXACT.add(sums.revenue, Decimal(amount))
            sums.first_us, sums.last_us = int(first_us), int(last_us)
        else:
            sums.refunds = EXACT.add(sums.refunds, Decimal(amount))
    return found


def aggregate_orders(session: SqlSession, *, as_of: datetime | None = None) -> OrderAggregates:
    """Per-customer, per-currency order figures computed by the database behind ``session`` (SQLite or
    PostgreSQL; see :data:`DIALECTS`)."""
    check_as_of(as_of)
    name = session.dialect.name
    if name == "sqlite":
        return _sqlite(session, as_of).result()
    if name == "postgresql":
        return _postgres(session, as_of).result()
    raise ValidationError.single("session", f"the {name} dialect has no aggregation queries")


# -- regional demand -----------------------------------------------------------------------------------------

_DAY_US = 86_400_000_000
# The UTC day of placed_us, rounded down for times before 1970 too (SQLite's integer division truncates).
_DAYS = {
    "sqlite": f"((o.placed_us - (((o.placed_us % {_DAY_US}) + {_DAY_US}) % {_DAY_US})) / {_DAY_US})",
    "postgresql": f"floor(o.placed_us::numeric / {_DAY_US})::bigint",
}


def _demand_sql(dialect: str, by: str, prefix_length: int, with_since: bool, with_as_of: bool) -> str:
    """The statement that adds up demand by destination, sku and UTC day (days become ISO weeks in Python).

    ``prefix_length`` is a checked whole number, written into the statement so that it can be grouped by.
    """
    if dialect == "sqlite":
        field = "coalesce(json_extract(o.doc, '$.shipping_address.{0}'), '')".format
        sku, quantity = "json_extract(l.value, '$.sku')", "json_extract(l.value, '$.quantity')"
        lines = "orders AS o, json_each(o.doc, '$.lines') AS l"
        has_address = "json_type(o.doc, '$.shipping_address') = 'object'"
    else:
        field = "coalesce(o.doc -> 'shipping_address' ->> '{0}', '')".format
        sku, quantity = "l.value ->> 'sku'", "(l.value ->> 'quantity')::bigint"
        lines = "orders AS o CROSS JOIN LATERAL jsonb_array_elements(o.doc -> 'lines') AS l(value)"
        has_address = "jsonb_typeof(o.doc -> 'shipping_address') = 'object'"
    area = field("country_area") if by == "area" else "''"
    prefix = f"substr({field('postal_code')}, 1, {int(prefix_length)})" if by == "postal-prefix" else "''"
    since = "o.placed_us >= ? AND " if with_since else ""
    as_of = "o.placed_us <= ? AND " if with_as_of else ""
    return f"""
SELECT {field("country_code")}, {area}, {prefix}, {sku}, {_DAYS[dialect]}, count(DISTINCT o.id), sum({quantity})
    FROM {lines}
    WHERE {since}{as_of}{sold("o.status")} AND {has_address}
    GROUP BY 1, 2, 3, 4, 5
"""


def aggregate_demand(
    session: SqlSession,
    *,
    by: str = "country",
    prefix_length: int = 2,
    since: datetime | None = None,
    as_of: datetime | None = None,
) -> tuple[RegionalDemandRow, ...]:
    """Regional demand (:func:`custdata.storage.aggregates.regional_demand`) computed by the database behind
    ``session``: one ``GROUP BY`` over the order lines by destination, sku and UTC day; days are then added
    into ISO weeks."""
    check_demand(by, prefix_length, since, as_of)
    name = session.dialect.name
    if name not in DIALECTS:
        raise ValidationError.single("session", f"the {name} dialect has no aggregation queries")
    params: list[Any] = [micros(m) for m in (since, as_of) if m is not None]
    statement = _demand_sql(name, by, prefix_length, since is not None, as_of is not None)
    tallies: dict[tuple[str, str, str, str, str], list[int]] = {}
    weeks: dict[int, str] = {}
    for country, area, prefix, sku, day, orders, quantity in session.fetch_all(
        session.dialect.render(statement), params
    ):
        day = int(day)
        week = weeks.get(day) or weeks.setdefault(day, week_of_epoch_day(day))
        tally = tallies.setdefault((*demand_region(country, area, prefix, by, prefix_length), sku, week), [0, 0])
        tally[0] += int(orders)
        tally[1] += int(quantity)
    return demand_rows(tallies)


class SqlAggregateQueries:
    """The aggregate-query port of an SQL unit of work: :func:`aggregate_orders` and :func:`aggregate_demand`
    on its open session."""

    __slots__ = ("_session",)

    def __init__(self, session: Callable[[], SqlSession]) -> None:
        self._session = session

    def order_figures(self, *, as_of: datetime | None = None) -> OrderAggregates:
        """See :meth:`custdata.storage.aggregates.AggregateQueries.order_figures`."""
        return aggregate_orders(self._session(), as_of=as_of)

    def regional_demand(
        self,
        *,
        by: str = "country",
        prefix_length: int = 2,
        since: datetime | None = None,
        as_of: datetime | None = None,
    ) -> tuple[RegionalDemandRow, ...]:
        """See :meth:`custdata.storage.aggregates.DemandQueries.regional_demand`."""
        return aggregate_demand(self._session(), by=by, prefix_length=prefix_length, since=since, as_of=as_of)

    def customer_documents(self, *, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """See :meth:`custdata.storage.aggregates.CustomerDocuments.customer_documents`."""
        size = check_limit(page_size)
        session = self._session()
        query = session.dialect.render("SELECT id, {doc_out} FROM customers WHERE id > ? ORDER BY id LIMIT ?")
        loads = json.loads
        last = ""
        while True:
            rows = session.fetch_all(query, (last, size))
            for _, doc in rows:
                data = loads(doc)
                data.pop(SCHEMA_KEY, None)
                yield data
            if len(rows) < size:
                return
            last = rows[-1][0]


def aggregate_queries(session: SqlSession, active: Callable[[], SqlSession]) -> SqlAggregateQueries | None:
    """The port for a unit of work whose open session is ``session`` (reached later through ``active``), or
    None when its dialect has no aggregation statements here."""
    return SqlAggregateQueries(active) if session.dialect.name in DIALECTS else None
