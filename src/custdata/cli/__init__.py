"""The ``custdata`` command: ``custdata demo``, ``import``, ``export``, ``dedupe``, ``segments``, ``demand``, ``erase``,
``dispatch``, ``dead-letters``. One module per command, each with ``register(subparsers)`` and ``run(args) -> int``.

Errors end as one line on standard error and an exit code (:class:`ExitCode`); set ``CUSTDATA_DEBUG=1``
to see the traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType

from custdata.cli._common import DEFAULT_STORE, STORE_VARIABLE, CliError, ExitCode, exit_code_for

__all__ = ["DEFAULT_STORE", "STORE_VARIABLE", "CliError", "ExitCode", "build_parser", "main"]

_EPILOG = f"""\
The store is chosen by --store URL, else by the environment variable {STORE_VARIABLE}, else {DEFAULT_STORE}
(a SQLite file in the current folder). Exit codes: 0 done; 1 done, but some rows were rejected; 2 bad command
line; 3 bad input; 4 store error; 5 not found; 6 optional dependency missing; 70 internal error; 130 interrupted.
"""


def _commands() -> list[ModuleType]:
    from custdata.cli import dead_letters, dedupe, demand, demo, dispatch, erase, export, imports, segments

    return [demo, imports, export, dedupe, segments, demand, erase, dispatch, dead_letters]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``custdata`` command, with every sub-command."""
    from custdata._version import __version__

    parser = argparse.ArgumentParser(
        prog="custdata",
        description="Customer data for online shops: try the demo, import your shop, export, find duplicates.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"custdata {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _commands():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``custdata`` command with ``argv`` (the process's arguments by default); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return int(handler(args))
    except BrokenPipeError:  # the reader went away (``custdata export customers | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OK)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - every error ends as a message and a code
        code, message = exit_code_for(exc)
        if os.environ.get("CUSTDATA_DEBUG") and code in (ExitCode.INTERNAL, ExitCode.STORE):
            traceback.print_exc()
        print(f"custdata {args.command}: error: {message}", file=sys.stderr)
        return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
