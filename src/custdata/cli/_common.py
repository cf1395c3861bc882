"""What every command shares: exit codes, the store option, errors as messages, and a progress bar."""

from __future__ import annotations

import argparse
import enum
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from custdata._errors import (
    CustdataError,
    MissingExtraError,
    NotFoundError,
    ProgrammingError,
    StoreError,
    ValidationError,
)
from custdata.storage import Store, open_store

#: The environment variable naming the store when ``--store`` is not given.
STORE_VARIABLE = "CUSTDATA_STORE"
#: The store used when neither ``--store`` nor the environment names one: a SQLite file in the current folder.
DEFAULT_STORE = "sqlite:///custdata.db"
#: The environment variable holding the suppression key (see :mod:`custdata.storage.suppression`): ``erase`` puts
#: the erased addresses on the store's suppression list under it, ``import`` skips the records whose address is there.
SUPPRESSION_VARIABLE = "CUSTDATA_SUPPRESSION_KEY"


class ExitCode(enum.IntEnum):
    """How a command ended; documented in the command line guide."""

    OK = 0
    REJECTED_ROWS = 1  # finished, but some input rows were rejected (see the rejects file)
    USAGE = 2  # the command line was wrong
    INPUT = 3  # an input file is missing, unreadable or malformed, or a value is invalid
    STORE = 4  # the store could not be opened or refused the work
    NOT_FOUND = 5  # no such customer (or other record)
    MISSING_EXTRA = 6  # an optional dependency is not installed
    INTERRUPTED = 130  # stopped with Ctrl-C
    INTERNAL = 70  # a bug in custdata: please report it


class CliError(CustdataError):
    """A failure to report to the user as one line, with the exit code to end with."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def add_store_option(parser: argparse.ArgumentParser, *, creates: bool = False) -> None:
    """``--store``; for a command that only works with an existing store (``creates`` False), also ``--create``:
    without it, a SQLite file that does not exist is an error instead of a new empty store."""
    parser.add_argument(
        "--store",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=(
            f"the store: sqlite:///file.db, postgresql://user@host/db, memory://, or a plain file path for SQLite "
            f"(default: ${STORE_VARIABLE}, else {DEFAULT_STORE})"
        ),
    )
    if not creates:
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the SQLite store if its file does not exist (otherwise a missing file is an error)",
        )


def store_url(args: argparse.Namespace) -> str:
    """The URL named by ``--store``, else by ``$CUSTDATA_STORE``, else the default SQLite file."""
    given = getattr(args, "store", None) or os.environ.get(STORE_VARIABLE) or DEFAULT_STORE
    if "://" not in given:  # a plain path: a SQLite file
        return f"sqlite:///{Path(given).expanduser().resolve()}"
    return given


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite://`` URL names (None for another scheme, or SQLite's private temporary database)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite" or parts.netloc:
        return None
    path = unquote(parts.path)[1:] if parts.path.startswith("/") else unquote(parts.path)
    return None if path in {"", ":memory:"} else Path(path)


def open_cli_store(args: argparse.Namespace, *, create: bool | None = None) -> Store:
    """Open the store the command line names, as a :class:`CliError` with a clear message if that fails.

    A SQLite file is created only when ``create`` is true (``import`` and ``demo``), or when the command line
    says ``--create``: a mistyped path never becomes a new empty store that a command then reads as empty.
    """
    try:
        url = store_url(args)
        file = sqlite_file(url)
    except ValueError as exc:  # a NUL character in a path, brackets that are no IPv6 address
        why = "it contains a NUL character" if "null byte" in str(exc) else str(exc)
        raise CliError(f"the store is neither a store URL nor a path: {why}", ExitCode.USAGE) from None
    if create is None:
        create = bool(getattr(args, "create", False))
    if file is not None and not create:
        if not file.exists():
            raise CliError(
                f"no store at {file}: the file does not exist (check the path; 'custdata import' or "
                "'custdata demo' create a store, or pass --create)",
                ExitCode.INPUT,
            )
        url += ("&" if urlsplit(url).query else "?") + "mode=rw"
    try:
        return open_store(url)
    except ProgrammingError as exc:
        code = ExitCode.MISSING_EXTRA if "pip install" in str(exc) else ExitCode.USAGE
        raise CliError(f"cannot open the store: {exc}", code) from exc
    except StoreError as exc:
        raise CliError(f"cannot open the store {_safe_url(url)}: {exc}", ExitCode.STORE) from exc


def _safe_url(url: str) -> str:
    """The URL without a password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}" if ":" in credentials else url
    return url


