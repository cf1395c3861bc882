"""Duplicate detection at scale: the Python and DuckDB engines against Splink on DuckDB, on synthetic customers
read from a shop's store.

    python benchmarks/bench_dedupe_scale.py [--n 1000000] [--small 0] [--seed 11] [--timeout 1800]
        [--memory-limit 1GB]

Data: ``generate_customers(n, seed=seed)`` (see ``bench_matching.py``), imported once into a SQLite store with
the library's bulk ``add_many`` (``to_customer`` of ``bench_matching.py``: fields a ``Customer`` refuses are left
out), cached under the temporary folder by size and seed (``custdata-bench/dedupe-<n>-<seed>.db``, with the
generator's known duplicate pairs beside it as the truth). Every side reads that file, as a shop matches what
is in its store, each in a process of its own started fresh, so that its peak memory is its own.

Measured: the wall time of matching, from opening the store to the pairs (reading the store and custdata's
normalisation included), and the peak resident set size of the side's process (``resource.getrusage``). No side
holds the records before it starts: they stream from the store. F1 is pairwise against the known pairs,
counting every pair found (merge or review). ``compared`` is the number of pairs each side scored: custdata's
candidate pairs, and for Splink the comparisons its blocking rules generate (Splink's own
``count_comparisons_from_blocking_rule`` per rule, and the cumulative count after removing pairs an earlier rule
found, counted outside the timed part). A side that runs longer than ``--timeout`` seconds is stopped and its row
says so.

Sides:

- ``python``: ``Matcher().find_duplicates(store_records(store))``, the path of ``custdata dedupe``.
- ``duckdb``: ``Matcher(engine=DuckDBEngine(memory_limit=...)).find_duplicates(store_records(store))``, the
  same pairs (``custdata dedupe --engine duckdb``); DuckDB holds at most ``--memory-limit`` and spills the rest.
  The default, 1GB, is the engine's own: at 1,000,000 customers it spills at most a few hundred MiB (264 MiB in
  one run, the process peaking at 1,390 MiB), so a larger limit has little to save and would bring the peak
  nearer 2 GiB: the process holds Python, the libraries and a batch of records beside DuckDB's memory.
  When a core is idle as it starts (the 1-minute load average at most the cores less one), the engine
  normalises part of the batches in a second Python process while it reads and loads the others, so it may use
  two processes where Splink's side uses one; the peak memory reported is the main process's. On a machine
  whose cores are busy it uses one, as the rows of a busy run do (the load is printed with each row).
- ``splink``: Splink 4+ on DuckDB with DuckDB's defaults (a user's setup), with a model as close to custdata's as
  Splink can express, on the same normalised fields: the store's records are normalised by custdata in the
  timed part by the very path the engines take (the store's documents read as plain values,
  ``store_records(store).fields()``, normalised into column batches by ``engines._columns.batches``, without the
  blocking keys Splink does not read), each batch's columns mapped to Splink's columns and handed to Splink as
  one Arrow table, then Splink's blocking, comparisons and prediction at custdata's review threshold. Both sides
  pay the same for reading and normalising, so the ratio measures what differs: custdata's candidate
  generation, comparison SQL, scoring and explanations against Splink's blocking, comparisons and prediction. Levels: the same per field, with custdata's m and u probabilities
  fixed (no training). Where Splink differs: each field's levels are tested in order on one column (custdata's
  given/family swap and its household probabilities, which change a weight when another field agrees, have no
  Splink equivalent); email and phone use the first address and number for typos (any shared one for exact).
  Splink compares every pair of a block (custdata caps blocks at ``max_block_size`` and compares larger ones by
  sorted neighbourhood), so its blocking rules are ones whose blocks stay small at this size: each pairs two
  fields that together are rare (see ``SPLINK_BLOCKING``), as Splink's documentation advises.

With ``--small`` set, the three sides also run at that size, and the time at ``n`` is projected to ten million
records from the growth between the two sizes (a power law ``t = a * n**k`` through both points).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import record as report_row

HERE = Path(__file__).resolve().parent
SIDES = ("python", "duckdb", "splink")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _accuracy(found: set[tuple[str, str]], truth: frozenset[tuple[str, str]]) -> dict[str, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "found": len(found)}


def _splink_model() -> tuple[Any, float]:
    """Splink settings equivalent (as far as Splink allows) to custdata's default model, and the prior's weight."""
    import splink.comparison_level_library as cll
    from splink import SettingsCreator, block_on

    from custdata.matching import MatchModel
    from custdata.matching.compare import NAME_TYPO, STREET_TYPO

    model = MatchModel.default()

    def comparison(field: str, column: str, levels: list[tuple[str, Any]]) -> Any:
        import splink.comparison_library as cl

        built = [
            cll.CustomLevel(f'"{column}_l" IS NULL OR "{column}_r" IS NULL', "missing").configure(is_null_level=True)
        ]
        m, u = [], []
        for name, level in levels:
            built.append(level)
            m.append(model.probabilities[field][name].m)
            u.append(model.probabilities[field][name].u)
        built.append(cll.ElseLevel())
        m.append(model.probabilities[field]["different"].m)
        u.append(model.probabilities[field]["different"].u)
        return cl.CustomComparison(comparison_levels=built, output_column_name=field).configure(
            m_probabilities=m, u_probabilities=u
        )

    def custom(sql: str, label: str) -> Any:
        return cll.CustomLevel(sql, label)

    comparisons = [
        comparison(
            "given_name",
            "given",
            [
                ("exact", cll.ExactMatchLevel("given")),
                ("nickname", cll.ArrayIntersectLevel("given_groups", 1)),
                (
                    "initial",
                    custom(
                        "(length(given_first_l) = 1 OR length(given_first_r) = 1) AND "
                        "substr(given_first_l, 1, 1) = substr(given_first_r, 1, 1)",
                        "initial",
                    ),
                ),
                ("typo", cll.JaroWinklerLevel("given", NAME_TYPO)),
                ("phonetic", cll.ExactMatchLevel("given_code")),
            ],
        ),
        comparison(
            "family_name",
            "family",
            [
                ("exact", cll.ExactMatchLevel("family")),
                ("partial", cll.ArraySubsetLevel("family_tokens")),
                ("typo", cll.JaroWinklerLevel("family", NAME_TYPO)),
                ("phonetic", cll.ExactMatchLevel("family_code")),
            ],
        ),
        comparison(
            "birthday",
            "birthday",
            [
                ("exact", cll.ExactMatchLevel("birthday")),
                ("day_month_swapped", custom("birthday_swapped_l = birthday_r", "day_month_swapped")),
                ("typo", cll.DamerauLevenshteinLevel("birthday", 1)),
            ],
        ),
        comparison(
            "email",
            "email",
            [
                ("exact", cll.ArrayIntersectLevel("emails", 1)),
                ("typo", cll.DamerauLevenshteinLevel("email", 1)),
            ],
        ),
        comparison(
            "phone",
            "tail",
            [
                ("exact", cll.ArrayIntersectLevel("tails", 1)),
                ("typo", cll.DamerauLevenshteinLevel("tail", 1)),
            ],
        ),
        comparison(
            "street",
            "street",
            [
                ("exact", custom("street_l = street_r AND house_l = house_r", "exact")),
                ("other_house", custom("street_l = street_r AND house_l <> '' AND house_r <> ''", "other_house")),
                ("typo", cll.JaroWinklerLevel("street", STREET_TYPO)),
            ],
        ),
        comparison(
            "locality",
            "place",
            [
                ("exact", cll.ExactMatchLevel("postal")),
                ("city", cll.ExactMatchLevel("city")),
                ("typo", cll.DamerauLevenshteinLevel("postal", 1)),
            ],
        ),
    ]
    blocking = [block_on(*rule) for rule in SPLINK_BLOCKING]
    prior = 1e-4
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        probability_two_random_records_match=prior,
        retain_matching_columns=False,
        unique_id_column_name="id",
    )
    return settings, math.log2(prior / (1 - prior))


def _splink_columns(records: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Splink's columns (NULL for a missing value) from the ``records`` columns of one of the engines' batches
    (``engines._columns.batches``): custdata's normalisation, by the same path the engines take, mapped to the
    columns the Splink model reads."""

    def nulled(values: list[Any]) -> list[Any]:
        return [value or None for value in values]

    groups, emails, tails, streets = records["g_groups"], records["emails"], records["tails"], records["s_name"]
    years, months, days = records["b_year"], records["b_month"], records["b_day"]
    return {
        "id": records["id"],
        "given": nulled(records["g_full"]),
        "given_first": nulled(records["g_first"]),
        "given_groups": groups,
        "given_code": nulled(records["g_code"]),
        "given_key": [
            (f"#{min(group)}" if group else code) or None for group, code in zip(groups, records["g_code"], strict=True)
        ],
        "family": nulled(records["f_full"]),
        "family_tokens": records["f_tokens"],
        "family_code": nulled(records["f_code"]),
        "birthday": records["b_digits"],
        "birthday_swapped": [
            None if year is None else f"{year:04d}{day:02d}{month:02d}"
            for year, month, day in zip(years, months, days, strict=True)
        ],
        "email": [e[0] if e else None for e in emails],
        "emails": emails,
        "local": [(e[0].rpartition("@")[0] or None) if e else None for e in emails],
        "tail": [t[0] if t else None for t in tails],
        "tails": tails,
        "street": nulled(streets),
        "house": records["s_house"],
        "house_key": nulled(records["s_house"]),
        "street5": [name[:5] or None for name in streets],
        "postal": nulled(records["postal"]),
        "city": nulled(records["city"]),
        "place": [(p or c) or None for p, c in zip(records["postal"], records["city"], strict=True)],
    }


