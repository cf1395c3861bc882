"""``custdata dispatch``: send what the outbox holds, once or continuously, to a folder or an SMTP server."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custdata.cli._common import CliError, ExitCode, add_store_option, open_cli_store

PASSWORD_VARIABLE = "CUSTDATA_SMTP_PASSWORD"

_DESCRIPTION = f"""\
Drain the outbox: lease the messages that are due, send them, record each result (transient failures are
retried later with backoff, then dead-lettered). Without --follow it stops when nothing is due; with --follow
it keeps running, polling every --idle seconds, until Ctrl-C or SIGTERM (the message in hand is finished
first). Messages go to a folder (--folder, one file each) or to an SMTP server (--smtp); there is no
default, so that a store's real messages never end up in a folder by mistake. The SMTP password is read from
${PASSWORD_VARIABLE}, never from the command line.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dispatch", help="send the outbox's messages (once, or keep running)", description=_DESCRIPTION
    )
    add_store_option(parser)
    parser.add_argument("--follow", action="store_true", help="keep running until interrupted")
    parser.add_argument("--idle", type=float, default=2.0, metavar="SECONDS", help="poll interval with --follow (2)")
    parser.add_argument("--batch-size", type=int, default=100, metavar="N", help="messages leased at a time (100)")
    parser.add_argument("--folder", type=Path, metavar="DIR", help="write each message to a file in this folder")
    parser.add_argument("--smtp", metavar="HOST[:PORT]", help="send email through this SMTP server instead")
    parser.add_argument("--sender", metavar="ADDRESS", help="the From address (required with --smtp)")
    parser.add_argument(
        "--security", choices=("starttls", "ssl", "none"), default="starttls", help="SMTP security (starttls)"
    )
    parser.add_argument("--username", help="SMTP user name (password from the environment)")
    parser.set_defaults(handler=run)


def _notifier(args: argparse.Namespace) -> Callable[[], Any]:
    """How to make the notifier the command line asks for; usage errors are raised now, the notifier (which may
    create its folder) is made later, once the store is open."""
    if (args.smtp is None) == (args.folder is None):
        raise CliError("say where the messages go: --folder DIR or --smtp HOST[:PORT] (one of them)", ExitCode.USAGE)
    if args.folder is not None:
        from custdata.notify import FolderNotifier

        return lambda: FolderNotifier(args.folder)
    from custdata.notify import SMTPNotifier

    if not args.sender:
        raise CliError("--smtp needs --sender (the From address)", ExitCode.USAGE)
    host, _, port = args.smtp.rpartition(":") if ":" in args.smtp else (args.smtp, "", "")
    if port and not port.isdigit():
        raise CliError(f"--smtp {args.smtp!r}: the port must be a number", ExitCode.USAGE)
    return lambda: SMTPNotifier(
        host,
        int(port) if port else None,
        sender=args.sender,
        security=args.security,
        username=args.username,
        password=os.environ.get(PASSWORD_VARIABLE) if args.username else None,
    )


def run(args: argparse.Namespace) -> int:
    from custdata.outbox.dispatcher import Dispatcher

    if args.idle <= 0 or args.batch_size < 1:
        raise CliError("--idle must be positive and --batch-size at least 1", ExitCode.USAGE)
    make_notifier = _notifier(args)
    with open_cli_store(args) as store:
        notifier = make_notifier()  # after the store: a mistyped store path leaves no folder behind
        dispatcher = Dispatcher(store, notifier, batch_size=args.batch_size)
        try:
            if args.follow:
                stop = threading.Event()
                previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
                try:
                    report = dispatcher.run(stop, idle=args.idle)
                except KeyboardInterrupt:
                    report = None
                finally:
                    signal.signal(signal.SIGTERM, previous)
                if report is None:
                    print("stopped")
                    return int(ExitCode.OK)
            else:
                report = dispatcher.drain()
        finally:
            dispatcher.close()
    summary = (
        f"sent {report.sent}, not sent {report.skipped}, retry later {report.retried}, failed {report.failed}, "
        f"dead {report.dead}, waiting {report.waiting}"
    )
    if report.next_due_at is not None:
        summary += f" (next due {report.next_due_at.isoformat(timespec='seconds')})"
    print(summary)
    return int(ExitCode.OK)
