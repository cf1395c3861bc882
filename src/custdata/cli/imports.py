"""``custdata import``: customers and orders from CSV, JSON Lines, Shopify's customer export and order JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from custdata.cli._common import (
    SUPPRESSION_VARIABLE,
    CliError,
    ExitCode,
    add_store_option,
    open_cli_store,
    progress_bar,
    suppression_key,
)

_DESCRIPTION = f"""\
Import customers or orders. Every record is checked; refused ones are listed in a rejects file (line, field,
reason; next to the input unless --rejects says otherwise) and the rest are added in batches, each one
transaction. Records get ids derived from their reference in the source system (its id column); customers without
one get random ids and are recognised by their email address. Running the same import again skips what the store
already holds: an interrupted import is finished by running it again.

A guest checkout (an order with customer_email only) goes to a guest record, never to a registered customer with
that address; a registered customer is stored even when a guest record has its address (reported as sharing an
address, never merged).

Formats (detected from the file's header and content unless --format is given): csv and jsonl (custdata's
field names; --map FIELD=COLUMN for others), shopify-csv (Shopify's customer export), shopify-orders-csv,
shopify-json (Shopify's order JSON, as the Admin API returns it), woocommerce-customers-csv,
woocommerce-orders-csv, magento-customers-csv and magento-orders-csv (recognised, not importable: it has no order
lines). The command prints the format and what it made of every column (mapped, kept in metadata, ignored)
before the summary. --map also overrides a platform export's column for a field.
Flat order rows hold one order line each, and the rows of one order follow each other.

One bad record never stops an import: a line that cannot be read (an unterminated quote, bytes that are not
UTF-8, a value over 128 KiB, JSON nested too deeply) is refused alone and the import goes on. With
--on-bad-field drop-field a record whose only problems are in optional fields is stored without them. Values a
spreadsheet mangled (a leading apostrophe, a phone number in scientific notation, a postal code that lost its
leading zeros) are repaired. Dropped fields and repairs are listed in the rejects file too (its outcome column
says rejected, dropped or repaired). The store is created if it does not exist.

With a suppression key in the environment variable {SUPPRESSION_VARIABLE} (the one `custdata erase` used),
customers whose address is on the store's suppression list (erased on request) are not imported, nor the orders
that would add such a customer; each is listed in the rejects file with the outcome suppressed.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "import",
        help="import customers or orders (CSV, JSON Lines, Shopify exports)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=("customers", "orders"), help="what the file holds")
    parser.add_argument("file", type=Path, help="the file to import")
    add_store_option(parser, creates=True)
    parser.add_argument("--format", choices=_formats(), help="the file's format (default: detected from its content)")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="read FIELD from COLUMN (repeatable), e.g. --map email=E-mail --map id='Customer No'",
    )
    parser.add_argument(
        "--source",
        metavar="NAME",
        help="the source system's name, part of every derived id (default: the platform's name, else import)",
    )
    parser.add_argument(
        "--currency",
        metavar="CODE",
        help="the currency of historic totals the file gives without one (Shopify's Total Spent), e.g. EUR",
    )
    parser.add_argument(
        "--rejects", type=Path, metavar="FILE", help="where refused records go (default FILE.rejects.csv)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=500, metavar="N", help="records per transaction (default 500)"
    )
    parser.add_argument(
        "--on-bad-field",
        choices=("reject-row", "drop-field"),
        default="reject-row",
        help=(
            "a record with a bad optional field: refuse it (reject-row, the default) or store it without the field "
            "(drop-field); problems in ids, emails and an order's amounts always refuse the record"
        ),
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help=(
            "customers: check records in N worker processes while this one writes them, in order, with the same "
            "outcome (default 1; 0 for one per CPU core; worth it for large files on a machine with cores to spare)"
        ),
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar and no table: one summary line (for scripts)"
    )
    parser.set_defaults(handler=run)


def _formats() -> tuple[str, ...]:
    from custdata.importing import FORMAT_NAMES

    return tuple(FORMAT_NAMES)


def _detect(file: Path, kind: str, mapped: bool) -> str:
    """The detected format; with --map, a file no layout fits is read as csv or jsonl with the mapping."""
    from custdata.importing import SourceError, detect_format
    from custdata.importing.formats import read_header

    try:
        return detect_format(file, kind).format
    except SourceError as exc:
        shape = read_header(file)[0]
        if mapped and shape in ("csv", "jsonl"):
            return shape
        raise CliError(f"{file}: {exc.problems[0].message}", ExitCode.INPUT) from None


def run(args: argparse.Namespace) -> int:
    from custdata._errors import ValidationError
    from custdata.importing import (
        CUSTOMER_FIELDS,
        ORDER_FIELDS,
        ImportOptions,
        RejectsFile,
        WorkerStoppedError,
        count_lines,
        import_customers,
        import_orders,
        parse_mapping,
        profile_for,
        read_rows,
    )

    file: Path = args.file
    if not file.is_file():
        raise CliError(f"no such file: {file}", ExitCode.INPUT)
    fields = CUSTOMER_FIELDS if args.kind == "customers" else ORDER_FIELDS
    mapping = parse_mapping(args.map, fields)
    format = args.format or _detect(file, args.kind, bool(mapping))
    try:
        profile = profile_for(format, args.kind)
    except ValidationError as exc:
        raise CliError(exc.problems[0].message, ExitCode.USAGE) from None
    if profile.unusable:
        raise CliError(f"{profile.title}: {profile.unusable}", ExitCode.USAGE)
    if profile.reader == "shopify-json" and args.map:
        raise CliError(
            "--map applies to CSV and JSON Lines files; Shopify's order JSON is read as it is", ExitCode.USAGE
        )
    currency = args.currency.strip().upper() if args.currency else None
    options = ImportOptions(
        platform=args.source or profile.source,
        mapping=mapping,
        batch_size=args.batch_size,
        format=format,
        currency=currency,
        on_bad_field=args.on_bad_field.replace("-", "_"),
        suppression_key=suppression_key(),
    )
    shopify = profile.reader == "shopify-json"
    read = profile.reader
    if not args.quiet:
        print(f"{args.kind}: {profile.title} ({format}{'' if args.format else ', detected'})")
    rejects_path: Path = args.rejects or file.with_name(file.name + ".rejects.csv")
    rejects_path.unlink(missing_ok=True)  # the rejects file belongs to the last run
    if args.jobs != 1 and args.kind != "customers":
        raise CliError("--jobs applies to customers; orders are imported in one process", ExitCode.USAGE)
    if args.jobs < 0:
        raise CliError("--jobs must be 0 (one per CPU core) or more", ExitCode.USAGE)
    extra = {"jobs": args.jobs} if args.kind == "customers" else {}
    importer = import_customers if args.kind == "customers" else import_orders
    enabled = False if args.quiet else None
    with (
        open_cli_store(args, create=True) as store,
        RejectsFile(rejects_path) as rejects,
        progress_bar(enabled, unit="lines") as bar,
    ):
        total = count_lines(file) if bar.enabled else None

        def progress(line: int) -> None:
            bar.update(args.kind, line, total)

        try:
            report = importer(
                store,
                read_rows(file, read),
                shopify=shopify,
                options=options,
                rejects=rejects,
                progress=progress,
                **extra,
            )
        except WorkerStoppedError as exc:
            bar.close()
            raise CliError(f"{args.kind}: {exc}", ExitCode.STORE) from exc
        bar.close()
    if not args.quiet:
        if report.columns is not None:
            for line in report.columns.lines():
                print(f"  {line}")
        print(summary_table(report))
    summary = (
        f"{args.kind}: {report.read} read, {report.imported} imported, {report.skipped} already in the store, "
        f"{report.rejected} rejected"
    )
    if report.fields_dropped:
        summary += f", {report.fields_dropped} fields dropped"
    if report.repairs:
        summary += f", {sum(report.repairs.values())} values repaired"
    if report.customers_added:
        summary += f"; {report.customers_added} customers added with their orders"
    if report.suppressed:
        summary += f"; {report.suppressed} not imported: erased on request (on the suppression list)"
    if report.same_email:
        summary += (
            f"; {report.same_email} added beside a customer record with the same email address (kept apart: "
            "verification joins them)"
        )
    print(summary)
    if report.rejected:
        print(f"Rejected records are listed in {rejects_path} (line, field, reason).")
        return int(ExitCode.REJECTED_ROWS)
    if report.fields_dropped or report.repairs:
        print(f"Dropped fields and repaired values are listed in {rejects_path}.")
    if report.suppressed:
        print(f"The records not imported for being on the suppression list are listed in {rejects_path}.")
    return int(ExitCode.OK)


#: The repair kinds in words, for the summary table.
_REPAIRS = {
    "apostrophe": "leading apostrophes removed",
    "phone_scientific": "phones from scientific notation",
    "postal_code_zeros": "postal codes' leading zeros",
}


def summary_table(report: Any) -> str:
    """What an import did, as a small table: records read, imported, skipped, rejected; fields dropped; repairs
    by kind."""
    rows: list[tuple[str, int]] = [
        ("read", report.read),
        ("imported", report.imported),
        ("already in the store", report.skipped),
        ("rejected", report.rejected),
        ("fields dropped", report.fields_dropped),
    ]
    if report.customers_added:
        rows.append(("customers added with orders", report.customers_added))
    if report.suppressed:
        rows.append(("erased on request, not imported", report.suppressed))
    rows += [(f"repaired: {_REPAIRS.get(kind, kind)}", count) for kind, count in sorted(report.repairs.items())]
    width = max(len(name) for name, _ in rows)
    digits = max(len(f"{count:,}") for _, count in rows)
    rule = "-" * (width + digits + 3)
    lines = [rule, *(f"{name:<{width}}   {count:>{digits},}" for name, count in rows), rule]
    return "\n".join(lines)
