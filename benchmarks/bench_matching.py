"""Duplicate detection: accuracy and speed on synthetic customers with known duplicates, against a named baseline.

    python benchmarks/bench_matching.py [--n 100000] [--store-n 20000] [--seed 11]

Data: ``generate_customers(n)``: realistic customers in five countries, a quarter of them with one to three
damaged extra records (typos, nicknames, swapped names, other phone formats, abbreviated streets, moves,
missing fields) and some households. Every figure is pairwise precision / recall / F1 against the known
duplicate pairs, counting pairs flagged for merge or review.

Baseline ("exact keys", measured in the same run): the pairs that share a canonical email, an E.164 phone, or
the same folded full name and postal code, which is what de-duplication by SQL ``GROUP BY`` finds. Times are
wall-clock seconds of the matching call, printed with their ratio to the baseline's time (above 1.0 is
slower), and the CPU seconds of the whole scenario process (which also cover preparing its input), which
move less than wall time when other work competes for the machine.

Scenarios, each in a fresh forked process so that its peak memory can be reported (peak resident set size
of the process, and how much it grew while matching):

1. records with email and phone; 2. names and addresses only (email, phone and birthday emptied);
3. raw imported rows: dicts with export-style column names ("First Name", "Zip", ...), the share of which
   would fail strict validation as :class:`custdata.Customer` is printed;
4. a store: customers imported into a SQLite file (fields that fail validation left out), streamed back
   with ``store_records`` and matched, compared with matching the same records held in memory.
Also: how many true pairs blocking loses, against comparing all pairs, on a small sample.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from _report import record as report_row

from custdata import Address, Customer, EmailAddress, PhoneNumber, ValidationError
from custdata.matching import (
    Accuracy,
    Decision,
    Matcher,
    SyntheticData,
    evaluate,
    generate_customers,
    normalise,
    store_records,
)
from custdata.matching.normalise import normalise_birthday
from custdata.matching.records import CustomerRecord
from custdata.storage import open_store

EXPORT_COLUMNS = {
    "given_name": "First Name",
    "family_name": "Last Name",
    "email": "Email",
    "phone": "Phone Number",
    "street": "Address1",
    "postal_code": "Zip",
    "city": "City",
    "country": "Country Code",
    "birthday": "Date of Birth",
}
T0 = datetime(2025, 1, 1, tzinfo=UTC)
DATA: dict[str, Any] = {}


# -- measuring ----------------------------------------------------------------------------------------------


def _status(field: str) -> float:
    """A /proc/self/status figure in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(job: Callable[[], dict[str, Any]], pipe: Any) -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset the peak resident set size to the current one
    except OSError:
        pass
    start = _status("VmRSS")
    cpu = time.process_time()
    result = job()
    result["cpu_seconds"] = time.process_time() - cpu
    result["peak_mib"] = _status("VmHWM")
    result["growth_mib"] = result["peak_mib"] - start
    pipe.send(result)
    pipe.close()


