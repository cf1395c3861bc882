"""Column batches as Arrow tables, the form both engines load fastest."""

from __future__ import annotations

from typing import Any

from custdata.matching.engines._columns import TABLES, Batch


def arrow_types(pa: Any) -> dict[str, Any]:
    return {
        "str": pa.string(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "list[str]": pa.list_(pa.string()),
        "list[int]": pa.list_(pa.int64()),
    }


def arrow_tables(pa: Any, batch: Batch) -> dict[str, Any]:
    """One Arrow table per engine table, with the declared column types (so that an empty batch has them too)."""
    types = arrow_types(pa)
    tables = {}
    for table, columns in TABLES.items():
        schema = pa.schema([(name, types[kind]) for name, kind in columns])
        tables[table] = pa.table({name: batch.columns[table][name] for name, _ in columns}, schema=schema)
    return tables


def arrow_batch(batch: Batch) -> dict[str, Any]:
    """:func:`arrow_tables` of ``batch`` (importing pyarrow itself: it runs in a worker process too)."""
    import pyarrow

    return arrow_tables(pyarrow, batch)
