"""Benchmark of the local renderer: ours against the straightforward graph of the notes.

    python bench/render.py [--quick] [--repeat N] [--keep DIR]

Generates sample media (two images, a 4 s clip with sound, a music file),
builds a 10 s, 3-segment, titled 1080x1920 draft with music (``--quick``: 3 s
at 540x960) and renders it twice in the same run: (a) the baseline, Ken Burns
with zoompan at twice the output size as in shared/local-render-notes.md, and
(b) ours. The target is at least 2x real time (10 s of video in <= 5 s) at
veryfast quality on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nemo_mcp.local.probe import ffmpeg_exe, probe
from nemo_mcp.local.render import FAST_X264_PARAMS, FfmpegRenderer, ZoomMethod

TARGET_FACTOR = 2.0


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_media(folder: Path) -> dict[str, Path]:
    """Two photo-sized images, a 4 s 1280x720 clip with a tone, 12 s of music."""
    files = {name: folder / name for name in ("photo1.png", "photo2.png", "clip.mp4", "music.mp3")}
    if importlib.util.find_spec("PIL") is not None:
        from PIL import Image, ImageDraw  # type: ignore[import-not-found,unused-ignore]

        for name, size, colour in (
            ("photo1.png", (2400, 1600), (40, 90, 160)),
            ("photo2.png", (1500, 2000), (160, 90, 40)),
        ):
            image = Image.new("RGB", size, colour)
            draw = ImageDraw.Draw(image)
            for i in range(0, size[0], 60):
                draw.line([(i, 0), (size[0] - i, size[1])], fill=(255, 255 - i % 255, i % 255), width=6)
            image.save(files[name])
    else:
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=2400x1600", "-frames:v", "1", str(files["photo1.png"]))
        _ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=1500x2000", "-frames:v", "1", str(files["photo2.png"]))
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
        "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        str(files["clip.mp4"]),
    )  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", "sine=f=220:sample_rate=44100", "-t", "12", str(files["music.mp3"]))
    return files


def make_draft(quick: bool) -> dict[str, Any]:
    """img(zoom) -x- clip -x- img(zoom), 1 s crossfades, title 0-3 s, music at 35%; --quick scales times."""
    k = 0.3 if quick else 1.0

    def ms(value: int) -> int:
        return round(value * k)

    def media(sid: str, name: str, kind: str, st: int, d: int, **extra: Any) -> dict[str, Any]:
        src = "http://127.0.0.1/bench/" + name
        return {"id": sid, "st": ms(st), "d": ms(d), "n": name, "k": kind, "src": src, **extra}

    return {
        "t": [
            {"tt": 0, "sg": [
                media("v1", "photo1.png", "image", 0, 4000, fx="zoom"),
                media("v2", "clip.mp4", "video", 3000, 4000),
                media("v3", "photo2.png", "image", 6000, 4000, fx="zoom"),
            ]},
            {"tt": 1, "sg": [media("a1", "music.mp3", "audio", 0, 10000, v=0.35)]},
            {"tt": 7, "sg": [{"id": "x1", "st": 0, "d": ms(3000), "tx": "Urban Dreams"}]},
        ],
        "d": ms(10000),
        "m": {"title": "bench", "width": 540 if quick else 1080, "height": 960 if quick else 1920},
    }  # fmt: skip


def render_once(
    draft: dict[str, Any], files: dict[str, Path], out: Path, zoom_method: ZoomMethod, preset: str
) -> tuple[float, float]:
    """Wall seconds and CPU seconds (ffmpeg's user + system time) of one render."""

    def resolve(url: str) -> Path | None:
        return files.get(url.rsplit("/", 1)[-1])

    # The baseline is the notes' render: zoompan Ken Burns and x264's plain preset.
    x264_params = FAST_X264_PARAMS if zoom_method == "scale" else None
    renderer = FfmpegRenderer(resolve, preset=preset, zoom_method=zoom_method, x264_params=x264_params)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    asyncio.run(renderer.render(draft, out, lambda _p: None))
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    """User + system seconds of finished child processes (ffmpeg and its probes); NaN off Unix."""
    try:
        import resource
    except ImportError:
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 3 s 540x960 timeline")
    parser.add_argument("--repeat", type=int, default=1, help="renders per variant; the best time counts")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--keep", type=Path, help="keep the rendered files in this folder")
    args = parser.parse_args()

    draft = make_draft(args.quick)
    video_s = draft["d"] / 1000
    with tempfile.TemporaryDirectory(prefix="nemo-bench-") as tmp:
        folder = Path(tmp)
        files = make_media(folder)
        out_dir = args.keep or folder
        out_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, tuple[float, float]] = {}
        sizes: dict[str, int] = {}
        variants: tuple[tuple[str, ZoomMethod], ...] = (
            ("baseline (zoompan 2x)", "zoompan"),
            ("ours (scale+crop)", "scale"),
        )
        for label, method in variants:
            out = out_dir / f"{method}.mp4"
            runs = [render_once(draft, files, out, method, args.preset) for _ in range(max(1, args.repeat))]
            results[label] = min(runs)  # the fastest wall time, with its CPU time
            sizes[label] = out.stat().st_size
            info = probe(out)
            assert info.duration_s is not None and abs(info.duration_s - video_s) < 0.1, info

    w, h = draft["m"]["width"], draft["m"]["height"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"timeline: {video_s:g} s at {w}x{h}, 3 segments, title, music; preset {args.preset}; "
          f"{os.cpu_count()} cores, load average {load:.1f}; best of {max(1, args.repeat)}")  # fmt: skip
    print(f"{'variant':<24} {'wall s':>8} {'x real time':>12} {'cpu s':>7} {'size MB':>8}")
    for label, (wall, cpu) in results.items():
        print(f"{label:<24} {wall:>8.2f} {video_s / wall:>11.2f}x {cpu:>7.2f} {sizes[label] / 1e6:>8.2f}")
    (baseline, baseline_cpu), (ours, ours_cpu) = results.values()
    factor = video_s / ours
    print(f"ours is {baseline / ours:.2f}x faster than the baseline ({baseline_cpu / ours_cpu:.2f}x less CPU)")
    verdict = "PASS" if factor >= TARGET_FACTOR else "MISS"
    print(f"target >= {TARGET_FACTOR:g}x real time: {factor:.2f}x -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
