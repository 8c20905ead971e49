"""Rendering a draft into an MP4 with one ffmpeg filter graph.

The graph (see ``build_graph``):

* every video-track segment becomes one branch of identical size, frame rate,
  pixel format and time base, so consecutive branches can be joined by
  ``xfade`` where the draft makes them overlap (and butted where it does not);
* images are decoded once and repeated with ``loop``; their slow zoom (Ken
  Burns) is a per-frame ``scale`` of the prepared picture followed by a centre
  crop. That is ~10x cheaper than the usual ``zoompan`` at twice the output
  size, which dominated the render time (see ``bench/render.py``);
* titles are ``drawtext`` over the joined video, with the packaged font and the
  text read from a file, so no character of the title needs escaping;
* clip audio, music (at the segment's volume) and silence are mixed with
  ``amix ... normalize=0`` (normalising would halve every level) and cut to the
  video length, so the output always has exactly one AAC track.

The graph is long, so it is written to a file and read with
``-/filter_complex FILE`` (ffmpeg 9 dropped ``-filter_complex_script``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import tempfile
import textwrap
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from nemo_mcp.draft import keys, media
from nemo_mcp.errors import NemoError, RenderFailed
from nemo_mcp.local.probe import MediaInfo, ffmpeg_exe, probe

log = logging.getLogger(__name__)

FONT_FILE = Path(__file__).with_name("fonts") / "DejaVuSans-Bold.ttf"
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1080, 1920
FPS = 30
SAMPLE_RATE = 48000
ZOOM = 1.15  # how far an image zooms in over its segment
# Measured on a 1080x1920 slideshow: veryfast with these two settings has the same SSIM and PSNR
# as plain veryfast at the same CRF (files ~10% larger) for ~30% less encoder CPU, which is what
# takes a 2-core render past 2x real time.
FAST_X264_PARAMS = "subme=1:me=dia"
# ffmpeg reports progress twice a second; this long without the output growing means it is stuck.
STALL_TIMEOUT_S = 60.0

# The packaged font has no Chinese, Japanese or Korean glyphs, and a CJK font is too big to ship;
# titles in those scripts use the first of these system fonts that exists.
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "C:/Windows/Fonts/msyhbd.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
_CJK = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")

ZoomMethod = Literal["scale", "zoompan"]
Resolver = Callable[[str], Path | None]


class RenderError(RenderFailed):
    """A local render failed; the message says why in a user's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message, render_id="local")


# ---------------------------------------------------------------------------
# The plan: what the draft asks for, in frames and resolved files.


@dataclass
class VideoPart:
    kind: Literal["image", "video", "blank"]
    label: str
    frames: int
    start_frame: int  # where the part begins on the output timeline
    overlap: int = 0  # frames of crossfade with the part before
    path: Path | None = None
    zoom: bool = False
    source_start_s: float = 0.0
    volume: float = 1.0


@dataclass
class AudioPart:
    label: str
    path: Path
    start_s: float
    duration_s: float
    source_start_s: float
    volume: float


@dataclass
class TextPart:
    text: str
    start_s: float
    end_s: float


@dataclass
class RenderPlan:
    width: int
    height: int
    fps: int
    total_frames: int
    video: list[VideoPart] = field(default_factory=list)
    music: list[AudioPart] = field(default_factory=list)
    texts: list[TextPart] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.total_frames / self.fps


def _ms(seg: Mapping[str, Any], key: keys.Key) -> float:
    return float(keys.read_number(seg, key) or 0)


def _volume(seg: Mapping[str, Any], default: float) -> float:
    volume = keys.read_volume(seg)
    return default if volume is None else volume


def _has_zoom(seg: Mapping[str, Any]) -> bool:
    fx = keys.read_any(seg, keys.EFFECT)
    if isinstance(fx, str):
        return fx.lower() in {"zoom", "zoom_in", "kenburns", "ken_burns", "ken-burns"}
    if isinstance(fx, list):
        return any(isinstance(item, str) and item.lower() in {"zoom", "zoom_in"} for item in fx)
    return False


