"""``custdata demand``: orders by region, product and week, the weeks that spiked, and where demand is now."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from custdata.cli._common import CliError, ExitCode, add_store_option, open_cli_store

_DESCRIPTION = """\
Where to place stock before the next peak: orders that count, by shipping destination (country, country and
subdivision, or country and postal-code prefix), product (sku) and ISO week, added up inside SQLite and
PostgreSQL. A week is a spike when a region bought at least --min-quantity items of a product and more than
--factor times its mean over the --baseline weeks before.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demand", help="regional demand by product and week, with spikes", description=_DESCRIPTION
    )
    add_store_option(parser)
    parser.add_argument(
        "--by", choices=["country", "area", "postal-prefix"], default="country", help="group destinations by"
    )
    parser.add_argument("--prefix-length", type=int, default=2, metavar="N", help="postal prefix length (2)")
    parser.add_argument("--weeks", type=int, default=12, metavar="N", help="weeks to report, this one last (12)")
    parser.add_argument("--as-of", metavar="DATE", help="report up to this ISO date or time (default: now)")
    parser.add_argument("--factor", type=float, default=2.0, help="spike: more than FACTOR x baseline (2.0)")
    parser.add_argument("--baseline", type=int, default=4, metavar="N", help="spike: baseline of N weeks (4)")
    parser.add_argument("--min-quantity", type=int, default=5, metavar="N", help="spike: at least N items (5)")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="rows per list (10)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from custdata.commerce.demand import regional_demand_report

    as_of = _moment(args.as_of) if args.as_of else datetime.now(UTC)
    if args.top < 1:
        raise CliError("--top must be at least 1", ExitCode.USAGE)
    with open_cli_store(args) as store:
        report = regional_demand_report(
            store,
            by=args.by,
            prefix_length=args.prefix_length,
            weeks=args.weeks,
            as_of=as_of,
            factor=args.factor,
            baseline_weeks=args.baseline,
            min_quantity=args.min_quantity,
        )
    print(f"Demand by {args.by}, weeks {report.weeks[0]} to {report.weeks[-1]}")
    trends = report.trends(args.top)
    print(f"\nWhere to place stock before the next peak (items in the last {args.baseline} weeks)")
    if not trends:
        print("  no orders with a shipping address in these weeks")
    for trend in trends:
        flag = f"  {trend.spikes} spike{'s' if trend.spikes != 1 else ''}" if trend.spikes else ""
        print(f"  {trend.label:<14} {trend.sku:<20} {trend.recent:>7} recent {trend.total:>8} in all{flag}")
    print("\nSpikes (latest first)")
    if not report.spikes:
        print("  none")
    for spike in sorted(report.spikes, key=lambda s: s.week, reverse=True)[: args.top]:
        print(f"  {spike.week}  {spike.label:<14} {spike.sku:<20} {spike.quantity:>7} vs {spike.baseline:.1f} usual")
    return int(ExitCode.OK)


def _moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--as-of {text!r} is not an ISO date such as 2026-06-30", ExitCode.USAGE) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
