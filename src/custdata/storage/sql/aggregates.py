"""Order aggregates computed inside SQLite and PostgreSQL: one GROUP BY instead of loading every order.

One statement (so one consistent snapshot) returns, per customer and currency, the number of orders that
were not cancelled, their total, the first and last ``placed_us``, and the refunds recorded on their returns;
plus the number of cancelled orders (grouped alongside, in the same pass over the table). The rules are those of :func:`custdata.analytics.historic_clv`:
cancelled orders and orders placed after ``as_of`` are left out, and refunds count when their return was
neither declined nor cancelled and was requested by ``as_of``.

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

from datetime import datetime
from decimal import Decimal
from typing import Any

from custdata._errors import ValidationError
from custdata.domain.money import EXACT
from custdata.storage.records import micros
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
    """What the aggregation statement found: figures per (customer, currency) and the cancelled orders."""

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


# Orders are grouped in one pass over the index of their figures by customer and currency (no sorting, no
# documents), cancelled ones too (they are only counted).
_LIVE = "CASE WHEN status <> 'cancelled'"


def _sqlite_sql(with_as_of: bool) -> str:
    placed = "placed_us <= ? AND " if with_as_of else ""
    refund_time = f"{_SQLITE_ISO} AND {_SQLITE_MICROS} <= ?" if with_as_of else "1 = 1"
    loose = f"NOT {_SQLITE_ISO}" if with_as_of else "0 = 1"
    return f"""
WITH refunds AS MATERIALIZED (
    SELECT o.customer_id AS customer_id, o.currency AS currency,
           json_extract(r.value, '$.refund.amount') AS amount, json_extract(r.value, '$.requested_at') AS ts
    FROM orders AS o, json_each(o.doc, '$.returns') AS r
    WHERE o.return_count > 0 AND {placed.replace("placed_us", "o.placed_us")}o.status <> 'cancelled'
      AND json_type(r.value, '$.refund') = 'object'
      AND json_extract(r.value, '$.status') NOT IN ('declined', 'cancelled')
)
SELECT 'o', customer_id, currency, count(*), sum(status <> 'cancelled'), sum({_LIVE} THEN total_minor END),
       group_concat({_LIVE} AND total_minor IS NULL THEN total END, ' '),
       min({_LIVE} THEN placed_us END), max({_LIVE} THEN placed_us END), NULL
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
        if kind == "o":  # 'scale' is the number of orders, 'count' of those not cancelled
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
    placed = "placed_us <= ? AND " if with_as_of else ""
    refund_time = "AND (r.value ->> 'requested_at')::timestamptz <= ?" if with_as_of else ""
    return f"""
SELECT 'o', customer_id, currency, status = 'cancelled', count(*), sum(total), min(placed_us), max(placed_us)
    FROM orders WHERE {placed}TRUE GROUP BY customer_id, currency, status = 'cancelled'
UNION ALL
SELECT 'r', o.customer_id, o.currency, FALSE, count(*), sum((r.value -> 'refund' ->> 'amount')::numeric),
       NULL::bigint, NULL::bigint
    FROM orders AS o CROSS JOIN LATERAL jsonb_array_elements(o.doc -> 'returns') AS r(value)
    WHERE o.return_count > 0 AND {placed.replace("placed_us", "o.placed_us")}o.status <> 'cancelled'
      AND jsonb_typeof(r.value -> 'refund') = 'object'
      AND r.value ->> 'status' NOT IN ('declined', 'cancelled') {refund_time}
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


def aggregate_orders(session: SqlSession, *, as_of: datetime | None = None) -> Aggregates:
    """Per-customer, per-currency order figures computed by the database behind ``session``."""
    dialect = session.dialect
    if dialect.name == "sqlite":
        return _sqlite(session, as_of)
    if dialect.name == "postgresql":
        return _postgres(session, as_of)
    raise ValidationError.single("session", f"the {dialect.name} dialect has no aggregation queries")