def _describe(seg: Mapping[str, Any]) -> str:
    seg_id = seg.get("id")
    name = keys.read_text(seg, keys.NAME) or keys.read_text(seg, keys.SOURCE) or "?"
    return f"segment {seg_id} ({name})" if seg_id else f"segment {name}"


def _tracks(draft: Mapping[str, Any], track_type: int) -> Iterable[Mapping[str, Any]]:
    for track in keys.read_list(draft, keys.TRACKS) or []:
        if not isinstance(track, Mapping) or keys.read_track_type(track)[0] != track_type:
            continue
        yield from (seg for seg in keys.read_list(track, keys.SEGMENTS) or [] if isinstance(seg, Mapping))


def _even(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 16:
        return default
    return min(4096, int(value) // 2 * 2)  # yuv420p needs even sizes


def plan_from_draft(draft: Mapping[str, Any], resolve: Resolver, fps: int = FPS) -> RenderPlan:
    """Turn a draft into frames and files; raises RenderError for what cannot be rendered."""
    meta = keys.read_mapping(draft, keys.META) or {}
    width = _even(keys.read_number(meta, keys.WIDTH), DEFAULT_WIDTH)
    height = _even(keys.read_number(meta, keys.HEIGHT), DEFAULT_HEIGHT)

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

    video_segments = sorted(_tracks(draft, keys.TRACK_VIDEO), key=lambda seg: _ms(seg, keys.START))
    plan = RenderPlan(width, height, fps, total_frames=0)
    cursor = 0
    for seg in video_segments:
        start, end = frame(_ms(seg, keys.START)), frame(_ms(seg, keys.START) + _ms(seg, keys.DURATION))
        if end <= start:
            continue
        path = local_file(seg)
        kind = keys.read_kind(seg) or ""
        if kind not in {"image", "video"}:
            kind = "image" if media.kind_of(path.name) == "image" else "video"
        if kind == "video" and media.kind_of(path.name) == "audio":
            continue  # an audio file on the video track has no picture to show
        if start > cursor:  # a gap on the track shows black
            plan.video.append(VideoPart("blank", "gap", start - cursor, cursor))
            cursor = start
        overlap = max(0, cursor - start)
        # A crossfade can neither be longer than the new part nor reach before the video's start.
        overlap = min(overlap, end - start - 1, cursor - 1) if overlap else 0
        overlap = max(overlap, 0)
        part_start = cursor - overlap
        frames = max(end - start, overlap + 1)
        plan.video.append(
            VideoPart(
                "image" if kind == "image" else "video",
                _describe(seg),
                frames,
                part_start,
                overlap=overlap,
                path=path,
                zoom=kind == "image" and _has_zoom(seg),
                source_start_s=_ms(seg, keys.SOURCE_START) / 1000,
                volume=_volume(seg, 1.0),
            )
        )
        cursor = part_start + frames

    others_end = 0
    for track_type in (keys.TRACK_AUDIO, keys.TRACK_TEXT):
        for seg in _tracks(draft, track_type):
            others_end = max(others_end, frame(_ms(seg, keys.START) + _ms(seg, keys.DURATION)))
    if cursor == 0:
        # No picture at all: a black background as long as the titles and music ask for.
        fallback = frame(_ms(draft, keys.DURATION))
        cursor = others_end or fallback
        if cursor <= 0:
            raise RenderError("The timeline is empty, so there is nothing to render.")
        plan.video.append(VideoPart("blank", "background", cursor, 0))
    plan.total_frames = cursor
    total_s = plan.duration_s

    for seg in _tracks(draft, keys.TRACK_AUDIO):
        start_s = _ms(seg, keys.START) / 1000
        duration_s = min(_ms(seg, keys.DURATION) / 1000, total_s - start_s)
        if duration_s <= 0:
            continue
        plan.music.append(
            AudioPart(
                _describe(seg),
                local_file(seg),
                start_s,
                duration_s,
                _ms(seg, keys.SOURCE_START) / 1000,
                _volume(seg, 1.0),
            )
        )
    for seg in _tracks(draft, keys.TRACK_TEXT):
        text = keys.read_text(seg, keys.TEXT)
        if text is None:
            continue
        start_s = _ms(seg, keys.START) / 1000
        end_s = min(start_s + _ms(seg, keys.DURATION) / 1000, total_s)
        if end_s > start_s:
            plan.texts.append(TextPart(text.strip(), start_s, end_s))
    return plan


# ---------------------------------------------------------------------------
# The filter graph.


def escape_value(value: str) -> str:
    """Escape a filter option value for the two parsing levels of a filter graph.

    ffmpeg unescapes the option list of a filter once (``\\``, ``'`` and ``:``)
    and the graph text once more (``\\``, ``'``, ``[``, ``]``, ``,``, ``;``).
    """
    level1 = re.sub(r"([\\':])", r"\\\1", value)
    return re.sub(r"([\\'\[\],;])", r"\\\1", level1)


def _seconds(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


@dataclass
class FilterGraph:
    input_args: list[str]
    graph: str
    text_files: dict[str, str]  # file name in the work dir -> its content


def font_for(text: str, default: Path, candidates: Iterable[str] = CJK_FONT_CANDIDATES) -> Path:
    """``default``, unless the text needs CJK glyphs and the system has a font with them."""
    if _CJK.search(text):
        for candidate in candidates:
            if Path(candidate).is_file():
                return Path(candidate)
        log.warning("no CJK font found on this system; the title %r may show empty boxes", text)
    return default


def title_layout(text: str, width: int, height: int) -> tuple[str, int]:
    """Wrap a title to the frame and pick a font size that keeps it within ~90% of the width."""
    size = max(12, round(min(width, height) * 0.09))
    floor = max(10, size // 3)
    # DejaVu Sans Bold averages about 0.68 em per character; CJK glyphs are a full em wide.
    em_per_char = 1.0 if _CJK.search(text) else 0.68
    while True:
        per_line = max(1, int(width * 0.88 / (size * em_per_char)))
        lines: list[str] = []
        for paragraph in text.splitlines() or [""]:
            lines.extend(textwrap.wrap(paragraph, per_line) or [""])
        if (max(len(line) for line in lines) <= per_line and len(lines) <= 4) or size <= floor:
            return "\n".join(lines), size
        size = max(floor, int(size * 0.85))


def build_graph(
    plan: RenderPlan,
    infos: Mapping[Path, MediaInfo],
    *,
    font_file: Path = FONT_FILE,
    work_dir: Path,
    zoom_method: ZoomMethod = "scale",
) -> FilterGraph:
    """The ffmpeg input arguments and filter graph text for a plan.

    ``infos`` are the probed facts of every file in the plan (clip audio needs them);
    ``work_dir`` is where the caller writes ``text_files`` before running ffmpeg.
    """
    w, h, fps = plan.width, plan.height, plan.fps
    total_s = plan.duration_s
    input_args: list[str] = []
    chains: list[str] = []
    audio_labels: list[str] = []
    text_files: dict[str, str] = {}
    input_count = 0

    def add_input(*args: str) -> int:
        nonlocal input_count
        input_args.extend(args)
        input_count += 1
        return input_count - 1

    # Every audio branch is padded and cut to the whole video's length: amix inputs that end at
    # different times made ffmpeg 9's amix stop at the first one's end now and then, and an
    # unbounded apad after it then never ended.
    full_length = f"apad=whole_dur={_seconds(total_s)},atrim=end={_seconds(total_s)}"
    # Cropping to the output's aspect before scaling keeps scale's work to the visible part.
    cover = f"crop=w='min(iw,ih*{w}/{h})':h='min(ih,iw*{h}/{w})',setsar=1"
    normalise = f"setsar=1,format=yuv420p,fps={fps},settb=1/{fps}"

    video_labels: list[str] = []
    for index, part in enumerate(plan.video):
        label = f"v{index}"
        n = part.frames
        part_s = n / fps
        if part.kind == "blank":
            chain = f"color=c=black:s={w}x{h}:r={fps}:d={_seconds(part_s)},{normalise}"
        elif part.kind == "image":
            assert part.path is not None
            k = add_input("-i", str(part.path))
            # One decoded frame, repeated: images are never decoded n times.
            if part.zoom and zoom_method == "zoompan":
                chain = (
                    f"[{k}:v]trim=end_frame=1,scale={2 * w}:{2 * h}:force_original_aspect_ratio=increase,"
                    f"crop={2 * w}:{2 * h},setsar=1,"
                    f"zoompan=z='1+{ZOOM - 1:.2f}*on/{max(n - 1, 1)}':x='iw/2-(iw/zoom/2)':"
                    f"y='ih/2-(ih/zoom/2)':d={n}:s={w}x{h}:fps={fps},scale=out_range=tv,{normalise}"
                )
            elif part.zoom:
                # Zoom by rescaling a picture prepared at the final zoom's size and centre-cropping.
                # Steps of 4 px keep the crop offsets even, i.e. exact for yuv420p's half-size chroma.
                # Bilinear is enough for ratios of 0.87..1 and saves ~15% of the graph's time.
                steps_w = max(1, round(w * (ZOOM - 1) / 4))
                steps_h = max(1, round(h * (ZOOM - 1) / 4))
                zw, zh, last = w + 4 * steps_w, h + 4 * steps_h, max(n - 1, 1)
                chain = (
                    f"[{k}:v]trim=end_frame=1,{cover},scale={zw}:{zh}:out_range=tv,setsar=1,format=yuv420p,"
                    f"loop=loop={n - 1}:size=1,setpts=N/{fps}/TB,fps={fps},"
                    f"scale=w='{w}+4*trunc({steps_w}*n/{last})':h='{h}+4*trunc({steps_h}*n/{last})':eval=frame:flags=bilinear,"
                    f"crop={w}:{h},{normalise}"
                )
            else:
                chain = (
                    f"[{k}:v]trim=end_frame=1,{cover},scale={w}:{h}:out_range=tv,setsar=1,format=yuv420p,"
                    f"loop=loop={n - 1}:size=1,setpts=N/{fps}/TB,{normalise}"
                )
        else:
            assert part.path is not None
            # Seek on input and read only what the segment needs; tpad covers a clip that is too short.
            k = add_input("-ss", _seconds(part.source_start_s), "-t", _seconds(part_s + 0.5), "-i", str(part.path))
            chain = (
                f"[{k}:v]setpts=PTS-STARTPTS,fps={fps},{cover},scale={w}:{h}:out_range=tv,setsar=1,"
                f"format=yuv420p,tpad=stop_mode=clone:stop_duration={_seconds(part_s)},"
                f"trim=end_frame={n},setpts=PTS-STARTPTS,{normalise}"
            )
            info = infos.get(part.path)
            if info is not None and info.has_audio and part.volume > 0:
                start_s = part.start_frame / fps
                # Clip sound crossfades with its neighbours as the picture does.
                fades = f",afade=t=in:d={_seconds(part.overlap / fps)}" if part.overlap else ""
                following = plan.video[index + 1].overlap if index + 1 < len(plan.video) else 0
                if following:
                    fades += f",afade=t=out:st={_seconds((n - following) / fps)}:d={_seconds(following / fps)}"
                a_label = f"a{len(audio_labels)}"
                chains.append(
                    f"[{k}:a]asetpts=PTS-STARTPTS,aresample={SAMPLE_RATE},"
                    f"aformat=sample_fmts=fltp:channel_layouts=stereo,"
                    f"apad=whole_dur={_seconds(part_s)},atrim=duration={_seconds(part_s)},"
                    f"volume={part.volume:.4f}{fades},"
                    f"adelay={round(start_s * 1000)}:all=1,{full_length}[{a_label}]"
                )
                audio_labels.append(a_label)
        chains.append(f"{chain}[{label}]")
        video_labels.append(label)

    # Join the parts: xfade where the draft overlaps them, concat where it butts them.
    current = video_labels[0]
    length = plan.video[0].frames
    for index, part in enumerate(plan.video[1:], start=1):
        out = f"j{index}"
        if part.overlap > 0:
            offset = (length - part.overlap) / fps
            chains.append(
                f"[{current}][{video_labels[index]}]xfade=transition=fade:"
                f"duration={_seconds(part.overlap / fps)}:offset={_seconds(offset)}[{out}]"
            )
        else:
            chains.append(f"[{current}][{video_labels[index]}]concat=n=2:v=1:a=0[{out}]")
        length += part.frames - part.overlap
        current = out

    for index, text in enumerate(plan.texts):
        wrapped, size = title_layout(text.text, w, h)
        name = f"title{index}.txt"
        text_files[name] = wrapped
        out = f"t{index}"
        enable = f"between(t,{_seconds(text.start_s)},{_seconds(max(text.start_s, text.end_s - 0.5 / fps))})"
        chains.append(
            f"[{current}]drawtext=fontfile={escape_value(str(font_for(text.text, font_file)))}:"
            f"textfile={escape_value(str(work_dir / name))}:expansion=none:text_align=C:"
            f"fontsize={size}:fontcolor=white:borderw={max(2, size // 16)}:bordercolor=black@0.85:"
            f"box=1:boxcolor=black@0.4:boxborderw={max(8, size // 3)}:line_spacing={size // 5}:"
            f"x=(w-text_w)/2:y=(h-text_h)/2:enable={escape_value(enable)}[{out}]"
        )
        current = out
    chains.append(f"[{current}]trim=end_frame={plan.total_frames},setpts=PTS-STARTPTS[vout]")

    for music in plan.music:
        # Loop the file so short music still fills its segment; -t bounds what is read.
        k = add_input(
            "-stream_loop",
            "-1",
            "-t",
            _seconds(music.source_start_s + music.duration_s + 1),
            "-i",
            str(music.path),
        )
        a_label = f"a{len(audio_labels)}"
        chains.append(
            f"[{k}:a]atrim=start={_seconds(music.source_start_s)},asetpts=PTS-STARTPTS,"
            f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"atrim=duration={_seconds(music.duration_s)},volume={music.volume:.4f},"
            f"adelay={round(music.start_s * 1000)}:all=1,{full_length}[{a_label}]"
        )
        audio_labels.append(a_label)

    tail = f"{full_length},aformat=sample_fmts=fltp:channel_layouts=stereo[aout]"
    if not audio_labels:
        chains.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,{tail}")
    elif len(audio_labels) == 1:
        chains.append(f"[{audio_labels[0]}]{tail}")
    else:
        joined = "".join(f"[{label}]" for label in audio_labels)
        chains.append(
            f"{joined}amix=inputs={len(audio_labels)}:normalize=0:duration=longest:dropout_transition=0,{tail}"
        )
    return FilterGraph(input_args, ";\n".join(chains) + "\n", text_files)


# ---------------------------------------------------------------------------
# Running ffmpeg.

_LOG_PREFIX = re.compile(r"^(\[[^\]]*@ 0x[0-9a-f]+\]\s*)+")
_NOISE = ("Task finished with error code", "Terminating thread with return code", "Nothing was written")


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
        zoom_method: ZoomMethod = "scale",
        stall_timeout_s: float = STALL_TIMEOUT_S,
        progress_scale: float = 100.0,
    ) -> None:
        """``resolve`` maps a segment's ``src`` URL to its local file (``None``: not available).

        ``progress_scale``: what complete is reported as (100 for percent, 1.0 for a fraction).
        ``stall_timeout_s``: ffmpeg is stopped when its output has not grown for this long.
        ``zoom_method="zoompan"`` and ``x264_params=None`` give the slower reference render of
        bench/render.py (Ken Burns with zoompan at twice the size, plain ``-preset veryfast``).
        """
        self._resolve = resolve
        self._preset = preset
        self._crf = crf
        self._x264_params = x264_params
        self._fps = fps
        self._ffmpeg = ffmpeg
        self._font_file = font_file
        self._zoom_method: ZoomMethod = zoom_method
        self._stall_timeout_s = stall_timeout_s
        self._progress_scale = progress_scale

    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        """Render ``draft`` to ``out_path``; progress goes to ``on_progress`` (0..``progress_scale``).

        On failure or cancellation ffmpeg is killed and no file is left at ``out_path``.
        """
        out_path = Path(out_path)
        out_path.unlink(missing_ok=True)
        plan = plan_from_draft(draft, self._resolve, self._fps)
        infos = await self._probe_all(plan)
        exe = self._ffmpeg or ffmpeg_exe()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = out_path.with_name(f".{out_path.name}.part.mp4")
        with tempfile.TemporaryDirectory(prefix="nemo-render-") as tmp:
            work = Path(tmp)
            graph = build_graph(plan, infos, font_file=self._font_file, work_dir=work, zoom_method=self._zoom_method)
            for name, content in graph.text_files.items():
                (work / name).write_text(content, encoding="utf-8")
            graph_file = work / "graph.txt"
            graph_file.write_text(graph.graph, encoding="utf-8")
            args = [
                exe, "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-y",
                *graph.input_args,
                "-/filter_complex", str(graph_file),
                "-map", "[vout]", "-map", "[aout]",
                "-c:v", "libx264", "-preset", self._preset, "-crf", str(self._crf),
                *(["-x264-params", self._x264_params] if self._x264_params else []),
                "-pix_fmt", "yuv420p", "-color_range", "tv", "-r", str(plan.fps),
                "-c:a", "aac", "-b:a", "192k", "-ar", str(SAMPLE_RATE), "-ac", "2",
                "-t", _seconds(plan.duration_s),
                "-movflags", "+faststart", "-f", "mp4",
                "-progress", "pipe:1",
                str(partial),
            ]  # fmt: skip
            log.debug("ffmpeg graph for %s:\n%s", out_path, graph.graph)
            try:
                await self._run(args, plan.duration_s, self._scaled(on_progress))
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

    async def _probe_all(self, plan: RenderPlan) -> dict[Path, MediaInfo]:
        infos: dict[Path, MediaInfo] = {}
        labelled = [(p.path, p.label) for p in plan.video if p.path is not None]
        labelled += [(p.path, p.label) for p in plan.music]
        for path, label in labelled:
            if path in infos:
                continue
            try:
                infos[path] = await anyio.to_thread.run_sync(probe, path)
            except NemoError as exc:
                raise RenderError(f"The timeline's {label} cannot be rendered: {exc}") from exc
        for part in plan.music:
            if not infos[part.path].has_audio:
                raise RenderError(f"The timeline's {part.label} has no sound to play as music.")
        for vpart in plan.video:
            if vpart.path is not None and not infos[vpart.path].has_video:
                raise RenderError(f"The timeline's {vpart.label} has no picture to show on the video track.")
        return infos

    async def _run(self, args: list[str], duration_s: float, on_progress: Callable[[float], None]) -> None:
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
            raise RenderError(f"ffmpeg could not render the video: {summarize_stderr(stderr_tail)}")
