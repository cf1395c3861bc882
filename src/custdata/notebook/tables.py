"""HTML building blocks and a generic renderer for attrs results: tables of rows and single-row summaries.

Every piece of text goes through :func:`html.escape`, so values can hold ``<script>`` or quotes without
breaking out of the markup. Values are formatted for reading (Money as ``EUR 12.50``, datetimes to the
minute, floats to four significant digits) and personal data is masked unless revealed: model fields marked
personal (:mod:`custdata.domain.personal`), and in other results fields named like personal data
(:data:`~custdata.notebook.masking.PII_FIELDS`) or kept out of analytics records, and any EmailAddress,
PhoneNumber or Address value.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, cast

import attrs

from custdata.domain import Address, EmailAddress, Money, Personal, PhoneNumber
from custdata.domain.personal import field_kind
from custdata.notebook.masking import (
    PII_FIELDS,
    address_lines,
    is_masked,
    mask_email,
    mask_phone,
    mask_text,
    pii_revealed,
)

#: How many rows a table shows when no ``max_rows`` is given.
DEFAULT_MAX_ROWS = 50
#: How many items of a list, tuple or set a cell shows before it says how many there are in all.
MAX_ITEMS = 20

STYLE = (
    "<style>"
    ".custdata{font-family:system-ui,sans-serif;font-size:13px}"
    ".custdata table{border-collapse:collapse;margin:4px 0 10px 0}"
    ".custdata th,.custdata td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}"
    ".custdata th{background:#f4f4f4}"
    ".custdata h3,.custdata h4{margin:6px 0 4px 0}"
    ".custdata .muted{color:#777}"
    "</style>"
)


def esc(value: object) -> str:
    """``value`` as text, escaped for HTML content and attributes."""
    return html.escape(str(value), quote=True)


def block(title: str, body: str) -> str:
    """A titled ``<div class="custdata">``: the outer frame of every rendering."""
    return f'{STYLE}<div class="custdata"><h3>{esc(title)}</h3>{body}</div>'


def heading(text: str) -> str:
    return f"<h4>{esc(text)}</h4>"


def muted(text: str) -> str:
    return f'<p class="muted">{esc(text)}</p>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, total: int | None = None) -> str:
    """A table of already formatted (unescaped) cells; with ``total`` larger than the rows shown, a note
    says how many were left out."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    shown = 0
    for row in rows:
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
        shown += 1
    note = muted(f"{shown} of {total} rows shown") if total is not None and total > shown else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}"


def pairs(items: Iterable[tuple[str, str]]) -> str:
    """A two-column table of labels and already formatted values, leaving out empty values."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items if v != "")
    return f"<table><tbody>{rows}</tbody></table>"


def fmt(value: object, *, personal: bool = False, reveal: bool = False) -> str:
    """A value as display text; ``personal`` values are masked unless ``reveal``."""
    if value is None:
        return ""
    if isinstance(value, EmailAddress):
        return value.value if reveal else mask_email(value)
    if isinstance(value, PhoneNumber):
        return value.e164 if reveal else mask_phone(value)
    if isinstance(value, Address):
        return ", ".join(address_lines(value, reveal))
    if personal and not reveal:
        return mask_text(value) if isinstance(value, str) else "***"
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (date, Decimal, int, timedelta)):
        return str(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{fmt(k)}: {fmt(v, reveal=reveal)}" for k, v in value.items())
    if isinstance(value, (tuple, list, frozenset, set)):
        items = sorted(value, key=str) if isinstance(value, (frozenset, set)) else list(value)
        shown = ", ".join(fmt(v, reveal=reveal) for v in items[:MAX_ITEMS])
        return shown if len(items) <= MAX_ITEMS else f"{shown}, ... ({len(items)} in all)"
    return str(value)


def field_text(obj: object, name: str, reveal: bool) -> str:
    """Field ``name`` of the model ``obj`` as display text, masked when it is marked personal (unless ``reveal``)."""
    return fmt(getattr(obj, name), personal=is_masked(type(obj), name), reveal=reveal)


def _is_personal(field: attrs.Attribute[Any]) -> bool:
    """Marked personal (:mod:`custdata.domain.personal`); for fields without a mark, named like personal data or
    kept out of analytics records."""
    kind = field_kind(field)
    if kind is not None:
        return kind is Personal.PERSONAL
    return field.name in PII_FIELDS or field.metadata.get("custdata_record", True) is False


def _rows_of(result: object) -> tuple[Any, ...] | None:
    rows = getattr(result, "rows", None)
    if isinstance(rows, tuple) and all(attrs.has(type(r)) for r in rows):
        return rows
    return None


def _row_type(result: object, rows: tuple[Any, ...]) -> type[Any] | None:
    declared = getattr(type(result), "row_type", None)
    if isinstance(declared, type) and attrs.has(declared):
        return declared
    return type(rows[0]) if rows else None


def result_html(result: object, *, reveal: bool | None = None, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    """HTML for any attrs result: a table of its ``rows`` (with the other fields as a caption) when it has
    rows of attrs instances, else a table of its fields. Not an attrs instance: its escaped ``repr``."""
    show = pii_revealed() if reveal is None else reveal
    title = type(result).__name__
    if not attrs.has(type(result)):
        return block(title, f"<pre>{esc(repr(result))}</pre>")
    fields = attrs.fields(cast(Any, type(result)))
    rows = _rows_of(result)
    if rows is None:
        items = [(f.name, fmt(getattr(result, f.name), personal=_is_personal(f), reveal=show)) for f in fields]
        return block(title, pairs(items))
    caption = [
        (f.name, fmt(getattr(result, f.name), personal=_is_personal(f), reveal=show))
        for f in fields
        if f.name != "rows"
    ]
    row_type = _row_type(result, rows)
    columns = attrs.fields(row_type) if row_type is not None else ()
    body = table(
        [c.name for c in columns],
        (
            [fmt(getattr(row, c.name), personal=_is_personal(c), reveal=show) for c in columns]
            for row in rows[:max_rows]
        ),
        total=len(rows),
    )
    count = muted(f"{len(rows)} rows")
    return block(title, (pairs(caption) if caption else "") + count + body)
