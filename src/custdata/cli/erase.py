"""``custdata erase``: honour the right to erasure for one or more customers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from custdata.cli._common import CliError, ExitCode, add_store_option, open_cli_store

_DESCRIPTION = """\
Erase customers' personal data: names, contact points, addresses, preferences and metadata go, orders keep
their amounts, dates and products (for the accounts) but lose addresses and tracking, messages and activity
are scrubbed, pending messages are cancelled, and the store's files are purged of the old values. This cannot
be undone: confirm with --yes (or answer the question when run in a terminal). Running it again is harmless.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "erase", help="erase customers' personal data (right to erasure)", description=_DESCRIPTION
    )
    parser.add_argument("customer_ids", nargs="+", metavar="ID", help="the customers to erase")
    add_store_option(parser)
    parser.add_argument("--yes", action="store_true", help="confirm: erase without asking")
    parser.add_argument("--no-purge", action="store_true", help="skip purging the store's files (purge later)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from custdata.privacy.erasure import erase_customer

    ids: list[str] = list(dict.fromkeys(args.customer_ids))
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("erasing cannot be undone: add --yes to confirm", ExitCode.USAGE)
        answer = input(f"Erase the personal data of {len(ids)} customer(s) for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing erased")
            return int(ExitCode.OK)
    with open_cli_store(args) as store:
        with store.unit_of_work() as uow:
            missing = sorted(set(ids) - {str(i) for i in uow.customers.get_many(ids)})
        if missing:
            raise CliError(f"no customer with id {', '.join(missing)}; nothing erased", ExitCode.NOT_FOUND)
        for index, customer_id in enumerate(ids):
            last = index == len(ids) - 1
            report = erase_customer(store, customer_id, purge=last and not args.no_purge)
            print(
                f"erased {customer_id}: {len(report.customers)} customer record(s), {report.orders} orders, "
                f"{report.communications} messages, {report.activity} activity events changed; "
                f"{report.cancelled_messages} pending messages cancelled" + ("; store purged" if report.purged else "")
            )
    return int(ExitCode.OK)
