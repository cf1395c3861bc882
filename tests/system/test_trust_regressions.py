"""Sequences of the whole-system state machine that broke a promise in earlier versions, replayed step by step
on every store, with the promises checked after each step."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_trust import _postgres_tables, _sqlite_files
from trust_machine import TrustMachine

from custdata.storage import Store, open_store

Step = tuple[str, dict[str, Any]]

SEQUENCES: dict[str, list[Step]] = {
    # a guest copying an account's name, phone and street was merged into it and its email became the primary
    "dedupe takes over an unverified account": [
        ("register", {"verified": False, "marketing": False}),
        ("time_passes", {"hours": 1}),
        ("impostor", {"pick": 0}),
        ("dedupe_merge", {}),
    ],
    # the same through an imported account (no id column) and a guest checkout
    "dedupe takes over an imported account": [
        ("import_customer", {"future": False, "with_id": False}),
        ("impostor", {"pick": 0}),
        ("verify_email", {"pick": 0}),
        ("dedupe_merge", {}),
    ],
    # a guest order row naming an account's email was attached to the account
    "an imported guest order joins the account with that email": [
        ("import_customer", {"future": False, "with_id": False}),
        ("import_guest_order", {"pick": 0}),
    ],
    # a customer imported with a date far ahead kept marketing consent after a withdrawal
    "an import locks consent": [
        ("import_customer", {"future": True, "with_id": False}),
        ("register", {"verified": True, "marketing": True}),
        ("change_consent", {"pick": 0, "grant": False}),
    ],
    # messages leased by a dispatcher that died kept the erased person's data, and went out later
    "a crashed dispatcher's lease survives erasure": [
        ("open_the_shop", {"marketing": True}),
        ("dispatcher_crashes", {"limit": 5}),
        ("erase", {"pick": 0}),
        ("time_passes", {"hours": 1}),
        ("dispatch", {}),
    ],
    # a merge undone kept the other person's snapshot on the survivor's timeline and in its export
    "an undone merge keeps a snapshot": [
        ("open_the_shop", {"marketing": False}),
        ("merge_by_mistake", {"first": 0, "second": 0}),
        ("erase", {"pick": 1}),
        ("erase", {"pick": 0}),
    ],
    # a guest's queued confirmation moved with its order into the account and outlived the person's erasure
    "a merged guest's queued message survives erasure": [
        ("open_the_shop", {"marketing": False}),
        ("merge_by_hand", {"pick": 0}),
        ("erase", {"pick": 0}),
        ("dispatch", {}),
    ],
}


def _run(machine: TrustMachine, steps: list[Step]) -> None:
    try:
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            machine.registered_accounts_hold_only_their_own()
            machine.erased_people_are_gone()
    finally:
        machine.teardown()


def _machines() -> dict[str, Callable[[], TrustMachine]]:
    class Memory(TrustMachine):
        @staticmethod
        def make_store(folder: Path) -> Store:
            return open_store("memory://")

    class SQLite(TrustMachine):
        @staticmethod
        def make_store(folder: Path) -> Store:
            return open_store(f"sqlite:///{folder / 'shop.db'}")

        dump = staticmethod(_sqlite_files)

    return {"memory": Memory, "sqlite": SQLite}


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_sequence(kind: str, sequence: str) -> None:
    _run(_machines()[kind](), SEQUENCES[sequence])


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
def test_sequence_on_postgres(sequence: str, pg_server: Any, pg_url: str) -> None:
    from custdata.storage.postgres import PostgresStore

    class Postgres(TrustMachine):
        @staticmethod
        def make_store(folder: Path) -> Store:
            return PostgresStore(pg_url, schema=f"t_{uuid.uuid4().hex[:16]}")

        dump = staticmethod(_postgres_tables(pg_url, pg_server.data_dir))

    _run(Postgres(), SEQUENCES[sequence])
