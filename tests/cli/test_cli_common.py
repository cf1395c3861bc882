"""The command line's shared pieces: exit codes for every error, the store option, the progress bar."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import (
    ConflictError,
    IntegrityError,
    MissingExtraError,
    NotFoundError,
    OperationalError,
    ProgrammingError,
    ValidationError,
)
from custdata.cli._common import (
    DEFAULT_STORE,
    CliError,
    ExitCode,
    ProgressBar,
    _safe_url,
    exit_code_for,
    store_url,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CliError("x", ExitCode.USAGE), ExitCode.USAGE),
        (ValidationError.single("email", "is not valid"), ExitCode.INPUT),
        (NotFoundError("customer", "x"), ExitCode.NOT_FOUND),
        (ConflictError("customer", "c1", 1, 2), ExitCode.STORE),
        (IntegrityError("duplicate"), ExitCode.STORE),
        (OperationalError("locked"), ExitCode.STORE),
        (MissingExtraError("psycopg", "postgres", "the PostgreSQL store"), ExitCode.MISSING_EXTRA),
        (ProgrammingError("the store is closed"), ExitCode.STORE),
        (ModuleNotFoundError("templates need Jinja2: pip install 'custdata[workflows]'"), ExitCode.MISSING_EXTRA),
        (FileNotFoundError(2, "No such file or directory", "x.csv"), ExitCode.INPUT),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (ZeroDivisionError("bug"), ExitCode.INTERNAL),
    ],
)
def test_every_error_has_a_code_and_a_message(error: BaseException, code: ExitCode) -> None:
    got, message = exit_code_for(error)
    assert (got == code and message and "\n" not in message.strip()) or isinstance(error, ValidationError)


def test_internal_errors_do_not_leak_their_text() -> None:
    _, message = exit_code_for(RuntimeError("ada@example.com broke it"))
    assert "ada@example.com" not in message and "CUSTDATA_DEBUG" in message


def test_store_url_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CUSTDATA_STORE", raising=False)
    assert store_url(argparse.Namespace()) == DEFAULT_STORE
    monkeypatch.setenv("CUSTDATA_STORE", "memory://")
    assert store_url(argparse.Namespace()) == "memory://"
    assert store_url(argparse.Namespace(store="postgresql://u@h/db")) == "postgresql://u@h/db"
    assert store_url(argparse.Namespace(store=str(tmp_path / "a.db"))) == f"sqlite:///{tmp_path / 'a.db'}"


def test_passwords_never_shown() -> None:
    assert _safe_url("postgresql://shop:s3cret@db:5432/x") == "postgresql://shop:***@db:5432/x"
    assert _safe_url("postgresql://shop@db/x") == "postgresql://shop@db/x"
    assert _safe_url("sqlite:///a.db") == "sqlite:///a.db"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    bar = ProgressBar(quiet)
    bar.update("customers", 5, 10)
    bar.close()
    assert quiet.getvalue() == ""
    terminal = _Terminal()
    bar = ProgressBar(terminal)
    bar.update("customers", 10, 10)
    bar.close()
    assert terminal.getvalue().startswith("\rcustomers") and "100% 10/10" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")


@given(done=st.integers(0, 10_000), total=st.one_of(st.none(), st.integers(1, 10_000)))
def test_progress_bar_draws_one_line_of_fixed_width(done: int, total: int | None) -> None:
    out = _Terminal()
    bar = ProgressBar(out, width=20)
    bar.update("orders", min(done, total) if total else done, total)
    text = out.getvalue()
    assert text.startswith("\r") and "\n" not in text
    if total:
        assert text.count("#") + text.count(".") >= 20
