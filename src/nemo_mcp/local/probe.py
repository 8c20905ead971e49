"""Finding ffmpeg and reading a media file's basic facts from it.

The ffmpeg of ``imageio-ffmpeg`` ships without ffprobe, so facts come from the
banner ``ffmpeg -hide_banner -i FILE`` prints on stderr (it exits non-zero
because no output is named; that is expected).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nemo_mcp.errors import ConfigError, UnsupportedFile

log = logging.getLogger(__name__)

FFMPEG_ENV = "NEMO_FFMPEG"
INSTALL_HINT = "pip install 'nemo-mcp[local]'"
PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float | None
    width: int | None
    height: int | None
    has_audio: bool
    has_video: bool
    # An animated picture (GIF, APNG, animated WebP): it plays like a clip, looped to its segment.
    animated: bool = False
    video_codec: str | None = None


def ffmpeg_exe() -> str:
    """The ffmpeg to run: ``NEMO_FFMPEG`` if set, else the one bundled by imageio-ffmpeg."""
    configured = os.environ.get(FFMPEG_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None and Path(configured).is_file():
            found = configured
        if found is None:
            raise ConfigError(f"{FFMPEG_ENV} is set to {configured!r}, but no ffmpeg program is there.")
        return found
    try:
        # Imported by name: an optional dependency without type information.
        imageio_ffmpeg = importlib.import_module("imageio_ffmpeg")
    except ImportError as exc:
        raise ConfigError(
            "The local backend needs ffmpeg, which comes with the 'local' extra: "
            f"run `{INSTALL_HINT}` (or point {FFMPEG_ENV} at an ffmpeg program)."
        ) from exc
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # no binary for this platform in the wheel
        raise ConfigError(
            f"imageio-ffmpeg has no ffmpeg for this platform ({exc}); install ffmpeg and set {FFMPEG_ENV} to it."
        ) from exc


_DURATION = re.compile(r"^\s*Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", re.MULTILINE)
_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (.*)$", re.MULTILINE)
_SIZE = re.compile(r"(?<![0-9x])(\d{2,5})x(\d{2,5})(?![0-9x])")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")


def parse_banner(stderr: str) -> MediaInfo:
    """Facts from ffmpeg's input banner; unknown values stay ``None``."""
    duration: float | None = None
    if match := _DURATION.search(stderr):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    width = height = None
    has_audio = has_video = False
    codec: str | None = None
    for kind, details in _STREAM.findall(stderr):
        if kind == "Audio":
            has_audio = True
            continue
        # Cover art inside audio files shows up as a video stream; it is not video.
        if "(attached pic)" in details:
            continue
        has_video = True
        codec = codec or details.split(",", 1)[0].split()[0].strip() or None
        if width is None and (size := _SIZE.search(details)):
            width, height = int(size.group(1)), int(size.group(2))
    # Phone videos store portrait as landscape plus a rotation; ffmpeg rotates on decode, so report
    # the size a viewer sees.
    rotation = _ROTATION.search(stderr)
    if width is not None and rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width
    return MediaInfo(duration, width, height, has_audio, has_video, video_codec=codec)


def probe(path: Path) -> MediaInfo:
    """Duration, size and stream kinds of a media file. Blocks: call it from a worker thread."""
    if not path.is_file():
        raise UnsupportedFile(f"The media file {path.name!r} does not exist.")
    try:
        done = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UnsupportedFile(f"Reading {path.name!r} took too long; the file may be damaged.") from exc
    stderr = done.stderr.decode("utf-8", "replace")
    info = parse_banner(stderr)
    if not (info.has_audio or info.has_video):
        reason = _last_line(stderr) or "no audio or video stream found"
        log.debug("probe of %s failed: %s", path, stderr)
        raise UnsupportedFile(f"{path.name!r} is not a media file ffmpeg can read ({reason}).")
    if info.video_codec in ANIMATABLE_CODECS and _has_two_frames(path):
        info = dataclasses.replace(info, animated=True)
    return info


# Picture formats that may hold an animation; the banner does not say whether one does.
ANIMATABLE_CODECS = frozenset({"gif", "apng", "webp", "webp_anim"})


def _has_two_frames(path: Path) -> bool:
    """Whether the file's picture has a second frame (copied, not decoded: cheap)."""
    try:
        done = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy",
             "-frames:v", "2", "-f", "framecrc", "-"],
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    packets = [line for line in done.stdout.decode("ascii", "replace").splitlines() if line and line[0] != "#"]
    return len(packets) >= 2


def probe_cached(path: Path) -> MediaInfo:
    """``probe``, remembered while the file keeps its size and modification time."""
    try:
        stat = path.stat()
    except OSError:
        return probe(path)  # says what is wrong with it
    return _probe_version(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=512)
def _probe_version(path: Path, mtime_ns: int, size: int) -> MediaInfo:
    del mtime_ns, size  # the cache key
    return probe(path)


def _last_line(stderr: str) -> str:
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and "At least one output file must be specified" not in line
    ]
    return lines[-1] if lines else ""
