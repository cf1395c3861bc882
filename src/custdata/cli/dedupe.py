"""``custdata dedupe``: find likely duplicate customers, explain each pair, and merge the sure ones on request."""

from __future__ import annotations

import argparse
import json
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from custdata.cli._common import CliError, ExitCode, add_store_option, open_cli_store

_DESCRIPTION = """\
Compare the store's customers (names, emails, phones, addresses, birthdays; merged and erased customers left
out) and list the likely duplicate pairs, best first, each with the fields that agreed and how much each
counted. Scores are in bits: pairs from --review up are listed, pairs from --auto-merge up are sure enough to
merge, except that a pair with a registered account is always left for review: matching evidence does not
prove who owns an account. With --merge, each group of sure pairs (guests only) is merged into its oldest
customer (orders, messages and activity move along; the merge is recorded and can be undone from the
library); a group that holds a registered account by the time it is merged is skipped. Only ids are printed.

A person decides the pairs held for review: --review-file writes them as a page to decide them in (.html) or as
CSV, personal values masked unless --reveal; --apply-decisions carries out the saved decisions: "same" merges
(a registered account survives), "not_same" is remembered and never proposed again. Decisions whose pair id no
longer fits the customers as they are, or on pairs not proposed, are refused with the reason.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dedupe", help="find (and optionally merge) duplicate customers", description=_DESCRIPTION
    )
    add_store_option(parser)
    parser.add_argument("--review", type=float, default=None, metavar="BITS", help="list pairs from this score (16)")
    parser.add_argument("--auto-merge", type=float, default=None, metavar="BITS", help="sure from this score (26)")
    parser.add_argument("--region", metavar="CC", help="region for national phone numbers of customers without one")
    parser.add_argument("--show", type=int, default=20, metavar="N", help="how many pairs to list (default 20)")
    parser.add_argument("--merge", action="store_true", help="merge every group of sure duplicates (guests only)")
    parser.add_argument("--json", action="store_true", help="print every pair as JSON Lines instead")
    parser.add_argument(
        "--engine",
        choices=("python", "duckdb", "spark"),
        default="python",
        help="where to compare: python (default), duckdb (pip install 'custdata[scale]') or spark; same pairs",
    )
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="with --engine duckdb: the memory DuckDB may use, such as 512MB (default 1GB); the rest spills to a "
        "temporary folder removed afterwards",
    )
    _add_review_options(parser)
    parser.set_defaults(handler=_run_or_apply)


def run(args: argparse.Namespace) -> int:
    from custdata.matching import AUTO_MERGE, REVIEW, Decision, Matcher, store_records

    matcher = Matcher(
        auto_merge=args.auto_merge if args.auto_merge is not None else AUTO_MERGE,
        review=args.review if args.review is not None else REVIEW,
        default_region=args.region.upper() if args.region else None,
        engine=_engine(args),
    )
    with open_cli_store(args) as store:
        different = _not_same(store)
        # the store's customers stream into the matcher (merged and erased ones left out); only the customers of
        # the pairs that are merged are read again, each group in the unit of work that merges it
        result = matcher.find_duplicates(store_records(store), not_same=different)
        sure = result.with_decision(Decision.AUTO_MERGE)
        if args.json:
            for pair in result:
                print(json.dumps(_pair_json(pair)))
        else:
            print(
                f"{result.records} customers compared ({result.compared} pairs): {len(sure)} sure duplicates, "
                f"{len(result.with_decision(Decision.REVIEW))} to review"
            )
            for pair in list(result)[: max(args.show, 0)]:
                agreed = ", ".join(e.field for e in pair.evidence if e.outcome.value in ("agree", "partial"))
                held = f"  ({pair.reason})" if pair.reason else ""
                print(
                    f"  {pair.left}  {pair.right}  {pair.score:6.1f}  {pair.decision.value:<10}  agree: {agreed}{held}"
                )
        if args.review_file is not None:
            _write_review_file(store, result, args)
        if args.merge:
            groups = _groups((p.left, p.right) for p in sure)
            survivors, absorbed, skipped = _merge(store, groups, different=different)
            print(f"merged {absorbed} customers into {survivors} survivors")
            if skipped:
                print(
                    f"skipped {skipped} groups that hold a registered account, two customers marked as different "
                    "people, or changed meanwhile; review them"
                )
    return int(ExitCode.OK)


def _engine(args: argparse.Namespace) -> Any:
    """The engine to match on: ``--engine``, with ``--memory-limit`` for DuckDB."""
    memory_limit = getattr(args, "memory_limit", None)
    if memory_limit is None:
        return args.engine
    if args.engine != "duckdb":
        raise CliError("--memory-limit applies to --engine duckdb only", ExitCode.USAGE)
    from custdata.matching.engines import DuckDBEngine

    return DuckDBEngine(memory_limit=memory_limit)


def _pair_json(pair: Any) -> dict[str, Any]:
    return {
        "left": pair.left,
        "right": pair.right,
        "score": round(pair.score, 3),
        "decision": pair.decision.value,
        "reason": pair.reason,
        "evidence": [
            {"field": e.field, "outcome": e.outcome.value, "level": e.level, "weight": round(e.weight, 3)}
            for e in pair.evidence
        ],
    }


def _groups(pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Connected groups of ids (union-find), each sorted."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def _merge(store: Any, groups: list[list[str]], *, different: Collection[tuple[str, str]] = ()) -> tuple[int, int, int]:
    """Merge each group of guests into its oldest customer (by creation time, then id, as read in the unit of work
    that merges the group), one unit of work per group. A group is skipped when
    any of its customers is a registered account, or was merged or erased meanwhile, as read in that unit of
    work: only a person may merge an account. A group is skipped too when two of its customers were marked as
    different people (in ``different`` or on their records): sure pairs A~B and B~C never merge A with a C
    that a person said is someone else."""
    from custdata.merge import merge, preview

    survivors = absorbed = skipped = 0
    for group in groups:
        with store.unit_of_work() as uow:
            current = uow.customers.get_many(group)
            if any(
                c is None or not c.is_guest or c.merged_into is not None or c.redacted_at is not None
                for c in (current.get(i) for i in group)
            ):
                skipped += 1
                continue
            ordered = sorted(group, key=lambda i: (current[i].created_at, i))
            if _holds_different(ordered, [current[i] for i in ordered], different):
                skipped += 1
                continue
            merge(uow, preview(uow, ordered[0], ordered[1:]))
            uow.commit()
        survivors += 1
        absorbed += len(ordered) - 1
    return survivors, absorbed, skipped


# -- the review queue: out as a file, decisions back in ------------------------------------------------------------


def _add_review_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--review-file",
        metavar="PATH",
        help="write the pairs held for review to PATH: a page to decide them in (.html) or CSV (any other name)",
    )
    parser.add_argument(
        "--reveal",
        action="store_true",
        help="put personal values (names, emails, phones, addresses) in the review file; masked without it",
    )
    parser.add_argument(
        "--apply-decisions",
        metavar="FILE",
        help="carry out a decisions file (the page's download, or the review CSV with its decision column "
        "filled in): merge 'same', remember 'not_same'; nothing else is listed",
    )


def _run_or_apply(args: argparse.Namespace) -> int:
    if args.apply_decisions is not None:
        if args.merge or args.review_file is not None:
            raise CliError("--apply-decisions cannot be combined with --merge or --review-file", ExitCode.USAGE)
        return _apply_decisions(args)
    if args.reveal and args.review_file is None:
        raise CliError("--reveal needs --review-file", ExitCode.USAGE)
    return run(args)


def _not_same(store: Any) -> frozenset[tuple[str, str]]:
    from custdata.matching.review import not_same_pairs

    return not_same_pairs(store)


def _holds_different(ids: list[str], customers: list[Any], different: Collection[tuple[str, str]]) -> bool:
    from custdata.merge.rules import not_same_marks

    group = set(ids)
    if any(set(not_same_marks(c)) & group for c in customers):
        return True
    return any((a, b) in different for a in ids for b in ids if a < b)


def _write_review_file(store: Any, result: Any, args: argparse.Namespace) -> None:
    from custdata.matching.review import export_review

    path = Path(args.review_file)
    kind = "html" if path.suffix.lower() in (".html", ".htm") else "csv"
    written = export_review(result, path, store, format=kind, reveal=args.reveal)
    shown = "with personal values" if args.reveal else "personal values masked"
    print(f"wrote {written} pairs to review to {path} ({kind}, {shown})")


def _apply_decisions(args: argparse.Namespace) -> int:
    from custdata.matching import AUTO_MERGE, REVIEW, Matcher
    from custdata.matching.review import apply_review_decisions, read_decisions

    matcher = Matcher(
        auto_merge=args.auto_merge if args.auto_merge is not None else AUTO_MERGE,
        review=args.review if args.review is not None else REVIEW,
        default_region=args.region.upper() if args.region else None,
    )
    decisions = read_decisions(Path(args.apply_decisions))
    with open_cli_store(args) as store:
        report = apply_review_decisions(store, decisions, matcher=matcher)
    for merged in report.merged:
        print(f"  merged {merged.merged} into {merged.survivor} (merge {merged.merge_id})")
    for decision in report.not_same:
        print(f"  not the same: {decision.left} {decision.right}")
    for refusal in report.refused:
        print(f"  refused {refusal.decision.left} {refusal.decision.right}: {refusal.reason}")
    print(report.summary())
    return int(ExitCode.REJECTED_ROWS if report.refused else ExitCode.OK)
