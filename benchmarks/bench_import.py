"""Import a Shopify customer export into SQLite end to end: custdata against what a user would write otherwise.

    python benchmarks/bench_import.py [--rows 1000000] [--jobs 1,2] [--export FILE]

One generated file (Shopify's customer CSV export, customers in four countries with addresses and phone numbers)
is imported by each side, in a process of its own so that peak memory is its own, into a fresh SQLite file:

* custdata: ``import_customers(store, read_rows(file, "csv"), shopify=True)``: every record checked (email,
  phone for the address's country, the address against the country's postal rules, consent flags), the rejects
  file, batches of 500 in one transaction each, a re-run skipping what is stored; run once for each count of
  worker processes in ``--jobs`` (default ``1,2``: one process, then ``import_customers(..., jobs=2)``);
* the baseline: pandas ``read_csv`` of the whole file, a pydantic model validating each row (email through
  email-validator, phone through phonenumbers, the same fields: the address, the marketing answers, the tags, the
  note, the tax exemption and the historic totals that custdata keeps too), and ``executemany`` of the rows as JSON
  into a SQLite table in one transaction, with an index on the email address (as a careful user would add to find
  a customer by email; custdata's search keys serve that) and ``INSERT OR IGNORE`` (a re-run skips what is stored,
  as custdata's does). The baseline runs once; each custdata run is compared with that same run.

Prints each time, the ratio (custdata / baseline; below 1.0 is faster), each side's CPU time a row (its workers'
included) and peak memory (the process's maximum resident size, and the largest worker's). custdata streams: its
peak memory is also measured on a tenth of the file, to show it does not grow with the file; the baseline holds the
whole file in a DataFrame.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _report import record, verdict

HEADER = [
    "Customer ID",
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Address2",
    "Default Address City",
    "Default Address Province Code",
    "Default Address Country Code",
    "Default Address Zip",
    "Default Address Phone",
    "Phone",
    "Accepts SMS Marketing",
    "Total Spent",
    "Total Orders",
    "Note",
    "Tax Exempt",
    "Tags",
]
FIRST = ["Anna", "Ben", "Chloé", "David", "Émile", "Fatima", "Georg", "Hana", "Ivan", "Julia", "Kenji", "Lucía"]
LAST = ["Müller", "Smith", "Dubois", "García", "Rossi", "Nowak", "Tanaka", "Silva", "Jensen", "O'Brien"]
#: country, province, city, postal code, phone pattern
PLACES = [
    ("DE", "", "Berlin", "10115", "+49 30 {n:07d}"),
    ("US", "CA", "San Francisco", "94103", "+1 415 555 {n4:04d}"),
    ("GB", "", "London", "EC1Y 8SY", "+44 20 7946 {n4:04d}"),
    ("FR", "", "Paris", "75002", "+33 1 42 {n2:02d} {n2b:02d} {n2c:02d}"),
]


def write_export(path: Path, rows: int, seed: int = 7) -> None:
    """A Shopify customer export of ``rows`` customers."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            country, province, city, postal, phone = rng.choice(PLACES)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            number = phone.format(n=n % 10_000_000, n4=n % 10_000, n2=n % 100, n2b=(n // 100) % 100, n2c=n % 97)
            writer.writerow(
                [
                    str(7_000_000_000 + n),
                    first,
                    last,
                    f"customer{n}@example.com",
                    rng.choice(["yes", "no"]),
                    "",
                    f"{rng.randint(1, 200)} Example Street",
                    "",
                    city,
                    province,
                    country,
                    postal,
                    "",
                    number,
                    rng.choice(["yes", "no"]),
                    f"{rng.randint(0, 90_000) / 100:.2f}",
                    str(rng.randint(0, 20)),
                    "",
                    "no",
                    rng.choice(["", "vip", "newsletter, repeat"]),
                ]
            )


# -- the two sides, each run in a process of its own -----------------------------------------------------------


