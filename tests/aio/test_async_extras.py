"""Without greenlet (the ``async`` extra) the async PostgreSQL store says which extra to install; the memory and
SQLite async stores need no extra at all."""

from __future__ import annotations

import subprocess
import sys

import pytest

from custdata._errors import ProgrammingError
from custdata.aio._bridge import await_only

WITHOUT_GREENLET = """
import asyncio, sys
sys.modules["greenlet"] = None  # as if it were not installed
import custdata
from custdata.aio import open_async_store

async def main():
    store = await open_async_store("memory://")
    async with store.unit_of_work() as uow:
        print(await uow.customers.count())
    await store.close()
    try:
        await open_async_store("postgresql://u@127.0.0.1:1/db")
    except custdata.MissingExtraError as exc:
        print(exc.module, exc.extra, "|", exc)

asyncio.run(main())
"""


def test_without_greenlet_only_the_async_postgres_store_needs_the_extra() -> None:
    done = subprocess.run([sys.executable, "-c", WITHOUT_GREENLET], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    count, missing = done.stdout.strip().splitlines()
    assert count == "0"
    assert missing.startswith("greenlet async | the async PostgreSQL store needs")
    assert missing.endswith("pip install 'custdata[async]'")


def test_waiting_outside_an_async_unit_of_work_is_a_programming_error() -> None:
    async def never() -> None:
        raise AssertionError("not awaited")

    with pytest.raises(ProgrammingError, match="outside its unit of work"):
        await_only(never())
