"""What a draft asks the renderer for, in frames, files and plain values (``plan_from_draft``).

Every value is read through ``draft.keys`` (so aliases and ``m`` work) and checked here, once:
the graph builder trusts a plan. Consecutive video items that overlap are joined by a crossfade
as long as the overlap, but never longer than a quarter of the shorter item (``m.xf`` = 0: cuts);
the earlier item is cut where the crossfade ends, so the later one starts where the draft says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from nemo_mcp.draft import keys, media
from nemo_mcp.draft.edit import DEFAULT_HEIGHT, DEFAULT_WIDTH
from nemo_mcp.errors import NemoError, RenderFailed
from nemo_mcp.local.fonts import find_font
from nemo_mcp.local.probe import MediaInfo, probe_cached

FPS = 30
MIN_SPEED, MAX_SPEED = 0.25, 4.0

Resolver = Callable[[str], Path | None]
Fit = Literal["fill", "fit"]
Motion = Literal["none", "zoom_in", "zoom_out", "pan_left", "pan_right", "drift"]
Position = Literal["top", "center", "bottom"]

# pan_left: the frame travels left across the picture (which slides right); pan_right the other way.
_MOTIONS: dict[str, Motion] = {
    "none": "none",
    "static": "none",
    "zoom": "zoom_in",
    "zoom_in": "zoom_in",
    "zoomin": "zoom_in",
    "kenburns": "zoom_in",
    "ken_burns": "zoom_in",
    "ken-burns": "zoom_in",
    "zoom_out": "zoom_out",
    "zoomout": "zoom_out",
    "pan_left": "pan_left",
    "pan_right": "pan_right",
    "drift": "drift",
}
_FITS: dict[str, Fit] = {
    "fill": "fill",
    "cover": "fill",
    "crop": "fill",
    "fit": "fit",
    "contain": "fit",
    "letterbox": "fit",
}
_POSITIONS: dict[str, Position] = {
    "top": "top",
    "center": "center",
    "centre": "center",
    "middle": "center",
    "bottom": "bottom",
}
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


class RenderError(RenderFailed):
    """A local render failed; the message says why in a user's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message, render_id="local")


@dataclass
class VideoPart:
    kind: Literal["image", "video", "color", "blank"]
    label: str
    frames: int  # how long it shows, crossfades included
    start_frame: int  # where the part begins on the output timeline
    overlap: int = 0  # frames of crossfade with the part before
    path: Path | None = None
    motion: Motion = "none"
    fit: Fit = "fill"
    background: str = "blur"  # what fills the letterbox in fit mode: "blur" or 0xRRGGBB
    source_start_s: float = 0.0
    speed: float = 1.0
    volume: float = 1.0
    colors: tuple[str, ...] = ("0x000000",)  # a color item: one colour, or the two of a gradient
    # Known after probing (attach_media):
    animated: bool = False  # an animated picture: plays as a clip, looped
    has_audio: bool = False
    source_duration_s: float | None = None

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frames

    @property
    def plays_sound(self) -> bool:
        return self.kind == "video" and self.has_audio and self.volume > 0


@dataclass
class AudioPart:
    label: str
    path: Path
    start_s: float
    duration_s: float
    source_start_s: float
    volume: float
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    duck: float | None = None  # gain multiplier while a clip with sound plays


@dataclass
class TextPart:
    text: str
    start_s: float
    end_s: float
    size: int | None = None  # px on the canvas; None: fitted
    color: str | None = None  # 0xRRGGBB; None: white
    position: Position = "center"


@dataclass
class RenderPlan:
    width: int
    height: int
    fps: int
    total_frames: int
    video: list[VideoPart] = field(default_factory=list)
    music: list[AudioPart] = field(default_factory=list)
    texts: list[TextPart] = field(default_factory=list)
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.total_frames / self.fps


# ---------------------------------------------------------------------------
# Reading values.


def _ms(seg: Mapping[str, Any], key: keys.Key) -> float:
    return float(keys.read_number(seg, key) or 0)


