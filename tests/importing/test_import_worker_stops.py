"""A worker process that dies during an import with ``jobs`` (killed, by the out-of-memory killer say): the import
ends with a clear error naming what is stored (whole batches), the command with the store's exit code, and
running the same import again finishes it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custdata import StoreError
from custdata.cli._common import ExitCode
from custdata.importing import ImportOptions, RejectsList, WorkerStoppedError, import_customers, read_rows
from custdata.storage import open_store

ROWS = 3000
BATCH = 100
#: the command's batches: large enough that a worker sends one back in several writes to the pipe
COMMAND_BATCH = 500


def _export(path: Path, rows: int = ROWS) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("id,email,given_name,country_code,phone\n")
        for i in range(rows):
            handle.write(f"w{i},w{i}@example.com,Name{i},DE,+49 30 {i:07d}\n")
        handle.write("w5,again@example.com,Repeat,DE,\n")  # a refusal, so re-runs are seen to report the same
    return path


def _kill_a_worker() -> None:
    workers = [child for child in multiprocessing.active_children() if child.pid is not None]
    assert workers, "the import started no worker process"
    os.kill(workers[0].pid, signal.SIGKILL)  # type: ignore[arg-type]


def _stored(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [row[0] for row in connection.execute("SELECT id FROM customers ORDER BY id")]


def test_a_worker_killed_midway_stops_the_import_with_what_is_stored_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    export = _export(tmp_path / "customers.csv")
    db = tmp_path / "shop.db"
    options = ImportOptions(platform="shop", batch_size=BATCH)
    killed: list[int] = []

    def progress(line: int) -> None:
        if line >= 5 * BATCH and not killed:
            killed.append(line)
            _kill_a_worker()

    with open_store(f"sqlite:///{db}") as store, pytest.raises(WorkerStoppedError) as stopped:
        import_customers(store, read_rows(export, "csv"), options=options, progress=progress, jobs=2)
    error = stopped.value
    assert isinstance(error, StoreError)
    stored = _stored(db)
    # whole batches only, and exactly the ones the error names
    assert len(stored) % BATCH == 0 and killed[0] - 1 <= len(stored) < ROWS
    assert error.stored_through == len(stored) + 1  # the header is line 1
    assert error.report.imported == len(stored)
    assert f"up to line {error.stored_through}" in str(error) and "run the same import again" in str(error)
    rejects = RejectsList()
    with open_store(f"sqlite:///{db}") as store:
        again = import_customers(store, read_rows(export, "csv"), options=options, rejects=rejects, jobs=2)
    assert (again.imported, again.skipped, again.rejected) == (ROWS - len(stored), len(stored), 1)
    assert len(_stored(db)) == ROWS


def test_the_command_ends_with_the_store_exit_code_and_a_rerun_completes(tmp_path: Path) -> None:
    """Even when a worker is killed while it sends a batch back."""
    rows = 20_000
    export = _export(tmp_path / "customers.csv", rows)
    store = tmp_path / "shop.db"
    command = [sys.executable, "-m", "custdata", "import", "customers", str(export), "--store", str(store)]
    command += ["--jobs", "2", "--batch-size", str(COMMAND_BATCH)]
    env = {k: v for k, v in os.environ.items() if k != "CUSTDATA_STORE"}
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if store.exists() and _count(store) >= COMMAND_BATCH:
            break
        time.sleep(0.05)
    workers = _workers_of(process.pid)
    assert workers and process.poll() is None, "the import ended before a worker could be killed"
    # with the importing process held, the workers finish their batches and block sending them back through the
    # full pipe: killed then, one leaves half a message in the pipe, which the pool alone would wait for forever
    os.kill(process.pid, signal.SIGSTOP)
    time.sleep(1.5)
    for worker in workers:
        os.kill(worker, signal.SIGKILL)
    os.kill(process.pid, signal.SIGCONT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == ExitCode.STORE, err
    assert "a worker process stopped" in err and "run the same import again" in err
    stored = _count(store)
    assert stored % COMMAND_BATCH == 0 and COMMAND_BATCH <= stored < rows
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == ExitCode.REJECTED_ROWS, again.stderr  # the repeated id of the last line
    assert f"{rows - stored} imported, {stored} already in the store, 1 rejected" in again.stdout


def _count(store: Path) -> int:
    try:
        with sqlite3.connect(store, timeout=5) as connection:
            return int(connection.execute("SELECT count(*) FROM customers").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _workers_of(parent: int) -> list[int]:
    """The worker processes of ``parent`` (Linux's /proc tells); not its other children."""
    proc = Path("/proc")
    if not proc.is_dir():
        pytest.skip("needs /proc to find the worker processes")
    found = []
    for entry in proc.iterdir():
        try:
            if not entry.name.isdigit():
                continue
            stat = (entry / "stat").read_text()
            if int(stat.rpartition(")")[2].split()[1]) == parent and b"spawn_main" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found
