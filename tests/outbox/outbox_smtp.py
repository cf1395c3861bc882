"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records the Message-ID of everything it accepts."""

from __future__ import annotations

import asyncio
import email
import threading
from collections import Counter
from typing import Any, cast

from aiosmtpd.controller import Controller


class FreePortController(Controller):
    """Binds a port the kernel picks, so parallel runs never collide."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = cast(asyncio.Server, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class Recorder:
    """Keeps the Message-ID of every message accepted; ``delay`` seconds per message make sends overlap."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.message_ids: list[str] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.message_ids.append(str(parsed["Message-ID"]))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.message_ids)

    def duplicates(self) -> int:
        """How many messages arrived more than once (beyond the first copy)."""
        with self.lock:
            return sum(n - 1 for n in Counter(self.message_ids).values())

    def distinct(self) -> int:
        with self.lock:
            return len(set(self.message_ids))
