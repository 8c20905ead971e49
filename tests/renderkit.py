"""Helpers of the render tests: run ffmpeg, decode frames of a rendered file, measure its sound."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from nemo_mcp.local.probe import ffmpeg_exe, parse_banner

BASE = "http://127.0.0.1:9/m/"
KINDS = {"png": "image", "jpg": "image", "gif": "image", "mp4": "video", "wav": "audio"}


def ff(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin" if stdin is None else "-y", *args],
        capture_output=True,
        check=False,
        timeout=120,
        input=stdin,
    )


def make(folder: Path, name: str, *args: str) -> Path:
    done = ff("-v", "error", "-y", *args, str(folder / name))
    assert done.returncode == 0, done.stderr
    return folder / name


def seg(sid: str, name: str, st: int, d: int, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "st": st, "d": d, "n": name, "k": KINDS[name.rsplit(".", 1)[-1]], "src": BASE + name, **extra}


def draft_of(
    video: list[dict[str, Any]],
    music: list[dict[str, Any]] = (),  # type: ignore[assignment]
    titles: list[dict[str, Any]] = (),  # type: ignore[assignment]
    width: int = 360,
    height: int = 640,
    **meta: Any,
) -> dict[str, Any]:
    tracks = [{"tt": 0, "sg": video}, {"tt": 1, "sg": list(music)}, {"tt": 7, "sg": list(titles)}]
    end = max((s["st"] + s["d"] for s in [*video, *music, *titles]), default=0)
    return {"t": tracks, "d": end, "m": {"title": "t", "width": width, "height": height, **meta}}


class Streams:
    def __init__(self, path: Path) -> None:
        banner = ff("-i", str(path)).stderr.decode("utf-8", "replace")
        self.info = parse_banner(banner)
        video = re.search(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\w+)\(", banner)
        audio = re.search(r"Stream #\d+:\d+.*?: Audio: (\w+)", banner)
        self.video_codec: str | None = video.group(1) if video else None
        self.pix_fmt: str | None = video.group(2) if video else None
        self.audio_codec = audio.group(1) if audio else None
        self.is_mp4 = "mov,mp4" in banner


class Picture:
    """One decoded RGB frame."""

    def __init__(self, rgb: bytes, width: int, height: int) -> None:
        assert len(rgb) == width * height * 3, (len(rgb), width, height)
        self.rgb, self.width, self.height = rgb, width, height

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = (y * self.width + x) * 3
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]

    def rows(self, top: float, bottom: float) -> list[tuple[int, int, int]]:
        """The pixels of the band between the fractions ``top`` and ``bottom`` of the height."""
        first, last = int(self.height * top), int(self.height * bottom)
        band = self.rgb[first * self.width * 3 : last * self.width * 3]
        return [(band[i], band[i + 1], band[i + 2]) for i in range(0, len(band), 3)]

    def count(self, top: float, bottom: float, test: Any) -> int:
        return sum(1 for p in self.rows(top, bottom) if test(*p))

    def mean(self, top: float = 0.0, bottom: float = 1.0) -> tuple[float, float, float]:
        pixels = self.rows(top, bottom)
        return tuple(sum(p[c] for p in pixels) / len(pixels) for c in range(3))  # type: ignore[return-value]

    def difference(self, other: Picture) -> float:
        """Mean absolute difference per channel value, 0..255."""
        assert (self.width, self.height) == (other.width, other.height)
        return sum(abs(a - b) for a, b in zip(self.rgb, other.rgb, strict=True)) / len(self.rgb)


def frame_at(path: Path, t: float, width: int, height: int) -> Picture:
    """The frame shown at ``t`` seconds (the frame whose index is round(t*30)), decoded exactly."""
    index = round(t * 30)
    done = ff("-v", "error", "-i", str(path), "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
              "-f", "rawvideo", "-pix_fmt", "rgb24", "-")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Picture(done.stdout, width, height)


def decode_image(data: bytes, width: int, height: int) -> Picture:
    done = ff("-v", "error", "-f", "image2pipe", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-", stdin=data)
    assert done.returncode == 0, done.stderr
    return Picture(done.stdout, width, height)


def scaled(picture: Picture, width: int, height: int) -> Picture:
    done = ff(
        "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{picture.width}x{picture.height}",
        "-i", "pipe:0", "-vf", f"scale={width}:{height}:flags=bicubic", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        stdin=picture.rgb,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Picture(done.stdout, width, height)


def luma_per_frame(path: Path) -> list[float]:
    """The mean brightness of every frame, in order."""
    done = ff("-v", "error", "-i", str(path), "-vf", "scale=8:8,format=gray", "-f", "rawvideo", "-")
    assert done.returncode == 0, done.stderr
    data = done.stdout
    return [sum(data[i : i + 64]) / 64 for i in range(0, len(data), 64)]


def level_db(path: Path, start: float = 0.0, duration: float | None = None, af: str = "") -> float:
    """Mean volume (dB) of the file's sound from ``start`` for ``duration`` s, after filters ``af``."""
    window = ["-ss", f"{start}", *(["-t", f"{duration}"] if duration else [])]
    filters = f"{af + ',' if af else ''}volumedetect"
    done = ff(*window, "-i", str(path), "-vn", "-af", filters, "-f", "null", "-")
    match = re.search(r"mean_volume: (-?[\d.]+) dB", done.stderr.decode())
    assert match, done.stderr
    return float(match.group(1))
