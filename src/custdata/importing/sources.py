"""Reading rows: CSV and JSON Lines files, Shopify's customer CSV export and Shopify's order JSON.

Every reader yields :class:`Row` values: the line the row starts on (for the rejects file) and its fields.
A file that cannot be read at all (missing, not UTF-8, not JSON where JSON is due) raises
:class:`SourceError` naming the line; a single bad row is left for the converters to reject.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from custdata._errors import ValidationError

#: The input formats: ``csv``, ``jsonl``, ``shopify-csv`` (customer export) and ``shopify-json`` (orders).
FORMATS = ("csv", "jsonl", "shopify-csv", "shopify-json")


class SourceError(ValidationError):
    """An input file that cannot be read as the format it is said to be in."""


@attrs.frozen
class Row:
    """One input record: the line it starts on and its fields (strings, or JSON values for JSON input);
    ``problem`` says why a record could not be read at all (not JSON, more values than columns)."""

    line: int
    fields: Mapping[str, Any]
    problem: str | None = None


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


def _csv_rows(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SourceError.single("line 1", _why(exc)) from None
        if not header or not any(h.strip() for h in header):
            raise SourceError.single("line 1", "the file has no header row naming the columns")
        names = [h.strip() for h in header]
        doubled = sorted({n for n in names if n and names.count(n) > 1})
        if doubled:
            raise SourceError.single("line 1", f"the header names a column twice: {', '.join(doubled)}")
        line = reader.line_num + 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:
                raise SourceError.single(f"line {line}", _why(exc)) from None
            if any(v.strip() for v in values):
                if len(values) > len(names):
                    yield Row(line, {}, problem=f"has {len(values)} values but the header names {len(names)} columns")
                else:
                    yield Row(line, dict(zip(names, values, strict=False)))
            line = reader.line_num + 1


def _why(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "is not UTF-8 text"
    return f"is not valid CSV ({exc})"


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig") as handle:
        number = 0
        while True:
            try:
                text = handle.readline()
            except UnicodeDecodeError:
                raise SourceError.single(f"line {number + 1}", "is not UTF-8 text") from None
            if not text:
                return
            number += 1
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Row(number, {}, problem=f"is not valid JSON ({exc.msg})")
                continue
            if not isinstance(value, dict):
                yield Row(number, {}, problem=f"must be a JSON object, not {type(value).__name__}")
            else:
                yield Row(number, value)


def _shopify_orders(path: Path) -> Iterator[Row]:
    """Shopify's order JSON: ``{"orders": [...]}`` (the Admin REST API's answer), ``{"order": {...}}``, a
    list of orders, or one order per line. The line of each order is found by its ``"id"`` in the text."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError.single("line 1", "is not UTF-8 text") from None
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos and text[: exc.pos].strip() and "\n" in text.strip():
            yield from _jsonl_rows(path)  # one order per line
            return
        raise SourceError.single(f"line {exc.lineno}", f"is not valid JSON ({exc.msg})") from None
    if isinstance(document, dict) and isinstance(document.get("orders"), list):
        orders = document["orders"]
    elif isinstance(document, dict) and isinstance(document.get("order"), dict):
        orders = [document["order"]]
    elif isinstance(document, list):
        orders = document
    else:
        raise SourceError.single("line 1", 'must hold {"orders": [...]}, {"order": {...}} or a list of orders')
    starts = _order_lines(text)
    for index, order in enumerate(orders):
        line = starts[index] if index < len(starts) else 1
        if isinstance(order, dict):
            yield Row(line, order)
        else:
            yield Row(line, {}, problem=f"order {index + 1} must be a JSON object, not {type(order).__name__}")


def _order_lines(text: str) -> list[int]:
    """The line each top-level order object starts on, found by a scan that follows strings and nesting."""
    lines: list[int] = []
    depth = 0
    line = 1
    in_string = escaped = False
    array_depth = None
    for char in text:
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
        if char == '"':
            in_string = True
        elif char in "[{":
            if char == "[" and array_depth is None:
                array_depth = depth + 1
            depth += 1
            if char == "{" and array_depth is not None and depth == array_depth + 1:
                lines.append(line)
        elif char in "]}":
            depth -= 1
    return lines