def run_custdata(file: Path, db: Path, jobs: int = 1) -> dict[str, Any]:
    from custdata.importing import ImportOptions, RejectsFile, import_customers, read_rows
    from custdata.storage import open_store

    started = time.perf_counter()
    with open_store(f"sqlite:///{db}") as store, RejectsFile(db.with_suffix(".rejects.csv")) as rejects:
        options = ImportOptions(platform="shopify")
        report = import_customers(
            store, read_rows(file, "csv"), shopify=True, options=options, rejects=rejects, jobs=jobs
        )
    took = time.perf_counter() - started
    return {"seconds": took, "stored": report.imported, "rejected": report.rejected}


def run_baseline(file: Path, db: Path) -> dict[str, Any]:
    import sqlite3
    from decimal import Decimal
    from typing import Annotated

    import pandas
    from pydantic import BaseModel, BeforeValidator, EmailStr, ValidationError
    from pydantic_extra_types.phone_numbers import PhoneNumber

    def yes(value: str) -> bool:
        return value.strip().lower() in ("yes", "true", "1")

    def blank(value: str) -> str | None:
        return value.strip() or None

    class ShopifyCustomer(BaseModel):
        customer_id: str
        first_name: str | None
        last_name: str | None
        email: EmailStr
        accepts_email_marketing: Annotated[bool, BeforeValidator(yes)]
        company: Annotated[str | None, BeforeValidator(blank)]
        address1: Annotated[str | None, BeforeValidator(blank)]
        address2: Annotated[str | None, BeforeValidator(blank)]
        city: Annotated[str | None, BeforeValidator(blank)]
        province_code: Annotated[str | None, BeforeValidator(blank)]
        country_code: Annotated[str | None, BeforeValidator(blank)]
        zip: Annotated[str | None, BeforeValidator(blank)]
        phone: Annotated[PhoneNumber | None, BeforeValidator(blank)]
        accepts_sms_marketing: Annotated[bool, BeforeValidator(yes)]
        tags: list[str]
        total_spent: Annotated[Decimal | None, BeforeValidator(blank)]
        total_orders: Annotated[int | None, BeforeValidator(blank)]
        note: Annotated[str | None, BeforeValidator(blank)]
        tax_exempt: Annotated[bool, BeforeValidator(yes)]

    started = time.perf_counter()
    frame = pandas.read_csv(file, dtype=str, keep_default_na=False)
    columns = {
        "customer_id": "Customer ID",
        "first_name": "First Name",
        "last_name": "Last Name",
        "email": "Email",
        "accepts_email_marketing": "Accepts Email Marketing",
        "company": "Default Address Company",
        "address1": "Default Address Address1",
        "address2": "Default Address Address2",
        "city": "Default Address City",
        "province_code": "Default Address Province Code",
        "country_code": "Default Address Country Code",
        "zip": "Default Address Zip",
        "phone": "Phone",
        "accepts_sms_marketing": "Accepts SMS Marketing",
        "total_spent": "Total Spent",
        "total_orders": "Total Orders",
        "note": "Note",
        "tax_exempt": "Tax Exempt",
    }
    stored: list[tuple[str, str, str]] = []
    rejected = 0
    for values in frame.to_dict("records"):
        data = {name: values[column] for name, column in columns.items()}
        data["tags"] = [t.strip() for t in values["Tags"].split(",") if t.strip()]
        try:
            customer = ShopifyCustomer.model_validate(data)
        except ValidationError:
            rejected += 1
            continue
        stored.append((customer.customer_id, customer.email.lower(), customer.model_dump_json()))
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE customers (id TEXT PRIMARY KEY, email TEXT NOT NULL, data TEXT NOT NULL)")
    connection.execute("CREATE INDEX customers_email ON customers (email)")
    with connection:
        connection.executemany("INSERT OR IGNORE INTO customers VALUES (?, ?, ?)", stored)
    connection.close()
    took = time.perf_counter() - started
    return {"seconds": took, "stored": len(stored), "rejected": rejected}


