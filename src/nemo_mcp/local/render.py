"""Rendering a draft into an MP4 with one ffmpeg filter graph, and frames of it without one.

``plan.py`` reads the draft into a plan (frames, files, values), ``graph.py`` turns the plan into
one filter graph (its docstring has the design), and this module runs ffmpeg on it: the whole
video (``FfmpegRenderer``) or single frames at chosen times as small JPEGs (``render_frames``),
which build the very same per-part chains for a one-frame window at each time.

The graph is long, so it is written to a file and read with
``-/filter_complex FILE`` (ffmpeg 9 dropped ``-filter_complex_script``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio

from nemo_mcp.cloud.api import Still
from nemo_mcp.local.fonts import DEFAULT_FONT
from nemo_mcp.local.graph import SAMPLE_RATE, FilterGraph, build_graph, escape_value, seconds, title_layout
from nemo_mcp.local.plan import FPS, RenderError, Resolver, plan_from_draft, prepare_plan
from nemo_mcp.local.probe import ffmpeg_exe, probe

__all__ = [
    "FONT_FILE",
    "FfmpegRenderer",
    "RenderError",
    "escape_value",
    "plan_from_draft",
    "render_frames",
    "summarize_stderr",
    "title_layout",
]

log = logging.getLogger(__name__)

FONT_FILE = DEFAULT_FONT
# Measured on a 1080x1920 slideshow: veryfast with subme=1:me=dia has the same SSIM and PSNR
# as plain veryfast at the same CRF (files ~10% larger) for ~30% less encoder CPU, which is what
# takes a 2-core render past 2x real time. Searching no p8x8/b8x8 partitions saves 7% more at the
# same SSIM and size (bench/render.py's realistic timeline: SSIM 0.97753 vs 0.97753, 3.48 MB both).
# subme=0 (whole-pixel motion only) takes 23% more off the encoder at the same SSIM (0.97736), for
# files ~10% larger: the realistic timeline went from 1.65-1.9x to 2.3x real time on 2 cores.
FAST_X264_PARAMS = "subme=0:me=dia:partitions=i8x8,i4x4"
# ffmpeg reports progress twice a second; this long without the output growing means it is stuck.
STALL_TIMEOUT_S = 60.0


# ---------------------------------------------------------------------------
# Running ffmpeg.

_LOG_PREFIX = re.compile(r"^(\[[^\]]*@ 0x[0-9a-f]+\]\s*)+")
_NOISE = (
    "Task finished with error code",
    "Terminating thread with return code",
    "Nothing was written",
    "Could not open encoder before EOF",
)


def summarize_stderr(lines: Iterable[str], limit: int = 3) -> str:
    """The last few distinct, meaningful lines of ffmpeg's stderr, without its [ctx @ 0x…] prefixes."""
    kept: list[str] = []
    for raw in lines:
        line = _LOG_PREFIX.sub("", raw.strip())
        if not line or any(noise in line for noise in _NOISE) or line in kept:
            continue
        kept.append(line)
    return "; ".join(kept[-limit:]) or "ffmpeg stopped without saying why"


