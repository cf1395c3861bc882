"""Importing customers and orders into a store: every record validated, bad ones to a rejects file, the rest
added in batches that are each one unit of work (whole or absent after a crash), and what the store already
holds (same reference in the source system) skipped, so an interrupted import is finished by running it again.

One bad record never stops an import: a record that cannot be read (broken line, bytes that are not UTF-8, a
value too long, JSON nested too deeply) or converted is refused alone, with its line, field and reason, and the
records before and after it are stored. With ``ImportOptions(on_bad_field="drop_field")`` a record whose only
problems are in optional fields is stored without them (each noted as ``dropped``); values a spreadsheet mangled
are repaired (:mod:`custdata.importing.repair`; each noted as ``repaired``).

A customer without an id in the source system is known by its email address: it gets a random id, and a later
run recognises it by a stored customer with that address imported from the same source, of the same kind (guest
or registered). A registered customer is never taken for a guest with the same address, nor a guest's order for
a registered customer's: records that share an address are kept apart (and counted in
:attr:`ImportReport.same_email`) until the person proves the address (:mod:`custdata.privacy.guests`).
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import IO, Any, Protocol, cast

import attrs

from custdata._errors import IntegrityError, NotFoundError, OperationalError, Problem, ValidationError
from custdata.domain import Customer, CustomerId, EmailAddress, ExternalRef
from custdata.domain.checks import trusting
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
from custdata.importing.repair import Repair, recording
from custdata.importing.sources import Row, SourceError
from custdata.merge.service import resolve
from custdata.storage.ports import Store, UnitOfWork, find_by_emails
from custdata.storage.sql.repositories import PreparedCustomer, prepare_customer
from custdata.storage.suppression import check_key, keeping, suppressed_emails

Progress = Callable[[int], None]


class Rejects(Protocol):
    """Where refused records go: the line, the field (as the input names it) and the reason.

    An implementation may also have ``note(line, field, reason, outcome)``, called for what was stored with a
    change: ``outcome`` is ``"dropped"`` (a bad optional field left out, the record stored) or ``"repaired"``
    (a value a spreadsheet mangled, put right). Without it, dropped fields are passed to ``reject`` with a reason
    saying so, and repairs are only counted."""

    def reject(self, line: int, field: str, reason: str) -> None: ...


#: How a record with a bad optional field is treated: refused whole, or stored without the field.
ON_BAD_FIELD = ("reject_row", "drop_field")


@attrs.define
class ImportReport:
    """What an import did: records read, added, skipped (already stored), refused; customers that came
    with orders; batches committed; and ``same_email``, the customers added although another customer record
    (a guest, or a customer from elsewhere) has the same email address: they are kept apart, never merged by the
    import; ``fields_dropped``, the bad optional fields left out of stored records (with
    ``on_bad_field="drop_field"``); ``repairs``, how many values of stored records were repaired, by kind
    (:data:`custdata.importing.repair.REPAIR_KINDS`); ``suppressed``, the records not imported because their
    address is on the suppression list (erased on request)."""

    read: int = 0
    imported: int = 0
    skipped: int = 0
    rejected: int = 0
    customers_added: int = 0
    batches: int = 0
    same_email: int = 0
    #: records not imported because their address is on the suppression list (with a suppression key)
    suppressed: int = 0
    #: what was made of each column, by name (mapped, kept in metadata, ignored); None before the first record
    columns: ColumnReport | None = None
    fields_dropped: int = 0
    repairs: dict[str, int] = attrs.Factory(dict)


class RejectsFile:
    """A CSV file of refused records (``line,field,reason,outcome``), created at the first entry; ``outcome`` is
    ``rejected`` (the record was not stored), ``dropped`` (stored without this field) or ``repaired`` (stored
    with this value repaired). No personal data is copied into it: the line number points at the record in the
    input."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def reject(self, line: int, field: str, reason: str) -> None:
        self._write(line, field, reason, "rejected")
        self.count += 1

    def note(self, line: int, field: str, reason: str, outcome: str) -> None:
        """A change made to a stored record: ``outcome`` is ``dropped`` or ``repaired``."""
        self._write(line, field, reason, outcome)

    def _write(self, line: int, field: str, reason: str, outcome: str) -> None:
        if self._handle is None:
            self._handle = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "field", "reason", "outcome"])
        self._writer.writerow([line, field, reason, outcome])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RejectsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RejectsList:
    """Refused records kept in memory, as ``(line, field, reason)`` tuples (for tests and notebooks); the
    changes made to stored records (dropped fields, repairs) in ``notes``, as ``(line, field, reason, outcome)``."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, str]] = []
        self.notes: list[tuple[int, str, str, str]] = []

    def reject(self, line: int, field: str, reason: str) -> None:
        self.items.append((line, field, reason))

    def note(self, line: int, field: str, reason: str, outcome: str) -> None:
        self.notes.append((line, field, reason, outcome))


@attrs.frozen
class ImportOptions:
    """How to read the input: the source system's name (``platform``, a lower-case word, part of every
    derived id), the field -> column mapping, the batch size, the import's time (for defaults), and
    ``on_bad_field``: ``"reject_row"`` refuses a record with any bad field, ``"drop_field"`` stores it without
    its bad optional fields (the fields that identify a record or make up an order's amounts are never
    optional: their problems always refuse the record; an address with a bad part is left out whole)."""

    platform: str = "import"
    mapping: Mapping[str, str] = attrs.Factory(dict)
    batch_size: int = 500
    now: datetime = attrs.Factory(lambda: datetime.now(UTC))
    #: the input's format (see :data:`custdata.importing.FORMAT_NAMES`): which columns feed which field
    format: str | None = None
    #: the currency of amounts the input does not give one for (historic totals)
    currency: str | None = None
    on_bad_field: str = "reject_row"
    #: the key of the store's suppression list (see :mod:`custdata.storage.suppression`): customers whose address
    #: is on it (erased on request) are not imported
    suppression_key: bytes | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        try:
            ExternalRef(self.platform, "x")
        except ValidationError as exc:
            raise exc.prefixed("platform") from None
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValidationError.single("batch_size", "must be a positive whole number")
        if self.currency is not None:
            currency_exponent(self.currency)  # a ValidationError at "currency" when it is no ISO 4217 code
        if self.on_bad_field not in ON_BAD_FIELD:
            raise ValidationError.single("on_bad_field", f"must be one of {', '.join(ON_BAD_FIELD)}")
        if self.suppression_key is not None:
            check_key(self.suppression_key)


def _fields_context(options: ImportOptions) -> CustomerFields:
    """What converting a customer record needs of ``options``."""
    return CustomerFields(options.platform, options.now, options.currency, options.format)


def _drops(options: ImportOptions) -> bool:
    """True when a bad optional field is dropped instead of refusing its record."""
    return options.on_bad_field == "drop_field"


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


def _unreadable(row: Row) -> list[tuple[str, str]]:
    return [(row.column or "(record)", row.problem or "cannot be read")]


#: What a record's conversion may raise beside ValidationError when its values are beyond what Python can
#: work with (nested too deeply, numbers too large for a decimal context, text that does not encode): the
#: record is refused, never the import.
_UNWORKABLE = (RecursionError, ArithmeticError, ValueError, UnicodeError)


def _unworkable(exc: BaseException) -> list[tuple[str, str]]:
    if isinstance(exc, RecursionError):
        return [("(record)", "nests too deeply")]
    return [("(record)", f"holds values that cannot be worked with ({type(exc).__name__})")]


def _note(rejects: Rejects | None, line: int, field: str, reason: str, outcome: str) -> None:
    note = getattr(rejects, "note", None)
    if note is not None:
        note(line, field, reason, outcome)
    elif rejects is not None and outcome == "dropped":
        rejects.reject(line, field, f"{reason} (field left out, record stored)")


@attrs.frozen
class _Changes:
    """What was changed in a record to store it: problems of fields left out, and values repaired."""

    dropped: tuple[Problem, ...] = ()
    repairs: tuple[Repair, ...] = ()

    def report(self, report: ImportReport, rejects: Rejects | None, line: int, columns: Mapping[str, str]) -> None:
        for field, reason in _translate(self.dropped, columns):
            report.fields_dropped += 1
            _note(rejects, line, field, reason, "dropped")
        for repair in self.repairs:
            report.repairs[repair.kind] = report.repairs.get(repair.kind, 0) + 1
            _note(rejects, line, columns.get(repair.field, repair.field), repair.note, "repaired")


_NO_CHANGES = _Changes()


#: Customer fields a record may be stored without (``drop_field``); each problem's field -> the fields to leave
#: out (every part of the address together: an address missing a part is no address).
_ADDRESS_PARTS = (
    "company",
    "street_address_1",
    "street_address_2",
    "city",
    "postal_code",
    "country_code",
    "country_area",
)
_CUSTOMER_DROPS: dict[str, tuple[str, ...]] = {
    **{name: _ADDRESS_PARTS for name in (*_ADDRESS_PARTS, "company_name", "addresses")},
    "default_shipping_address": _ADDRESS_PARTS,
    "default_billing_address": _ADDRESS_PARTS,
    "first_name": ("given_name",),
    "last_name": ("family_name",),
    **{
        name: (name,)
        for name in (
            "phone",
            "given_name",
            "family_name",
            "locale",
            "timezone",
            "tags",
            "birthday",
            "accepts_marketing",
            "accepts_sms_marketing",
        )
    },
}


def _head(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def _customer_drops(problems: Sequence[Problem]) -> set[str] | None:
    """The fields to leave out so the problems go away, or None when one of them is in a required field."""
    fields: set[str] = set()
    for problem in problems:
        names = _CUSTOMER_DROPS.get(_head(problem.path))
        if names is None:
            return None
        fields.update(names)
    return fields


def _convert_customer(values: Mapping[str, Any], context: CustomerFields, *, drop: bool) -> tuple[Customer, _Changes]:
    """:func:`customer_from_fields` with the repairs it made and, with ``drop``, bad optional fields left out."""
    current = dict(values)
    dropped: list[Problem] = []
    while True:
        try:
            with recording() as repairs:
                customer = customer_from_fields(current, context)
            return customer, _Changes(tuple(dropped), tuple(repairs))
        except ValidationError as exc:
            fields = _customer_drops(exc.problems) if drop else None
            if not fields or all(current.get(name) is None for name in fields):
                raise
            dropped += exc.problems
            current.update(dict.fromkeys(fields))


# -- customers -------------------------------------------------------------------------------------------------


def import_customers(
    store: Store,
    rows: Iterable[Row],
    *,
    shopify: bool = False,
    options: ImportOptions | None = None,
    rejects: Rejects | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
) -> ImportReport:
    """Import customers from ``rows`` (CSV or JSON Lines records; Shopify's export columns with ``shopify``).

    With ``jobs`` above 1, that many worker processes repair, convert and check the records while this process
    does everything that touches the store, batch by batch in the input's order (the re-run skip, the email
    look-ups, the writes, the rejects file and the report): the outcome is the same as with one process.
    ``jobs=0`` starts one worker per CPU core.

    With ``options.suppression_key``, a record whose address is on the store's suppression list is not imported
    (``report.suppressed``; a line in the rejects file); a store without a suppression list is a ValidationError
    before anything is read."""
    options = options or ImportOptions(platform="shopify" if shopify else "import")
    workers = _workers(jobs)
    _check_suppression(store, options)
    run = _CustomerRun(store, options, report=ImportReport(), rejects=rejects)
    find_columns = _Columns(_profile(options, CUSTOMERS, shopify), options, run.report)
    batches = _customer_batches(rows, options.batch_size, run.report, find_columns)
    with _bulk_writes(store):
        if workers > 1:
            _parallel(run, batches, workers, progress)
            return run.report
        for batch in batches:
            run.apply(batch, None)
            if progress is not None and batch.progress is not None:
                progress(batch.progress)
    return run.report


def _bulk_writes(store: Store) -> AbstractContextManager[object]:
    """The store's settings for a long series of writes (``bulk_writes()``, which the SQLite store has), for the
    length of an import; nothing for a store without them. Every batch is committed as it would be without."""
    bulk = getattr(store, "bulk_writes", None)
    return nullcontext() if bulk is None else cast("AbstractContextManager[object]", bulk())


def _check_suppression(store: Store, options: ImportOptions) -> None:
    """With a suppression key, a ValidationError at ``suppression_key`` unless the store keeps a suppression list."""
    if options.suppression_key is not None:
        with store.unit_of_work() as uow:
            keeping(uow.customers)


def _workers(jobs: int) -> int:
    """The number of processes ``jobs`` asks for (0: one per CPU core)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ValidationError.single("jobs", "must be a whole number: 1 or more, or 0 for one per CPU core")
    return jobs or os.cpu_count() or 1


