"""Records flattened to columns for an engine: every record is normalised once, in Python, streamed in batches.

A batch holds the columns of the ``records`` table (one row per record: the normalised comparison inputs,
:class:`~custdata.matching.normalise.NormalisedRecord` flattened), and three side tables: the blocking keys
(``keys``: one row per record and key, the keys of :func:`~custdata.matching.blocking.blocking_keys`), the
email addresses split for the typo rule (``emails``) and the last eight digits of each phone (``tails``).
Only plain values leave Python: the comparison itself is the engine's.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Any

import attrs

from custdata._errors import Problem, ValidationError
from custdata.matching.blocking import blocking_keys
from custdata.matching.normalise import (
    NameKeys,
    NormalisedRecord,
    name_keys,
    normalise_birthday,
    normalise_country,
    normalise_email,
    normalise_postal_code,
    street_keys,
)
from custdata.matching.phones import normalise_phone
from custdata.matching.records import to_record
from custdata.matching.sources import RecordFields as Fields
from custdata.matching.sources import StoreRecords, record_fields

#: Records normalised per batch handed to the engine.
BATCH = 20_000

#: The columns of the ``records`` table and their types (``str``, ``int``, ``bool``, ``list[str]``, ``list[int]``).
RECORD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pos", "int"),
    ("id", "str"),
    ("guest", "bool"),
    *(
        (f"{side}_{name}", kind)
        for side in ("g", "f")
        for name, kind in (
            ("full", "str"),
            ("first", "str"),
            ("code", "str"),
            ("groups", "list[int]"),
            ("tokens", "list[str]"),
            ("ntok", "int"),
            ("rest", "str"),
        )
    ),
    ("emails", "list[str]"),
    ("phones", "list[str]"),
    ("tails", "list[str]"),
    ("s_name", "str"),
    ("s_house", "str"),
    ("postal", "str"),
    ("city", "str"),
    ("country", "str"),
    ("b_digits", "str"),
    ("b_year", "int"),
    ("b_month", "int"),
    ("b_day", "int"),
)
KEY_COLUMNS: tuple[tuple[str, str], ...] = (("key", "str"), ("pos", "int"))
EMAIL_COLUMNS: tuple[tuple[str, str], ...] = (("pos", "int"), ("local", "str"), ("domain", "str"), ("digits", "str"))
TAIL_COLUMNS: tuple[tuple[str, str], ...] = (("pos", "int"), ("tail", "str"))

#: Every table an engine is given, with its columns.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "records": RECORD_COLUMNS,
    "keys": KEY_COLUMNS,
    "emails": EMAIL_COLUMNS,
    "tails": TAIL_COLUMNS,
}


@attrs.define
class Batch:
    """Columns of each table for a run of records, as Python lists."""

    columns: dict[str, dict[str, list[Any]]] = attrs.field(
        factory=lambda: {table: {name: [] for name, _ in columns} for table, columns in TABLES.items()}
    )
    size: int = 0


def _name(columns: dict[str, list[Any]], side: str, keys: NameKeys) -> None:
    columns[f"{side}_full"].append(keys.full)
    columns[f"{side}_first"].append(keys.first)
    columns[f"{side}_code"].append(keys.code)
    columns[f"{side}_groups"].append(sorted(keys.groups))
    columns[f"{side}_tokens"].append(list(keys.tokens))
    columns[f"{side}_ntok"].append(len(keys.tokens))
    columns[f"{side}_rest"].append("".join(keys.tokens[1:]))


def add(batch: Batch, position: int, record: NormalisedRecord, *, keys: bool = True) -> None:
    """Append one normalised record (at ``position`` in the input) to ``batch``."""
    rows = batch.columns["records"]
    rows["pos"].append(position)
    rows["id"].append(record.id)
    rows["guest"].append(record.is_guest)
    _name(rows, "g", record.given)
    _name(rows, "f", record.family)
    rows["emails"].append(list(record.emails))
    rows["phones"].append(list(record.phones))
    tails = sorted({number[-8:] for number in record.phones})
    rows["tails"].append(tails)
    rows["s_name"].append(record.street.name)
    rows["s_house"].append(record.street.house)
    rows["postal"].append(record.postal_code)
    rows["city"].append(record.city)
    rows["country"].append(record.country)
    birthday = record.birthday
    rows["b_digits"].append(birthday.digits if birthday else None)
    rows["b_year"].append(birthday.year if birthday else None)
    rows["b_month"].append(birthday.month if birthday else None)
    rows["b_day"].append(birthday.day if birthday else None)
    emails = batch.columns["emails"]
    for address in record.emails:
        local, _, domain = address.rpartition("@")
        emails["pos"].append(position)
        emails["local"].append(local)
        emails["domain"].append(domain)
        # the typo rule refuses a changed digit: two mailboxes differ in a digit unless they hold the same ones
        emails["digits"].append("".join(sorted({c for c in local if c.isdigit()})))
    side = batch.columns["tails"]
    for tail in tails:
        side["pos"].append(position)
        side["tail"].append(tail)
    if keys:
        key_columns = batch.columns["keys"]
        for key in sorted(blocking_keys(record)):
            key_columns["key"].append(key)
            key_columns["pos"].append(position)
    batch.size += 1


#: Distinct values whose normalised form is kept per run (names, streets, postal codes, birthdays repeat).
_CACHE = 1 << 16


def _name_columns(keys: NameKeys) -> tuple[Any, ...]:
    """The columns of one normalised name: full, first, code, groups, tokens, token count, the tokens after the
    first."""
    return (
        keys.full,
        keys.first,
        keys.code,
        sorted(keys.groups),
        list(keys.tokens),
        len(keys.tokens),
        "".join(keys.tokens[1:]),
    )


def _birthday_columns(text: str | None, country: str | None) -> tuple[Any, ...]:
    birthday = normalise_birthday(text, country)
    return (
        (None, None, None, None) if birthday is None else (birthday.digits, birthday.year, birthday.month, birthday.day)
    )


def _name_id(given: NameKeys) -> list[str]:
    return [f"#{group}" for group in given.groups] or [given.code]


class _Normaliser:
    """The per-value normalisations of :func:`~custdata.matching.normalise.normalise`, each a pure function of
    its arguments, memoised for one run: at scale most names, streets, postal codes and birthdays repeat."""

    def __init__(self) -> None:
        cached = lru_cache(maxsize=_CACHE)
        self.name = cached(lambda text: (name_keys(text), _name_columns(name_keys(text))))
        self.city = cached(lambda text: name_keys(text).full)
        self.street = cached(street_keys)
        self.postal = cached(normalise_postal_code)
        self.birthday = cached(_birthday_columns)
        self.name_ids = cached(_name_id)


class _Rows:
    """The rows of a batch being built, one tuple per row and table, turned into columns at the end."""

    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []
        self.keys: list[tuple[str, int]] = []
        self.emails: list[tuple[int, str, str, str]] = []
        self.tails: list[tuple[int, str]] = []

    def batch(self) -> Batch:
        columns = {}
        for table, rows in (
            ("records", self.records),
            ("keys", self.keys),
            ("emails", self.emails),
            ("tails", self.tails),
        ):
            names = [name for name, _ in TABLES[table]]
            values = [list(map(itemgetter(index), rows)) for index in range(len(names))]
            columns[table] = dict(zip(names, values, strict=True))
        return Batch(columns, len(self.records))


def add_fields(rows: _Rows, position: int, fields: Fields, region: str | None, cache: _Normaliser, keys: bool) -> None:
    """Append one record (at ``position``), given by its plain values, to ``rows``: the same columns as
    :func:`add` of :func:`~custdata.matching.normalise.normalise` of the record, and the same blocking keys (a
    test holds them equal)."""
    record_id, given_text, family_text, email_texts, phone_texts, street_text, postal_text, city_text, *rest = fields
    country_text, birthday_text, guest = rest
    country = normalise_country(country_text) or ""
    phone_region = country or region
    emails: list[str] = []
    for text in email_texts:
        value = normalise_email(text)
        if value and value not in emails:
            emails.append(value)
    phones: list[str] = []
    for text in phone_texts:
        value = normalise_phone(text, phone_region)
        if value and value not in phones:
            phones.append(value)
    given, given_columns = cache.name(given_text)
    family, family_columns = cache.name(family_text)
    street_name, house = cache.street(street_text)
    postal = cache.postal(postal_text, country or None) or ""
    city = cache.city(city_text)
    birthday = cache.birthday(birthday_text, country or None)
    tails = sorted({number[-8:] for number in phones}) if phones else []
    rows.records.append(
        (
            position,
            record_id,
            guest,
            *given_columns,
            *family_columns,
            emails,
            phones,
            tails,
            street_name,
            house,
            postal,
            city,
            country,
            *birthday,
        )
    )
    found: set[str] = set()
    for address in emails:
        local, _, domain = address.rpartition("@")
        # the typo rule refuses a changed digit: two mailboxes differ in a digit unless they hold the same ones
        rows.emails.append((position, local, domain, "".join(sorted({c for c in local if c.isdigit()}))))
        found.add("e" + address)
        if len(local) >= 6:
            found.add("l" + local)
    for tail in tails:
        rows.tails.append((position, tail))
    if not keys:
        return
    # the keys of blocking.blocking_keys, from the values at hand
    for number in phones:
        if len(number) >= 8:
            found.add("p" + number[-8:])
    given_code, family_code = given.code, family.code
    codes = [code for code in (given_code, family_code) if code]
    if postal:
        for code in codes:
            found.add(f"a{postal}|{code}")
        if house:
            found.add(f"h{postal}|{house}")
    if street_name and city:
        found.add(f"c{city}|{street_name[:5]}|{house}")
    if given_code and family_code:
        for name in cache.name_ids(given):
            found.add("n" + (f"{name}|{family_code}" if name <= family_code else f"{family_code}|{name}"))
    digits = birthday[0]
    if digits is not None:
        for code in codes:
            found.add(f"b{digits}|{code}")
        found.add(f"d{digits}")
    rows.keys.extend((key, position) for key in sorted(found))


def _fields(records: Iterable[object], problems: list[tuple[int, Problem]]) -> Iterator[tuple[int, Fields]]:
    """The plain values of each good record with its position; the problems of bad ones go to ``problems``."""
    if isinstance(records, StoreRecords):
        # a store's own documents, read without building a record for each (the same values: a test holds them
        # equal)
        yield from enumerate(records.fields())
        return
    for position, item in enumerate(records):
        try:
            record = to_record(item, position)
        except ValidationError as exc:
            problems.extend((position, problem) for problem in exc.problems)
            continue
        yield position, record_fields(record)


def batches(
    records: Iterable[object], region: str | None, *, keys: bool = True, size: int = BATCH
) -> Iterator[Batch | list[tuple[int, Problem]]]:
    """Normalise ``records`` as :meth:`Matcher.normalise` does, yielding batches of columns, and at the end the
    problems of bad rows (position and problem) if there were any. Repeated ids are the engine's to find (it
    holds the ids; see :func:`repeated_id_problems`), so the good rows are loaded even after a bad one."""
    problems: list[tuple[int, Problem]] = []
    cache = _Normaliser()
    values = _fields(records, problems)
    while True:
        rows = _Rows()
        with _collector_paused():
            # a batch makes only acyclic objects (tuples, lists and strings of its rows), hundreds of thousands of
            # them: the cycle collector would scan every live object again and again while they pile up, a third of
            # the time of the batch
            for position, fields in values:
                add_fields(rows, position, fields, region, cache, keys)
                if len(rows.records) >= size:
                    break
            batch = rows.batch() if rows.records else None
        if batch is None:
            break
        yield batch
    if problems:
        yield problems


def _rows_batch(
    chunk: list[tuple[int, Fields]], region: str | None, cache: _Normaliser, keys: bool, convert: Callable[[Batch], Any]
) -> tuple[int, Any]:
    rows = _Rows()
    with _collector_paused():
        for position, fields in chunk:
            add_fields(rows, position, fields, region, cache, keys)
        batch = rows.batch()
    return batch.size, convert(batch)


#: The normalisation cache of a worker process (one per run: a worker serves one run).
_worker_cache: _Normaliser | None = None


def _in_worker(
    chunk: list[tuple[int, Fields]], region: str | None, keys: bool, convert: Callable[[Batch], Any]
) -> tuple[int, Any]:
    global _worker_cache
    if _worker_cache is None:
        _worker_cache = _Normaliser()
    return _rows_batch(chunk, region, _worker_cache, keys, convert)


def serve() -> None:
    """A worker process's loop: read a pickled job from standard input, write back its pickled result, until the
    input ends. Standard output carries only results (anything printed goes to standard error)."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    source = sys.stdin.buffer
    while True:
        try:
            job = pickle.load(source)
        except EOFError:
            break
        try:
            answer: tuple[bool, Any] = (True, _in_worker(*job))
        except Exception as exc:  # noqa: BLE001 (handed back to the run, which raises it)
            answer = (False, exc)
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


