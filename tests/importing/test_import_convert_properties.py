"""Any record, however malformed, becomes valid model objects or a ValidationError naming fields: never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import ValidationError
from custdata.importing import CUSTOMER_FIELDS, ORDER_FIELDS, customer_from_fields, order_from_rows, order_from_shopify
from custdata.importing.convert import CustomerFields

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHOPIFY = json.loads((Path(__file__).parent / "data" / "shopify_orders.json").read_text())["orders"][0]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
plausible = st.sampled_from(["", "x", "a@example.com", "DE", "US", "10117", "yes", "2024-05-01", "3", "19.99", "-1"])


def _problems_have_fields(exc: ValidationError) -> None:
    assert exc.problems and all(isinstance(p.path, str) and p.message for p in exc.problems)


@settings(max_examples=60, deadline=None)
@given(values=st.dictionaries(st.sampled_from(CUSTOMER_FIELDS), plausible | json_values, max_size=8))
def test_customer_records(values: dict[str, Any]) -> None:
    try:
        customer = customer_from_fields(values, CustomerFields("import", NOW))
    except ValidationError as exc:
        _problems_have_fields(exc)
    else:
        customer.validate()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.dictionaries(st.sampled_from(ORDER_FIELDS), plausible | json_values, max_size=10), min_size=1, max_size=3
    )
)
def test_flat_order_records(rows: list[dict[str, Any]]) -> None:
    try:
        imported = order_from_rows(rows, platform="import")
    except ValidationError as exc:
        _problems_have_fields(exc)
    else:
        imported.order.validate()


def _damaged(base: Any, draw: st.DrawFn, depth: int = 0) -> Any:
    if isinstance(base, dict):
        out = {}
        for key, value in base.items():
            choice = draw(st.integers(0, 9))
            if choice == 0:
                continue
            out[key] = draw(json_values) if choice == 1 else _damaged(value, draw, depth + 1)
        return out
    if isinstance(base, list):
        return [_damaged(v, draw, depth + 1) for v in base]
    return draw(json_values) if draw(st.integers(0, 6)) == 0 else base


@st.composite
def shopify_orders(draw: st.DrawFn) -> Any:
    return _damaged(SHOPIFY, draw)


@settings(max_examples=80, deadline=None)
@given(order=shopify_orders())
def test_shopify_orders(order: Any) -> None:
    try:
        imported = order_from_shopify(order, now=NOW)
    except ValidationError as exc:
        _problems_have_fields(exc)
    else:
        imported.order.validate()
        if imported.new_customer is not None:
            imported.new_customer.validate()