_Pending = tuple[int, dict[str, Any], dict[str, str]]


@attrs.frozen
class _Batch:
    """The records of one unit of work, with the unreadable records read since the batch before (refused first,
    as a one-process import refuses them before the batch is stored), and the line to report progress at after
    it (full batches only)."""

    pending: list[_Pending]
    unreadable: list[Row]
    progress: int | None


def _customer_batches(rows: Iterable[Row], size: int, report: ImportReport, find_columns: _Columns) -> Iterator[_Batch]:
    pending: list[_Pending] = []
    unreadable: list[Row] = []
    for row in rows:
        report.read += 1
        if _row_problem(row) is not None:
            unreadable.append(row)
            continue
        columns = find_columns(row)
        pending.append((row.line, find_columns.values(row, columns), columns))
        if len(pending) >= size:
            yield _Batch(pending, unreadable, row.line)
            pending, unreadable = [], []
    if pending or unreadable:
        yield _Batch(pending, unreadable, None)


#: What converting one record gives: the customer and what was changed to store it, or the problems (in the
#: input's column names) that refuse it.
_Outcome = tuple["Customer | _Head", "_Changes", PreparedCustomer | None] | list[tuple[str, str]]
_Prepared = tuple[list["_Known | None"], list[_Outcome]]


def _outcome(
    values: Mapping[str, Any], columns: Mapping[str, str], context: CustomerFields, drop: bool, *, rows: bool = False
) -> _Outcome:
    """The record converted (with, given ``rows``, the rows a SQL store writes for it) or its problems."""
    try:
        customer, changes = _convert_customer(values, context, drop=drop)
    except ValidationError as exc:
        return list(_translate(exc.problems, columns))
    except _UNWORKABLE as exc:
        return _unworkable(exc)
    if not rows:
        return customer, changes, None
    try:
        written = prepare_customer(customer, constructed=True)  # customer_from_fields calls Customer(...)
    except ValidationError:  # the store refuses it: adding it the usual way reports why
        return customer, changes, None
    return _Head.of(customer), changes, written


