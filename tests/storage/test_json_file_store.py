"""The JSON-file store written in docs/custom-repository.md passes the full store contract.

The store's code is taken from the page itself, so the guide cannot drift away from a working store.
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from custdata.testing import StoreContract

PAGE = Path(__file__).resolve().parents[2] / "docs" / "custom-repository.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def load_page() -> dict[str, Any]:
    """Run the page's Python blocks in order, in a scratch folder, and return what they defined."""
    namespace: dict[str, Any] = {"__name__": "custom_repository_page"}
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            for number, block in enumerate(BLOCK.findall(PAGE.read_text(encoding="utf-8")), start=1):
                exec(compile(block, f"{PAGE.name} block {number}", "exec"), namespace)
        finally:
            os.chdir(here)
    return namespace


PAGE_CODE = load_page()
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
