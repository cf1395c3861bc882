"""``custdata segments``: how many customers each RFM segment and each standard rule-based segment holds."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from custdata.cli._common import CliError, ExitCode, add_store_option, open_cli_store
from custdata.storage import walk

_DESCRIPTION = """\
Segment the store's customers as of a date: RFM scores (recency, frequency, monetary; quintiles) with their
named segments, and the rule-based segments VIP, first-time shoppers, cart abandoners, international, high
returners and inactive customers. Money is never added across currencies: RFM and VIP use --currency.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "segments", help="RFM and rule-based segment sizes", description=_DESCRIPTION
    )
    add_store_option(parser)
    parser.add_argument("--as-of", metavar="DATE", help="segment as of this ISO date or time (default: now)")
    parser.add_argument("--currency", default="EUR", help="currency for RFM and VIP spend (default EUR)")
    parser.add_argument("--home-country", default="DE", metavar="CC", help="customers outside it are international")
    parser.add_argument("--vip-spend", default="400", metavar="AMOUNT", help="VIP from this spend (default 400)")
    parser.add_argument("--inactive-days", type=int, default=180, metavar="N", help="inactive after N days (180)")
    parser.add_argument("--json", action="store_true", help="print the sizes as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from custdata.analytics import StoreAnalytics
    from custdata.demo.report import segment_sizes
    from custdata.domain import Money

    as_of = _moment(args.as_of) if args.as_of else datetime.now(UTC)
    try:
        spend = Money(Decimal(args.vip_spend), args.currency.upper())
    except InvalidOperation:
        raise CliError(f"--vip-spend {args.vip_spend!r} is not an amount", ExitCode.USAGE) from None
    with open_cli_store(args) as store:
        rfm = StoreAnalytics(store).rfm(as_of=as_of, currency=args.currency.upper())
        with store.unit_of_work() as uow:
            customers = walk(lambda c: uow.customers.search(limit=1000, cursor=c))
            orders = walk(lambda c: uow.orders.page(limit=1000, cursor=c))
            activity = walk(lambda c: uow.activity.page(limit=1000, cursor=c))
            rules = segment_sizes(
                customers,
                orders,
                activity,
                as_of,
                home_country=args.home_country.upper(),
                vip_spend=spend,
                inactive_days=args.inactive_days,
            )
    sizes = {str(k): v for k, v in rfm.segment_sizes().items()}
    if args.json:
        print(json.dumps({"as_of": as_of.isoformat(), "rfm": sizes, "segments": rules}, indent=2))
        return int(ExitCode.OK)
    print(f"Segments as of {as_of.isoformat()}")
    print(f"\nRFM segments ({args.currency.upper()} orders)")
    for name, count in sizes.items():
        print(f"  {name:<28} {count}")
    print("\nRule-based segments")
    for name, count in rules.items():
        print(f"  {name:<28} {count}")
    return int(ExitCode.OK)


def _moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--as-of {text!r} is not an ISO date such as 2026-06-30", ExitCode.USAGE) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