def _prepared(platform: str, context: CustomerFields, drop: bool, rows: bool, pending: Sequence[_Pending]) -> _Sent:
    """A worker's part of a batch: how each record is recognised, and its conversion (nothing touches a store);
    with ``rows``, each customer as the rows a SQL store writes, and only what the import needs of it beside.
    What is sent back is made of plain values (:func:`_flat`), which cost a fraction to send between processes
    of what the import's own objects cost; the importing process rebuilds them (:func:`_unflat`)."""
    quick = [_quick(platform, values) for _, values, _ in pending]
    outcomes = [_outcome(values, columns, context, drop, rows=rows) for _, values, columns in pending]
    return [None if k is None else _flat_known(k) for k in quick], [_flat(outcome) for outcome in outcomes]


#: How a worker sends a record's recognition: key, customer id, email address (its normalised form), guest.
_FlatKnown = tuple[str, str | None, str | None, bool]
#: How a worker sends a customer it built the stored rows of: id, email address (normalised), guest, the
#: ``imported_from`` metadata, the changes (None when nothing was changed) and the rows.
_FlatHead = tuple[str, str | None, bool, Any, "_Changes | None", PreparedCustomer]
_Sent = tuple[list[_FlatKnown | None], list["_FlatHead | _Outcome"]]


