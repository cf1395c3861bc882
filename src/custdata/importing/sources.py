"""Reading rows: CSV and JSON Lines files, Shopify's customer CSV export and Shopify's order JSON.

Every reader yields :class:`Row` values: the line the row starts on (for the rejects file) and its fields.
A file that cannot be read at all (missing, a header that is not UTF-8 text, not JSON where JSON is due) raises
:class:`SourceError` naming the line. A single bad record never stops the reading: bytes that are not UTF-8, a
broken line (an unterminated quote, invalid JSON, more values than columns), a value longer than
:data:`MAX_VALUE` characters (also in a column the import does not use), JSON nested too deeply or holding a
number too long to read each become a :class:`Row` with a ``problem`` (and the ``column`` to blame when one is),
and reading goes on with the next line.
"""

from __future__ import annotations

import csv
import json
import re
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from custdata._errors import ValidationError

#: The input formats: ``csv``, ``jsonl``, ``shopify-csv`` (customer export) and ``shopify-json`` (orders).
FORMATS = ("csv", "jsonl", "shopify-csv", "shopify-json")
#: The longest value (characters) a CSV cell or JSON string may hold: a longer one makes its record a reject.
MAX_VALUE = 131072


class SourceError(ValidationError):
    """An input file that cannot be read as the format it is said to be in."""


@attrs.frozen
class Row:
    """One input record: the line it starts on and its fields (strings, or JSON values for JSON input);
    ``problem`` says why a record could not be read at all (not JSON, more values than columns), and ``column``
    names the column (or JSON key) to blame when one is."""

    line: int
    fields: Mapping[str, Any]
    problem: str | None = None
    column: str | None = None


