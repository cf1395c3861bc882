"""How the async stores run the shared synchronous code: each async unit of work has a *runner*.

A runner runs a synchronous function for a coroutine, one call at a time, always in the same context:

- :class:`ThreadRunner` runs every call of one unit of work in one dedicated thread, started when the unit of
  work opens and ended when it closes. The event loop never blocks on a lock or a disk; the sync store's own
  connection pool, write lock and timeouts apply unchanged (memory and SQLite stores).
- :class:`GreenletRunner` runs the calls in a greenlet on the event loop's own thread. Whenever the synchronous
  code must wait for the database it calls :func:`await_only`, which hands the awaitable to the event loop and
  resumes when it is done (the way SQLAlchemy runs its synchronous ORM over asyncio drivers). The PostgreSQL
  store uses it: the shared repositories and their SQL run unchanged on psycopg's async connections.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from custdata._errors import MissingExtraError, ProgrammingError

T = TypeVar("T")


class Caller(Protocol):
    """Runs synchronous calls for coroutines."""

    async def call(self, fn: Callable[..., T], /, *args: Any) -> T: ...


class Runner(Caller, Protocol):
    """Runs synchronous calls of one unit of work for its coroutines, one at a time, until it ends."""

    async def end(self, fn: Callable[..., object], /, *args: Any, cancelled: bool) -> None:
        """Run ``fn(*args)`` (the unit of work's exit) as the last call; ``cancelled`` when the task is being
        cancelled, which must not wait for a call it abandoned."""


class ThreadRunner:
    """Every call in one thread of its own (see the module docstring); calls run one after another, in the
    context (``contextvars``) of the coroutine that awaits them."""

    def __init__(self, name: str = "custdata-uow") -> None:
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = asyncio.Lock()

    def _running(self) -> ThreadPoolExecutor:
        if self._executor is None:
            raise ProgrammingError("this unit of work has ended")
        return self._executor

    async def call(self, fn: Callable[..., T], /, *args: Any) -> T:
        async with self._lock:
            context = contextvars.copy_context()
            # a call already running when its coroutine is cancelled goes on in the thread (a thread cannot be
            # interrupted); the calls after it, the unit of work's exit included, queue behind it
            return await asyncio.get_running_loop().run_in_executor(
                self._running(), functools.partial(context.run, fn, *args)
            )

    async def end(self, fn: Callable[..., object], /, *args: Any, cancelled: bool) -> None:
        executor = self._running()
        if cancelled:
            # the task must end now: the exit (a rollback) runs in the thread once an abandoned call returns
            # (a lock it waits for is granted, or its timeout passes), and the thread then ends
            executor.submit(fn, *args)
            self._executor = None
            executor.shutdown(wait=False)
            return
        try:
            await self.call(fn, *args)
        finally:
            self._executor = None
            executor.shutdown(wait=False)


# -- greenlets ---------------------------------------------------------------------------------------------------

try:
    import greenlet
except ModuleNotFoundError as exc:  # the extra is not installed; GreenletRunner says how to install it
    _MISSING: ModuleNotFoundError | None = exc
else:
    _MISSING = None


def require_greenlet(what: str) -> None:
    """A :class:`~custdata.MissingExtraError` naming the ``async`` extra when greenlet is not installed."""
    if _MISSING is not None:
        raise MissingExtraError(_MISSING.name or "greenlet", "async", what)


_BRIDGED: set[int] = set()
_BRIDGED_LOCK = threading.Lock()


def await_only(awaitable: Awaitable[T]) -> T:
    """Wait for ``awaitable`` from synchronous code running under :class:`GreenletRunner` and return its result.

    Outside such code (on a plain thread, say) it is a :class:`~custdata.ProgrammingError`: the awaitable is
    closed unawaited.
    """
    current = greenlet.getcurrent() if _MISSING is None else None
    if current is None or id(current) not in _BRIDGED or current.parent is None:
        close = getattr(awaitable, "close", None)
        if callable(close):
            close()
        raise ProgrammingError("an async store's synchronous code ran outside its unit of work's runner")
    result: T = current.parent.switch(awaitable)
    return result


class GreenletRunner:
    """Every call in a greenlet on the event loop's thread, waiting through :func:`await_only`."""

    def __init__(self) -> None:
        require_greenlet("the async PostgreSQL store")
        self._lock = asyncio.Lock()
        self._closed = False

    async def call(self, fn: Callable[..., T], /, *args: Any) -> T:
        if self._closed:
            raise ProgrammingError("this unit of work has ended")
        async with self._lock:
            return await _spawn(fn, *args)

    async def end(self, fn: Callable[..., object], /, *args: Any, cancelled: bool) -> None:
        # a cancellation reached the greenlet at its await point already, so the exit can run at once
        try:
            await self.call(fn, *args)
        finally:
            self._closed = True


async def _spawn(fn: Callable[..., T], /, *args: Any) -> T:
    """Run ``fn(*args)`` in a new greenlet, awaiting on its behalf whatever it hands to :func:`await_only`."""
    child = greenlet.greenlet(fn)
    child.gr_context = greenlet.getcurrent().gr_context  # the awaiting coroutine's contextvars
    with _BRIDGED_LOCK:
        _BRIDGED.add(id(child))
    try:
        result: Any = child.switch(*args)
        while not child.dead:
            try:
                value = await result
            except BaseException:  # noqa: BLE001 - the synchronous code decides what to do with it
                result = child.throw(*sys.exc_info())
            else:
                result = child.switch(value)
        return result  # type: ignore[no-any-return]
    finally:
        with _BRIDGED_LOCK:
            _BRIDGED.discard(id(child))
