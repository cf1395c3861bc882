"""Files mixing good records with any hostile ones, imported into real SQLite files: nothing escapes but a
whole-file SourceError, every good record is stored exactly once, every hostile line is reported on its own line,
and running the import again changes nothing."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata.importing import ImportOptions, RejectsList, import_customers, import_orders, read_rows
from custdata.serialization import to_json
from custdata.storage import Store, open_store

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
HUGE = 200_000

#: Bytes of a hostile CSV line: anything but the line's end and the quote (a quote may legally join lines).
_junk = st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"").replace(b'"', b""))


@st.composite
def csv_hostile(draw: st.DrawFn, n: int) -> bytes:
    """One line that can never be a valid customer: its id holds an '@' (refused), whatever else it holds."""
    kind = draw(st.sampled_from(["junk", "quote", "huge", "columns", "bytes", "badquote", "overflow"]))
    head = f"@h{n},".encode()
    if kind == "junk":
        return head + draw(_junk)
    if kind == "quote":  # an unterminated quote: swallows the lines after it
        # a letter after the quote: a quote left open before it and closed by this one must be followed by a comma
        # or a line's end to make valid CSV (a value spanning lines, which no reader could tell from a broken one)
        return (
            head + b'"' + draw(st.text("abcxyz", min_size=1, max_size=3)).encode() + draw(_junk).replace(b"\xff", b"")
        )
    if kind == "huge":
        return head + b"h@example.com," + b"z" * HUGE
    if kind == "columns":
        return head + b",".join([b"v"] * draw(st.integers(4, 9)))
    if kind == "bytes":
        return head + draw(_junk) + b"\xff,"
    if kind == "badquote":
        return head + b'"x"y,'
    return head + b"h@example.com,1" + b"0" * draw(st.integers(20, 5000))


@st.composite
def jsonl_hostile(draw: st.DrawFn, n: int) -> bytes:
    kind = draw(st.sampled_from(["junk", "deep", "long_int", "huge", "bytes", "surrogate", "not_object", "cut"]))
    ref = f"@h{n}"
    if kind == "junk":
        return b"#" + draw(_junk)
    if kind == "deep":
        depth = draw(st.integers(2_000, 60_000))
        return json.dumps({"id": ref}).encode()[:-1] + b', "tags": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "long_int":
        return f'{{"id": "{ref}", "n": 1{"0" * draw(st.integers(4300, 6000))}}}'.encode()
    if kind == "huge":
        return json.dumps({"id": ref, "notes": "z" * HUGE}).encode()
    if kind == "bytes":
        return f'{{"id": "{ref}", "email": "x'.encode() + b"\xff\xfe" + b'@example.com"}'
    if kind == "surrogate":
        return f'{{"id": "h{n}", "email": "h{n}@example.com", "given_name": "\\udc00"}}'.encode()
    if kind == "not_object":
        return json.dumps(draw(st.lists(st.integers(), max_size=3))).encode()
    return json.dumps({"id": ref, "email": "a@example.com"}).encode()[: draw(st.integers(1, 20))]


@st.composite
def mixed_file(draw: st.DrawFn, format: str) -> tuple[bytes, set[int], int]:
    """The file's bytes, the lines of its hostile records and how many good records it holds."""
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=25))
    lines: list[bytes] = [b"id,email,notes"] if format == "csv" else []
    hostile: set[int] = set()
    good = 0
    for n, is_good in enumerate(kinds):
        if is_good:
            ref, email = f"g{good}", f"g{good}@example.com"
            lines.append(
                f"{ref},{email},".encode() if format == "csv" else json.dumps({"id": ref, "email": email}).encode()
            )
            good += 1
        else:
            lines.append(draw(csv_hostile(n) if format == "csv" else jsonl_hostile(n)))
            hostile.add(len(lines))
    return b"\n".join(lines) + b"\n", hostile, good


def snapshot(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return sorted(to_json(c) for c in uow.customers.search(limit=1000).items)


def check(content: bytes, hostile: set[int], good: int, format: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"in.{format}"
        path.write_bytes(content)
        with open_store(f"sqlite:///{Path(folder) / 'shop.db'}") as store:
            options = ImportOptions(now=NOW, batch_size=4)
            rejects = RejectsList()
            report = import_customers(store, read_rows(path, format), options=options, rejects=rejects)
            stored = snapshot(store)
            with store.unit_of_work() as uow:
                for n in range(good):
                    found = uow.customers.find_by_email(f"g{n}@example.com")
                    assert [str(c.id) for c in found] == [f"cus_import_g{n}"], (n, found)
            assert {line for line, _, _ in rejects.items} == hostile, (rejects.items, hostile)
            assert (report.imported, report.rejected, report.read) == (good, len(hostile), good + len(hostile))
            again = import_customers(store, read_rows(path, format), options=options, rejects=RejectsList())
            assert (again.imported, again.skipped, again.rejected) == (0, good, len(hostile))
            assert snapshot(store) == stored


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_csv_with_hostile_lines(data: Any) -> None:
    content, hostile, good = data.draw(mixed_file("csv"))
    check(content, hostile, good, "csv")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_json_lines_with_hostile_lines(data: Any) -> None:
    content, hostile, good = data.draw(mixed_file("jsonl"))
    check(content, hostile, good, "jsonl")


_ORDER_HOSTILE = st.sampled_from(
    [
        '"unit_price": 1' + "0" * 29,
        '"unit_price": "1' + "0" * 29 + '"',
        '"quantity": 1' + "0" * 30,
        '"unit_price": 1e400',
        '"unit_price": NaN',
        '"unit_price": "-Infinity"',
        '"quantity": 1.5',
        '"placed_at": "9999-12-31T23:59:59Z"',
        '"sku": [[[[[[[[[[[]]]]]]]]]]]',
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), _ORDER_HOSTILE), min_size=1, max_size=15))
def test_orders_with_overflowing_numbers(kinds: list[str | None]) -> None:
    base = '"customer_email": "o{n}@example.com", "currency": "EUR", "placed_at": "2025-06-01", "sku": "A"'
    lines, hostile, good = [], set(), []
    for n, kind in enumerate(kinds):
        fields = f'"order_id": "o{n}", {base.format(n=n)}, "quantity": 1, "unit_price": "9.99"'
        if kind is not None:
            fields += ", " + kind  # a later key wins in JSON
            hostile.add(n + 1)
        else:
            good.append(f"o{n}")
        lines.append("{" + fields + "}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "o.jsonl"
        path.write_text("\n".join(lines) + "\n")
        with open_store(f"sqlite:///{Path(folder) / 'shop.db'}") as store:
            rejects = RejectsList()
            options = ImportOptions(now=NOW, batch_size=3)
            report = import_orders(store, read_rows(path, "jsonl"), options=options, rejects=rejects)
            assert {line for line, _, _ in rejects.items} == hostile
            with store.unit_of_work() as uow:
                stored = sorted(str(o.external_ref.id) for o in uow.orders.page(limit=100).items if o.external_ref)
            assert stored == sorted(good) and report.imported == len(good)
            again = import_orders(store, read_rows(path, "jsonl"), options=options, rejects=RejectsList())
            assert (again.imported, again.skipped, again.rejected) == (0, len(good), len(hostile))