def _describe(seg: Mapping[str, Any]) -> str:
    seg_id = seg.get("id")
    name = keys.read_text(seg, keys.NAME) or keys.read_text(seg, keys.SOURCE) or "?"
    return f"segment {seg_id} ({name})" if seg_id else f"segment {name}"


def _tracks(draft: Mapping[str, Any], track_type: int) -> Iterable[Mapping[str, Any]]:
    for track in keys.read_list(draft, keys.TRACKS) or []:
        if not isinstance(track, Mapping) or keys.read_track_type(track)[0] != track_type:
            continue
        yield from (seg for seg in keys.read_list(track, keys.SEGMENTS) or [] if isinstance(seg, Mapping))


def _even(value: float | None, default: int) -> int:
    """A size from ``keys.read_number`` (None, or a finite non-negative number that is no bool):
    an int past float range is merely too large, like any width over 4096."""
    if value is None or value < 16:
        return default
    return min(4096, int(value) // 2 * 2)  # yuv420p needs even sizes


def color_value(value: Any) -> str | None:
    """``#rrggbb`` (or ``#rgb``) as ffmpeg's ``0xRRGGBB``; anything else is None."""
    if not isinstance(value, str) or not (match := _HEX.fullmatch(value.strip())):
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "0x" + digits.upper()


def _choice(obj: Mapping[str, Any], key: keys.Key, table: Mapping[str, Any]) -> Any:
    value = keys.read_text(obj, key)
    return None if value is None else table.get(value.strip().lower().replace(" ", "_"))


def read_motion(seg: Mapping[str, Any]) -> Motion:
    fx = keys.read_any(seg, keys.EFFECT)
    names = fx if isinstance(fx, list) else [fx]
    for name in names:
        if isinstance(name, str) and (motion := _MOTIONS.get(name.strip().lower().replace(" ", "_"))):
            return motion
    return "none"


def _background(obj: Mapping[str, Any]) -> str | None:
    value = keys.read_text(obj, keys.BACKGROUND)
    if value is None:
        return None
    if value.strip().lower() in {"blur", "blurred"}:
        return "blur"
    return color_value(value)


# ---------------------------------------------------------------------------
# The plan.


def plan_from_draft(draft: Mapping[str, Any], resolve: Resolver, fps: int = FPS) -> RenderPlan:
    """Turn a draft into frames and files; raises RenderError for what cannot be rendered."""
    meta = keys.read_mapping(draft, keys.META) or {}
    width = _even(keys.read_number(meta, keys.WIDTH), DEFAULT_WIDTH)
    height = _even(keys.read_number(meta, keys.HEIGHT), DEFAULT_HEIGHT)
    draft_fit: Fit = _choice(meta, keys.FIT, _FITS) or "fill"
    draft_bg = _background(meta) or "blur"
    crossfades = keys.read_number(meta, keys.CROSSFADE) != 0

    def frame(ms: float) -> int:
        return round(ms * fps / 1000)

    def local_file(seg: Mapping[str, Any]) -> Path:
        src = keys.read_text(seg, keys.SOURCE)
        if not src:
            raise RenderError(f"The timeline's {_describe(seg)} has no media source.")
        path = resolve(src)
        if path is None or not path.is_file():
            raise RenderError(
                f"The media of the timeline's {_describe(seg)} is not available locally ({src}); "
                "upload it again in this session."
            )
        return path

    plan = RenderPlan(width, height, fps, total_frames=0)
    plan.fade_in_s = _ms(meta, keys.FADE_IN) / 1000
    plan.fade_out_s = _ms(meta, keys.FADE_OUT) / 1000

    items: list[tuple[VideoPart, int]] = []  # each part with its full length in the draft
    for seg in sorted(_tracks(draft, keys.TRACK_VIDEO), key=lambda seg: _ms(seg, keys.START)):
        start, end = frame(_ms(seg, keys.START)), frame(_ms(seg, keys.START) + _ms(seg, keys.DURATION))
        if end <= start:
            continue
        part = _video_part(seg, start, end - start, local_file, draft_fit, draft_bg)
        if part is not None:
            items.append((part, part.frames))
    last_end = _lay_out(plan, items, crossfades)

    total = frame(_ms(draft, keys.DURATION))
    if total <= 0:
        total = last_end
        for track_type in (keys.TRACK_AUDIO, keys.TRACK_TEXT):
            for seg in _tracks(draft, track_type):
                total = max(total, frame(_ms(seg, keys.START) + _ms(seg, keys.DURATION)))
    if total <= 0:
        raise RenderError("The timeline is empty, so there is nothing to render.")
    plan.total_frames = total
    # Cut what runs past the end; a timeline longer than its pictures ends on black.
    plan.video = [part for part in plan.video if part.start_frame < total]
    # A part cut inside its crossfade has nothing of its own left: the one before it ends the video.
    while plan.video and plan.video[-1].overlap and total - plan.video[-1].start_frame <= plan.video[-1].overlap:
        plan.video.pop()
    for part in plan.video:
        part.frames = min(part.frames, total - part.start_frame)
    covered = plan.video[-1].end_frame if plan.video else 0
    if covered < total:
        plan.video.append(VideoPart("blank", "end", total - covered, covered))
    total_s = plan.duration_s

    for seg in _tracks(draft, keys.TRACK_AUDIO):
        start_s = _ms(seg, keys.START) / 1000
        duration_s = min(_ms(seg, keys.DURATION) / 1000, total_s - start_s)
        if duration_s <= 0:
            continue
        volume = keys.read_volume(seg)
        plan.music.append(
            AudioPart(
                _describe(seg),
                local_file(seg),
                start_s,
                duration_s,
                _ms(seg, keys.SOURCE_START) / 1000,
                1.0 if volume is None else volume,
                fade_in_s=min(_ms(seg, keys.FADE_IN) / 1000, duration_s),
                fade_out_s=min(_ms(seg, keys.FADE_OUT) / 1000, duration_s),
                duck=keys.volume(keys.read_number(seg, keys.DUCK)),
            )
        )
    for seg in _tracks(draft, keys.TRACK_TEXT):
        text = keys.read_text(seg, keys.TEXT)
        if text is None:
            continue
        start_s = _ms(seg, keys.START) / 1000
        end_s = min(start_s + _ms(seg, keys.DURATION) / 1000, total_s)
        if end_s <= start_s:
            continue
        size = keys.read_number(seg, keys.FONT_SIZE)
        plan.texts.append(
            TextPart(
                text.strip(),
                start_s,
                end_s,
                size=None if not size else max(8, min(round(size), height // 2)),
                color=color_value(keys.read_text(seg, keys.COLOR)),
                position=_choice(seg, keys.POSITION, _POSITIONS) or "center",
            )
        )
    return plan


def _video_part(
    seg: Mapping[str, Any], start: int, frames: int, local_file: Callable[[Mapping[str, Any]], Path], fit: Fit, bg: str
) -> VideoPart | None:
    label = _describe(seg)
    kind = keys.read_kind(seg) or ""
    if kind == "color" or (kind not in {"image", "video"} and keys.read_text(seg, keys.SOURCE) is None):
        first = color_value(keys.read_text(seg, keys.COLOR)) or "0x000000"
        second = color_value(keys.read_text(seg, keys.COLOR_2))
        colors = (first, second) if second and second != first else (first,)
        motion = read_motion(seg) if len(colors) == 2 else "none"  # a solid colour has nothing to move
        return VideoPart("color", label, frames, start, motion=motion, colors=colors)
    path = local_file(seg)
    if kind not in {"image", "video"}:
        kind = "image" if media.kind_of(path.name) == "image" else "video"
    if kind == "video" and media.kind_of(path.name) == "audio":
        return None  # an audio file on the video track has no picture to show
    speed = keys.read_number(seg, keys.SPEED)
    volume = keys.read_volume(seg)
    return VideoPart(
        "image" if kind == "image" else "video",
        label,
        frames,
        start,
        path=path,
        motion=read_motion(seg) if kind == "image" else "none",
        fit=_choice(seg, keys.FIT, _FITS) or fit,
        background=_background(seg) or bg,
        source_start_s=_ms(seg, keys.SOURCE_START) / 1000,
        speed=min(MAX_SPEED, max(MIN_SPEED, float(speed))) if speed else 1.0,
        volume=1.0 if volume is None else volume,
    )


def _lay_out(plan: RenderPlan, items: list[tuple[VideoPart, int]], crossfades: bool) -> int:
    """Place the parts on the timeline: crossfades where they overlap, black where they leave gaps."""
    laid: list[tuple[VideoPart, int]] = []
    for part, length in items:
        while laid:
            prev, prev_length = laid[-1]
            # The new part starts before the one before it is even fully in: it replaces it.
            if part.start_frame <= prev.start_frame + prev.overlap:
                laid.pop()
                continue
            overlap = prev.end_frame - part.start_frame
            if overlap > 0:
                fade = min(overlap, prev_length // 4, length // 4) if crossfades else 0
                fade = min(fade, part.start_frame - prev.start_frame - prev.overlap - 1)
                part.overlap = max(0, fade)
                prev.frames = part.start_frame + part.overlap - prev.start_frame
            break
        laid.append((part, length))
    cursor = 0
    for part, _length in laid:
        if part.start_frame > cursor:  # a gap on the track shows black
            plan.video.append(VideoPart("blank", "gap", part.start_frame - cursor, cursor))
        plan.video.append(part)
        cursor = part.end_frame
    return cursor


async def prepare_plan(draft: Mapping[str, Any], resolve: Resolver, fps: int = FPS) -> RenderPlan:
    """``plan_from_draft`` with every file probed (in parallel), ``attach_media`` done and the
    texts' fonts looked up (``find_font`` remembers them for the graph)."""
    plan = plan_from_draft(draft, resolve, fps)
    labelled = {part.path: part.label for part in plan.video if part.path is not None}
    labelled |= {part.path: part.label for part in plan.music if part.path not in labelled}
    infos: dict[Path, MediaInfo] = {}
    failures: list[RenderError] = []

    async def probe_one(path: Path, label: str) -> None:
        try:
            infos[path] = await anyio.to_thread.run_sync(probe_cached, path)
        except NemoError as exc:
            failures.append(RenderError(f"The timeline's {label} cannot be rendered: {exc}"))

    def find_fonts() -> None:  # fontconfig runs a program: out of the event loop, once per text
        for text in plan.texts:
            find_font(text.text)

    async with anyio.create_task_group() as tg:
        for path, label in labelled.items():
            tg.start_soon(probe_one, path, label)
        tg.start_soon(anyio.to_thread.run_sync, find_fonts)
    if failures:
        raise failures[0]
    attach_media(plan, infos)
    return plan


def attach_media(plan: RenderPlan, infos: Mapping[Path, MediaInfo]) -> None:
    """Add what probing found to the plan; raises RenderError for media that cannot play their part."""
    for music in plan.music:
        if not infos[music.path].has_audio:
            raise RenderError(f"The timeline's {music.label} has no sound to play as music.")
    for part in plan.video:
        if part.path is None:
            continue
        info = infos[part.path]
        if not info.has_video:
            raise RenderError(f"The timeline's {part.label} has no picture to show on the video track.")
        part.has_audio = info.has_audio
        part.source_duration_s = info.duration_s
        if info.animated:
            part.kind, part.animated, part.motion = "video", True, "none"
        elif part.kind == "video" and info.duration_s is not None and part.source_start_s >= info.duration_s:
            raise RenderError(
                f"The timeline's {part.label} starts {part.source_start_s:g} s into its clip, "
                f"but the clip is only {info.duration_s:g} s long."
            )
