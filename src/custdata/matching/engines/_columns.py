"""Records flattened to columns for an engine: every record is normalised once, in Python, streamed in batches.

A batch holds the columns of the ``records`` table (one row per record: the normalised comparison inputs,
:class:`~custdata.matching.normalise.NormalisedRecord` flattened), and three side tables: the blocking keys
(``keys``: one row per record and key, the keys of :func:`~custdata.matching.blocking.blocking_keys`), the
email addresses split for the typo rule (``emails``) and the last eight digits of each phone (``tails``).
Only plain values leave Python: the comparison itself is the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from custdata._errors import Problem, ValidationError
from custdata.matching.blocking import blocking_keys
from custdata.matching.normalise import NameKeys, NormalisedRecord, normalise
from custdata.matching.records import to_record

#: Records normalised per batch handed to the engine.
BATCH = 20_000

#: The columns of the ``records`` table and their types (``str``, ``int``, ``bool``, ``list[str]``, ``list[int]``).
RECORD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pos", "int"),
    ("id", "str"),
    ("guest", "bool"),
    *(
        (f"{side}_{name}", kind)
        for side in ("g", "f")
        for name, kind in (
            ("full", "str"),
            ("first", "str"),
            ("code", "str"),
            ("groups", "list[int]"),
            ("tokens", "list[str]"),
            ("ntok", "int"),
            ("rest", "str"),
        )
    ),
    ("emails", "list[str]"),
    ("phones", "list[str]"),
    ("tails", "list[str]"),
    ("s_name", "str"),
    ("s_house", "str"),
    ("postal", "str"),
    ("city", "str"),
    ("country", "str"),
    ("b_digits", "str"),
    ("b_year", "int"),
    ("b_month", "int"),
    ("b_day", "int"),
)
KEY_COLUMNS: tuple[tuple[str, str], ...] = (("key", "str"), ("pos", "int"))
EMAIL_COLUMNS: tuple[tuple[str, str], ...] = (("pos", "int"), ("local", "str"), ("domain", "str"), ("digits", "str"))
TAIL_COLUMNS: tuple[tuple[str, str], ...] = (("pos", "int"), ("tail", "str"))

#: Every table an engine is given, with its columns.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "records": RECORD_COLUMNS,
    "keys": KEY_COLUMNS,
    "emails": EMAIL_COLUMNS,
    "tails": TAIL_COLUMNS,
}


@attrs.define
class Batch:
    """Columns of each table for a run of records, as Python lists."""

    columns: dict[str, dict[str, list[Any]]] = attrs.field(
        factory=lambda: {table: {name: [] for name, _ in columns} for table, columns in TABLES.items()}
    )
    size: int = 0


def _name(columns: dict[str, list[Any]], side: str, keys: NameKeys) -> None:
    columns[f"{side}_full"].append(keys.full)
    columns[f"{side}_first"].append(keys.first)
    columns[f"{side}_code"].append(keys.code)
    columns[f"{side}_groups"].append(sorted(keys.groups))
    columns[f"{side}_tokens"].append(list(keys.tokens))
    columns[f"{side}_ntok"].append(len(keys.tokens))
    columns[f"{side}_rest"].append("".join(keys.tokens[1:]))


def add(batch: Batch, position: int, record: NormalisedRecord, *, keys: bool = True) -> None:
    """Append one normalised record (at ``position`` in the input) to ``batch``."""
    rows = batch.columns["records"]
    rows["pos"].append(position)
    rows["id"].append(record.id)
    rows["guest"].append(record.is_guest)
    _name(rows, "g", record.given)
    _name(rows, "f", record.family)
    rows["emails"].append(list(record.emails))
    rows["phones"].append(list(record.phones))
    tails = sorted({number[-8:] for number in record.phones})
    rows["tails"].append(tails)
    rows["s_name"].append(record.street.name)
    rows["s_house"].append(record.street.house)
    rows["postal"].append(record.postal_code)
    rows["city"].append(record.city)
    rows["country"].append(record.country)
    birthday = record.birthday
    rows["b_digits"].append(birthday.digits if birthday else None)
    rows["b_year"].append(birthday.year if birthday else None)
    rows["b_month"].append(birthday.month if birthday else None)
    rows["b_day"].append(birthday.day if birthday else None)
    emails = batch.columns["emails"]
    for address in record.emails:
        local, _, domain = address.rpartition("@")
        emails["pos"].append(position)
        emails["local"].append(local)
        emails["domain"].append(domain)
        # the typo rule refuses a changed digit: two mailboxes differ in a digit unless they hold the same ones
        emails["digits"].append("".join(sorted({c for c in local if c.isdigit()})))
    side = batch.columns["tails"]
    for tail in tails:
        side["pos"].append(position)
        side["tail"].append(tail)
    if keys:
        key_columns = batch.columns["keys"]
        for key in sorted(blocking_keys(record)):
            key_columns["key"].append(key)
            key_columns["pos"].append(position)
    batch.size += 1


def batches(
    records: Iterable[object], region: str | None, *, keys: bool = True, size: int = BATCH
) -> Iterator[Batch | list[tuple[int, Problem]]]:
    """Normalise ``records`` as :meth:`Matcher.normalise` does, yielding batches of columns, and at the end the
    problems of bad rows (position and problem) if there were any. Repeated ids are the engine's to find (it
    holds the ids; see :func:`repeated_id_problems`), so the good rows are loaded even after a bad one."""
    batch = Batch()
    problems: list[tuple[int, Problem]] = []
    for position, item in enumerate(records):
        try:
            record = to_record(item, position)
        except ValidationError as exc:
            problems.extend((position, problem) for problem in exc.problems)
            continue
        add(batch, position, normalise(record, region), keys=keys)
        if batch.size >= size:
            yield batch
            batch = Batch()
    if batch.size:
        yield batch
    if problems:
        yield problems


def repeated_id_problems(repeats: Iterable[tuple[int, int]]) -> list[tuple[int, Problem]]:
    """The problems :meth:`Matcher.normalise` reports for rows (position, first position) whose id repeats."""
    return [(position, Problem(f"[{position}].id", f"repeats the id of row {first}")) for position, first in repeats]


def raise_problems(problems: list[tuple[int, Problem]]) -> None:
    """Raise every problem at once, in row order, as :meth:`Matcher.normalise` does."""
    if problems:
        ordered = sorted(enumerate(problems), key=lambda item: (item[1][0], item[0]))
        raise ValidationError([problem for _, (_, problem) in ordered])
