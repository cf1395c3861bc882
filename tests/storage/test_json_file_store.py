"""The JSON-file store written in docs/custom-repository.md passes the full store contract.

The store's code is taken from the page itself, so the guide cannot drift away from a working store.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from doc_pages import DOCS, run_page

from custdata.testing import StoreContract

PAGE = DOCS / "custom-repository.md"


PAGE_CODE = run_page(PAGE)
JsonFileStore = PAGE_CODE["JsonFileStore"]


class TestJsonFileStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _scratch(self, tmp_path: Path) -> None:
        self.folder = tmp_path
        self.numbers = itertools.count()

    def make_store(self) -> Any:
        return JsonFileStore(self.folder / f"store-{next(self.numbers)}.json")


def test_the_page_subclasses_the_contract_as_this_test_does() -> None:
    page_contract = PAGE_CODE["TestJsonFileStore"]
    assert issubclass(page_contract, StoreContract)
    assert "make_store" in vars(page_contract)


def test_a_commit_replaces_the_file_whole(tmp_path: Path) -> None:
    from custdata.testing.store_contract import make_customer

    store = JsonFileStore(tmp_path / "data.json")
    with store.unit_of_work() as uow:
        uow.customers.add(make_customer())
        uow.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]
