"""``custdata dead-letters``: list the messages that ran out of retries or failed for good, and send them again."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from functools import partial
from typing import Any

from custdata.cli._common import CliError, ExitCode, add_store_option, open_cli_store

_DESCRIPTION = """\
List the outbox's dead letters: messages whose transient failures ran out of retries, and, with --failed, those
that failed for good (a permanent refusal). Each line shows the message id, when it was created, its topic and
channel, how many attempts were made and the last error; recipients and contents stay out of the listing.
--requeue ID... puts those messages back in the queue (pending now, attempts reset) for the next
`custdata dispatch`; --requeue-all does so for every message listed. A message that cannot be sent any more
(its content was erased, or its customer was erased or deleted) is never requeued: --requeue-all skips it and
says so, --requeue names it and requeues nothing.
"""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dead-letters", help="list messages that could not be sent, and send them again", description=_DESCRIPTION
    )
    add_store_option(parser)
    parser.add_argument("--failed", action="store_true", help="include messages that failed for good")
    parser.add_argument("--requeue", nargs="+", metavar="ID", default=[], help="send these messages again")
    parser.add_argument("--requeue-all", action="store_true", help="send every listed message again")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from custdata.outbox import OutboxState, OutboxUnitOfWork, requeue
    from custdata.storage import walk

    if args.requeue and args.requeue_all:
        raise CliError("--requeue ID... and --requeue-all do not go together", ExitCode.USAGE)
    states = [OutboxState.DEAD, *([OutboxState.FAILED] if args.failed else [])]
    with open_cli_store(args) as store:
        with store.unit_of_work() as uow:
            if not isinstance(uow, OutboxUnitOfWork):
                raise CliError(f"the store ({type(store).__name__}) has no outbox", ExitCode.USAGE)
            outbox = uow.outbox
            listed = [e for state in states for e in walk(partial(_with_state, outbox, state))]
        wanted = [entry.id for entry in listed] if args.requeue_all else list(dict.fromkeys(args.requeue))
        if not wanted:
            for entry in listed:
                print(_line(entry))
            print(f"{len(listed)} message(s)")
            return int(ExitCode.OK)
        now = datetime.now(UTC)
        with store.unit_of_work() as uow:
            assert isinstance(uow, OutboxUnitOfWork)
            refused = [(entry_id, why) for entry_id in wanted if (why := _refusal(uow, entry_id)) is not None]
            if refused and not args.requeue_all:
                lines = "; ".join(f"{entry_id} {why}" for entry_id, why in refused)
                raise CliError(f"{lines}; nothing requeued", ExitCode.INPUT)
            skipped = {entry_id for entry_id, _ in refused}
            chosen = [entry_id for entry_id in wanted if entry_id not in skipped]
            for entry_id in chosen:  # one transaction: all of them go back in the queue, or none
                requeue(uow, entry_id, now=now)
            uow.commit()
    for entry_id, why in refused:
        print(f"skipped {entry_id}: {why.removeprefix('names ')}")
    print(f"requeued {len(chosen)} message(s); `custdata dispatch` sends them")
    return int(ExitCode.OK)


def _refusal(uow: Any, entry_id: str) -> str | None:
    """Why an erased message cannot be requeued; None for anything else (``requeue`` reports unknown ids and
    messages that are not dead or failed itself)."""
    from custdata._errors import NotFoundError
    from custdata.outbox import OutboxState
    from custdata.outbox.service import requeue_refusal

    try:
        entry = uow.outbox.get(entry_id)
    except NotFoundError:
        return None
    if entry.state not in (OutboxState.DEAD, OutboxState.FAILED):
        return None
    return requeue_refusal(uow, entry)


def _with_state(outbox: Any, state: Any, cursor: str | None) -> Any:
    return outbox.with_state(state, cursor=cursor)


def _line(entry: Any) -> str:
    error = " ".join((entry.last_error or entry.reason or "-").split())
    return (
        f"{entry.id}  {entry.created_at:%Y-%m-%d %H:%M}  {entry.state.value:<6} {entry.topic.value} by "
        f"{entry.channel.value}, {entry.attempts} attempt(s): {error[:120]}"
    )
