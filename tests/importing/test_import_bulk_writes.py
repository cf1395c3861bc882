"""An import into SQLite runs with the store's settings for a long run of writes (a larger page cache, fewer
checkpoints), and the connections return to SQLite's defaults when it ends, finished or failed; the batches it
committed stay committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from custdata.importing import ImportOptions, import_customers, import_orders, read_rows
from custdata.storage.sqlite import BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES, SQLiteStore

DEFAULTS = (-2000, 1000)
BULK = (-BULK_CACHE_KIB, BULK_CHECKPOINT_PAGES)


def settings(store: SQLiteStore) -> tuple[int, int]:
    session = store._open_session()
    try:
        cache, pages = session.fetch_one("PRAGMA cache_size"), session.fetch_one("PRAGMA wal_autocheckpoint")
    finally:
        session.close()
    assert cache is not None and pages is not None
    return int(cache[0]), int(pages[0])


def _csv(folder: Path, lines: list[str]) -> Path:
    path = folder / "input.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _customers(folder: Path, rows: int) -> Path:
    return _csv(
        folder, ["id,email,given_name,country_code", *(f"k{i},k{i}@example.com,Name{i},DE" for i in range(rows))]
    )


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_import_runs_with_the_bulk_settings_and_leaves_the_defaults(tmp_path: Path, jobs: int) -> None:
    seen: list[tuple[int, int]] = []
    with SQLiteStore(tmp_path / "shop.db") as store:
        report = import_customers(
            store,
            read_rows(_customers(tmp_path, 120), "csv"),
            jobs=jobs,
            progress=lambda line: seen.append(settings(store)),
            options=_options(batch_size=50),
        )
        assert report.imported == 120 and seen == [BULK, BULK]
        assert settings(store) == DEFAULTS


def test_a_failed_import_leaves_the_defaults_and_its_committed_batches(tmp_path: Path) -> None:
    def stop(line: int) -> None:
        raise KeyboardInterrupt

    with SQLiteStore(tmp_path / "shop.db") as store:
        with pytest.raises(KeyboardInterrupt):
            import_customers(
                store, read_rows(_customers(tmp_path, 120), "csv"), progress=stop, options=_options(batch_size=50)
            )
        assert settings(store) == DEFAULTS
        with store.unit_of_work() as uow:
            assert len(uow.customers.page(limit=500).items) == 50


def test_an_order_import_runs_with_the_bulk_settings(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    rows = ["order_id,customer_email,currency,total,placed_at,sku,quantity,unit_price"]
    rows += [f"o{i},b{i}@example.com,EUR,10.00,2026-01-0{1 + i % 9}T10:00:00Z,SKU{i},1,10.00" for i in range(30)]
    with SQLiteStore(tmp_path / "shop.db") as store:
        report = import_orders(
            store,
            read_rows(_csv(tmp_path, rows), "csv"),
            progress=lambda line: seen.append(settings(store)),
            options=_options(batch_size=10),
        )
        assert report.imported + report.rejected == 30 and seen == [BULK] * 3
        assert settings(store) == DEFAULTS


def _options(batch_size: int) -> ImportOptions:
    return ImportOptions(platform="shop", batch_size=batch_size)
