"""The stores' documents are exactly what ``custdata.to_json`` writes, and read back equal on the fast path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import ActivityEvent, Customer, to_json
from custdata.storage.records import document, load_documents
from custdata.testing import strategies as cst

ENTITIES = st.one_of(cst.customers(), cst.orders(), cst.communication_events(), cst.activity_events())


@given(entity=ENTITIES, version=st.none() | st.integers(0, 2**40))
@settings(max_examples=60, deadline=None)
def test_documents_match_to_json_and_load_back_equal(entity: Any, version: int | None) -> None:
    if isinstance(entity, ActivityEvent):
        version = None  # activity events carry no version
    stored = document(entity, version)
    expected = json.loads(to_json(entity))
    if version is not None:
        expected["version"] = version
    assert stored == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    (loaded,) = load_documents(type(entity), [stored])
    if version is not None:
        entity.version = version
    assert loaded == entity
    assert type(loaded) is type(entity)


def test_loaded_entities_share_nothing_with_each_other() -> None:
    customer = Customer(id="cus_1", created_at=_t0(), metadata={"a": [1]})
    first, second = load_documents(Customer, [document(customer)] * 2)
    first.metadata["a"].append(2)
    assert second.metadata == {"a": [1]}


def _t0() -> Any:
    from datetime import UTC, datetime

    return datetime(2024, 1, 1, tzinfo=UTC)


def test_only_models_make_documents() -> None:
    with pytest.raises(TypeError):
        document({"id": "x"})
