"""Exports: the ``Renderer`` protocol and the render state machine.

A render is ``pending`` until its renderer first reports progress, ``processing`` while it
works, and ends ``completed`` when the renderer returns or ``failed`` when it raises or is
cancelled. Nothing else moves it: no schedule, no clock.

The process that accepted a render runs it and answers its status from the live state; every
other process sharing the state dir reads the row, which the runner refreshes every
``flush_seconds`` (and which carries another process's cancel request back to the runner). A
row whose runner stopped refreshing it belongs to a process that died: it reads as failed.
"""

from __future__ import annotations

import copy
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import anyio

from nemo_mcp.apiserver.store import RenderRecord, Store
from nemo_mcp.apiserver.tasks import Background
from nemo_mcp.cloud.api import Still

log = logging.getLogger(__name__)

RenderStatus = Literal["pending", "processing", "completed", "failed"]
_STATUSES: dict[str, RenderStatus] = {s: s for s in ("pending", "processing", "completed", "failed")}
FLUSH_SECONDS = 0.5
# Far longer than a flush: a runner this late is gone, not slow.
STALE_SECONDS = 60.0
CANCELLED = "cancelled"
KEEP_FINISHED = 100
# A renderer must honour cancellation at once; this only bounds a cancel request's answer.
CANCEL_WAIT_SECONDS = 10.0
ABANDONED = "The process running this render stopped before it finished; export again."


class Renderer(Protocol):
    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        """Write the video for ``draft`` to ``out_path``; report progress as a fraction 0.0-1.0.

        ``on_progress`` may be called from any thread. Raising fails the render with the
        exception's text. Cancellation (cancel endpoint, server stopping) arrives as the event
        loop's cancellation; no partial file may be left at ``out_path`` then.
        """
        ...


# Frames asked at once, at the most.
MAX_STILLS = 8


@runtime_checkable
class StillRenderer(Protocol):
    """A renderer that can also show single frames of a draft without exporting it (offline only)."""

    async def stills(self, draft: dict[str, Any], times_s: list[float], long_side: int) -> Sequence[Still]:
        """JPEG frames at ``times_s`` (clamped to the timeline), the longer side ``long_side`` px."""
        ...


def new_render_id() -> str:
    return f"render_{secrets.token_hex(16)}"  # 128 random bits: not guessable from another id


@dataclass(frozen=True)
class RenderView:
    """A render's status at one instant, as the status endpoint answers it."""

    render_id: str
    status: RenderStatus
    progress: int  # percent; 100 only once completed
    error: str | None
    created_at: float
    completed_at: float | None


def _percent(fraction: float, status: str) -> int:
    if status == "completed":
        return 100
    # Never 100 before "completed": clients take 100 as done.
    return max(0, min(99, math.floor(fraction * 100)))


class Render:
    """A render this process runs, with its live state."""

    def __init__(self, render_id: str, session_id: str, account: str, draft: dict[str, Any], out_path: Path) -> None:
        self.id = render_id
        self.session_id = session_id
        self.account = account
        self.draft = draft
        self.out_path = out_path
        self.created_at = time.time()
        self.status: RenderStatus = "pending"
        self.fraction = 0.0
        self.error: str | None = None
        self.completed_at: float | None = None
        self.finished = threading.Event()  # set once the render has ended, any way
        self._scope = anyio.CancelScope()

    @property
    def cancelled(self) -> bool:
        return self.error == CANCELLED

    def on_progress(self, fraction: float) -> None:
        # Called from whatever thread the renderer works in; plain stores are atomic enough.
        self.fraction = max(0.0, min(1.0, float(fraction)))
        if self.status == "pending":
            self.status = "processing"

    def cancel(self) -> None:
        """Stop the renderer; call from the server's event loop."""
        self._scope.cancel()

    def view(self) -> RenderView:
        status = self.status
        return RenderView(
            self.id, status, _percent(self.fraction, status), self.error, self.created_at, self.completed_at
        )

    def record(self) -> RenderRecord:
        return RenderRecord(
            self.id, self.session_id, self.account, self.status, self.fraction, self.error,
            self.created_at, time.time(), self.completed_at,
        )  # fmt: skip


class Renders:
    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        folder: Path,
        background: Background,
        *,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self._store = store
        self.renderer = renderer
        self.folder = Path(folder)
        self._background = background
        self._flush_seconds = flush_seconds
        self._live: dict[str, Render] = {}

    def output_path(self, render_id: str) -> Path:
        return self.folder / f"{render_id}.mp4"

    def live(self, render_id: str) -> Render | None:
        """A render this process started: running, or among its recent finished ones."""
        return self._live.get(render_id)

    async def submit(self, account: str, session_id: str, draft: dict[str, Any]) -> Render:
        render_id = new_render_id()
        render = Render(render_id, session_id, account, draft, self.output_path(render_id))
        await anyio.to_thread.run_sync(self._store.add_render, render.record())
        self._forget_finished()
        self._live[render_id] = render
        self._background.start(self._run, render)
        return render

    def _forget_finished(self) -> None:
        # A long-lived server keeps only its recent renders in memory; the rows keep them all.
        finished = [rid for rid, render in self._live.items() if render.finished.is_set()]
        for render_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._live[render_id]

    async def view(self, render_id: str, account: str | None) -> RenderView | None:
        """The caller's render, from any process; None for an unknown render or another account's.

        ``account`` None: whoever holds a signed URL of the render, which names it alone.
        """
        render = self._live.get(render_id)
        if render is not None:
            return render.view() if account in (None, render.account) else None
        record = await anyio.to_thread.run_sync(self._store.render, render_id)
        if record is None or account not in (None, record.account):
            return None
        status = _STATUSES.get(record.status, "failed")
        error = record.error
        if status in ("pending", "processing") and time.time() - record.updated_at > STALE_SECONDS:
            status, error = "failed", ABANDONED
        return RenderView(
            render_id, status, _percent(record.progress, status), error, record.created_at, record.completed_at
        )

    async def cancel(self, render_id: str, account: str) -> RenderView | None:
        render = self._live.get(render_id)
        if render is not None and render.account == account:
            render.cancel()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(render.finished.wait, CANCEL_WAIT_SECONDS)
        elif render is None:
            view = await self.view(render_id, account)
            if view is None:
                return None
            if view.status in ("pending", "processing"):
                # Another process runs it: it reads the request at its next flush.
                await anyio.to_thread.run_sync(self._store.request_cancel, render_id)
        return await self.view(render_id, account)

    async def _run(self, render: Render) -> None:
        returned = False
        try:
            with render._scope:
                async with anyio.create_task_group() as flushing:
                    flushing.start_soon(self._flush, render)
                    try:
                        await self.renderer.render(copy.deepcopy(render.draft), render.out_path, render.on_progress)
                        returned = True
                    except Exception as exc:
                        log.warning("render %s failed: %s", render.id, exc)
                        render.error = f"Render failed: {exc}"
                    finally:
                        flushing.cancel_scope.cancel()
        finally:
            # Also when the server stops mid-render: the row must not stay "processing".
            if returned:
                render.status, render.completed_at = "completed", time.time()
            else:
                render.status, render.error = "failed", render.error or CANCELLED
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(
                    self._store.update_render, render.id, render.status, render.fraction, render.error,
                    render.completed_at,
                )  # fmt: skip
            render.finished.set()

    async def _flush(self, render: Render) -> None:
        while True:
            await anyio.sleep(self._flush_seconds)
            cancel_asked = await anyio.to_thread.run_sync(
                self._store.update_render, render.id, render.status, render.fraction, None, None
            )
            if cancel_asked:
                render.cancel()
