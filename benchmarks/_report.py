"""What every benchmark reports: one row per measured case, printed by the script and collected by ``run``.

A row is a time of custdata's against a named baseline measured in the same run, so the ratio is meaningful on any
machine (below 1.0: custdata is faster). When ``CUSTDATA_BENCH_RESULTS`` names a file, each row is also appended
to it as one JSON line; ``benchmarks/run`` sets it to gather one table from every benchmark.
"""

from __future__ import annotations

import json
import os
from typing import Any

ENV = "CUSTDATA_BENCH_RESULTS"


def record(
    benchmark: str,
    case: str,
    ours: float,
    baseline_name: str,
    baseline: float,
    *,
    target: float | None = None,
    size: str = "",
    note: str = "",
) -> dict[str, Any]:
    """Report custdata's time ``ours`` (seconds) for ``case`` against ``baseline`` seconds of ``baseline_name``.

    Returns the row: ratio ``ours / baseline`` and, with a ``target`` (the ratio to stay at or below), whether it
    was met.
    """
    if ours <= 0 or baseline <= 0:
        raise ValueError(f"{benchmark}/{case}: times must be positive, got {ours} and {baseline}")
    ratio = ours / baseline
    row: dict[str, Any] = {
        "benchmark": benchmark,
        "case": case,
        "size": size,
        "seconds": ours,
        "baseline": baseline_name,
        "baseline_seconds": baseline,
        "ratio": ratio,
        "target": target,
        "met": None if target is None else ratio <= target,
        "note": note,
    }
    path = os.environ.get(ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
    return row


def verdict(row: dict[str, Any]) -> str:
    """``ok``, ``over target`` or ``-`` (no target) for a row."""
    if row["met"] is None:
        return "-"
    return "ok" if row["met"] else "over target"