def _flat_known(known: _Known) -> _FlatKnown:
    email = None if known.email is None else known.email.value
    return known.key, None if known.customer_id is None else str(known.customer_id), email, known.guest


def _flat(outcome: _Outcome) -> _FlatHead | _Outcome:
    """``outcome`` as plain values when it is a customer with its rows; else as it is (problems, or a whole
    customer)."""
    if isinstance(outcome, list):
        return outcome
    head, changes, written = outcome
    if not isinstance(head, _Head) or written is None:
        return outcome
    email = None if head.email is None else head.email.value
    kept = changes if changes.dropped or changes.repairs else None
    return str(head.id), email, head.is_guest, head.metadata.get(IMPORTED_FROM), kept, written


def _unflat(sent: _Sent) -> _Prepared:
    """What a worker sent, as the import's own objects again. The values come from objects the worker built
    and checked, so they are not checked a second time."""
    flat_known, flat_outcomes = sent
    with trusting():
        known = [
            None if k is None else _Known(k[0], None if k[1] is None else CustomerId(k[1]), _email(k[2]), k[3])
            for k in flat_known
        ]
        outcomes: list[_Outcome] = []
        for item in flat_outcomes:
            if isinstance(item, list) or len(item) != 6:
                outcomes.append(item)
                continue
            ident, email, guest, source, changes, written = item
            metadata = {} if source is None else {IMPORTED_FROM: source}
            head = _Head(CustomerId(ident), _email(email), guest, metadata)
            outcomes.append((head, changes or _NO_CHANGES, written))
    return known, outcomes


def _email(value: str | None) -> EmailAddress | None:
    return None if value is None else EmailAddress(value)


@attrs.frozen
class _Head:
    """What the importing process needs of a customer a worker converted and built the stored rows of (a whole
    customer costs more to send between processes than to convert)."""

    id: CustomerId
    email: EmailAddress | None
    is_guest: bool
    metadata: Mapping[str, Any]

    @classmethod
    def of(cls, customer: Customer) -> _Head:
        source = customer.metadata.get(IMPORTED_FROM)
        return cls(customer.id, customer.email, customer.is_guest, {} if source is None else {IMPORTED_FROM: source})


