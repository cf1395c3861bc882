"""``custdata export``: records as JSON Lines, or one customer's data export (right of access) as JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from custdata.cli._common import ExitCode, add_store_option, open_cli_store, progress_bar
from custdata.serialization import to_json
from custdata.storage import walk

_DESCRIPTION = """\
Export what the store holds. 'customers', 'orders', 'communications' and 'activity' write one JSON object per
line (JSON Lines, the library's own serialization, which custdata.from_json reads back), in id order.
'customer ID' writes everything held about one customer as one JSON document: the right-of-access export
(profile, addresses, consent history, orders, communications, activity).
"""
_KINDS = ("customers", "orders", "communications", "activity")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export records as JSON Lines, or one customer's data (right of access)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=(*_KINDS, "customer"), help="what to export")
    parser.add_argument("customer_id", nargs="?", metavar="ID", help="the customer, for 'export customer'")
    add_store_option(parser)
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here instead of standard output")
    parser.add_argument(
        "--without-private-metadata",
        action="store_true",
        help="leave private metadata out of a customer's export (where a legal exception applies)",
    )
    parser.set_defaults(handler=run)


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8") as handle:
        yield handle


def run(args: argparse.Namespace) -> int:
    if args.kind == "customer":
        if not args.customer_id:
            print("custdata export: error: 'export customer' needs the customer's id", file=sys.stderr)
            return int(ExitCode.USAGE)
        return _customer(args)
    if args.customer_id:
        print(f"custdata export: error: 'export {args.kind}' takes no id", file=sys.stderr)
        return int(ExitCode.USAGE)
    with open_cli_store(args) as store, _output(args.output) as out, progress_bar() as bar:
        written = 0
        with store.unit_of_work() as uow:
            repository = getattr(uow, args.kind)
            total = repository.count()
            fetch = (lambda c: repository.search(limit=1000, cursor=c)) if args.kind == "customers" else None
            for item in walk(fetch or (lambda c: repository.page(limit=1000, cursor=c))):
                out.write(to_json(item))
                out.write("\n")
                written += 1
                bar.update(args.kind, written, total)
    if args.output is not None:
        print(f"{written} {args.kind} written to {args.output}", file=sys.stderr)
    return int(ExitCode.OK)


def _customer(args: argparse.Namespace) -> int:
    from custdata.privacy import export_customer_json

    with open_cli_store(args) as store:
        text = export_customer_json(store, args.customer_id, include_private_metadata=not args.without_private_metadata)
    with _output(args.output) as out:
        out.write(text)
        out.write("\n")
    return int(ExitCode.OK)