def guess_format(path: str | Path, *, shopify: bool = False) -> str:
    """The format a file name suggests: ``.jsonl``/``.ndjson`` JSON Lines, ``.json`` Shopify's order JSON,
    anything else CSV (Shopify's customer export with ``shopify=True``)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "shopify-json"
    return "shopify-csv" if shopify else "csv"


def read_rows(path: str | Path, format: str) -> Iterator[Row]:
    """The rows of the file at ``path`` in ``format`` (one of :data:`FORMATS`)."""
    if format not in FORMATS:
        raise ValidationError.single("format", f"must be one of {', '.join(FORMATS)}")
    if format in ("csv", "shopify-csv"):
        return _csv_rows(Path(path))
    if format == "jsonl":
        return _jsonl_rows(Path(path))
    return _shopify_orders(Path(path))


def count_lines(path: str | Path) -> int:
    """How many lines the file has (for a progress bar's total)."""
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _check_encoding(path: Path) -> None:
    """Refuse a file in UTF-16 or UTF-32 (by its byte order mark): a whole file in another encoding, not a few
    bad bytes in some of its records."""
    with open(path, "rb") as handle:
        start = handle.read(4)
    if start[:2] in (b"\xff\xfe", b"\xfe\xff") or start in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise SourceError.single("line 1", "is not UTF-8 text (it is UTF-16 or UTF-32: save the file as UTF-8)")


def _csv_rows(path: Path) -> Iterator[Row]:
    _check_encoding(path)
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        lines = _Lines(handle)
        reader = csv.reader(lines, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise SourceError.single("line 1", _why(exc)) from None
        if lines.undecodable():
            raise SourceError.single("line 1", "is not UTF-8 text")
        if not header or not any(h.strip() for h in header):
            raise SourceError.single("line 1", "the file has no header row naming the columns")
        if any("\x00" in h for h in header):
            raise SourceError.single("line 1", "is not CSV text (it holds binary data)")
        names = [h.strip() for h in header]
        doubled = sorted({n for n in names if n and names.count(n) > 1})
        if doubled:
            raise SourceError.single("line 1", f"the header names a column twice: {', '.join(doubled)}")
        while True:
            lines.start()
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                column = _long_column(lines.text(), names) if "field limit" in str(exc) else None
                yield Row(lines.first(), {}, problem=_why(exc), column=column)
                reader = lines.resume(strict=True)
                continue
            if not any(v.strip() for v in values):
                continue
            line = lines.first()
            if lines.spanned() and len(values) > len(names):
                # a quote left open swallowed the lines after it: refuse the line it opened on, read the rest again
                # (a short record spanning lines is a value written on several lines, as a single short line is
                # a record whose last columns are empty)
                yield Row(line, {}, problem="has a quote that is never closed")
                reader = lines.resume(strict=True)
            elif len(values) > len(names):
                yield Row(line, {}, problem=f"has {len(values)} values but the header names {len(names)} columns")
            elif lines.undecodable():
                bad = next((n for n, v in zip(names, values, strict=False) if _SURROGATE.search(v)), None)
                yield Row(line, {}, problem="is not UTF-8 text", column=bad)
            else:
                yield Row(line, dict(zip(names, values, strict=False)))


#: Characters that stand for bytes that were not UTF-8 (Python's ``surrogateescape``).
_SURROGATE = re.compile("[\udc80-\udcff]")


class _Lines:
    """The lines of a text file for :func:`csv.reader`, numbered; the lines of the record being read are kept,
    so that after a broken record the lines following its first one can be read again."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self._number = 0
        self._again: deque[tuple[int, str]] = deque()
        self._taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            item = self._again.popleft()
        else:
            text = self._handle.readline()
            if not text:
                raise StopIteration
            self._number += 1
            item = (self._number, text)
        self._taken.append(item)
        return item[1]

    def start(self) -> None:
        """A new record begins."""
        self._taken = []

    def first(self) -> int:
        """The line the current record began on."""
        return self._taken[0][0] if self._taken else self._number

    def spanned(self) -> bool:
        return len(self._taken) > 1

    def text(self) -> str:
        return "".join(text for _, text in self._taken)

    def undecodable(self) -> bool:
        return any(not text.isascii() and _SURROGATE.search(text) for _, text in self._taken)

    def resume(self, *, strict: bool) -> Any:
        """A fresh reader that goes on with the line after the current record's first one."""
        self._again.extendleft(reversed(self._taken[1:]))
        self._taken = self._taken[:1]
        return csv.reader(self, strict=strict)


def _long_column(text: str, names: list[str]) -> str | None:
    """The column of the first value in ``text`` (one CSV record) longer than the csv module's field limit."""
    limit = csv.field_size_limit()
    index = size = 0
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            index += 1
            size = 0
            continue
        size += 1
        if size > limit:
            return names[index] if index < len(names) else None
    return None


def _why(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "is not UTF-8 text"
    message = str(exc)
    if "field limit" in message:
        return f"holds a value longer than {csv.field_size_limit():,} characters"
    if "unexpected end of data" in message:
        return "has a quote that is never closed"
    return f"is not valid CSV ({message})"


def _jsonl_rows(path: Path) -> Iterator[Row]:
    _check_encoding(path)
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as handle:
        number = 0
        for text in handle:
            number += 1
            if not text.strip():
                continue
            if not text.isascii() and _SURROGATE.search(text):
                yield Row(number, {}, problem="is not UTF-8 text")
                continue
            yield _json_row(number, text)


def _json_row(number: int, text: str) -> Row:
    """The record one JSON text holds, or the reason it cannot be read."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return Row(number, {}, problem=f"is not valid JSON ({exc.msg})")
    except RecursionError:
        return Row(number, {}, problem="nests JSON too deeply to read")
    except ValueError:  # an integer with more digits than Python converts
        return Row(number, {}, problem="holds a number too long to read")
    if not isinstance(value, dict):
        return Row(number, {}, problem=f"must be a JSON object, not {type(value).__name__}")
    if len(text) > MAX_VALUE and (key := _long_value(value)) is not None:
        return Row(number, {}, problem=f"holds a value longer than {MAX_VALUE:,} characters", column=key)
    return Row(number, value)


def _long_value(record: Mapping[str, Any]) -> str | None:
    """The top-level key under which ``record`` holds a string (or key) longer than :data:`MAX_VALUE`."""
    for key, value in record.items():
        if len(key) > MAX_VALUE:
            return "(record)"
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str) and len(item) > MAX_VALUE:
                return key
            if isinstance(item, dict):
                if any(len(k) > MAX_VALUE for k in item):
                    return key
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    return None


def _shopify_orders(path: Path) -> Iterator[Row]:
    """Shopify's order JSON: ``{"orders": [...]}`` (the Admin REST API's answer), ``{"order": {...}}``, a
    list of orders, or one order per line. The line of each order is found by its ``"id"`` in the text."""
    _check_encoding(path)
    # bytes that are not UTF-8: the orders that hold them are refused, the others read
    text = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos and text[: exc.pos].strip() and "\n" in text.strip():
            yield from _jsonl_rows(path)  # one order per line
            return
        raise SourceError.single(f"line {exc.lineno}", f"is not valid JSON ({exc.msg})") from None
    except (RecursionError, ValueError):  # nested too deeply, or a number too long: read the orders one by one
        yield from _orders_one_by_one(text)
        return
    if isinstance(document, dict) and isinstance(document.get("orders"), list):
        orders = document["orders"]
    elif isinstance(document, dict) and isinstance(document.get("order"), dict):
        orders = [document["order"]]
    elif isinstance(document, list):
        orders = document
    else:
        raise SourceError.single("line 1", 'must hold {"orders": [...]}, {"order": {...}} or a list of orders')
    single = isinstance(document, dict) and not isinstance(document.get("orders"), list)
    starts = [1] if single else [line for line, _, _ in _elements(text)]
    undecodable = _SURROGATE.search(text) is not None
    # a JSON text without a run of that many characters between two quotes holds no string that long
    long_values = any(len(part) > MAX_VALUE for part in text.split('"'))
    for index, order in enumerate(orders):
        line = starts[index] if index < len(starts) else 1
        if not isinstance(order, dict):
            yield Row(line, {}, problem=f"order {index + 1} must be a JSON object, not {type(order).__name__}")
        elif undecodable and _SURROGATE.search(json.dumps(order, ensure_ascii=False)):
            yield Row(line, {}, problem="is not UTF-8 text")
        elif long_values and (key := _long_value(order)) is not None:
            yield Row(line, {}, problem=f"holds a value longer than {MAX_VALUE:,} characters", column=key)
        else:
            yield Row(line, order)


def _orders_one_by_one(text: str) -> Iterator[Row]:
    """The orders of a document that cannot be read whole, each read on its own (a bad one refused alone)."""
    spans = _elements(text)
    if not spans:
        yield _json_row(1, text)
        return
    for line, start, end in spans:
        piece = text[start:end]
        if _SURROGATE.search(piece):
            yield Row(line, {}, problem="is not UTF-8 text")
        else:
            yield _json_row(line, piece)


def _elements(text: str) -> list[tuple[int, int, int]]:
    """The line, start and end of each value in the document's first array (its orders), found by a scan that
    follows strings and nesting (and needs no parsing, so it copes with any depth)."""
    spans: list[tuple[int, int, int]] = []
    depth = 0
    line = 1
    in_string = escaped = False
    array_depth: int | None = None
    start: int | None = None
    start_line = 0
    for position, char in enumerate(text):
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if array_depth is not None and depth == array_depth:
            if char in ",]":
                if start is not None:
                    spans.append((start_line, start, position))
                    start = None
                if char == "]":
                    return spans
                continue
            if start is None and not char.isspace():
                start, start_line = position, line
        if char == '"':
            in_string = True
        elif char in "[{":
            if char == "[" and array_depth is None:
                array_depth = depth + 1
            depth += 1
        elif char in "]}":
            depth -= 1
    return spans