def _watch_parent(parent: int) -> None:
    """In a worker: end the process when the importing process is gone (killed, it cannot stop its workers)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="custdata-import-parent", daemon=True).start()


def _parallel(run: _CustomerRun, batches: Iterator[_Batch], workers: int, progress: Progress | None) -> None:
    """Batches converted by ``workers`` processes and applied here in order; at most two batches a worker are
    in flight, so memory stays flat however long the input."""
    options = run.options
    context, drop = _fields_context(options), _drops(options)
    with run.store.unit_of_work() as uow:
        rows = hasattr(uow.customers, "add_prepared")
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_watch_parent, initargs=(os.getpid(),)
    )
    window: deque[tuple[_Batch, Future[_Sent] | None]] = deque()
    stored_through = 0

    def apply_first() -> None:
        nonlocal stored_through
        batch, future = window.popleft()
        run.apply(batch, None if future is None else _unflat(_result(pool, future)))
        stored_through = max([stored_through, *(line for line, _, _ in batch.pending), *_lines(batch.unreadable)])
        if progress is not None and batch.progress is not None:
            progress(batch.progress)

    try:
        for batch in batches:
            future = (
                pool.submit(_prepared, options.platform, context, drop, rows, batch.pending) if batch.pending else None
            )
            window.append((batch, future))
            if len(window) > 2 * workers:
                apply_first()
        while window:
            apply_first()
    except BrokenProcessPool:  # a worker died: what it was given is lost, the batches before it are stored
        _unstick(pool)
        raise WorkerStoppedError(stored_through, run.report) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: How often the importing process looks whether a worker died while it waits for a batch, and how long it then
#: leaves the pool to say so itself, in seconds.
_LOOK_EVERY, _GRACE = 1.0, 5.0


def _result(pool: ProcessPoolExecutor, future: Future[_Sent]) -> _Sent:
    """``future.result()``, or BrokenProcessPool when a worker process has died and the pool does not say so.

    A worker killed while it sends a batch back leaves half a message in the pipe the pool reads results from:
    the pool then waits for the rest of it for ever, and every batch with it. The importing process therefore
    looks at the workers while it waits."""
    while True:
        try:
            return future.result(timeout=_LOOK_EVERY)
        except TimeoutError:
            if not _a_worker_died(pool):
                continue
        try:
            return future.result(timeout=_GRACE)
        except TimeoutError:
            raise BrokenProcessPool("a worker process stopped while it sent its results") from None


def _workers_of(pool: ProcessPoolExecutor) -> list[multiprocessing.process.BaseProcess]:
    processes = getattr(pool, "_processes", None)  # CPython's ProcessPoolExecutor keeps its workers by pid
    return list(processes.values()) if isinstance(processes, dict) else []


def _a_worker_died(pool: ProcessPoolExecutor) -> bool:
    """True when a worker process of ``pool`` has ended (they end only when the pool shuts down)."""
    return any(process.exitcode is not None for process in _workers_of(pool))


def _unstick(pool: ProcessPoolExecutor) -> None:
    """Let a broken pool shut down: stop the workers left, and close this process's end of the pipe the workers
    send results by, so that a pool waiting for the rest of half a message reads the end of the pipe instead."""
    for process in _workers_of(pool):
        if process.exitcode is None:
            process.kill()
    queue = getattr(pool, "_result_queue", None)
    writer = getattr(queue, "_writer", None)
    if writer is not None and not writer.closed:
        writer.close()


def _lines(rows: Sequence[Row]) -> Iterator[int]:
    return (row.line for row in rows)


class WorkerStoppedError(OperationalError):
    """A worker process of an import with ``jobs`` stopped before it finished its part (killed, by the system's
    out-of-memory killer say). The batches before it are stored whole, those after it not at all; running the same
    import again finishes it (it skips what is stored). ``stored_through`` is the last line of the input the stored
    batches cover (0 when none is stored) and ``report`` what the import did before it stopped."""

    def __init__(self, stored_through: int, report: ImportReport) -> None:
        self.stored_through, self.report = stored_through, report
        stored = (
            f"the input is imported up to line {stored_through} (whole batches: each record stored, or refused "
            "in the rejects file) and nothing after it is stored"
            if stored_through
            else "no record is stored"
        )
        super().__init__(
            f"a worker process stopped before it finished (killed, perhaps for want of memory): {stored}; "
            "run the same import again to finish it (it skips the records already stored)"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.stored_through, self.report))


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


def _quick(platform: str, values: Mapping[str, Any]) -> _Known | None:
    """How the record will be recognised, or None when it cannot be told without converting it."""
    try:
        reference = text(values.get("id"))
        if reference is not None:
            if looks_like_email(reference):
                return None
            customer_id = source_customer_id(platform, reference)
            return _Known(f"id:{customer_id}", customer_id=customer_id)
        raw = text(values.get("email"))
        guest = bool(flag(values.get("is_guest")))
        if raw is None:
            return None
        email = EmailAddress.parse(raw)
    except ValidationError:
        return None
    return _Known(f"email:{'guest' if guest else 'registered'}:{email.canonical}", email=email, guest=guest)


@attrs.define
class _CustomerRun:
    """One customer import: each batch of records is checked against the store by reference first (so that a
    re-run skips what is stored without validating it again), then converted and added in one unit of work."""

    store: Store
    options: ImportOptions
    report: ImportReport
    rejects: Rejects | None
    seen: dict[str, int] = attrs.Factory(dict)

    def apply(self, batch: _Batch, prepared: _Prepared | None) -> None:
        """Refuse the batch's unreadable records, then add its records: ``prepared`` holds what workers made of
        them; without it they are converted here (and records already stored are never converted)."""
        for row in batch.unreadable:
            _reject(self.rejects, self.report, row.line, _unreadable(row))
        if batch.pending:
            self.flush(batch.pending, prepared)

    def flush(self, pending: Sequence[_Pending], prepared: _Prepared | None = None) -> None:
        options = self.options
        context, drop = _fields_context(options), _drops(options)
        platform = options.platform
        quick = prepared[0] if prepared is not None else [_quick(platform, values) for _, values, _ in pending]
        with self.store.unit_of_work() as uow:
            stored = self._stored(uow, [q for q in quick if q is not None])
        batch: list[_NewCustomer] = []
        for index, ((line, values, columns), known) in enumerate(zip(pending, quick, strict=True)):
            if known is not None and known.key in stored:
                if self._first(known.key, line, columns):
                    self.report.skipped += 1
                continue
            outcome = prepared[1][index] if prepared is not None else _outcome(values, columns, context, drop)
            if isinstance(outcome, list):
                _reject(self.rejects, self.report, line, outcome)
                continue
            customer, changes, rows = outcome
            known = known or self._of(customer)
            if self._first(known.key, line, columns):
                batch.append(_NewCustomer(line, customer, known, changes, columns, rows))
        if batch:
            add = partial(
                _add_customers,
                self.store,
                report=self.report,
                rejects=self.rejects,
                platform=platform,
                key=options.suppression_key,
            )
            _store_each(batch, add, self)

    def _of(self, customer: Customer | _Head) -> _Known:
        if IMPORTED_FROM not in customer.metadata or customer.email is None:
            return _Known(f"id:{customer.id}", customer_id=customer.id)
        kind = "guest" if customer.is_guest else "registered"
        return _Known(f"email:{kind}:{customer.email.canonical}", email=customer.email, guest=customer.is_guest)

    def _stored(self, uow: UnitOfWork, known: Sequence[_Known]) -> set[str]:
        """The keys of ``known`` that the store already holds a customer for."""
        ids = {k.customer_id: k.key for k in known if k.customer_id is not None}
        found = {ids[customer_id] for customer_id in uow.customers.get_many(ids)}
        by_email = [k for k in known if k.email is not None and k.key not in found]
        if by_email:
            holders = find_by_emails(uow.customers, [k.email for k in by_email if k.email is not None])
            for k in by_email:
                assert k.email is not None
                if any(_imported_by_email(c, self.options.platform, k) for c in holders.get(k.email.canonical, ())):
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


@attrs.frozen
class _NewCustomer:
    line: int
    #: the customer, or (when a worker built its rows) what the import needs of it
    customer: Customer | _Head
    known: _Known
    changes: _Changes
    columns: Mapping[str, str]
    #: the rows a SQL store writes for the customer, when a worker built them
    rows: PreparedCustomer | None = None


class _Run(Protocol):
    report: ImportReport
    rejects: Rejects | None


def _store_each(batch: Sequence[Any], add: Callable[[Sequence[Any]], None], run: _Run) -> None:
    """``add(batch)``; when the store refuses a value of the batch (a ValidationError), each record is added on
    its own, and the ones refused are rejected: one bad record never costs the batch."""
    try:
        add(batch)
        return
    except ValidationError as exc:
        if len(batch) == 1:
            _reject(run.rejects, run.report, batch[0].line, _translate(exc.problems, batch[0].columns))
            return
    for item in batch:
        try:
            add([item])
        except ValidationError as exc:
            _reject(run.rejects, run.report, item.line, _translate(exc.problems, item.columns))


def _add_customers(
    store: Store,
    batch: Sequence[_NewCustomer],
    *,
    report: ImportReport,
    rejects: Rejects | None,
    platform: str,
    key: bytes | None,
) -> None:
    """Add the batch's customers in one unit of work, skipping those stored meanwhile and (with a suppression
    ``key``) those whose address is on the suppression list, and count the ones whose email address another record
    (stored, or earlier in the batch) has too."""
    same_email = 0
    with store.unit_of_work() as uow:
        existing = uow.customers.get_many([item.customer.id for item in batch])
        # every address of the batch in one look-up: nothing is written before add_many below
        addresses = [c.email for c in (item.customer for item in batch) if c.email is not None and c.id not in existing]
        stored = find_by_emails(uow.customers, addresses)
        erased = set() if key is None else suppressed_emails(uow.customers, key, addresses)
        new: list[_NewCustomer] = []
        suppressed: list[_NewCustomer] = []
        emails: set[str] = set()
        for item in batch:
            customer, known = item.customer, item.known
            if customer.id in existing:
                continue
            holders = [] if customer.email is None else stored.get(customer.email.canonical, [])
            if known.email is not None and any(_imported_by_email(c, platform, known) for c in holders):
                continue
            if customer.email is not None and customer.email.canonical in erased:
                suppressed.append(item)
                continue
            if customer.email is not None:
                canonical = customer.email.canonical
                if canonical in emails or any(_live(c) for c in holders):
                    same_email += 1
                emails.add(canonical)
            new.append(item)
        _write(uow, new)
        uow.commit()
    report.same_email += same_email
    report.imported += len(new)
    report.suppressed += len(suppressed)
    report.skipped += len(batch) - len(new) - len(suppressed)
    report.batches += 1
    for item in suppressed:
        _note(rejects, item.line, item.columns.get("email", "email"), _SUPPRESSED, "suppressed")
    for item in new:
        item.changes.report(report, rejects, item.line, item.columns)


_SUPPRESSED = "the address is on the suppression list: its customer was erased on request"


def _write(uow: UnitOfWork, new: Sequence[_NewCustomer]) -> None:
    """Add the customers, in order: those a worker built the rows of by those rows, the others whole. A SQL store
    is handed the rows of a whole customer too, built here from the customer as its constructor checked it (every
    customer of an import comes from ``Customer(...)``), so the customer is checked once, not again by
    ``add_many``; a customer the rows cannot be built of goes to ``add_many``, which says why."""
    add_prepared = getattr(uow.customers, "add_prepared", None)
    for built, group in groupby(new, key=lambda item: item.rows is not None and add_prepared is not None):
        items = list(group)
        if built:
            add_prepared([item.rows for item in items])  # type: ignore[misc]
            continue
        customers = [_whole(item.customer) for item in items]
        if add_prepared is not None:
            try:
                rows = [prepare_customer(customer, constructed=True) for customer in customers]
            except ValidationError:
                pass
            else:
                add_prepared(rows)
                continue
        uow.customers.add_many(customers)


def _whole(customer: Customer | _Head) -> Customer:
    if not isinstance(customer, Customer):  # a worker sends a whole customer whenever it built no rows
        raise TypeError("a customer without its stored rows must come whole")
    return customer


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
    Shopify order's own customer is added with it. With ``options.suppression_key``, an order that would add a
    customer (a guest record, a Shopify order's customer) whose address is on the store's suppression list is not
    imported (``report.suppressed``; a line in the rejects file); a store without a suppression list is a
    ValidationError before anything is read."""
    options = options or ImportOptions(platform="shopify" if shopify else "import")
    _check_suppression(store, options)
    run = _OrderRun(store, options, ImportReport(), rejects, "id" if shopify else "order_id", shopify)
    pending: list[_PendingOrder] = []
    with _bulk_writes(store):
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
    """An order's records, not converted yet: its lines, columns, reference, its values (the Shopify order, or
    the field values of its rows) and how to convert them."""

    lines: list[int]
    columns: dict[str, str]
    reference: str | None
    convert: Callable[[Any], ImportedOrder] | None
    problems: list[tuple[str, str]] = attrs.Factory(list)
    values: Any = None