class FfmpegRenderer:
    """Renders drafts to H.264/AAC MP4 files with a local ffmpeg."""

    def __init__(
        self,
        resolve: Resolver,
        *,
        preset: str = "veryfast",
        crf: int = 23,
        x264_params: str | None = FAST_X264_PARAMS,
        fps: int = FPS,
        ffmpeg: str | None = None,
        font_file: Path = FONT_FILE,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        progress_scale: float = 100.0,
    ) -> None:
        """``resolve`` maps a segment's ``src`` URL to its local file (``None``: not available).

        ``font_file``: the font of texts whose letters it has (others get one from ``local.fonts``).
        ``progress_scale``: what complete is reported as (100 for percent, 1.0 for a fraction).
        ``stall_timeout_s``: ffmpeg is stopped when its output has not grown for this long.
        """
        self._resolve = resolve
        self._preset = preset
        self._crf = crf
        self._x264_params = x264_params
        self._fps = fps
        self._ffmpeg = ffmpeg
        self._font_file = font_file
        self._stall_timeout_s = stall_timeout_s
        self._progress_scale = progress_scale

    async def stills(self, draft: dict[str, Any], times_s: list[float], long_side: int) -> list[Still]:
        """Frames of ``draft`` as the export would show them (the API server's stills)."""
        return await render_frames(
            draft, times_s, self._resolve, long_side=long_side, ffmpeg=self._ffmpeg, font_file=self._font_file
        )

    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        """Render ``draft`` to ``out_path``; progress goes to ``on_progress`` (0..``progress_scale``).

        On failure or cancellation ffmpeg is killed and no file is left at ``out_path``.
        """
        out_path = Path(out_path)
        out_path.unlink(missing_ok=True)
        plan = await prepare_plan(draft, self._resolve, self._fps)
        exe = self._ffmpeg or ffmpeg_exe()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = out_path.with_name(f".{out_path.name}.part.mp4")
        with tempfile.TemporaryDirectory(prefix="nemo-render-") as tmp:
            work = Path(tmp)
            graph = build_graph(plan, work_dir=work, default_font=self._font_file)
            graph_file = _write_graph(graph, work)
            args = [
                exe, "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-y",
                *graph.input_args,
                "-filter_complex_threads", str(THREADS),
                "-/filter_complex", str(graph_file),
                "-map", "[vout]", "-map", "[aout]",
                "-c:v", "libx264", "-preset", self._preset, "-crf", str(self._crf),
                *(["-x264-params", self._x264_params] if self._x264_params else []),
                "-pix_fmt", "yuv420p", "-color_range", "tv", "-r", str(plan.fps),
                "-c:a", "aac", "-b:a", "192k", "-ar", str(SAMPLE_RATE), "-ac", "2",
                "-t", seconds(plan.duration_s),
                "-movflags", "+faststart", "-f", "mp4",
                "-progress", "pipe:1",
                str(partial),
            ]  # fmt: skip
            log.debug("ffmpeg graph for %s:\n%s", out_path, graph.graph)
            try:
                await self._run(args, graph, plan.duration_s, self._scaled(on_progress))
                partial.replace(out_path)
            except BaseException:
                partial.unlink(missing_ok=True)
                out_path.unlink(missing_ok=True)
                raise
        on_progress(self._progress_scale)

    def _scaled(self, on_progress: Callable[[float], None]) -> Callable[[float], None]:
        if self._progress_scale == 100.0:
            return on_progress
        return lambda percent: on_progress(percent * self._progress_scale / 100.0)

    async def _run(
        self, args: list[str], graph: FilterGraph, duration_s: float, on_progress: Callable[[float], None]
    ) -> None:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stderr_tail: deque[str] = deque(maxlen=40)

        async def drain_stderr() -> None:
            assert proc.stderr is not None
            async for raw in proc.stderr:
                stderr_tail.append(raw.decode("utf-8", "replace"))

        stderr_task = asyncio.ensure_future(drain_stderr())
        try:
            assert proc.stdout is not None
            reported = 0.0
            on_progress(0.0)
            furthest, last_advance = -1, time.monotonic()
            while True:
                # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation.
                raw = b"stalled"
                with anyio.move_on_after(self._stall_timeout_s):
                    raw = await proc.stdout.readline()
                if not raw:
                    break
                key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                if key == "out_time_us" and value.lstrip("-").isdigit() and int(value) > furthest:
                    furthest, last_advance = int(value), time.monotonic()
                if time.monotonic() - last_advance > self._stall_timeout_s:
                    raise RenderError(
                        f"ffmpeg made no progress for {self._stall_timeout_s:g} s and was stopped; "
                        "the timeline may contain a damaged file."
                    )
                if key != "out_time_us" or furthest < 0 or duration_s <= 0:
                    continue
                # 100 is said only once the file is complete and moved into place.
                percent = round(min(99.0, furthest / 1e4 / duration_s), 1)
                if percent > reported:
                    reported = percent
                    on_progress(percent)
            returncode = await proc.wait()
            await stderr_task
        finally:
            if proc.returncode is None:
                # Cancelled or failed mid-way: ffmpeg must not outlive the render.
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with anyio.CancelScope(shield=True):
                    await proc.wait()
            if not stderr_task.done():
                stderr_task.cancel()
                with anyio.CancelScope(shield=True), contextlib.suppress(BaseException):
                    await stderr_task
        if returncode != 0:
            log.warning("ffmpeg failed (%s): %s", returncode, "".join(stderr_tail))
            raise ffmpeg_failed(summarize_stderr(stderr_tail), stderr_tail, graph)


