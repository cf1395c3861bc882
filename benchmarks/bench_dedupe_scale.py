"""Duplicate detection at scale: the Python and DuckDB engines against Splink on DuckDB, on synthetic customers.

    python benchmarks/bench_dedupe_scale.py [--n 1000000] [--small 0] [--seed 11]

Data: ``generate_customers(n)`` (see ``bench_matching.py``), with the generator's known duplicate pairs as the
truth. Each side runs in a process of its own, started fresh (so its peak memory is its own): it generates the
records (deterministic for the seed), then matches them; the time is the wall time of matching only, from the
records to the pairs, and the memory the peak resident set size of the whole process
(``resource.getrusage``), records included. F1 is pairwise, counting every pair found (merge or review).

Sides:

- ``python``: ``Matcher().find_duplicates(records)``.
- ``duckdb``: ``Matcher(engine="duckdb").find_duplicates(records)``, the same pairs.
- ``splink``: Splink 4+ on DuckDB, with a model as close to custdata's as Splink can express, on the same
  normalised fields: custdata's normalisation runs first (in the timed part, as it does for the engines), then
  Splink's blocking, comparisons and prediction at custdata's review threshold. Levels: the same per field, with
  custdata's m and u probabilities fixed (no training). Where Splink differs: each field's levels are tested in
  order on one column (custdata's given/family swap and its household probabilities, which change a weight when
  another field agrees, have no Splink equivalent); email and phone use the first address and number for typos
  (any shared one for exact); Splink blocks on the first value of each key kind and compares every pair of a
  block (custdata caps blocks at ``max_block_size`` and compares large ones by sorted neighbourhood).

With ``--small`` set, the three sides also run at that size, and the time at ``n`` is projected to ten million
records from the growth between the two sizes (a power law ``t = a * n**k`` through both points).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
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
    blocking = [
        block_on("email"),
        block_on("local"),
        block_on("tail"),
        block_on("postal", "given_code"),
        block_on("postal", "family_code"),
        block_on("postal", "house"),
        block_on("city", "street5", "house"),
        block_on("given_key", "family_code"),
        block_on("birthday", "family_code"),
    ]
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


def _splink_rows(records: Any) -> dict[str, list[Any]]:
    """custdata's normalisation, flattened into the columns the Splink model reads (NULL for a missing value)."""
    from custdata.matching import normalise

    columns: dict[str, list[Any]] = {
        name: []
        for name in ["id", "given", "given_first", "given_groups", "given_code", "given_key", "family", "family_tokens", "family_code", "birthday", "birthday_swapped", "email", "emails", "local", "tail", "tails", "street", "house", "street5", "postal", "city", "place"]
    }
    for record in records:
        r = normalise(record)
        b = r.birthday
        tails = sorted({p[-8:] for p in r.phones})
        values = {
            "id": r.id,
            "given": r.given.full or None,
            "given_first": r.given.first or None,
            "given_groups": sorted(r.given.groups),
            "given_code": r.given.code or None,
            "given_key": (f"#{min(r.given.groups)}" if r.given.groups else r.given.code) or None,
            "family": r.family.full or None,
            "family_tokens": list(r.family.tokens),
            "family_code": r.family.code or None,
            "birthday": b.digits if b else None,
            "birthday_swapped": f"{b.year:04d}{b.day:02d}{b.month:02d}" if b else None,
            "email": r.emails[0] if r.emails else None,
            "emails": list(r.emails),
            "local": (r.emails[0].rpartition("@")[0] or None) if r.emails else None,
            "tail": tails[0] if tails else None,
            "tails": tails,
            "street": r.street.name or None,
            "house": r.street.house,
            "street5": r.street.name[:5] or None,
            "postal": r.postal_code or None,
            "city": r.city or None,
            "place": (r.postal_code or r.city) or None,
        }
        for name, value in values.items():
            columns[name].append(value)
    return columns


def run_side(side: str, n: int, seed: int) -> dict[str, Any]:
    """One side, in this process: generate, match, measure."""
    from custdata.matching import Matcher, generate_customers
    from custdata.matching.matcher import REVIEW

    data = generate_customers(n, seed=seed)
    before = _peak_mib()
    started = time.perf_counter()
    if side in ("python", "duckdb"):
        result = Matcher(engine=side).find_duplicates(data.records)
        found = {pair.ids for pair in result.pairs}
    else:
        import duckdb
        import pyarrow as pa
        from splink import DuckDBAPI, Linker  # type: ignore[attr-defined]

        settings, prior_weight = _splink_model()
        table = pa.table(_splink_rows(data.records))
        api = DuckDBAPI(duckdb.connect())
        linker = Linker(api.register(table), settings, log_level=40)
        predictions = linker.inference.predict(threshold_match_weight=REVIEW + prior_weight)
        rows = predictions.as_duckdbpyrelation().select("id_l, id_r").fetchall()
        found = {tuple(sorted((str(a), str(b)))) for a, b in rows}  # type: ignore[misc]
    took = time.perf_counter() - started
    return {
        "side": side,
        "n": n,
        "seconds": took,
        "peak_mib": _peak_mib(),
        "before_mib": before,
        **_accuracy(found, data.true_pairs),  # type: ignore[arg-type]
    }


def isolated(side: str, n: int, seed: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--side", side, "--n", str(n), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{side} at {n} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _projected(small: dict[str, Any], large: dict[str, Any], target: int) -> float:
    k = math.log(large["seconds"] / small["seconds"]) / math.log(large["n"] / small["n"])
    return large["seconds"] * (target / large["n"]) ** k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="customers (default 1,000,000)")
    parser.add_argument("--small", type=int, default=0, help="also run at this size, to project 10 million")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.n, args.seed)))
        return
    sizes = [s for s in (args.small, args.n) if s]
    results: dict[tuple[str, int], dict[str, Any]] = {}
    print(f"{'side':<8} {'records':>10} {'seconds':>9} {'peak MiB':>9} {'precision':>9} {'recall':>7} {'F1':>7}")
    for n in sizes:
        for side in SIDES:
            row = results[side, n] = isolated(side, n, args.seed)
            print(
                f"{side:<8} {n:>10,} {row['seconds']:>9.2f} {row['peak_mib']:>9.0f} {row['precision']:>9.4f}"
                f" {row['recall']:>7.4f} {row['f1']:>7.4f}",
                flush=True,
            )
    n = args.n
    duck, splink, python = results["duckdb", n], results["splink", n], results["python", n]
    note = (
        f"F1 duckdb {duck['f1']:.4f} vs Splink {splink['f1']:.4f}; peak memory duckdb {duck['peak_mib']:.0f} MiB"
        f" (target <= 2048), Splink {splink['peak_mib']:.0f} MiB"
    )
    report_row(
        "dedupe_scale",
        "duckdb engine vs Splink on DuckDB",
        duck["seconds"],
        "Splink on DuckDB, equivalent model",
        splink["seconds"],
        target=1.0,
        size=f"{n:,} customers",
        note=note,
    )
    report_row(
        "dedupe_scale",
        "duckdb engine vs python engine",
        duck["seconds"],
        "the python engine",
        python["seconds"],
        size=f"{n:,} customers",
        note=f"peak memory python {python['peak_mib']:.0f} MiB, duckdb {duck['peak_mib']:.0f} MiB",
    )
    if args.small:
        for side in SIDES:
            ten = _projected(results[side, args.small], results[side, n], 10_000_000)
            print(f"{side}: 10,000,000 customers projected at {ten:,.0f} s (from {args.small:,} and {n:,})")


if __name__ == "__main__":
    main()