SPLINK_BLOCKING: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("tail",),
    ("postal", "family_code"),
    ("postal", "given_code"),
    ("postal", "street", "house_key"),
    ("birthday", "family_code"),
    ("birthday", "given_key"),
    ("city", "given_key", "family_code"),
)


def cached_store(n: int, seed: int) -> Path:
    """The SQLite store of ``n`` synthetic customers for ``seed``, built once (the truth beside it)."""
    from bench_matching import to_customer

    from custdata.matching import generate_customers
    from custdata.storage import open_store

    folder = Path(tempfile.gettempdir()) / "custdata-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"dedupe-{n}-{seed}.db"
    truth = path.with_suffix(".truth.json")
    if path.exists() and truth.exists():
        return path
    data = generate_customers(n, seed=seed)
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    with open_store(f"sqlite:///{building}") as store:
        for start in range(0, n, 50_000):
            with store.unit_of_work() as uow:
                uow.customers.add_many(to_customer(r)[0] for r in data.records[start : start + 50_000])
                uow.commit()
    truth.write_text(json.dumps(sorted(data.true_pairs)))
    os.replace(building, path)
    return path


def run_side(side: str, path: Path, memory_limit: str) -> dict[str, Any]:
    """One side, in this process: stream the store, match, measure."""
    from custdata.matching import Matcher, store_records
    from custdata.matching.engines import DuckDBEngine
    from custdata.matching.matcher import REVIEW
    from custdata.storage import open_store

    truth = frozenset(tuple(p) for p in json.loads(path.with_suffix(".truth.json").read_text()))
    before = _peak_mib()
    extra: dict[str, Any] = {}
    started = time.perf_counter()
    with open_store(f"sqlite:///{path}") as store:
        if side in ("python", "duckdb"):
            engine = DuckDBEngine(memory_limit=memory_limit) if side == "duckdb" else "python"
            result = Matcher(engine=engine).find_duplicates(store_records(store))
            found = {pair.ids for pair in result.pairs}
            n, compared = result.records, result.compared
        else:
            import duckdb
            from splink import DuckDBAPI, Linker  # type: ignore[attr-defined]

            settings, prior_weight = _splink_model()
            table = _splink_table(store_records(store))
            n = table.num_rows
            con = duckdb.connect()
            api = DuckDBAPI(con)
            linker = Linker(api.register(table), settings, log_level=40)
            predictions = linker.inference.predict(threshold_match_weight=REVIEW + prior_weight)
            rows = predictions.as_duckdbpyrelation().select("id_l, id_r").fetchall()
            found = {tuple(sorted((str(a), str(b)))) for a, b in rows}  # type: ignore[misc]
            took = time.perf_counter() - started
            extra = _splink_counts(con, table)
            compared = extra["cumulative"]
            extra["memory_limit"] = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    if side != "splink":
        took = time.perf_counter() - started
    return {
        "side": side,
        "n": n,
        "seconds": took,
        "peak_mib": _peak_mib(),
        "before_mib": before,
        "compared": compared,
        **extra,
        **_accuracy(found, truth),  # type: ignore[arg-type]
    }