# ---------------------------------------------------------------------------
# Shared by the export and the frames.

# ffmpeg's filter threads (slice threading of overlay, fade, boxblur…); x264 and decoders thread themselves.
THREADS = max(1, min(os.cpu_count() or 1, 4))


def _write_graph(graph: FilterGraph, work: Path) -> Path:
    work.mkdir(exist_ok=True)
    for name, content in graph.text_files.items():
        (work / name).write_text(content, encoding="utf-8")
    graph_file = work / "graph.txt"
    graph_file.write_text(graph.graph, encoding="utf-8")
    return graph_file


_INPUT_INDEX = re.compile(r"(?:in#|[vas]ist#|[Ii]nput #|input file #)(\d+)")


def ffmpeg_failed(why: str, tail: Iterable[str], graph: FilterGraph) -> RenderError:
    """ffmpeg's failure (``why``, from ``tail``, its last lines of stderr), naming the timeline's
    segment when a line points at one of the graph's inputs."""
    for line in reversed(list(tail)):
        match = _INPUT_INDEX.search(line)
        if match and int(match.group(1)) < len(graph.input_labels):
            label = graph.input_labels[int(match.group(1))]
            return RenderError(f"The timeline's {label} could not be read: {why}")
    return RenderError(f"ffmpeg could not render the video: {why}")


# ---------------------------------------------------------------------------
# Frames for the model: single frames of the draft, without rendering the video.

MAX_FRAME_BYTES = 60_000
# mjpeg's -q:v, best first: a frame that comes out too big is encoded again with a coarser one.
JPEG_QUALITIES = (3, 6, 10, 16, 24, 31)
MAX_LONG_SIDE = 1080  # at 31, a frame of pure noise this size is ~45 KB


def frame_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """The canvas scaled so that its longer side is ``long_side`` (even sizes, at least 16)."""
    scale = max(16, long_side) / max(width, height)
    return max(16, round(width * scale / 2) * 2), max(16, round(height * scale / 2) * 2)


async def render_frames(
    draft: dict[str, Any],
    times_s: Sequence[float],
    resolve: Resolver,
    *,
    long_side: int = 360,
    fps: int = FPS,
    ffmpeg: str | None = None,
    font_file: Path = FONT_FILE,
) -> list[Still]:
    """JPEG frames of ``draft`` at ``times_s`` (seconds; clamped to the timeline), each at most 60 KB.

    ``long_side``: the frames' longer side in pixels (at most 1080, and never more than the canvas),
    the other one in proportion.

    Each frame is a one-frame window of the export's own filter graph (graph.py), rendered at the
    canvas size and scaled down to ``long_side``; frames render in parallel, one ffmpeg per core.
    Raises RenderError as the export would (missing media, unreadable files…).
    """
    plan = await prepare_plan(draft, resolve, fps)
    exe = ffmpeg or ffmpeg_exe()
    size = frame_size(plan.width, plan.height, min(long_side, MAX_LONG_SIDE, max(plan.width, plan.height)))

    with tempfile.TemporaryDirectory(prefix="nemo-frames-") as tmp:

        async def one(index: int, time_s: float, limiter: anyio.CapacityLimiter) -> Still:
            work = Path(tmp) / str(index)
            time_s = time_s if math.isfinite(time_s) else 0.0
            frame = max(0, min(plan.total_frames - 1, round(max(0.0, time_s) * plan.fps)))
            graph = build_graph(plan, work_dir=work, default_font=font_file, window=frame, window_size=size)
            graph_file = _write_graph(graph, work)
            async with limiter:
                jpeg = await _encode_frame(exe, graph, graph_file)
            return Still(frame / plan.fps, jpeg, *size)

        return await _each_time(times_s, one)


