"""The throwaway test server itself: loopback only, not root, disposable, never silently skipped in CI, and kept
out of the installed package.

psycopg is imported inside the tests (after the server fixture has run), so that a missing driver is reported
by the fixture (a failure under CI, a skip elsewhere) rather than as a collection error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pg_test_server import PostgresServer, ServerError, find_bindir


def test_server_listens_on_loopback_with_disposable_settings(pg_server: PostgresServer, pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (["listen_addresses", "fsync", "unix_socket_directories", "port", "server_encoding"],),
            ).fetchall()
        )
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["fsync"] == "off"
    assert settings["unix_socket_directories"] == str(pg_server.socket_dir)
    assert int(settings["port"]) == pg_server.port
    assert settings["server_encoding"] == "UTF8"
    assert (pg_server.socket_dir / f".s.PGSQL.{pg_server.port}").exists()


def test_server_runs_as_an_unprivileged_user(pg_server: PostgresServer) -> None:
    pid = int((pg_server.data_dir / "postmaster.pid").read_text().splitlines()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0
    assert pg_server.data_dir.stat().st_uid != 0


def test_stop_removes_everything_and_can_be_repeated(pg_server: PostgresServer) -> None:
    import psycopg

    server = PostgresServer.start()
    url, root = server.url(), server.root
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    server.stop()
    server.stop()
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_explicit_bindir_that_is_wrong_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CUSTDATA_PG_BINDIR", str(tmp_path))
    assert find_bindir() is None
    with pytest.raises(ServerError, match="initdb, pg_ctl, postgres"):
        PostgresServer.start()


_PROBE = """
def test_needs_postgres(pg_server):
    assert pg_server.port
"""


_PROBE_EXTRA = """
from required_extras import require

missing = require("custdata_no_such_library", "nowhere")


def test_needs_the_library():
    assert missing
"""


def _run_probe(tmp_path: Path, *, ci: bool, probe: str = _PROBE) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "probe"
    folder.mkdir()
    tests = Path(__file__).parents[1]
    (folder / "conftest.py").write_text((tests / "conftest.py").read_text())
    shutil.copytree(tests / "_support", folder / "_support", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "test_probe.py").write_text(textwrap.dedent(probe))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["CUSTDATA_PG_BINDIR"] = str(tmp_path / "nowhere")
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--import-mode=importlib", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_server_fails_in_ci(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "PostgreSQL tests cannot run in CI" in result.stdout
    assert "1 error" in result.stdout


def test_missing_server_skips_with_a_reason_outside_ci(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "initdb, pg_ctl, postgres" in result.stdout


def test_the_installed_package_has_no_server_launcher() -> None:
    """Starting servers (initdb, chown, switching user) is test tooling: nothing under src/ holds or imports it."""
    src = Path(__file__).parents[2] / "src" / "custdata"
    offenders = [
        str(path.relative_to(src))
        for path in sorted(src.rglob("*.py"))
        if any(word in path.read_text(encoding="utf-8") for word in ("pg_test_server", "_pgserver", "initdb"))
    ]
    assert offenders == []


def test_a_missing_optional_library_fails_in_ci(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, ci=True, probe=_PROBE_EXTRA)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "CI must have every extra" in result.stdout
    assert "custdata[nowhere]" in result.stdout
    assert "skipped" not in result.stdout


def test_a_missing_optional_library_skips_with_a_reason_outside_ci(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, ci=False, probe=_PROBE_EXTRA)
    # a module skipped as a whole leaves pytest nothing to run: exit status 5, not a failure
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "custdata[nowhere]" in result.stdout