@attrs.frozen
class _NewOrder:
    line: int
    order: ImportedOrder
    changes: _Changes
    columns: Mapping[str, str]


#: Parts of an order it may be stored without (``drop_field``): a flat row's variant and product name; a Shopify
#: order's shipping address (whole), the details of its customer and its line items' variant titles. Nothing that
#: identifies the order or its customer, and nothing that counts towards its amounts or status.
_ROW_DROPS = frozenset({"size", "colour", "product_name"})
_SHOPIFY_CUSTOMER_DROPS = {
    "phone": ("phone",),
    "given_name": ("first_name",),
    "family_name": ("last_name",),
    "tags": ("tags",),
    **{
        name: ("default_address",) for name in (*_ADDRESS_PARTS, "company_name", "addresses", "first_name", "last_name")
    },
    "default_shipping_address": ("default_address",),
    "default_billing_address": ("default_address",),
}


def _order_without(shopify: bool, values: Any, problems: Sequence[Problem]) -> Any:
    """``values`` without the parts the problems are in, or None when a problem is in a part an order needs."""
    if not shopify:
        rows = [dict(row) for row in values]
        for problem in problems:
            index, _, rest = problem.path.removeprefix("lines[").partition("]")
            names = _row_drops(rest.lstrip("."))
            if not problem.path.startswith("lines[") or not index.isdigit() or names is None:
                return None
            rows[int(index)].update(dict.fromkeys(names))
        return rows
    order = dict(values)
    for problem in problems:
        head, _, rest = problem.path.partition(".")
        if head == "shipping_address":
            order.pop("shipping_address", None)
        elif head == "customer" and isinstance(order.get("customer"), Mapping):
            keys = _SHOPIFY_CUSTOMER_DROPS.get(_head(rest))
            if keys is None:
                return None
            order["customer"] = {k: v for k, v in order["customer"].items() if k not in keys}
        elif head.startswith("line_items[") and (rest == "variant_title" or _head(rest) == "variant"):
            index = head.removeprefix("line_items[").rstrip("]")
            items = order.get("line_items")
            if not index.isdigit() or not isinstance(items, list) or int(index) >= len(items):
                return None
            items = list(items)
            items[int(index)] = {k: v for k, v in items[int(index)].items() if k != "variant_title"}
            order["line_items"] = items
        else:
            return None
    return order


