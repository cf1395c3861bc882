"""Order aggregates computed inside SQLite and PostgreSQL: one GROUP BY instead of loading every order.

One statement (so one consistent snapshot) returns, per customer and currency, the number of orders that
were not cancelled, their total, the first and last ``placed_us``, and the refunds recorded on their returns;
plus the number of cancelled orders. The rules are those of :func:`custdata.analytics.historic_clv`:
cancelled orders and orders placed after ``as_of`` are left out, and refunds count when their return was
neither declined nor cancelled and was requested by ``as_of``.

Money stays exact. PostgreSQL adds ``numeric`` values. SQLite has no decimal type, so amounts are summed as
integers of their smallest digit, grouped by how many decimal places they were written with, and scaled back
in Python; amounts longer than twelve characters, or written unusually, are sent back as text and added in
Python, which keeps every SQLite integer sum below overflow (one customer would need nine million orders).
SQLite compares return times with ``as_of`` after converting the stored ISO 8601 text (``...+HH:MM``) to
microseconds; a time written another way (an offset with seconds) is sent back and compared in Python.

Speed: parsing the JSON documents is most of the work, so SQLite reads each document once, into a temporary
table of the few fields needed (returns only for orders that have any), and groups that.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from custdata._errors import ValidationError
from custdata.storage.records import micros
from custdata.storage.sql.session import SqlSession

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

# A stored amount is summed in SQL when it is plain digits with an optional point, at most 12 characters;
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
    placed = "placed_us <= ? AND " if with_as_of else ""
    refund_time = f"{_SQLITE_ISO} AND {_SQLITE_MICROS} <= ?" if with_as_of else "1 = 1"
    loose = f"NOT {_SQLITE_ISO}" if with_as_of else "0 = 1"
    return f"""
WITH live AS MATERIALIZED (
    SELECT customer_id, placed_us, json_extract(doc, '$.status') AS status,
           json_extract(doc, '$.currency') AS currency, json_extract(doc, '$.total.amount') AS amount,
           NULLIF(json_extract(doc, '$.returns'), '[]') AS returns
    FROM orders WHERE {placed}1 = 1
), refunds AS MATERIALIZED (
    SELECT l.customer_id AS customer_id, l.currency AS currency,
           json_extract(r.value, '$.refund.amount') AS amount, json_extract(r.value, '$.requested_at') AS ts
    FROM live AS l, json_each(l.returns) AS r
    WHERE l.returns IS NOT NULL AND l.status <> 'cancelled'
      AND json_type(r.value, '$.refund') = 'object'
      AND json_extract(r.value, '$.status') NOT IN ('declined', 'cancelled')
)
SELECT 'o', customer_id, currency, {_SQLITE_SUMS}, min(placed_us), max(placed_us), NULL
    FROM live WHERE status <> 'cancelled' GROUP BY customer_id, currency, scale
UNION ALL
SELECT 'c', NULL, NULL, 0, count(*), NULL, NULL, NULL, NULL, NULL FROM live WHERE status = 'cancelled'
UNION ALL
SELECT 'r', customer_id, currency, {_SQLITE_SUMS}, NULL, NULL, NULL
    FROM refunds WHERE {refund_time} GROUP BY customer_id, currency, scale
UNION ALL
SELECT 'x', customer_id, currency, 0, 1, NULL, amount, NULL, NULL, ts FROM refunds WHERE {loose}
"""


def _sqlite_amount(scale: int, small: int | None, big: str | None) -> Decimal:
    total = Decimal(0) if small is None else Decimal(small).scaleb(-scale)
    if big:
        total += sum((Decimal(text) for text in big.split(" ")), Decimal(0))
    return total


def _sqlite(session: SqlSession, as_of: datetime | None) -> Aggregates:
    params: list[Any] = [] if as_of is None else [micros(as_of), micros(as_of)]
    found = Aggregates()
    groups, group, amount = found.groups, found.group, _sqlite_amount
    for kind, customer_id, currency, scale, count, small, big, first_us, last_us, ts in session.fetch_all(
        session.dialect.render(_sqlite_sql(as_of is not None)), params
    ):
        if kind == "c":
            found.cancelled = count
            continue
        sums = groups.get((customer_id, currency)) or group(customer_id, currency)
        if kind == "o":
            sums.orders += count
            sums.revenue += amount(scale, small, big)
            sums.first_us = first_us if sums.first_us is None else min(sums.first_us, first_us)
            sums.last_us = last_us if sums.last_us is None else max(sums.last_us, last_us)
        elif kind == "r":
            sums.refunds += amount(scale, small, big)
        elif as_of is not None and datetime.fromisoformat(ts) <= as_of:  # 'x': a time written unusually
            sums.refunds += Decimal(big)
    return found


# -- PostgreSQL ----------------------------------------------------------------------------------------------


def _postgres_sql(with_as_of: bool) -> str:
    placed = "placed_us <= ? AND " if with_as_of else ""
    refund_time = "AND (r.value ->> 'requested_at')::timestamptz <= ?" if with_as_of else ""
    return f"""
WITH live AS MATERIALIZED (
    SELECT customer_id, placed_us, doc ->> 'status' AS status, doc ->> 'currency' AS currency,
           (doc -> 'total' ->> 'amount')::numeric AS amount
    FROM orders WHERE {placed}TRUE
)
SELECT 'o', customer_id, currency, count(*), sum(amount), min(placed_us), max(placed_us)
    FROM live WHERE status <> 'cancelled' GROUP BY customer_id, currency
UNION ALL
SELECT 'c', NULL, NULL, count(*), NULL::numeric, NULL::bigint, NULL::bigint FROM live WHERE status = 'cancelled'
UNION ALL
SELECT 'r', o.customer_id, o.doc ->> 'currency', count(*), sum((r.value -> 'refund' ->> 'amount')::numeric),
       NULL::bigint, NULL::bigint
    FROM orders AS o CROSS JOIN LATERAL jsonb_array_elements(o.doc -> 'returns') AS r(value)
    WHERE {placed.replace("placed_us", "o.placed_us")}o.doc ->> 'status' <> 'cancelled'
      AND jsonb_typeof(r.value -> 'refund') = 'object'
      AND r.value ->> 'status' NOT IN ('declined', 'cancelled') {refund_time}
    GROUP BY o.customer_id, o.doc ->> 'currency'
"""


def _postgres(session: SqlSession, as_of: datetime | None) -> Aggregates:
    params: list[Any] = [] if as_of is None else [micros(as_of), micros(as_of), as_of]
    found = Aggregates()
    for kind, customer_id, currency, count, amount, first_us, last_us in session.fetch_all(
        session.dialect.render(_postgres_sql(as_of is not None)), params
    ):
        if kind == "c":
            found.cancelled = int(count)
            continue
        sums = found.group(customer_id, currency)
        if kind == "o":
            sums.orders += int(count)
            sums.revenue += Decimal(amount)
            sums.first_us, sums.last_us = int(first_us), int(last_us)
        else:
            sums.refunds += Decimal(amount)
    return found


def aggregate_orders(session: SqlSession, *, as_of: datetime | None = None) -> Aggregates:
    """Per-customer, per-currency order figures computed by the database behind ``session``."""
    dialect = session.dialect
    if dialect.name == "sqlite":
        return _sqlite(session, as_of)
    if dialect.name == "postgresql":
        return _postgres(session, as_of)
    raise ValidationError.single("session", f"the {dialect.name} dialect has no aggregation queries")