def _splink_counts(con: Any, table: Any) -> dict[str, Any]:
    """Splink's own exact count of the comparisons its blocking rules generate: each rule's new pairs (not found
    by an earlier rule) and the total."""
    from splink import DuckDBAPI, block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    counted = count_comparisons_from_blocking_rules(
        DuckDBAPI(con).register(table),
        blocking_rules=[block_on(*rule) for rule in SPLINK_BLOCKING],
        link_type="dedupe_only",
        unique_id_column_name="id",
        record_sample_proportion=1.0,
    )
    per_rule = {
        "+".join(rule): int(c["marginal_comparison_count"]) for rule, c in zip(SPLINK_BLOCKING, counted, strict=True)
    }
    return {"per_rule": per_rule, "cumulative": int(counted[-1]["cumulative_comparison_count"])}


def _splink_table(records: Any) -> Any:
    """The normalised rows as one Arrow table: the engines' batches (``engines._columns.batches``, without the
    blocking keys Splink does not read), each mapped to Splink's columns."""
    import pyarrow as pa

    from custdata.matching.engines._columns import Batch, batches

    tables = []
    for batch in batches(records, None, keys=False):
        if not isinstance(batch, Batch):
            raise SystemExit(f"bad rows in the store: {batch[:3]}")
        tables.append(pa.RecordBatch.from_pydict(_splink_columns(batch.columns["records"])))
    return pa.Table.from_batches(tables)


