"""Work that outlives the request that started it: agent turns and renders.

A turn goes on when its client disconnects (the real agent keeps working server-side), and a
render runs between status polls, so neither may live in the request's task. They run in one
task group opened for the server's lifespan and are cancelled together when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVarTuple, Unpack

import anyio
from anyio.abc import TaskGroup

Ts = TypeVarTuple("Ts")


class Background:
    def __init__(self) -> None:
        self._group: TaskGroup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scopes: set[anyio.CancelScope] = set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open for the server's lifespan; on exit, cancels what is still running and waits for it."""
        async with anyio.create_task_group() as group:
            self._group, self._loop = group, asyncio.get_running_loop()
            try:
                yield
            finally:
                self._cancel_all()
        self._group = None

    def start(self, work: Callable[[Unpack[Ts]], Awaitable[object]], *args: *Ts) -> None:
        """Run ``work(*args)`` in the background; call from the server's event loop.

        The task inherits the caller's context variables, as a request's own work would.
        """
        if self._group is None:
            raise RuntimeError("the server is not running")
        scope = anyio.CancelScope()
        self._scopes.add(scope)

        async def run() -> None:
            try:
                with scope:
                    await work(*args)
            finally:
                self._scopes.discard(scope)

        self._group.start_soon(run)

    def cancel_soon(self) -> None:
        """Cancel everything running; safe from any thread (a server being stopped)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(self._cancel_all)

    def _cancel_all(self) -> None:
        for scope in list(self._scopes):
            scope.cancel()
