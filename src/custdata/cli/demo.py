"""``custdata demo``: a synthetic shop in a store, its customers told about their orders, and a report."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custdata.cli._common import CliError, ExitCode, add_store_option, open_cli_store, progress_bar, store_url

_DESCRIPTION = """\
Create (or reuse) a store holding a synthetic shop: customers in five countries with valid addresses and
phones, a year of orders, parcels with tracking (some late, some failed), returns, browsing, consent records
and some duplicate customers. The last days are lived through the communication workflows, and every message
sent is written to a folder, one readable file each. Then a report: counts, messages sent and not sent (by
reason), segments, return reasons and the duplicates found. The same --seed gives the same shop and report.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="create a synthetic shop, run the workflows and print a report", description=_DESCRIPTION
    )
    add_store_option(parser, creates=True)
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed: the same seed gives the same shop (default 1)"
    )
    parser.add_argument(
        "--customers", type=_positive, default=2000, metavar="N", help="how many customer records (default 2000)"
    )
    parser.add_argument(
        "--days",
        type=_positive,
        default=14,
        metavar="N",
        help="how many last days the workflows live through (default 14)",
    )
    parser.add_argument(
        "--messages",
        type=Path,
        default=Path("custdata-messages"),
        metavar="DIR",
        help="folder for the messages, one file each (default ./custdata-messages)",
    )
    parser.add_argument(
        "--as-of",
        type=_moment,
        default=None,
        metavar="DATE",
        help="the demo's today, as an ISO date or time (default 2026-06-30T12:00Z, fixed so runs repeat)",
    )
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date such as 2026-06-30") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    try:
        from custdata.demo import DEFAULT_NOW, DemoSettings, DemoStoreError, run_demo
    except ImportError as exc:
        raise CliError(
            f"the demo needs {exc.name or 'an optional library'}: pip install 'custdata[workflows,matching]'",
            ExitCode.MISSING_EXTRA,
        ) from exc
    settings = DemoSettings(
        customers=args.customers,
        seed=args.seed,
        days=args.days,
        now=args.as_of or DEFAULT_NOW,
        outbox_folder=args.messages,
    )
    started = time.perf_counter()
    print(f"custdata demo: building the shop in {store_url(args)} (seed {args.seed}) ...", flush=True)
    with open_cli_store(args, create=True) as store, progress_bar() as bar:
        try:
            report = run_demo(store, settings, progress=bar.update)
        except DemoStoreError as exc:
            message = f"the store {store_url(args)} holds other data; give the demo its own: --store demo.db"
            raise CliError(message, ExitCode.USAGE) from exc
        bar.close()
        print()
        print(report.render())
    print(f"Finished in {time.perf_counter() - started:.1f} s.")
    option = f" --store {args.store}" if getattr(args, "store", None) else ""
    print(
        "\nNext, try:\n"
        f"  custdata segments{option} --as-of {settings.now.date().isoformat()}\n"
        f"  custdata dedupe{option}\n"
        f"  custdata export customer cus_demo000001{option}\n"
        f"  ls {settings.outbox_folder}/"
    )
    return int(ExitCode.OK)
