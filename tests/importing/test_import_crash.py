"""An import killed midway leaves whole batches only, and running it again finishes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROWS = 12000
BATCH = 200


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigkill_leaves_whole_batches_and_a_rerun_completes(tmp_path: Path, jobs: str) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("id,email,given_name,country_code\n")
        for i in range(ROWS):
            handle.write(f"k{i},k{i}@example.com,Name{i},DE\n")
    store = tmp_path / "s.db"
    command = [
        sys.executable,
        "-m",
        "custdata",
        "import",
        "customers",
        str(path),
        "--store",
        str(store),
        "--jobs",
        jobs,
    ]
    env = {k: v for k, v in os.environ.items() if k != "CUSTDATA_STORE"}
    process = subprocess.Popen([*command, "--batch-size", str(BATCH)], cwd=tmp_path, env=env)
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline and process.poll() is None:
        if store.exists():
            try:
                with sqlite3.connect(store, timeout=5) as conn:
                    count = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
            if count >= BATCH:
                break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the import ended before it could be killed"
    assert _workers_end(tmp_path), "worker processes outlived the import"
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    assert stored % BATCH == 0 and BATCH <= stored < ROWS
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{ROWS - stored} imported, {stored} already in the store, 0 rejected" in again.stdout


def _workers_end(folder: Path) -> bool:
    """True once no worker process started in ``folder`` is left (within 15 s); Linux's /proc tells."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        left = []
        for entry in proc.iterdir():
            try:
                if entry.name.isdigit() and (entry / "cwd").resolve() == folder.resolve():
                    if b"spawn_main" in (entry / "cmdline").read_bytes():
                        left.append(entry.name)
            except OSError:
                continue
        if not left:
            return True
        time.sleep(0.2)
    return False