def isolated(job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``job`` in a forked process (it sees the data already generated) and return its result."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(job, child))
    process.start()
    result: dict[str, Any] = parent.recv()
    process.join()
    return result


# -- the baseline -------------------------------------------------------------------------------------------


def exact_keys(records: Iterable[CustomerRecord]) -> set[tuple[str, str]]:
    """Pairs sharing a canonical email, an E.164 phone, or a folded full name with the same postal code."""
    groups: dict[tuple[str, str], list[str]] = {}
    for record in records:
        n = normalise(record)
        keys = [("e", e) for e in n.emails] + [("p", p) for p in n.phones]
        if n.given.full and n.family.full and n.postal_code:
            keys.append(("n", f"{n.given.full}|{n.family.full}|{n.postal_code}"))
        for key in keys:
            groups.setdefault(key, []).append(n.id)
    pairs = set()
    for ids in groups.values():
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pairs.add((a, b) if a < b else (b, a))
    return pairs


def _pairs_accuracy(found: set[tuple[str, str]], truth: frozenset[tuple[str, str]]) -> Accuracy:
    hits = len(found & truth)
    return Accuracy(hits, len(found) - hits, len(truth) - hits)


# -- jobs ---------------------------------------------------------------------------------------------------


def baseline_job(data: SyntheticData) -> Callable[[], dict[str, Any]]:
    def job() -> dict[str, Any]:
        started = time.perf_counter()
        found = exact_keys(data.records)
        return {"seconds": time.perf_counter() - started, "accuracy": _pairs_accuracy(found, data.true_pairs)}

    return job


def matcher_job(rows: Callable[[], Iterable[Any]], truth: frozenset[tuple[str, str]]) -> Callable[[], dict[str, Any]]:
    def job() -> dict[str, Any]:
        items = rows()
        started = time.perf_counter()
        result = Matcher().find_duplicates(items)
        seconds = time.perf_counter() - started
        return {
            "seconds": seconds,
            "records": result.records,
            "compared": result.compared,
            "accuracy": evaluate(result.pairs, truth),
            "auto": evaluate(result.pairs, truth, decisions=(Decision.AUTO_MERGE,)),
        }

    return job


def export_rows(records: Iterable[CustomerRecord]) -> list[dict[str, Any]]:
    """Records as a shop export would give them: other column names, numeric postal codes as numbers."""
    rows = []
    for record in records:
        row: dict[str, Any] = {"Customer ID": record.id}
        for field, column in EXPORT_COLUMNS.items():
            value = getattr(record, field)
            if field == "postal_code" and value and value.isdigit() and not value.startswith("0"):
                value = int(value)
            row[column] = value
        rows.append(row)
    return rows


def to_customer(record: CustomerRecord) -> tuple[Customer, list[str]]:
    """Import one record leniently: fields that fail validation are left out (birthdays are read in the
    spellings the matcher understands). Returns the customer and the fields that were left out."""
    country = (record.country or "").upper() or None
    dropped: list[str] = []
    email = phone = address = birthday = None
    if record.email:
        try:
            email = EmailAddress.parse(record.email)
        except ValidationError:
            dropped.append("email")
    if record.phone:
        try:
            phone = PhoneNumber.parse(record.phone, country)
        except ValidationError:
            dropped.append("phone")
    if record.street or record.postal_code or record.city:
        try:
            address = Address(
                street_address_1=record.street or "",
                postal_code=record.postal_code or "",
                city=record.city or "",
                country_code=country or "",
            )
        except ValidationError as exc:
            dropped.append("address: " + ", ".join(sorted({p.path for p in exc.problems})))
    if record.birthday:
        try:
            birthday = date.fromisoformat(record.birthday)
        except ValueError:
            read = normalise_birthday(record.birthday, country)
            birthday = date(read.year, read.month, read.day) if read else None
    customer = Customer(
        id=record.id,
        created_at=T0,
        given_name=record.given_name,
        family_name=record.family_name,
        email=email,
        phone=phone,
        addresses=(address,) if address else (),
        default_shipping_address=0 if address else None,
        birthday=birthday,
    )
    return customer, dropped


def store_job(data: SyntheticData, count: int, folder: str) -> Callable[[], dict[str, Any]]:
    def job() -> dict[str, Any]:
        subset = data.records[:count]
        ids = {r.id for r in subset}
        truth = frozenset(p for p in data.true_pairs if p[0] in ids and p[1] in ids)
        started = time.perf_counter()
        converted = [to_customer(r) for r in subset]
        with open_store(f"sqlite:///{folder}/shop.db") as store:
            with store.unit_of_work() as uow:
                uow.customers.add_many(c for c, _ in converted)
                uow.commit()
            imported = time.perf_counter() - started
            started = time.perf_counter()
            result = Matcher().find_duplicates(store_records(store))
            seconds = time.perf_counter() - started
        in_memory = [CustomerRecord.from_customer(c) for c, _ in converted]
        started = time.perf_counter()
        same = Matcher().find_duplicates(in_memory)
        memory_seconds = time.perf_counter() - started
        return {
            "seconds": seconds,
            "memory_seconds": memory_seconds,
            "import_seconds": imported,
            "records": result.records,
            "dropped_records": sum(1 for _, d in converted if d),
            "same_as_memory": same.pairs == result.pairs,
            "accuracy": evaluate(result.pairs, truth),
            "auto": evaluate(result.pairs, truth, decisions=(Decision.AUTO_MERGE,)),
        }

    return job


def blocking_job(data: SyntheticData, count: int) -> Callable[[], dict[str, Any]]:
    def job() -> dict[str, Any]:
        subset = data.records[:count]
        ids = {r.id for r in subset}
        truth = frozenset(p for p in data.true_pairs if p[0] in ids and p[1] in ids)
        matcher = Matcher()
        started = time.perf_counter()
        blocked = matcher.find_duplicates(subset)
        blocked_seconds = time.perf_counter() - started
        started = time.perf_counter()
        full = matcher.find_duplicates(subset, blocking=False)
        return {
            "blocked": evaluate(blocked.pairs, truth),
            "full": evaluate(full.pairs, truth),
            "compared": (blocked.compared, full.compared),
            "seconds": (blocked_seconds, time.perf_counter() - started),
        }

    return job


# -- report -------------------------------------------------------------------------------------------------


def _line(name: str, result: dict[str, Any], baseline: float, *, size: int = 0) -> None:
    accuracy: Accuracy = result["accuracy"]
    if size and not name.startswith("baseline"):
        note = f"P {accuracy.precision:.4f} R {accuracy.recall:.4f} F1 {accuracy.f1:.4f}, peak {result['peak_mib']:.0f} MiB"
        report_row("matching", name.removeprefix("matcher: "), result["seconds"], "exact-key matching", baseline,
               size=f"{size:,}", note=note)  # fmt: skip
    print(
        f"{name:<34} P {accuracy.precision:.4f}  R {accuracy.recall:.4f}  F1 {accuracy.f1:.4f}  "
        f"{result['seconds']:6.1f} s (x{result['seconds'] / baseline:4.1f}, CPU {result['cpu_seconds']:5.1f} s)  "
        f"peak {result['peak_mib']:6.0f} MiB (+{result['growth_mib']:.0f})"
    )
    if "auto" in result:
        auto: Accuracy = result["auto"]
        print(f"{'':<34} auto-merge only: P {auto.precision:.4f}  R {auto.recall:.4f}  F1 {auto.f1:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--store-n", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=1_000, help="records for the blocking check")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate_customers(args.n, seed=args.seed)
    bare = data.without("email", "phone", "birthday")
    print(
        f"{args.n} synthetic records, {len(data.true_pairs)} true duplicate pairs, generated in "
        f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )

    base = isolated(baseline_job(data))
    seconds = base["seconds"]
    _line("baseline: exact keys", base, seconds)
    _line(
        "matcher: with email and phone",
        isolated(matcher_job(lambda: data.records, data.true_pairs)),
        seconds,
        size=args.n,
    )
    _line(
        "matcher: names and addresses only",
        isolated(matcher_job(lambda: bare.records, bare.true_pairs)),
        seconds,
        size=args.n,
    )
    _line("baseline: names and addresses only", isolated(baseline_job(bare)), seconds)

    rows = export_rows(data.records)
    sample = data.records[: min(2_000, len(data.records))]
    reasons = Counter(reason for r in sample for reason in to_customer(r)[1])
    failing = sum(1 for r in sample if to_customer(r)[1])
    raw = isolated(matcher_job(lambda: rows, data.true_pairs))
    _line("matcher: raw export rows (dicts)", raw, seconds, size=args.n)
    print(
        f"{'':<34} {failing / len(sample):.1%} of the rows fail strict validation; most common: "
        + "; ".join(f"{reason} ({count})" for reason, count in reasons.most_common(4))
    )

    with tempfile.TemporaryDirectory() as folder:
        stored = isolated(store_job(data, min(args.store_n, args.n), folder))
    _line(f"matcher: SQLite store ({stored['records']} customers)", stored, seconds)
    print(
        f"{'':<34} streaming from the store {stored['seconds']:.2f} s vs the same records in memory "
        f"{stored['memory_seconds']:.2f} s (x{stored['seconds'] / stored['memory_seconds']:.2f}); "
        f"same pairs: {stored['same_as_memory']}; import {stored['import_seconds']:.1f} s, "
        f"{stored['dropped_records']} customers imported without a field that failed validation"
    )

    check = isolated(blocking_job(data, min(args.sample, args.n)))
    blocked, full = check["blocked"], check["full"]
    print(
        f"blocking on {min(args.sample, args.n)} records: recall {blocked.recall:.4f} vs {full.recall:.4f} "
        f"comparing all pairs; {check['compared'][0]} vs {check['compared'][1]} comparisons "
        f"(x{check['compared'][1] / max(check['compared'][0], 1):.0f} fewer), "
        f"{check['seconds'][0]:.2f} s vs {check['seconds'][1]:.2f} s"
    )


if __name__ == "__main__":
    main()