_BOOT = "import sys, json; sys.path[:0] = json.loads(sys.argv[1]); from {module} import serve; serve()"


class _Worker:
    """A second Python process that normalises and converts batches (:func:`serve`), one job at a time, each sent
    and received by a thread of this process so that this one goes on working meanwhile. It is a fresh
    interpreter, not a fork, and imports nothing of the program that runs the match."""

    def __init__(self) -> None:
        command = [sys.executable, "-c", _BOOT.format(module=__name__), json.dumps(sys.path)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custdata-prepare")

    def submit(self, *job: Any) -> Future[tuple[int, Any]]:
        return self._io.submit(self._call, job)

    def _call(self, job: tuple[Any, ...]) -> tuple[int, Any]:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            pickle.dump(job, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
            ok, value = pickle.load(stdout)
        except (EOFError, OSError) as exc:
            raise RuntimeError(f"the process preparing records stopped (exit code {self._process.poll()})") from exc
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        self._io.shutdown(wait=True, cancel_futures=True)
        if self._process.stdin is not None:
            with suppress(OSError):  # a worker that died has closed its end
                self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


def idle_core() -> bool:
    """Whether a core of this machine is idle: fewer runnable processes, over the last minute, than cores less
    one (no load figure where the system gives none: then a core is taken as idle)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores > 1
    return load <= cores - 1


#: Batches a worker process may hold at once (handed over and not yet returned).
_AHEAD = 2


def prepared(
    records: Iterable[object],
    region: str | None,
    convert: Callable[[Batch], Any],
    *,
    keys: bool = True,
    size: int | None = None,
    worker: bool | None = None,
) -> Iterator[tuple[int, Any] | list[tuple[int, Problem]]]:
    """:func:`batches`, each batch passed through ``convert`` (a module-level function, such as the Arrow tables
    of an engine) and yielded with its record count, in any order (every row carries its position); ``size`` is
    :data:`BATCH` unless given.

    With ``worker`` (and more than one batch of input on a machine of more than one core), a second process
    normalises and converts some of the batches while this one reads the records, does the rest and the engine
    loads them: each batch goes to the worker while it holds fewer than two, and is done here otherwise, so the
    two share the work whatever their speed. ``worker=None`` starts one only when a core is idle
    (:func:`idle_core`): on a machine whose cores are all busy the second process only adds the cost of handing
    batches over. The records are read here, in order, and bad ones are reported as
    by :func:`batches`."""
    size = size or BATCH
    problems: list[tuple[int, Problem]] = []
    cache = _Normaliser()
    values = _fields(records, problems)
    pool: _Worker | None = None
    pending: deque[Future[tuple[int, Any]]] = deque()
    if worker is None:
        worker = idle_core()
    use_worker = worker and bool(sys.executable) and (os.cpu_count() or 1) > 1
    try:
        while chunk := list(islice(values, size)):
            while pending and pending[0].done():
                yield pending.popleft().result()
            if pool is None and use_worker and len(chunk) == size:
                pool = _Worker()
            if pool is not None and len(pending) < _AHEAD:
                pending.append(pool.submit(chunk, region, keys, convert))
            else:
                yield _rows_batch(chunk, region, cache, keys, convert)
        while pending:
            yield pending.popleft().result()
    finally:
        if pool is not None:
            pool.close()
    if problems:
        yield problems


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for the block (the garbage it leaves has no cycles), as it was after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def repeated_id_problems(repeats: Iterable[tuple[int, int]]) -> list[tuple[int, Problem]]:
    """The problems :meth:`Matcher.normalise` reports for rows (position, first position) whose id repeats."""
    return [(position, Problem(f"[{position}].id", f"repeats the id of row {first}")) for position, first in repeats]


def raise_problems(problems: list[tuple[int, Problem]]) -> None:
    """Raise every problem at once, in row order, as :meth:`Matcher.normalise` does."""
    if problems:
        ordered = sorted(enumerate(problems), key=lambda item: (item[1][0], item[0]))
        raise ValidationError([problem for _, (_, problem) in ordered])
