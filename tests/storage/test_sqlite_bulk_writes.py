"""SQLite's settings for a long run of writes: bounded while it lasts, the defaults again afterwards, and every
commit as durable as without them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from custdata.storage.sqlite import BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES, SQLiteStore
from custdata.testing.store_contract import make_customer

DEFAULTS = (-2000, 1000)
BULK = (-BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES)


def settings(store: SQLiteStore) -> tuple[int, int]:
    """The page cache and the checkpoint threshold of a connection the store hands out."""
    session = store._open_session()
    try:
        cache, pages = session.fetch_one("PRAGMA cache_size"), session.fetch_one("PRAGMA wal_autocheckpoint")
    finally:
        session.close()
    assert cache is not None and pages is not None
    return int(cache[0]), int(pages[0])


def idle_settings(store: SQLiteStore) -> set[tuple[int, int]]:
    """The settings of every idle connection of the store's pool."""
    found = set()
    for conn in store._idle:
        found.add(
            (conn.execute("PRAGMA cache_size").fetchone()[0], conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        )
    return found


def test_bulk_settings_hold_inside_and_the_defaults_return_after(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "shop.db") as store:
        assert settings(store) == DEFAULTS
        with store.bulk_writes():
            assert settings(store) == BULK
            with store.unit_of_work() as uow:
                uow.customers.add(make_customer())
                uow.commit()
            with store.bulk_writes():  # nested: the defaults return when the outer one ends
                assert settings(store) == BULK
            assert settings(store) == BULK
            assert idle_settings(store) == {BULK}
        assert idle_settings(store) == {DEFAULTS}
        assert settings(store) == DEFAULTS
        with pytest.raises(RuntimeError), store.bulk_writes():
            assert settings(store) == BULK
            raise RuntimeError("the import failed")
        assert idle_settings(store) == {DEFAULTS}
        assert settings(store) == DEFAULTS


def test_a_connection_in_use_when_the_section_ends_returns_to_the_defaults_when_released(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "shop.db") as store:
        with store.bulk_writes():
            held = store._open_session()
        assert held.fetch_one("PRAGMA cache_size") == (-BULK_CACHE_KIB,)
        held.close()
        assert idle_settings(store) == {DEFAULTS}
        assert settings(store) == DEFAULTS


def test_sections_in_several_threads(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "shop.db") as store:
        inside, leave = threading.Barrier(3), threading.Event()
        seen: list[tuple[int, int]] = []

        def section() -> None:
            with store.bulk_writes():
                inside.wait()
                leave.wait()
                seen.append(settings(store))

        threads = [threading.Thread(target=section) for _ in range(2)]
        for thread in threads:
            thread.start()
        inside.wait()
        assert settings(store) == BULK
        leave.set()
        for thread in threads:
            thread.join()
        assert seen == [BULK, BULK]
        assert settings(store) == DEFAULTS and idle_settings(store) == {DEFAULTS}


def test_every_connection_cuts_the_log_back(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "shop.db") as store:
        for bulk in (False, True):
            with store.bulk_writes() if bulk else store.unit_of_work():
                session = store._open_session()
                try:
                    assert session.fetch_one("PRAGMA journal_size_limit") == (64 << 20,)
                    assert session.fetch_one("PRAGMA synchronous") == (1,)
                finally:
                    session.close()


def test_the_log_is_copied_into_the_file_when_the_section_ends(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"

    def in_file() -> tuple[int, int]:
        """The bytes of the database file, and the bytes of the database as read (the log included)."""
        session = store._open_session()
        try:
            pages, size = session.fetch_one("PRAGMA page_count"), session.fetch_one("PRAGMA page_size")
        finally:
            session.close()
        assert pages is not None and size is not None
        return path.stat().st_size, int(pages[0]) * int(size[0])

    with SQLiteStore(path) as store:
        with store.bulk_writes():
            for _ in range(20):
                with store.unit_of_work() as uow:
                    uow.customers.add_many([make_customer() for _ in range(100)])
                    uow.commit()
            on_disk, database = in_file()
            assert on_disk < database  # more than SQLite's default threshold is in the log, not copied yet
        on_disk, database = in_file()
        assert on_disk == database


def test_commits_inside_survive_a_killed_process(tmp_path: Path) -> None:
    """A process killed in the middle of a section (no checkpoint, no close) loses no committed unit of work."""
    path = tmp_path / "shop.db"
    script = textwrap.dedent(
        f"""
        import os
        from custdata.storage.sqlite import SQLiteStore
        from custdata.testing.store_contract import make_customer
        store = SQLiteStore({str(path)!r})
        with store.bulk_writes():
            for _ in range(30):
                with store.unit_of_work() as uow:
                    uow.customers.add_many([make_customer() for _ in range(50)])
                    uow.commit()
            with store.unit_of_work() as uow:
                uow.customers.add_many([make_customer() for _ in range(50)])
                os._exit(9)  # killed before this one commits
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), timeout=120)
    assert done.returncode == 9
    assert path.with_name("shop.db-wal").stat().st_size > 0  # the commits are in the log, not yet in the file
    with SQLiteStore(path) as store:
        assert store.integrity_check() == ["ok"]
        with store.unit_of_work() as uow:
            assert len(uow.customers.page(limit=5000).items) == 1500