async def _each_time(
    times_s: Sequence[float], one: Callable[[int, float, anyio.CapacityLimiter], Awaitable[Still]]
) -> list[Still]:
    """``one(index, time_s, limiter)`` for every time at once, in order; ``one`` holds ``limiter``
    (one slot per core) while it runs ffmpeg, so that frames render one ffmpeg per core."""
    frames: list[Still | None] = [None] * len(times_s)
    limiter = anyio.CapacityLimiter(max(1, os.cpu_count() or 1))

    async def run(index: int, time_s: float) -> None:
        frames[index] = await one(index, time_s, limiter)

    try:
        async with anyio.create_task_group() as tg:
            for index, time_s in enumerate(times_s):
                tg.start_soon(run, index, float(time_s))
    except ExceptionGroup as group:
        # One frame's failure cancels the others; the caller gets that failure, not a group of one.
        errors = group.subgroup(RenderError)
        raise (errors.exceptions[0] if errors else group) from None
    return [frame for frame in frames if frame is not None]


async def _encode_frame(exe: str, graph: FilterGraph, graph_file: Path) -> bytes:
    args = [
        exe, "-hide_banner", "-nostdin", "-v", "error", "-threads", "1",
        *graph.input_args,
        "-filter_complex_threads", "1",
        "-/filter_complex", str(graph_file),
        "-map", "[vout]", "-frames:v", "1",
        "-c:v", "mjpeg", "-q:v", str(JPEG_QUALITIES[0]), "-f", "image2pipe", "pipe:1",
    ]  # fmt: skip
    done = await anyio.run_process(args, check=False)
    if done.returncode != 0 or not done.stdout:
        lines = done.stderr.decode("utf-8", "replace").splitlines()
        raise ffmpeg_failed(summarize_stderr(lines), lines[-40:], graph)
    return await _within_budget(exe, done.stdout)


async def _within_budget(exe: str, jpeg: bytes) -> bytes:
    """``jpeg`` encoded again, coarser, until it is at most MAX_FRAME_BYTES."""
    original, quality = jpeg, JPEG_QUALITIES[0]
    while len(jpeg) > MAX_FRAME_BYTES and quality < JPEG_QUALITIES[-1]:
        # The size falls about as fast as the quantiser rises: jump close to what should fit.
        wanted = math.ceil(quality * len(jpeg) / MAX_FRAME_BYTES)
        quality = min(JPEG_QUALITIES[-1], max(q for q in JPEG_QUALITIES if q <= max(wanted, quality + 1)))
        again = [exe, "-hide_banner", "-nostdin", "-v", "error", "-f", "image2pipe", "-c:v", "mjpeg", "-i", "pipe:0",
                 "-c:v", "mjpeg", "-q:v", str(quality), "-f", "image2pipe", "pipe:1"]  # fmt: skip
        smaller = await anyio.run_process(again, input=original, check=False)
        if smaller.returncode != 0 or not smaller.stdout:
            break
        jpeg = smaller.stdout
    return jpeg


async def video_stills(
    path: Path, times_s: Sequence[float], long_side: int = 360, *, ffmpeg: str | None = None
) -> list[Still]:
    """JPEG frames of a video file (an export) at ``times_s``, each at most 60 KB, in parallel."""
    info = await anyio.to_thread.run_sync(probe, path)
    if not info.width or not info.height:
        raise RenderError(f"{path.name} has no picture to show.")
    exe = ffmpeg or ffmpeg_exe()
    size = frame_size(info.width, info.height, min(long_side, MAX_LONG_SIDE, max(info.width, info.height)))
    # The last frame starts a frame before the end: seeking to the very end finds nothing.
    last = max(0.0, (info.duration_s or 0.0) - 1 / FPS)

    async def one(_index: int, time_s: float, limiter: anyio.CapacityLimiter) -> Still:
        at = min(max(0.0, time_s if math.isfinite(time_s) else 0.0), last)
        args = [
            exe, "-hide_banner", "-nostdin", "-v", "error", "-ss", seconds(at), "-i", str(path),
            "-frames:v", "1", "-vf", f"scale={size[0]}:{size[1]}",
            "-c:v", "mjpeg", "-q:v", str(JPEG_QUALITIES[0]), "-f", "image2pipe", "pipe:1",
        ]  # fmt: skip
        async with limiter:
            done = await anyio.run_process(args, check=False)
            if done.returncode != 0 or not done.stdout:
                why = summarize_stderr(done.stderr.decode("utf-8", "replace").splitlines())
                raise RenderError(f"Could not read a frame of {path.name}: {why}")
            return Still(round(at, 3), await _within_budget(exe, done.stdout), *size)

    return await _each_time(times_s, one)
