"""The emulator's renderer: paced like a cloud render, and writing a file that only looks like an MP4.

With ``render_seconds`` it works in ``render_steps`` equal phases: the first reports nothing (the
render reads ``pending``), each later one a rising fraction (``processing``); then it writes
``render_size_bytes`` bytes, or fails when ``fail_render`` is set. The output repeats one 1 MiB
block, so a 200 MB benchmark file costs disk bandwidth only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from nemo_mcp.testing.faults import Faults

# Enough of an MP4 header that tools sniffing the file type see "mp4".
_MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
_BLOCK = 1024 * 1024


class FakeRenderer:
    def __init__(self, faults: Callable[[], Faults]) -> None:
        self._faults = faults

    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        faults = self._faults()
        steps = max(1, faults.render_steps)
        reached = 0.0
        if faults.render_seconds > 0:
            phase = faults.render_seconds / steps
            await anyio.sleep(phase)
            for step in range(1, steps):
                reached = step / steps
                on_progress(reached)
                await anyio.sleep(phase)
        if faults.fail_render:
            raise RuntimeError(faults.render_error or "the render worker crashed (emulated)")

        def written(fraction: float) -> None:
            on_progress(reached + (1 - reached) * fraction)

        await anyio.to_thread.run_sync(_write_filler, out_path, max(0, faults.render_size_bytes), written)


def _write_filler(out_path: Path, size: int, on_progress: Callable[[float], None]) -> None:
    block = (_MP4_HEAD + bytes(range(256)) * (_BLOCK // 256))[:_BLOCK]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    on_progress(0.0)
    with out_path.open("wb") as f:
        while written < size:
            n = min(_BLOCK, size - written)
            f.write(block[:n])
            written += n
            on_progress(written / size)