def exit_code_for(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and one-line message for an error that reached the top of a command."""
    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(exc, ValidationError):
        return ExitCode.INPUT, f"invalid input: {exc}"
    if isinstance(exc, NotFoundError):
        return ExitCode.NOT_FOUND, str(exc)
    if isinstance(exc, MissingExtraError):
        return ExitCode.MISSING_EXTRA, str(exc)
    if isinstance(exc, StoreError):
        return ExitCode.STORE, f"the store refused the work: {exc}"
    if isinstance(exc, ImportError) and "pip install" in str(exc):
        return ExitCode.MISSING_EXTRA, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, "interrupted"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return ExitCode.INPUT, f"{exc.strerror or type(exc).__name__}{where}"
    if isinstance(exc, ValueError) and "null byte" in str(exc):  # what the OS calls refuse in any path given
        return ExitCode.INPUT, "a path given contains a NUL character, which no file name can hold"
    return ExitCode.INTERNAL, (
        f"internal error ({type(exc).__name__}); run again with CUSTDATA_DEBUG=1 for details, and please report it"
    )


class ProgressBar:
    """A one-line progress bar on ``stream`` (standard error), drawn only when it is a terminal."""

    def __init__(
        self, stream: IO[str] | None = None, *, enabled: bool | None = None, width: int = 30, unit: str = ""
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width = width
        self.unit = unit
        self._last = 0.0
        self._drawn = False
        self._started: float | None = None

    def update(self, label: str, done: int, total: int | None = None) -> None:
        """Show ``done`` of ``total`` (a count alone when the total is unknown), with the rate per second and,
        with a total, the time left; redrawn at most 10 times a second."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self._started is None:
            self._started = now
        if now - self._last < 0.1 and (total is None or done < total):
            return
        self._last = now
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        shown = f"{rate:,.1f}" if rate < 10 else f"{rate:,.0f}"
        speed = "" if not rate else f" {shown} {self.unit}/s" if self.unit else f" {shown}/s"
        if total:
            filled = min(self.width, self.width * done // total)
            bar = "#" * filled + "." * (self.width - filled)
            left = f" ETA {_clock(max(0, total - done) / rate)}" if rate and done < total else ""
            text = f"\r{label:<10} [{bar}] {100 * done // total:3d}% {done}/{total}{speed}{left}"
        else:
            text = f"\r{label:<10} {done}{speed}"
        self.stream.write(text + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the line the bar was drawn on."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _clock(seconds: float) -> str:
    """``seconds`` as m:ss, or h:mm:ss from an hour."""
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@contextmanager
def progress_bar(enabled: bool | None = None, *, unit: str = "") -> Iterator[ProgressBar]:
    bar = ProgressBar(enabled=enabled, unit=unit)
    try:
        yield bar
    finally:
        bar.close()


def suppression_key() -> bytes | None:
    """The suppression key from the environment (its UTF-8 bytes), None when it is not set."""
    from custdata.storage.suppression import MIN_KEY_BYTES

    value = os.environ.get(SUPPRESSION_VARIABLE, "")
    if not value:
        return None
    key = value.encode("utf-8", "surrogateescape")
    if len(key) < MIN_KEY_BYTES:
        raise CliError(f"{SUPPRESSION_VARIABLE} must be at least {MIN_KEY_BYTES} bytes long", ExitCode.USAGE)
    return key
