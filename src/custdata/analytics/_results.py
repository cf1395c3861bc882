"""Result tables: immutable rows with ``to_records()`` for plain Python and ``to_pandas()`` for notebooks.

Every analytics result that has one row per customer, product, cohort cell or currency is a
:class:`Table` of frozen attrs rows. ``to_records()`` flattens rows into dicts of plain values
(:class:`~custdata.Money` becomes its Decimal amount next to a ``currency`` column), which is also what
``to_pandas()`` hands to pandas, imported only when called.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar, overload

import attrs

from custdata.analytics._input import optional_module
from custdata.domain import Money

R = TypeVar("R")

#: attrs field metadata that keeps a field out of records (used for fields holding personal data).
NOT_IN_RECORDS: Mapping[str, bool] = {"custdata_record": False}


def plain(value: object) -> object:
    """A value as it appears in records: Money as its amount, enums as their value, sets as sorted lists."""
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (str, int, float, Decimal, datetime)) or value is None:
        return str(value) if isinstance(value, str) else value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, frozenset):
        return sorted(plain(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def record_columns(row_type: type[Any]) -> list[str]:
    """The record column names of an attrs row class, in field order."""
    return [f.name for f in attrs.fields(row_type) if f.metadata.get("custdata_record", True)]


def to_record(row: object) -> dict[str, Any]:
    """One row as a dict of plain values; see :func:`plain`."""
    return {name: plain(getattr(row, name)) for name in record_columns(type(row))}


def frame(records: list[dict[str, Any]], columns: list[str]) -> Any:
    """A ``pandas.DataFrame`` of ``records`` (pandas is imported here, only when asked for)."""
    pandas = optional_module("pandas", "notebook")
    return pandas.DataFrame.from_records(records, columns=columns)


class Summary:
    """Mixin for a result that is a single row of figures: records and DataFrames of one row."""

    __slots__ = ()

    def to_records(self) -> list[dict[str, Any]]:
        """The result as a one-element list of dicts of plain values."""
        return [to_record(self)]

    def to_pandas(self) -> Any:
        """The result as a one-row ``pandas.DataFrame`` (needs ``pip install 'custdata[notebook]'``)."""
        return frame(self.to_records(), record_columns(type(self)))


@attrs.frozen
class Table(Generic[R]):
    """An immutable sequence of result rows that knows how to become records or a pandas DataFrame."""

    row_type: ClassVar[type[Any]]
    rows: tuple[R, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[R]:
        return iter(self.rows)

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[R, ...]: ...

    def __getitem__(self, index: int | slice) -> R | tuple[R, ...]:
        return self.rows[index]

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as a list of dicts of plain values (Decimal amounts, str ids, aware datetimes)."""
        return [to_record(row) for row in self.rows]

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (needs ``pip install 'custdata[notebook]'``)."""
        return frame(self.to_records(), record_columns(self.row_type))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.rows)} rows)"
