"""Exports: the Renderer protocol, the default fake renderer, and the one Render state machine.

A render has two clocks that must both have run out before it is ``completed``:

* the **schedule**: ``Faults.render_seconds`` of wall time split into ``render_steps`` phases
  (pending, then processing with rising progress), so tests can see every status without
  depending on how often they poll;
* the **work**: the renderer's coroutine, started as an asyncio task on submit. The fake
  renderer writes its file in well under a second; a real renderer (the local backend's
  ffmpeg) reports progress through ``on_progress`` and finishes when it finishes.

With ``render_seconds == 0`` only the work counts, which is what a plugged renderer wants.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio

log = logging.getLogger(__name__)

RenderStatus = Literal["pending", "processing", "completed", "failed"]

# Enough of an MP4 header that tools sniffing the file type see "mp4".
_MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
_BLOCK = 1024 * 1024


class Renderer(Protocol):
    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        """Write the video for ``draft`` to ``out_path``; report progress as a fraction 0.0-1.0.

        Raising fails the render with the exception's text. Cancellation (cancel endpoint,
        emulator shutdown) arrives as ``asyncio.CancelledError``.
        """
        ...


class FakeRenderer:
    """Writes a file of ``size_bytes()`` bytes that starts like an MP4; content is filler.

    Repeats one 1 MiB block so a 200 MB benchmark output costs disk bandwidth only.
    """

    def __init__(self, size_bytes: Callable[[], int]) -> None:
        self._size_bytes = size_bytes

    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        size = max(0, self._size_bytes())
        await anyio.to_thread.run_sync(_write_filler, out_path, size, on_progress)


def _write_filler(out_path: Path, size: int, on_progress: Callable[[float], None]) -> None:
    block = (_MP4_HEAD + bytes(range(256)) * (_BLOCK // 256))[:_BLOCK]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with out_path.open("wb") as f:
        while written < size:
            n = min(_BLOCK, size - written)
            f.write(block[:n])
            written += n
            on_progress(written / size)


@dataclass(frozen=True)
class RenderView:
    """What a status read sees at one instant."""

    status: RenderStatus
    progress: int  # percent
    error: str | None


@dataclass(eq=False)
class Render:
    id: str
    session_id: str
    user_id: str
    raw_body: bytes  # the POST body exactly as received
    draft: dict[str, Any]
    output_path: Path
    output_format: str = "mp4"
    render_seconds: float = 0.0  # the schedule, snapshotted from the faults at submit
    render_steps: int = 3
    forced_error: str | None = None  # fail_render: fail once the schedule has run out
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed_at: datetime | None = None
    cancelled: bool = False
    work_progress: float = 0.0
    work_done: bool = False
    work_error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: threading.Event = field(default_factory=threading.Event)  # set when the work ends, any way
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def draft_text(self) -> str:
        """The ``draft`` value's text exactly as it appeared in the request body."""
        return raw_json_member(self.raw_body.decode("utf-8"), "draft") or ""

    @property
    def draft_bytes(self) -> bytes:
        return self.draft_text.encode("utf-8")

    @property
    def status(self) -> RenderStatus:
        return self.view().status

    @property
    def progress(self) -> int:
        return self.view().progress

    @property
    def error(self) -> str | None:
        return self.view().error

    def schedule_done(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self.render_seconds <= 0 or now - self.started >= self.render_seconds

    def view(self, now: float | None = None) -> RenderView:
        """The status at ``now`` (monotonic seconds; tests pass it to step through the schedule)."""
        now = time.monotonic() if now is None else now
        if self.cancelled:
            return RenderView("failed", self._percent(self.work_progress), "cancelled")
        if self.work_error is not None:
            return RenderView("failed", self._percent(self.work_progress), self.work_error)
        if self.schedule_done(now) and self.work_done:
            if self.forced_error is not None:
                return RenderView("failed", 100, self.forced_error)
            if self.completed_at is None:
                self.completed_at = datetime.now(UTC)
            return RenderView("completed", 100, None)
        if self.render_seconds > 0:
            steps = max(1, self.render_steps)
            fraction = min(1.0, (now - self.started) / self.render_seconds)
            phase = math.floor(fraction * steps)
            if phase == 0:
                return RenderView("pending", 0, None)
            scheduled = phase / steps
        else:
            scheduled = 1.0
        work = 1.0 if self.work_done else self.work_progress
        # Never show 100 before "completed": clients take 100 as done.
        return RenderView("processing", min(99, self._percent(min(scheduled, work))), None)

    @staticmethod
    def _percent(fraction: float) -> int:
        return max(0, min(100, round(fraction * 100)))

    def cancel(self) -> None:
        self.cancelled = True
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def run(self, renderer: Renderer | None) -> None:
        """The work: the renderer's coroutine, or nothing when the render is set to fail anyway."""
        try:
            if renderer is not None and self.forced_error is None:
                await renderer.render(self.draft, self.output_path, self._on_progress)
            self.work_done = True
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        except Exception as exc:
            log.warning("render %s failed: %s", self.id, exc)
            self.work_error = f"Render failed: {exc}"
        finally:
            self.finished.set()

    def _on_progress(self, fraction: float) -> None:
        # Called from whatever thread the renderer works in; a float store is atomic enough.
        self.work_progress = max(0.0, min(1.0, float(fraction)))


def raw_json_member(text: str, key: str) -> str | None:
    """The source text of a top-level member's value in a JSON object, without re-serialising it.

    Export must send the draft exactly as the state answered it, so tests compare the raw text.
    """
    decoder = json.JSONDecoder()
    ws = " \t\n\r"
    i = len(text) - len(text.lstrip(ws))
    if text[i : i + 1] != "{":
        return None
    i += 1
    while True:
        while i < len(text) and text[i] in ws + ",":
            i += 1
        if i >= len(text) or text[i] == "}":
            return None
        try:
            name, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        while i < len(text) and text[i] in ws:
            i += 1
        if text[i : i + 1] != ":":
            return None
        i += 1
        while i < len(text) and text[i] in ws:
            i += 1
        try:
            _, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return None
        if name == key:
            return text[i:end]
        i = end
