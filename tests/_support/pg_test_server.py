"""A throwaway PostgreSQL server for the tests and benchmarks: ``initdb`` into a temporary folder, serve on loopback.

This is development tooling, not part of the installed package: ``tests/conftest.py`` puts this folder on
``sys.path`` and ``benchmarks/bench_postgres.py`` does the same by path. The server listens only on 127.0.0.1 (and
a Unix socket inside its own folder), trusts local connections, runs with ``fsync=off`` because its data is
disposable, and is stopped and deleted by :meth:`PostgresServer.stop`. PostgreSQL refuses to run as root, so under
root the programs run as the ``postgres`` system user through ``runuser``. Only the standard library is used here;
connecting is up to the caller.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import quote


class ServerError(RuntimeError):
    """The server programs are missing, or the server would not initialise, start or stop."""


#: The programs a server needs; all three live in one ``bin`` folder of a PostgreSQL installation.
PROGRAMS = ("initdb", "pg_ctl", "postgres")

#: Settings for a disposable server: durability traded for speed, loopback only.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] '",
}


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None`` when PostgreSQL is not installed.

    ``$CUSTDATA_PG_BINDIR``, when set, is the only place looked at (a wrong setting is reported, not worked
    around); otherwise ``pg_config --bindir``, then Debian's ``/usr/lib/postgresql/*/bin`` (newest first), then
    ``$PATH``.
    """
    candidates: list[Path] = []
    if explicit := os.environ.get("CUSTDATA_PG_BINDIR"):
        return _usable(Path(explicit))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.replace(".", "").isdigit()),
            key=lambda p: tuple(int(x) for x in p.name.split(".")),
            reverse=True,
        )
        candidates.extend(p / "bin" for p in versions)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if _usable(folder):
            return folder
    return None


def _usable(folder: Path) -> Path | None:
    return folder if all(os.access(folder / name, os.X_OK) for name in PROGRAMS) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """A PostgreSQL server living in a temporary folder, listening on 127.0.0.1.

    Use it as a context manager, or call :meth:`start` and :meth:`stop` yourself::

        with PostgresServer.start() as server:
            url = server.url("postgres")
    """

    def __init__(self, bindir: Path, root: Path, port: int, run_as: str | None, superuser: str) -> None:
        self.bindir = bindir
        self.root = root
        self.port = port
        self.run_as = run_as
        self.superuser = superuser
        self._running = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def start(cls, *, bindir: Path | None = None, superuser: str = "postgres", attempts: int = 3) -> PostgresServer:
        """Create a cluster in a fresh temporary folder and start it on a free loopback port.

        Raises :class:`ServerError` (with the end of the server log) when PostgreSQL is missing or
        will not start.
        """
        folder = bindir or find_bindir()
        if folder is None:
            raise ServerError(
                "PostgreSQL server programs (initdb, pg_ctl, postgres) not found; install them "
                "(e.g. 'apt-get install postgresql' or .ci/install-postgres) or set CUSTDATA_PG_BINDIR"
            )
        run_as = _unprivileged_user()
        root = Path(tempfile.mkdtemp(prefix="custdata-pg-"))
        if run_as is not None:
            entry = pwd.getpwnam(run_as)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        server = cls(folder, root, 0, run_as, superuser)
        try:
            server._initdb()
            for attempt in range(attempts):
                server.port = free_port()
                server._configure()
                try:
                    server._pg_ctl("start", "-w", "-t", "60", "-l", str(server.log_file))
                except ServerError:
                    if attempt == attempts - 1:
                        raise
                    continue
                server._running = True
                break
        except BaseException:
            server.stop()
            raise
        atexit.register(server.stop)
        return server

    def url(self, dbname: str = "postgres", **params: str) -> str:
        """A ``postgresql://`` URL for ``dbname`` on this server, as the superuser, over TCP."""
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
        return f"postgresql://{quote(self.superuser)}@127.0.0.1:{self.port}/{quote(dbname)}" + (
            f"?{query}" if query else ""
        )

    def stop(self) -> None:
        """Stop the server (immediately: its data is disposable) and delete its folder. Safe to call twice."""
        if self._running:
            with contextlib.suppress(ServerError):
                self._pg_ctl("stop", "-m", "immediate", "-w", "-t", "30")
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.stop)

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` of the server log, for error messages."""
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"PostgresServer(port={self.port}, root={str(self.root)!r}, {state})"

    # -- internals ----------------------------------------------------------------------------------------

    def _initdb(self) -> None:
        self._run(
            self.bindir / "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )

    def _configure(self) -> None:
        settings = {
            **FAST_SETTINGS,
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": _quote_setting(str(self.socket_dir)),
        }
        extra = "".join(f"{key} = {value}\n" for key, value in settings.items())
        # the last assignment wins in postgresql.conf, so appending again on a retry is fine
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# custdata test server\n" + extra)

    def _pg_ctl(self, *args: str) -> None:
        self._run(self.bindir / "pg_ctl", "-D", str(self.data_dir), *args)

    def _run(self, program: Path, *args: str) -> None:
        command: Sequence[str] = [str(program), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        try:
            subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120, check=True)
        except subprocess.CalledProcessError as exc:
            output = (exc.stdout or "") + (exc.stderr or "")
            log = self.log_tail()
            raise ServerError(
                f"{program.name} {args[0] if args else ''} failed with exit status {exc.returncode}:\n"
                f"{output.strip()}" + (f"\nserver log:\n{log}" if log else "")
            ) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServerError(f"could not run {program.name}: {exc}") from None


def _unprivileged_user() -> str | None:
    """``None`` when we are not root; otherwise the system user to run PostgreSQL as (``postgres``)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerError(
            "running as root, and PostgreSQL refuses to; create the 'postgres' system user "
            "(.ci/install-postgres does) or run the tests as an ordinary user"
        ) from None
    if shutil.which("runuser") is None:
        raise ServerError("running as root but 'runuser' is missing; it is needed to start PostgreSQL")
    return "postgres"


def _quote_setting(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
