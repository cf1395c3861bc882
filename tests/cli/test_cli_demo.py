"""``custdata demo`` end to end: the real command, real SQLite files, messages in a real folder."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import SCRIPT, run_cli

SMALL = ("--customers", "150", "--days", "4")


def _report(stdout: str) -> str:
    """The report, without the run's timing line and the hints after it."""
    return stdout.split("\nFinished in")[0]


def _figure(stdout: str, label: str) -> int:
    match = re.search(rf"^\s+{re.escape(label)}\s+(\d+)$", stdout, re.MULTILINE)
    assert match, f"no {label!r} in the report"
    return int(match.group(1))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", *SMALL, "--seed", "5", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, result.stdout


def test_demo_creates_the_default_store_and_writes_one_file_per_sent_message(first_run: tuple[Path, str]) -> None:
    folder, stdout = first_run
    store = folder / "custdata.db"
    assert store.exists()
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 150
    files = sorted((folder / "custdata-messages").iterdir())
    assert len(files) == _figure(stdout, "sent") > 0
    text = files[0].read_text(encoding="utf-8")
    assert text.startswith("To: ") and "Topic: " in text and "\n\n" in text


def test_report_has_every_section(first_run: tuple[Path, str]) -> None:
    _, stdout = first_run
    for heading in ("Store", "Messages", "Sent, by topic", "Not sent, by reason", "Segments", "RFM segments"):
        assert f"\n{heading}\n" in f"\n{stdout}"
    assert "Top return reasons" in stdout and "Duplicates" in stdout
    assert _figure(stdout, "customers") == 150
    assert _figure(stdout, "countries") == 5
    assert _figure(stdout, "orders") > 150
    assert _figure(stdout, "planted duplicate pairs") >= _figure(stdout, "planted pairs found") > 0
    assert "no marketing consent on" in stdout
    assert "custdata dedupe" in stdout.split("Finished in")[1]


def test_same_seed_same_report_and_a_second_run_reuses_the_store(first_run: tuple[Path, str], tmp_path: Path) -> None:
    _, stdout = first_run
    again = run_cli("demo", *SMALL, "--seed", "5", "--store", str(tmp_path / "other.db"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _report(again.stdout).split("\n", 1)[1] == _report(stdout).split("\n", 1)[1]
    other = run_cli("demo", *SMALL, "--seed", "6", "--store", str(tmp_path / "third.db"), cwd=tmp_path)
    assert _report(other.stdout).split("\n", 1)[1] != _report(stdout).split("\n", 1)[1]
    reused = run_cli("demo", *SMALL, "--seed", "5", "--store", str(tmp_path / "other.db"), cwd=tmp_path)
    assert reused.returncode == 0, reused.stderr
    assert "reused" in reused.stdout
    assert _figure(reused.stdout, "customers") == 150
    assert _figure(reused.stdout, "sent in this run") == 0


def test_store_from_the_environment_and_the_installed_script(tmp_path: Path) -> None:
    assert SCRIPT.exists(), "the custdata script is installed with the package"
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = run_cli("demo", "--customers", "40", "--days", "2", cwd=tmp_path, env={"CUSTDATA_STORE": url}, script=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists() and not (tmp_path / "custdata.db").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("demo", "--customers", "0"), 2, "must be at least 1"),
        (("demo", "--as-of", "yesterday"), 2, "is not an ISO date"),
        (("demo", "--store", "ftp://example/x"), 2, "unknown store URL scheme"),
        (("demo", "--store", "postgresql://nobody@127.0.0.1:9/none"), None, "cannot open the store"),
        (("nonsense",), 2, "invalid choice"),
    ],
)
def test_bad_command_lines_end_with_a_message_and_a_code(
    tmp_path: Path, args: tuple[str, ...], code: int | None, message: str
) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == code if code is not None else result.returncode in (4, 6)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_refuses_a_store_holding_other_data(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,email\nreal-1,real@example.com\n")
    assert run_cli("import", "customers", "c.csv", cwd=tmp_path).returncode == 0
    result = run_cli("demo", *SMALL, cwd=tmp_path)
    assert result.returncode == 2 and "holds other data" in result.stderr
    assert not (tmp_path / "custdata-messages").exists()