def _row_drops(path: str) -> tuple[str, ...] | None:
    """The fields of a flat order row to leave out for a problem at ``path`` within its order line."""
    name = _head(path)
    if name == "variant":  # the order line's variant: ``variant['size']`` names the attribute
        key = path[len("variant") :].strip("[]'\"")
        return (key,) if key in _ROW_DROPS else ("size", "colour")
    return (name,) if name in _ROW_DROPS else None


def _convert_order(pending: _PendingOrder, shopify: bool, *, drop: bool) -> tuple[ImportedOrder, _Changes]:
    """The pending order converted, with the repairs made and, with ``drop``, bad optional parts left out."""
    assert pending.convert is not None
    current = pending.values
    dropped: list[Problem] = []
    while True:
        try:
            with recording() as repairs:
                order = pending.convert(current)
            return order, _Changes(tuple(dropped), tuple(repairs))
        except ValidationError as exc:
            smaller = _order_without(shopify, current, exc.problems) if drop else None
            if smaller is None or smaller == current:
                raise
            dropped += _line_problems(exc.problems, pending.lines) if not shopify else exc.problems
            current = smaller


@attrs.define
class _OrderRun:
    """One order import: each batch is checked against the store by reference first (a re-run skips what is
    stored without converting it again), then converted and added in one unit of work."""

    store: Store
    options: ImportOptions
    report: ImportReport
    rejects: Rejects | None
    id_field: str
    shopify: bool
    #: the first record of each order id: its place in the input and its line (records of a Shopify file written
    #: on one line share a line)
    seen: dict[str, tuple[int, int]] = attrs.Factory(dict)
    records: int = 0

    def flush(self, pending: Sequence[_PendingOrder]) -> None:
        platform = self.options.platform
        quick = [order_id_for(platform, p.reference) if p.reference else None for p in pending]
        with self.store.unit_of_work() as uow:
            stored = set(uow.orders.get_many([str(q) for q in quick if q is not None]))
        batch: list[_NewOrder] = []
        drop = _drops(self.options)
        for item, known in zip(pending, quick, strict=True):
            first_line = item.lines[0]
            self.records += 1
            if item.convert is None:
                _reject(self.rejects, self.report, first_line, item.problems)
                continue
            if known is not None and known in stored:
                if self._first(str(known), first_line, item.columns):
                    self.report.skipped += 1
                continue
            try:
                converted, changes = _convert_order(item, self.shopify, drop=drop)
            except ValidationError as exc:
                problems = _line_problems(exc.problems, item.lines)
                _reject(self.rejects, self.report, first_line, _translate(problems, item.columns))
                continue
            except _UNWORKABLE as exc:
                _reject(self.rejects, self.report, first_line, _unworkable(exc))
                continue
            if self._first(str(converted.order.id), first_line, item.columns):
                batch.append(_NewOrder(first_line, converted, changes, item.columns))
        if batch:
            add = partial(
                _add_orders,
                self.store,
                report=self.report,
                rejects=self.rejects,
                key=self.options.suppression_key,
            )
            _store_each(batch, add, self)

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
            if _row_problem(row) is not None:
                yield _PendingOrder([row.line], {}, None, None, _unreadable(row))
                continue
            fields = row.fields
            yield _PendingOrder(
                [row.line],
                {},
                _reference(fields.get("id")),
                partial(order_from_shopify, now=now, platform=platform),
                values=fields,
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
                problem = (
                    columns.get("order_id", "order_id"),
                    f"rows of one order must follow each other (first seen on line {first})",
                )
                yield _PendingOrder(lines, columns, key, None, [problem])
                continue
        values = [profile_values(_profile(options, ORDERS, False), row.fields, cols) for row, cols in group]
        yield _PendingOrder(lines, columns, key, partial(order_from_rows, platform=platform, now=now), values=values)


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
        if _row_problem(row) is not None:
            _reject(rejects, report, row.line, _unreadable(row))
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
    store: Store, batch: Sequence[_NewOrder], *, report: ImportReport, rejects: Rejects | None, key: bytes | None
) -> None:
    """Add the batch's orders (and the customers that came with them) in one unit of work; counts and notes
    are reported once it is committed. With a suppression ``key``, an order that would add a customer whose
    address is on the suppression list is not imported."""
    with store.unit_of_work() as uow:
        existing = uow.orders.get_many([str(item.order.order.id) for item in batch])
        fresh = [
            item
            for item in batch
            if item.order.order.id not in existing
            and (
                item.order.order.external_ref is None
                or uow.orders.find_by_external_ref(item.order.order.external_ref) is None
            )
        ]
        refused: list[tuple[int, list[tuple[str, str]]]] = []
        suppressed: list[int] = []
        erased = _erased_addresses(uow, key, [item.order for item in fresh])
        added_customers, orders = _resolve(
            uow, [(item.line, item.order) for item in fresh], refused, erased, suppressed
        )
        uow.customers.add_many(added_customers)
        uow.orders.add_many(orders)
        uow.commit()
    report.skipped += len(batch) - len(fresh)
    report.suppressed += len(suppressed)
    for line, problems in refused:
        _reject(rejects, report, line, problems)
    columns = {item.line: item.columns for item in fresh}
    for line in suppressed:
        field = columns[line].get("customer_email", columns[line].get("email", "email"))
        _note(rejects, line, field, _SUPPRESSED, "suppressed")
    report.customers_added += len(added_customers)
    report.imported += len(orders)
    report.batches += 1
    refused_lines = {line for line, _ in refused} | set(suppressed)
    for item in fresh:
        if item.line not in refused_lines:
            item.changes.report(report, rejects, item.line, item.columns)


