"""The outbox that docs/custom-repository.md adds to its JSON-file store passes the outbox contract, survives a
restart, and is saved together with the records or not at all.

The code is taken from the page itself, so the guide cannot drift away from a working outbox.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from doc_pages import DOCS, run_page

from custdata import OperationalError
from custdata.storage.outbox import OutboxStore, has_outbox
from custdata.testing import OutboxContract
from custdata.testing.outbox_contract import entry
from custdata.testing.store_contract import make_customer

PAGE = DOCS / "custom-repository.md"


PAGE_CODE = run_page(PAGE)
JsonOutboxFileStore = PAGE_CODE["JsonOutboxFileStore"]


class TestJsonOutbox(OutboxContract):
    @pytest.fixture(autouse=True)
    def _scratch(self, tmp_path: Path) -> None:
        self.folder = tmp_path
        self.numbers = itertools.count()

    def make_store(self) -> Any:
        return JsonOutboxFileStore(self.folder / f"outbox-{next(self.numbers)}.json")


def test_the_page_subclasses_the_outbox_contract_as_this_test_does() -> None:
    page_contract = PAGE_CODE["TestJsonOutbox"]
    assert issubclass(page_contract, OutboxContract)
    assert "make_store" in vars(page_contract)


def test_the_store_offers_the_outbox_port(tmp_path: Path) -> None:
    store: OutboxStore = JsonOutboxFileStore(tmp_path / "data.json")
    with store.unit_of_work() as uow:
        assert has_outbox(uow)


def test_entries_and_timers_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    queued, timer = entry("k-1"), OutboxContract().timer("t-1")
    with JsonOutboxFileStore(path) as store, store.unit_of_work() as uow:
        assert uow.outbox.add(queued) and uow.timers.schedule(timer)
        uow.commit()
    with JsonOutboxFileStore(path) as store, store.unit_of_work() as uow:
        assert uow.outbox.get(queued.id) == queued
        assert uow.outbox.find("k-1") == queued
        assert uow.timers.get("t-1") == timer
        assert not uow.outbox.add(entry("k-1")), "the key is still taken after a restart"


def test_a_failed_save_keeps_neither_the_records_nor_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    store = JsonOutboxFileStore(path)
    customer = make_customer()

    def fail(data: object) -> None:
        raise OperationalError("the disk is full")

    store.write = fail
    with pytest.raises(OperationalError), store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.outbox.add(entry("k-1", customer_id=customer.id))
        uow.commit()
    del store.write
    with store.unit_of_work() as uow:
        assert uow.outbox.count() == 0 and uow.outbox.find("k-1") is None, "the outbox kept an unsaved entry"
        assert uow.customers.count() == 0
        assert uow.outbox.add(entry("k-1", customer_id=customer.id)), "the key of an unsaved entry stays free"
        uow.customers.add(customer)
        uow.commit()
    with JsonOutboxFileStore(path) as reopened, reopened.unit_of_work() as uow:
        assert uow.outbox.count() == 1 and uow.customers.count() == 1
