"""Importing customers and orders into a store: every record validated, bad ones to a rejects file, the rest
added in batches that are each one unit of work (whole or absent after a crash), and what the store already
holds (same reference in the source system) skipped, so an interrupted import is finished by running it again.

A customer without an id in the source system is known by its email address: it gets a random id, and a later
run recognises it by a stored customer with that address imported from the same source, of the same kind (guest
or registered). A registered customer is never taken for a guest with the same address, nor a guest's order for
a registered customer's: records that share an address are kept apart (and counted in
:attr:`ImportReport.same_email`) until the person proves the address (:mod:`custdata.privacy.guests`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any, Protocol

import attrs

from custdata._errors import IntegrityError, NotFoundError, Problem, ValidationError
from custdata.domain import Customer, CustomerId, EmailAddress, ExternalRef
from custdata.domain.money import currency_exponent
from custdata.domain.redaction import pseudonymise_order
from custdata.importing.convert import (
    IMPORTED_FROM,
    CustomerFields,
    customer_from_fields,
    flag,
    legacy_email_id,
    looks_like_email,
    order_id_for,
    source_customer_id,
    text,
)
from custdata.importing.formats import (
    CUSTOMERS,
    ORDERS,
    ColumnReport,
    Profile,
    column_report,
    profile_for,
    profile_values,
    usable_columns,
)
from custdata.importing.orders import ImportedOrder, order_from_rows, order_from_shopify
from custdata.importing.sources import Row, SourceError
from custdata.merge.service import resolve
from custdata.storage.ports import Store, UnitOfWork

Progress = Callable[[int], None]


class Rejects(Protocol):
    """Where refused records go: the line, the field (as the input names it) and the reason."""

    def reject(self, line: int, field: str, reason: str) -> None: ...


@attrs.define
class ImportReport:
    """What an import did: records read, added, skipped (already stored), refused; customers that came
    with orders; batches committed; and ``same_email``, the customers added although another customer record
    (a guest, or a customer from elsewhere) has the same email address: they are kept apart, never merged by the
    import."""

    read: int = 0
    imported: int = 0
    skipped: int = 0
    rejected: int = 0
    customers_added: int = 0
    batches: int = 0
    same_email: int = 0
    #: what was made of each column, by name (mapped, kept in metadata, ignored); None before the first record
    columns: ColumnReport | None = None


class RejectsFile:
    """A CSV file of refused records (``line,field,reason``), created at the first one; no personal data is
    copied into it, the line number points at the record in the input."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def reject(self, line: int, field: str, reason: str) -> None:
        if self._handle is None:
            self._handle = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "field", "reason"])
        self._writer.writerow([line, field, reason])
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RejectsList:
    """Refused records kept in memory, as ``(line, field, reason)`` tuples (for tests and notebooks)."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, str]] = []

    def reject(self, line: int, field: str, reason: str) -> None:
        self.items.append((line, field, reason))


@attrs.frozen
class ImportOptions:
    """How to read the input: the source system's name (``platform``, a lower-case word, part of every
    derived id), the field -> column mapping, the batch size and the import's time (for defaults)."""

    platform: str = "import"
    mapping: Mapping[str, str] = attrs.Factory(dict)
    batch_size: int = 500
    now: datetime = attrs.Factory(lambda: datetime.now(UTC))
    #: the input's format (see :data:`custdata.importing.FORMAT_NAMES`): which columns feed which field
    format: str | None = None
    #: the currency of amounts the input does not give one for (historic totals)
    currency: str | None = None

    def __attrs_post_init__(self) -> None:
        try:
            ExternalRef(self.platform, "x")
        except ValidationError as exc:
            raise exc.prefixed("platform") from None
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValidationError.single("batch_size", "must be a positive whole number")
        if self.currency is not None:
            currency_exponent(self.currency)  # a ValidationError at "currency" when it is no ISO 4217 code