def _erased_addresses(uow: UnitOfWork, key: bytes | None, orders: Sequence[ImportedOrder]) -> set[str]:
    """The canonical addresses, among those of the customers that came with ``orders``, on the suppression list."""
    if key is None:
        return set()
    addresses = [o.new_customer.email for o in orders if o.new_customer is not None and o.new_customer.email]
    return suppressed_emails(uow.customers, key, addresses)


def _resolve(
    uow: UnitOfWork,
    items: Sequence[tuple[int, ImportedOrder]],
    refused: list[tuple[int, list[tuple[str, str]]]],
    on_list: set[str],
    suppressed: list[int],
) -> tuple[list[Customer], list[Any]]:
    """Check each order's customer is stored, adding the customers that came with orders when missing.

    A guest's order goes to a stored guest record with its email address when there is one, else to the guest
    record that came with it (one per address in the batch); never to a registered customer. An order whose
    customer would be added with an address in ``on_list`` (the suppression list's) is left out, its line added to
    ``suppressed``."""
    stored = uow.customers.get_many({str(item.order.customer_id) for _, item in items if item.guest_email is None})
    known = set(stored)
    erased = {cid for cid, customer in stored.items() if _erased(uow, customer)}
    new: dict[CustomerId, Customer] = {}
    guests: dict[str, CustomerId] = {}
    # the stored records of every guest address of the batch in one look-up: nothing is written in the loop below
    holders = find_by_emails(
        uow.customers,
        [item.guest_email for _, item in items if item.guest_email is not None and item.new_customer is not None],
    )
    orders = []
    for line, item in items:
        if item.guest_email is not None and item.new_customer is not None:
            canonical = item.guest_email.canonical
            guest_id = guests.get(canonical) or _stored_guest(holders.get(canonical, []), item.guest_email)
            if guest_id is None and canonical in on_list:
                suppressed.append(line)
                continue
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
                refused.append((line, [("customer_id", reason)]))
                continue
            email = item.new_customer.email
            if email is not None and email.canonical in on_list:
                suppressed.append(line)
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


def _stored_guest(holders: Sequence[Customer], email: EmailAddress) -> CustomerId | None:
    """A live guest record whose primary address is ``email`` (the first by id) among the stored ``holders`` of
    the address, if there is one."""
    for customer in holders:
        if customer.is_guest and _live(customer) and customer.email and customer.email.canonical == email.canonical:
            return customer.id
    return None
