"""Helpers of the async tests: stores on the same data, one async and one sync, and a recording SMTP server."""

from __future__ import annotations

import asyncio
import email
import threading
import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from required_extras import require

from custdata.aio import AsyncStore, ThreadedAsyncStore
from custdata.storage import Store
from custdata.storage.memory import MemoryStore
from custdata.storage.sqlite import SQLiteStore


class Backend:
    """Opens, on one event loop, an async store and a sync store over the same data."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self.path = tmp_path / "shop.db"
        self.schema = f"a_{uuid.uuid4().hex[:12]}"
        self.pg_url = str(request.getfixturevalue("pg_url")) if kind == "postgres" else ""
        if kind == "postgres":
            require("greenlet", "async")
        self.sync: Store | None = None

    def open_sync(self) -> Store:
        if self.kind == "memory":
            self.sync = MemoryStore()
        elif self.kind == "sqlite":
            self.sync = SQLiteStore(self.path)
        else:
            from custdata.storage.postgres import PostgresStore

            self.sync = PostgresStore(self.pg_url, schema=self.schema, pool_max_size=4)
        return self.sync

    async def open_async(self) -> AsyncStore:
        assert self.sync is not None, "open the sync store first"
        if self.kind == "memory":
            return ThreadedAsyncStore(self.sync)  # memory data lives in the store object: share it
        if self.kind == "sqlite":
            return ThreadedAsyncStore(SQLiteStore(self.path))
        from custdata.aio.postgres import AsyncPostgresStore

        return await AsyncPostgresStore.open(self.pg_url, schema=self.schema, pool_max_size=4)

    def close(self) -> None:
        if self.sync is not None:
            self.sync.close()


class FreePortController(Controller):
    """Binds a port the kernel picks, so parallel runs never collide."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SMTPRecorder:
    """Keeps the Message-ID of every message accepted, and counts connections."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.connections = 0
        self.port = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.message_ids.append(str(parsed["Message-ID"]))
        return "250 OK"