def isolated(side: str, path: Path, memory_limit: str, timeout: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--side", side, "--path", str(path), "--memory-limit", memory_limit]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"side": side, "timed_out": timeout}
    if done.returncode != 0:
        raise SystemExit(f"{side} on {path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _projected(small: dict[str, Any], large: dict[str, Any], target: int) -> float:
    k = math.log(large["seconds"] / small["seconds"]) / math.log(large["n"] / small["n"])
    return large["seconds"] * (target / large["n"]) ** k


def _row(side: str, n: int, row: dict[str, Any]) -> str:
    if "timed_out" in row:
        return f"{side:<8} {n:>10,} did not finish within {row['timed_out']:.0f} s (stopped)"
    return (
        f"{side:<8} {row['n']:>10,} {row['seconds']:>9.2f} {row['peak_mib']:>9.0f} {row['compared']:>12,}"
        f" {row['precision']:>9.4f} {row['recall']:>7.4f} {row['f1']:>7.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="customers (default 1,000,000)")
    parser.add_argument("--small", type=int, default=0, help="also run at this size, to project 10 million")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a side may run (default 1800)")
    parser.add_argument("--memory-limit", default="1GB", help="the DuckDB engine's memory limit (default 1GB)")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, Path(args.path), args.memory_limit)))
        return
    sizes = [s for s in (args.small, args.n) if s]
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for n in sizes:
        started = time.perf_counter()
        path = cached_store(n, args.seed)
        print(f"store of {n:,} customers: {path} ({time.perf_counter() - started:.0f} s to build or find)", flush=True)
        print(
            f"{'side':<8} {'records':>10} {'seconds':>9} {'peak MiB':>9} {'compared':>12} {'precision':>9}"
            f" {'recall':>7} {'F1':>7}"
        )
        for side in SIDES:
            load = os.getloadavg()[0]
            row = results[side, n] = isolated(side, path, args.memory_limit, args.timeout)
            print(f"{_row(side, n, row)}  (load {load:.2f} to {os.getloadavg()[0]:.2f})", flush=True)
            if side == "splink" and "per_rule" in row:
                print(f"  Splink memory_limit {row['memory_limit']}; comparisons per rule: {row['per_rule']}")
    n = args.n
    duck, splink, python = results["duckdb", n], results["splink", n], results["python", n]
    if "timed_out" in duck or "timed_out" in python:
        return
    if "timed_out" in splink:
        print(f"Splink did not finish within {args.timeout:.0f} s at {n:,} customers")
    else:
        note = (
            f"F1 duckdb {duck['f1']:.4f} vs Splink {splink['f1']:.4f}; peak memory duckdb {duck['peak_mib']:.0f} MiB"
            f" (target <= 2048, memory_limit {args.memory_limit}), Splink {splink['peak_mib']:.0f} MiB; compared"
            f" duckdb {duck['compared']:,}, Splink {splink['compared']:,}"
        )
        report_row(
            "dedupe_scale",
            "duckdb engine vs Splink on DuckDB",
            duck["seconds"],
            "Splink on DuckDB, equivalent model",
            splink["seconds"],
            target=1.0,
            size=f"{n:,} customers from a SQLite store",
            note=note,
        )
    report_row(
        "dedupe_scale",
        "duckdb engine vs python engine",
        duck["seconds"],
        "the python engine",
        python["seconds"],
        size=f"{n:,} customers from a SQLite store",
        note=f"peak memory python {python['peak_mib']:.0f} MiB, duckdb {duck['peak_mib']:.0f} MiB",
    )
    if args.small:
        for side in SIDES:
            small, large = results[side, args.small], results[side, n]
            if "timed_out" in small or "timed_out" in large:
                continue
            ten = _projected(small, large, 10_000_000)
            print(f"{side}: 10,000,000 customers projected at {ten:,.0f} s (from {args.small:,} and {n:,})")


if __name__ == "__main__":
    main()
