"""``custdata erase``: honour the right to erasure for one or more customers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from custdata.cli._common import (
    SUPPRESSION_VARIABLE,
    CliError,
    ExitCode,
    add_store_option,
    open_cli_store,
    suppression_key,
)

_DESCRIPTION = f"""\
Erase customers' personal data: names, contact points, addresses, preferences and metadata go, orders keep
their amounts, dates and products (for the accounts) but lose addresses and tracking, messages and activity
are scrubbed, pending messages are cancelled, and the store's files are purged of the old values. This cannot
be undone: confirm with --yes (or answer the question when run in a terminal). Running it again is harmless.
An id no customer has any more (deleted by a retention sweep, say) under which the outbox still keeps messages or
timers has those erased. A customer whose id was derived from its email address (by earlier versions) gets a new
random id, printed, so that the address no longer leads to the record.

With a suppression key in the environment variable {SUPPRESSION_VARIABLE}, the erased addresses go on the store's
suppression list (as digests under the key), and `custdata import` with the same key skips records that have them.
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
    key = suppression_key()
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
            unknown = [i for i in missing if not _outbox_keeps(uow, i)]
        if unknown:
            raise CliError(
                f"no customer and no outbox entry or timer with id {', '.join(unknown)}; nothing erased",
                ExitCode.NOT_FOUND,
            )
        for index, customer_id in enumerate(ids):
            last = index == len(ids) - 1
            report = erase_customer(store, customer_id, purge=last and not args.no_purge, suppression_key=key)
            print(_describe(customer_id, report))
    return int(ExitCode.OK)


def _outbox_keeps(uow: Any, customer_id: str) -> bool:
    """True when the outbox keeps entries or timers under an id no customer has (a customer deleted since)."""
    from custdata.outbox.ports import has_outbox

    return has_outbox(uow) and bool(uow.outbox.for_customer(customer_id) or uow.timers.for_customer(customer_id))


def _describe(customer_id: str, report: Any) -> str:
    purged = "; store purged" if report.purged else ""
    outbox = (
        f"{report.outbox_entries} outbox entries and {report.timers} timers cleared, "
        f"{report.cancelled_messages} pending messages cancelled"
    )
    if report.customer_missing:
        return f"erased {customer_id} (no customer has this id any more): {outbox}{purged}"
    renamed = ""
    if report.rekeyed:
        renamed = f"; its id was derived from an email address, it is now {report.customer_id}"
    suppressed = f"; {report.suppressed} address(es) put on the suppression list" if report.suppressed else ""
    return (
        f"erased {customer_id}: {len(report.customers)} customer record(s), {report.orders} orders, "
        f"{report.communications} messages, {report.activity} activity events changed; {outbox}{renamed}"
        f"{suppressed}{purged}"
    )