def peak_mib() -> float:
    """The process's maximum resident size, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def cpu_seconds() -> float:
    """CPU time of this process and of the worker processes it waited for (user and system)."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def workers_peak_mib() -> float:
    """The largest maximum resident size among the worker processes this process waited for, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def side(name: str, file: Path, db: Path, jobs: int = 1) -> dict[str, Any]:
    """Run one side in a fresh process and return its time, counts, CPU time and peak memory."""
    done = subprocess.run(
        [sys.executable, __file__, "--side", name, "--file", str(file), "--db", str(db), "--jobs", str(jobs)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers in the export (default 1,000,000)")
    parser.add_argument("--data", type=Path, default=None, help="where the export and the stores are written")
    parser.add_argument("--side", choices=("custdata", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--jobs",
        default="1,2",
        help="custdata's worker processes, one run each, comma-separated (import_customers(jobs=...); default 1,2)",
    )
    parser.add_argument(
        "--export", type=Path, default=None, help="import this export (written by an earlier run) instead of a new one"
    )
    args = parser.parse_args()
    if args.side is not None:
        if args.side == "custdata":
            result = run_custdata(args.file, args.db, int(args.jobs))
        else:
            result = run_baseline(args.file, args.db)
        print(json.dumps({**result, "peak_mib": peak_mib(), "cpu": cpu_seconds(), "workers_mib": workers_peak_mib()}))
        return 0
    jobs = [int(part) for part in str(args.jobs).split(",") if part.strip()]
    try:
        import pandas  # noqa: F401
        import pydantic  # noqa: F401
        import pydantic_extra_types  # noqa: F401
    except ImportError:
        raise SystemExit("this benchmark needs: pip install 'custdata[bench]' pandas") from None
    ours: dict[int, dict[str, Any]] = {}
    tenth: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=args.data) as folder:
        work = Path(folder)
        export, small = work / "customers_export.csv", work / "customers_small.csv"
        started = time.perf_counter()
        if args.export is not None:
            export = args.export
            with open(export, encoding="utf-8") as handle:
                args.rows = sum(1 for _ in handle) - 1
        else:
            write_export(export, args.rows)
        write_export(small, max(1, args.rows // 10))
        print(
            f"{'reused' if args.export is not None else 'wrote'} {args.rows:,} customers ({export.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        base = side("baseline", export, work / "baseline.db")
        _show("baseline", base, args.rows)
        for n in jobs:
            ours[n] = side("custdata", export, work / f"custdata_{n}.db", n)
            _show(f"custdata, jobs={n}", ours[n], args.rows)
            tenth[n] = side("custdata", small, work / f"custdata_small_{n}.db", n)
            print(f"custdata, jobs={n}, on a tenth of the rows: peak memory {tenth[n]['peak_mib']:.0f} MiB")
    if base["stored"] != args.rows or any(result["stored"] != args.rows for result in ours.values()):
        raise SystemExit("the two sides did not store every customer: the comparison would be unfair")
    for n, result in ours.items():
        row = record(
            "import",
            f"Shopify customer CSV to SQLite, jobs={n}",
            result["seconds"],
            "pandas read_csv + pydantic + executemany",
            base["seconds"],
            target=1.0,
            size=f"{args.rows:,} rows, jobs={n}",
            note=(
                f"peak memory: custdata {result['peak_mib']:.0f} MiB ({tenth[n]['peak_mib']:.0f} MiB on a tenth of "
                f"the rows; each worker at most {result['workers_mib']:.0f} MiB), baseline {base['peak_mib']:.0f} MiB; "
                f"CPU a row: custdata {result['cpu'] / args.rows * 1e6:.0f} µs, baseline "
                f"{base['cpu'] / args.rows * 1e6:.0f} µs"
            ),
        )
        print(f"jobs={n}: ratio {row['ratio']:.2f} (target <= 1.00: {verdict(row)})")
    return 0


def _show(name: str, result: dict[str, Any], rows: int) -> None:
    print(
        f"{name:<17} {result['seconds']:8.2f} s  {rows / result['seconds']:>9,.0f} rows/s  "
        f"stored {result['stored']:,}, rejected {result['rejected']:,}, peak memory {result['peak_mib']:.0f} MiB"
        f" (each worker at most {result['workers_mib']:.0f} MiB), CPU {result['cpu'] / rows * 1e6:.0f} µs a row",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