def _translate(problems: Iterable[Problem], columns: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """Problem paths in the input's own column names where the first part is a mapped field."""
    for problem in problems:
        head, sep, rest = problem.path.partition(".")
        name, bracket, index = head.partition("[")
        column = columns.get(name, name)
        yield f"{column}{bracket}{index}{sep}{rest}" or "(record)", problem.message


def _reject(rejects: Rejects | None, report: ImportReport, line: int, problems: Iterable[tuple[str, str]]) -> None:
    report.rejected += 1
    if rejects is not None:
        for field, reason in problems:
            rejects.reject(line, field, reason)


def _row_problem(row: Row) -> str | None:
    """A reader's note that the record could not be read at all (bad JSON, too many values)."""
    return row.problem


# -- customers -------------------------------------------------------------------------------------------------


def import_customers(
    store: Store,
    rows: Iterable[Row],
    *,
    shopify: bool = False,
    options: ImportOptions | None = None,
    rejects: Rejects | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import customers from ``rows`` (CSV or JSON Lines records; Shopify's export columns with ``shopify``)."""
    options = options or ImportOptions(platform="shopify" if shopify else "import")
    run = _CustomerRun(store, options, report=ImportReport(), rejects=rejects)
    find_columns = _Columns(_profile(options, CUSTOMERS, shopify), options, run.report)
    pending: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    for row in rows:
        run.report.read += 1
        if (note := _row_problem(row)) is not None:
            _reject(rejects, run.report, row.line, [("(record)", note)])
            continue
        columns = find_columns(row)
        pending.append((row.line, find_columns.values(row, columns), columns))
        if len(pending) >= options.batch_size:
            run.flush(pending)
            pending = []
            if progress is not None:
                progress(row.line)
    if pending:
        run.flush(pending)
    return run.report


@attrs.frozen
class _Known:
    """How a customer record is recognised before it is converted: by the id derived from its reference in the
    source system, or (without one) by its email address and kind (guest or registered)."""

    key: str
    customer_id: CustomerId | None = None
    email: EmailAddress | None = None
    guest: bool = False


def _imported_by_email(customer: Customer, platform: str, known: _Known) -> bool:
    """True when ``customer`` is the one an earlier import from ``platform`` made of a record known by email."""
    email = known.email
    return (
        email is not None
        and customer.email is not None
        and customer.email.canonical == email.canonical
        and customer.is_guest == known.guest
        and customer.merged_into is None
        and (customer.metadata.get(IMPORTED_FROM) == platform or customer.id == legacy_email_id(platform, email))
    )


def _live(customer: Customer) -> bool:
    return customer.merged_into is None and customer.redacted_at is None


@attrs.define
class _CustomerRun:
    """One customer import: each batch of records is checked against the store by reference first (so that a
    re-run skips what is stored without validating it again), then converted and added in one unit of work."""

    store: Store
    options: ImportOptions
    report: ImportReport
    rejects: Rejects | None
    seen: dict[str, int] = attrs.Factory(dict)

    def flush(self, pending: Sequence[tuple[int, dict[str, Any], dict[str, str]]]) -> None:
        options = self.options
        context = CustomerFields(options.platform, options.now, options.currency, options.format)
        quick = [self._quick(values) for _, values, _ in pending]
        with self.store.unit_of_work() as uow:
            stored = self._stored(uow, [q for q in quick if q is not None])
        batch: list[tuple[int, Customer, _Known]] = []
        for (line, values, columns), known in zip(pending, quick, strict=True):
            if known is not None and known.key in stored:
                if self._first(known.key, line, columns):
                    self.report.skipped += 1
                continue
            try:
                customer = customer_from_fields(values, context)
            except ValidationError as exc:
                _reject(self.rejects, self.report, line, _translate(exc.problems, columns))
                continue
            known = known or self._of(customer)
            if self._first(known.key, line, columns):
                batch.append((line, customer, known))
        if batch:
            _add_customers(self.store, batch, self.report, self.options.platform)

    def _quick(self, values: Mapping[str, Any]) -> _Known | None:
        """How the record will be recognised, or None when it cannot be told without converting it."""
        try:
            reference = text(values.get("id"))
            if reference is not None:
                if looks_like_email(reference):
                    return None
                customer_id = source_customer_id(self.options.platform, reference)
                return _Known(f"id:{customer_id}", customer_id=customer_id)
            raw = text(values.get("email"))
            guest = bool(flag(values.get("is_guest")))
            if raw is None:
                return None
            email = EmailAddress.parse(raw)
        except ValidationError:
            return None
        return _Known(f"email:{'guest' if guest else 'registered'}:{email.canonical}", email=email, guest=guest)

    def _of(self, customer: Customer) -> _Known:
        if IMPORTED_FROM not in customer.metadata or customer.email is None:
            return _Known(f"id:{customer.id}", customer_id=customer.id)
        kind = "guest" if customer.is_guest else "registered"
        return _Known(f"email:{kind}:{customer.email.canonical}", email=customer.email, guest=customer.is_guest)

    def _stored(self, uow: UnitOfWork, known: Sequence[_Known]) -> set[str]:
        """The keys of ``known`` that the store already holds a customer for."""
        ids = {k.customer_id: k.key for k in known if k.customer_id is not None}
        found = {ids[customer_id] for customer_id in uow.customers.get_many(ids)}
        for k in known:
            if k.email is not None and k.key not in found:
                if any(_imported_by_email(c, self.options.platform, k) for c in uow.customers.find_by_email(k.email)):
                    found.add(k.key)
        return found

    def _first(self, key: str, line: int, columns: Mapping[str, str]) -> bool:
        """True for the first record of a customer in this run; later ones are refused as repeats."""
        first = self.seen.setdefault(key, line)
        if first != line:
            field = columns.get("id", columns.get("email", "id"))
            _reject(self.rejects, self.report, line, [(field, f"the same customer as line {first}")])
        return first == line


class _Columns:
    """Field -> column for each record, worked out again whenever a record's keys differ from the last one's;
    the first record's columns go into the report.

    A mapped column missing from the first record is an error (a typo in the mapping); later records (JSON
    objects may leave keys out) simply lack the field."""

    def __init__(self, profile: Profile, options: ImportOptions, report: ImportReport) -> None:
        if profile.unusable:
            raise SourceError.single("format", profile.unusable)
        self.profile = profile
        self.options = options
        self.report = report
        self._keys: frozenset[str] | None = None
        self._columns: dict[str, str] = {}

    def __call__(self, row: Row) -> dict[str, str]:
        keys = frozenset(row.fields)
        if keys != self._keys:
            first = self._keys is None
            if first or self.profile.generic:
                self._columns = usable_columns(
                    self.profile, list(row.fields), self.options.mapping, self.options.currency, strict=first
                )
            if first:
                self.report.columns = column_report(
                    self.profile, list(row.fields), self._columns, self.options.currency
                )
            self._keys = keys
        return self._columns

    def values(self, row: Row, columns: Mapping[str, str]) -> dict[str, Any]:
        return profile_values(self.profile, row.fields, columns)


def _profile(options: ImportOptions, kind: str, shopify: bool) -> Profile:
    if options.format is not None:
        return profile_for(options.format, kind)
    return (
        profile_for("shopify-csv" if kind == CUSTOMERS else "shopify-json", kind)
        if shopify
        else profile_for("csv", kind)
    )


def _add_customers(
    store: Store, batch: Sequence[tuple[int, Customer, _Known]], report: ImportReport, platform: str
) -> None:
    """Add the batch's customers in one unit of work, skipping those stored meanwhile, and count the ones whose
    email address another record (stored, or earlier in the batch) has too."""
    with store.unit_of_work() as uow:
        existing = uow.customers.get_many([c.id for _, c, _ in batch])
        new: list[Customer] = []
        emails: set[str] = set()
        for _, customer, known in batch:
            if customer.id in existing:
                continue
            holders = [] if customer.email is None else uow.customers.find_by_email(customer.email)
            if known.email is not None and any(_imported_by_email(c, platform, known) for c in holders):
                continue
            if customer.email is not None:
                canonical = customer.email.canonical
                if canonical in emails or any(_live(c) for c in holders):
                    report.same_email += 1
                emails.add(canonical)
            new.append(customer)
        uow.customers.add_many(new)
        uow.commit()
    report.imported += len(new)
    report.skipped += len(batch) - len(new)
    report.batches += 1


# -- orders ----------------------------------------------------------------------------------------------------


def import_orders(
    store: Store,
    rows: Iterable[Row],
    *,
    shopify: bool = False,
    options: ImportOptions | None = None,
    rejects: Rejects | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import orders: Shopify's order JSON with ``shopify``, else flat rows (one per order line, the rows of
    an order one after another). Orders of customers the store does not have are refused, except that a
    Shopify order's own customer is added with it."""
    options = options or ImportOptions(platform="shopify" if shopify else "import")
    run = _OrderRun(store, options, ImportReport(), rejects, "id" if shopify else "order_id")
    pending: list[_PendingOrder] = []
    for item in _orders(rows, shopify, options, run.report, rejects):
        pending.append(item)
        if len(pending) >= options.batch_size:
            run.flush(pending)
            pending = []
            if progress is not None:
                progress(item.lines[-1])
    if pending:
        run.flush(pending)
    return run.report


@attrs.frozen
class _PendingOrder:
    """An order's records, not converted yet: its lines, columns, reference, and how to convert it."""

    lines: list[int]
    columns: dict[str, str]
    reference: str | None
    convert: Callable[[], ImportedOrder] | None
    problems: list[Problem] = attrs.Factory(list)


@attrs.define
class _OrderRun:
    """One order import: each batch is checked against the store by reference first (a re-run skips what is
    stored without converting it again), then converted and added in one unit of work."""

    store: Store
    options: ImportOptions
    report: ImportReport
    rejects: Rejects | None
    id_field: str
    #: the first record of each order id: its place in the input and its line (records of a Shopify file written
    #: on one line share a line)
    seen: dict[str, tuple[int, int]] = attrs.Factory(dict)
    records: int = 0

    def flush(self, pending: Sequence[_PendingOrder]) -> None:
        platform = self.options.platform
        quick = [order_id_for(platform, p.reference) if p.reference else None for p in pending]
        with self.store.unit_of_work() as uow:
            stored = set(uow.orders.get_many([str(q) for q in quick if q is not None]))
        batch: list[tuple[int, ImportedOrder]] = []
        for item, known in zip(pending, quick, strict=True):
            first_line = item.lines[0]
            self.records += 1
            if item.convert is None:
                _reject(self.rejects, self.report, first_line, _translate(item.problems, item.columns))
                continue
            if known is not None and known in stored:
                if self._first(str(known), first_line, item.columns):
                    self.report.skipped += 1
                continue
            try:
                converted = item.convert()
            except ValidationError as exc:
                problems = _line_problems(exc.problems, item.lines)
                _reject(self.rejects, self.report, first_line, _translate(problems, item.columns))
                continue
            if self._first(str(converted.order.id), first_line, item.columns):
                batch.append((first_line, converted))
        if batch:
            _add_orders(self.store, batch, self.report, self.rejects)

    def _first(self, order_id: str, line: int, columns: Mapping[str, str]) -> bool:
        first, first_line = self.seen.setdefault(order_id, (self.records, line))
        if first != self.records:
            field = columns.get(self.id_field, self.id_field)
            _reject(self.rejects, self.report, line, [(field, f"the same order as line {first_line}")])
        return first == self.records


def _reference(value: Any) -> str | None:
    try:
        return text(value)
    except ValidationError:
        return None


def _orders(
    rows: Iterable[Row], shopify: bool, options: ImportOptions, report: ImportReport, rejects: Rejects | None
) -> Iterator[_PendingOrder]:
    """Each order's records, ready to convert (or with the problems that keep them out already)."""
    platform, now = options.platform, options.now
    if shopify:
        json_profile = profile_for("shopify-json", ORDERS)
        for row in rows:
            report.read += 1
            if report.columns is None and not row.problem:
                keys = list(row.fields)
                report.columns = column_report(json_profile, keys, json_profile.resolve(keys), None)
            if (note := _row_problem(row)) is not None:
                yield _PendingOrder([row.line], {}, None, None, [Problem("", note)])
                continue
            fields = row.fields
            yield _PendingOrder(
                [row.line],
                {},
                _reference(fields.get("id")),
                partial(order_from_shopify, fields, now=now, platform=platform),
            )
        return
    groups: dict[str, int] = {}
    for group in _grouped(rows, options, report, rejects, _Columns(_profile(options, ORDERS, False), options, report)):
        lines = [row.line for row, _ in group]
        columns = group[0][1]
        key = _reference(group[0][0].fields.get(columns["order_id"])) if "order_id" in columns else None
        if key is not None:
            first = groups.setdefault(key, lines[0])
            if first != lines[0]:
                problem = Problem("order_id", f"rows of one order must follow each other (first seen on line {first})")
                yield _PendingOrder(lines, columns, key, None, [problem])
                continue
        values = [profile_values(_profile(options, ORDERS, False), row.fields, cols) for row, cols in group]
        yield _PendingOrder(lines, columns, key, partial(order_from_rows, values, platform=platform, now=now))


def _line_problems(problems: Iterable[Problem], lines: Sequence[int]) -> list[Problem]:
    """``lines[2].sku`` becomes ``sku (line N)``, the line of the third row of the order."""
    out = []
    for problem in problems:
        if problem.path.startswith("lines[") and "]" in problem.path:
            index_text, _, rest = problem.path[6:].partition("]")
            if index_text.isdigit() and int(index_text) < len(lines):
                field = rest.lstrip(".").split(".")[0] or "line"
                out.append(Problem(field, f"{problem.message} (line {lines[int(index_text)]})"))
                continue
        out.append(problem)
    return out


def _grouped(
    rows: Iterable[Row], options: ImportOptions, report: ImportReport, rejects: Rejects | None, find_columns: _Columns
) -> Iterator[list[tuple[Row, dict[str, str]]]]:
    """Runs of rows with the same order id (rows without one stand alone)."""
    current: list[tuple[Row, dict[str, str]]] = []
    current_key: str | None = None
    for row in rows:
        report.read += 1
        if (note := _row_problem(row)) is not None:
            _reject(rejects, report, row.line, [("(record)", note)])
            continue
        columns = find_columns(row)
        try:
            key = text(row.fields.get(columns["order_id"])) if "order_id" in columns else None
        except ValidationError:
            key = None
        if current and (key is None or key != current_key):
            yield current
            current = []
        current.append((row, columns))
        current_key = key
    if current:
        yield current


def _add_orders(
    store: Store, batch: Sequence[tuple[int, ImportedOrder]], report: ImportReport, rejects: Rejects | None
) -> None:
    with store.unit_of_work() as uow:
        existing = uow.orders.get_many([str(item.order.id) for _, item in batch])
        fresh = [
            (line, item)
            for line, item in batch
            if item.order.id not in existing
            and (item.order.external_ref is None or uow.orders.find_by_external_ref(item.order.external_ref) is None)
        ]
        report.skipped += len(batch) - len(fresh)
        added_customers, orders = _resolve(uow, fresh, report, rejects)
        uow.customers.add_many(added_customers)
        uow.orders.add_many(orders)
        uow.commit()
    report.customers_added += len(added_customers)
    report.imported += len(orders)
    report.batches += 1


def _resolve(
    uow: UnitOfWork, items: Sequence[tuple[int, ImportedOrder]], report: ImportReport, rejects: Rejects | None
) -> tuple[list[Customer], list[Any]]:
    """Check each order's customer is stored, adding the customers that came with orders when missing.

    A guest's order goes to a stored guest record with its email address when there is one, else to the guest
    record that came with it (one per address in the batch); never to a registered customer."""
    stored = uow.customers.get_many({str(item.order.customer_id) for _, item in items if item.guest_email is None})
    known = set(stored)
    erased = {cid for cid, customer in stored.items() if _erased(uow, customer)}
    new: dict[CustomerId, Customer] = {}
    guests: dict[str, CustomerId] = {}
    orders = []
    for line, item in items:
        if item.guest_email is not None and item.new_customer is not None:
            canonical = item.guest_email.canonical
            guest_id = guests.get(canonical) or _stored_guest(uow, item.guest_email)
            if guest_id is None:
                guest_id = item.new_customer.id
                new[guest_id] = item.new_customer
            guests[canonical] = guest_id
            order = item.order
            orders.append(order if order.customer_id == guest_id else attrs.evolve(order, customer_id=guest_id))
            continue
        customer_id = item.order.customer_id
        if customer_id not in known and customer_id not in new:
            if item.new_customer is None:
                reason = "no such customer in the store; import the customers first"
                _reject(rejects, report, line, [("customer_id", reason)])
                continue
            new[customer_id] = item.new_customer
        # an erased customer stays erased: the order joins the books without the personal data it carries
        orders.append(pseudonymise_order(item.order) if customer_id in erased else item.order)
    return list(new.values()), orders


def _erased(uow: UnitOfWork, customer: Customer) -> bool:
    """True when ``customer``, or the customer it was merged into, had its personal data erased."""
    if customer.merged_into is not None:
        try:
            customer = resolve(uow, str(customer.id))
        except (NotFoundError, IntegrityError):
            return False
    return customer.redacted_at is not None


def _stored_guest(uow: UnitOfWork, email: EmailAddress) -> CustomerId | None:
    """A live guest record whose primary address is ``email`` (the first by id), if the store has one."""
    for customer in uow.customers.find_by_email(email):
        if customer.is_guest and _live(customer) and customer.email and customer.email.canonical == email.canonical:
            return customer.id
    return None
