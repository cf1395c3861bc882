"""The outbox port: where its parts live, which stores offer it, and the error for a store that does not."""

from __future__ import annotations

import importlib
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

import custdata
from custdata import ActivityEvent, CustdataError, ProgrammingError, ValidationError
from custdata.notify import RecordingNotifier
from custdata.outbox import Dispatcher, OutboxMissingError
from custdata.storage import open_store
from custdata.storage.outbox import OutboxStore, has_outbox, outbox_unit_of_work
from custdata.workflows import Shop, Workflows

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class ShelfStore:
    """A store written for the storage ports alone: its units of work have no outbox and no timers."""

    url = "shelf://"

    def __init__(self) -> None:
        self._inner = open_store("memory://")
        self.opened = 0

    def unit_of_work(self) -> Any:
        self.opened += 1
        inner = self._inner.unit_of_work()
        return type("ShelfUnitOfWork", (), {"customers": inner.customers, "commit": inner.commit})()

    def purge_residue(self) -> None:
        pass

    def close(self) -> None:
        self._inner.close()


def _check(error: OutboxMissingError) -> None:
    assert isinstance(error, ProgrammingError)
    assert isinstance(error, ValidationError)  # what earlier versions raised, still caught by the same handlers
    assert isinstance(error, CustdataError)
    assert error.store_type == "ShelfStore"
    assert [p.path for p in error.problems] == ["store"]
    assert "ShelfStore has no outbox" in str(error)


def test_the_dispatcher_refuses_a_store_without_an_outbox() -> None:
    store = ShelfStore()
    with pytest.raises(OutboxMissingError) as caught:
        Dispatcher(store, RecordingNotifier()).run_once()  # type: ignore[arg-type]
    _check(caught.value)
    store.close()


def test_workflows_refuse_a_store_without_an_outbox() -> None:
    store = ShelfStore()
    flows = Workflows(shop=Shop(name="Example Shop", url="https://shop.example", secret=b"0123456789abcdef"))
    activity = ActivityEvent(id="act_1", event="Cart Abandoned", occurred_at=T0, customer_id="cus_1")
    with pytest.raises(OutboxMissingError) as caught:
        flows.track(store, activity)  # type: ignore[arg-type]
    _check(caught.value)
    store.close()


def test_the_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(OutboxMissingError("ShelfStore")))
    assert type(error) is OutboxMissingError
    _check(error)


@pytest.mark.parametrize("url", ["memory://", "sqlite://", "postgresql"])
def test_the_bundled_stores_are_outbox_stores(url: str, request: pytest.FixtureRequest) -> None:
    if url == "postgresql":
        url = request.getfixturevalue("pg_url")
    store: OutboxStore = open_store(url)  # type: ignore[assignment]
    try:
        with outbox_unit_of_work(store) as uow:
            assert has_outbox(uow)
            assert uow.outbox.count() == 0
    finally:
        store.close()


MOVED = {
    "custdata.outbox.model": "custdata.storage.outbox.model",
    "custdata.outbox.ports": "custdata.storage.outbox.ports",
    "custdata.outbox.memory": "custdata.storage.outbox.memory",
    "custdata.outbox.sql": "custdata.storage.outbox.sql",
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_the_old_module_paths_export_the_same_objects(old: str) -> None:
    before, after = importlib.import_module(old), importlib.import_module(MOVED[old])
    assert before.__all__
    for name in before.__all__:
        assert getattr(before, name) is getattr(after, name), name


def test_the_outbox_package_and_the_facade_export_the_storage_objects() -> None:
    storage_outbox = importlib.import_module("custdata.storage.outbox")
    outbox = importlib.import_module("custdata.outbox")
    for name in storage_outbox.__all__:
        if name in outbox.__all__:
            assert getattr(outbox, name) is getattr(storage_outbox, name), name
        if name in custdata.__all__:
            assert getattr(custdata, name) is getattr(storage_outbox, name), name
