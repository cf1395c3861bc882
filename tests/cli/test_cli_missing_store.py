"""A mistyped store path never becomes a new empty store: the commands that read a store refuse a SQLite file that
does not exist (exit code 3, the path named, no file made); ``import``, ``demo`` and ``--create`` make one."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli

from custdata import OperationalError, ProgrammingError
from custdata.storage import open_store
from custdata.storage.sqlite import SQLiteStore

READ_COMMANDS = [
    ("export", "customers"),
    ("export", "customer", "cus_x"),
    ("segments",),
    ("dedupe",),
    ("dispatch", "--folder", "outbox"),
    ("dead-letters",),
    ("erase", "cus_x", "--yes"),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("how", ["path", "url", "environment"])
def test_a_read_command_refuses_a_store_that_does_not_exist(tmp_path: Path, command: tuple[str, ...], how: str) -> None:
    typo = tmp_path / "shpo.db"
    store = {"path": ["--store", "shpo.db"], "url": ["--store", f"sqlite:///{typo}"], "environment": []}[how]
    env = {"CUSTDATA_STORE": str(typo)} if how == "environment" else None
    result = run_cli(*command, *store, cwd=tmp_path, env=env)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert str(typo) in result.stderr and "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_default_store_is_not_created_by_a_read_command(tmp_path: Path) -> None:
    result = run_cli("segments", cwd=tmp_path)
    assert result.returncode == 3 and "custdata.db" in result.stderr
    assert not (tmp_path / "custdata.db").exists()


def test_create_makes_the_store_and_import_makes_it_unasked(tmp_path: Path) -> None:
    created = run_cli("export", "customers", "--store", "new.db", "--create", cwd=tmp_path)
    assert created.returncode == 0 and created.stdout == "" and (tmp_path / "new.db").is_file()
    (tmp_path / "c.csv").write_text("id,email\nc1,c1@example.com\n")
    imported = run_cli("import", "customers", "c.csv", "--store", "other.db", "--quiet", cwd=tmp_path)
    assert imported.returncode == 0 and (tmp_path / "other.db").is_file()
    listed = run_cli("export", "customers", "--store", "other.db", cwd=tmp_path)
    assert listed.returncode == 0 and '"cus_import_c1"' in listed.stdout


def test_sqlite_store_without_create_never_makes_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(OperationalError, match=r"missing\.db"):
        SQLiteStore(missing, create=False)
    with pytest.raises(OperationalError, match="does not exist"):
        open_store(f"sqlite:///{missing}?mode=rw")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ProgrammingError, match="mode"):
        open_store(f"sqlite:///{missing}?mode=ro")
    with SQLiteStore(missing):
        pass
    with open_store(f"sqlite:///{missing}?mode=rw&timeout=1") as existing, existing.unit_of_work() as uow:
        assert uow.customers.count() == 0


def test_a_store_file_removed_after_the_check_is_not_made_again(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with SQLiteStore(path):
        pass
    store = SQLiteStore(path, create=False)
    try:
        for leftover in tmp_path.iterdir():
            leftover.unlink()
        # the pooled connection keeps the removed file open; a new connection must not make a new file
        with store.unit_of_work(), pytest.raises(OperationalError), store.unit_of_work() as second:
            second.customers.count()
    finally:
        store.close()
    assert not path.exists()


def test_import_summary_table_quiet_and_dropped_fields(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(
        "id,email,phone,postal_code,city,street_address_1,country_code,country_area\n"
        "c1,c1@example.com,not a phone,'2108,Boston,1 Main St,US,MA\n"
        "c2,nope,,,,,,\n"
    )
    table = run_cli("import", "customers", "c.csv", "--store", "s.db", "--on-bad-field", "drop-field", cwd=tmp_path)
    assert table.returncode == 1, table.stderr
    assert "fields dropped" in table.stdout and "repaired: leading apostrophes removed" in table.stdout
    assert "repaired: postal codes' leading zeros" in table.stdout
    assert "2 read, 1 imported, 0 already in the store, 1 rejected, 1 fields dropped, 2 values repaired" in table.stdout
    rejects = (tmp_path / "c.csv.rejects.csv").read_text().splitlines()
    assert rejects[0] == "line,field,reason,outcome"
    assert {(line.split(",", 1)[0], line.rsplit(",", 1)[1]) for line in rejects[1:]} == {
        ("2", "dropped"),
        ("2", "repaired"),
        ("3", "rejected"),
    }
    quiet = run_cli("import", "customers", "c.csv", "--store", "s.db", "--quiet", cwd=tmp_path)
    assert quiet.returncode == 1 and quiet.stdout.splitlines()[0].startswith("customers: 2 read, 0 imported")
    assert "fields dropped" not in quiet.stdout and quiet.stderr == ""
