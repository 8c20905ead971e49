"""Benchmark of the local renderer against a hand-written ffmpeg command, in the same run.

    python bench/render.py [--quick] [--repeat N] [--keep DIR] [--only NAME]

Generates sample media (phone-sized JPEG photos, a 1080p clip with sound, music) and renders two
timelines, each twice: (a) the baseline, one ffmpeg command written by hand the straightforward
way of shared/local-render-notes.md (Ken Burns and pans with zoompan at twice the output size,
the letterbox's blur on every frame at full size, plain ``-preset veryfast``), and (b) ours,
``FfmpegRenderer`` on the draft. Then 4 frames of the realistic draft with ``render_frames``,
against exporting it (ours, same run).

* ``simple``: 10 s at 1080x1920, image (zoom) -x- clip -x- image (zoom), title, music at 35%;
* ``realistic``: 16 s at 1080x1920, four photos (zoom in/out, pan, fill and fit on a blurred
  copy), a clip with sound letterboxed on a blur, music at 40% with fades and ducking, two texts,
  0.5 s crossfades, a fade to black.

``--quick``: the same timelines at a quarter of the length and 540x960. The target is at least 2x
real time at veryfast on a 2-core machine, and 4 frames in at most 1 s. Times are the best of
``--repeat`` runs; each line says the machine's load, since other work slows every variant.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_mcp.local.probe import ffmpeg_exe, probe
from nemo_mcp.local.render import FfmpegRenderer, render_frames

TARGET_FACTOR = 2.0
FRAMES_TARGET_S = 1.0
FRAME_TIMES = (1.0, 5.2, 8.0, 13.2)  # seconds of the full-length realistic timeline


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_media(folder: Path) -> dict[str, Path]:
    """Four 12 MP JPEG photos with grain, a 5 s 1080p phone-like clip with a tone, 20 s of music."""
    photos = {
        "photo1.jpg": "mandelbrot=s=1000x750:start_scale=0.8:outer=normalized_iteration_count,scale=4000x3000",
        "photo2.jpg": "mandelbrot=s=750x1000:start_x=-0.74:start_y=0.13:start_scale=0.05,scale=3000x4000",
        "photo3.jpg": "testsrc2=s=1000x750,scale=4000x3000",
        "photo4.jpg": "gradients=s=750x1000:c0=0x2060c0:c1=0xf0c040:x0=0:y0=0:x1=750:y1=1000,scale=3000x4000",
    }
    files = {name: folder / name for name in (*photos, "photo.png", "clip.mp4", "music.mp3")}
    for name, source in photos.items():
        _ffmpeg("-f", "lavfi", "-i", f"{source}:flags=bicubic,noise=alls=12:allf=u", "-frames:v", "1", "-q:v", "3",
                str(files[name]))  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=2400x1600", "-frames:v", "1", str(files["photo.png"]))
    # As a phone records: 1080p30 H.264 High at ~16 Mbit/s, a key frame every second.
    _ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30,noise=alls=6:allf=t",
        "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
        "-t", "5", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "16M", "-maxrate", "20M", "-bufsize", "32M",
        "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", str(files["clip.mp4"]),
    )  # fmt: skip
    _ffmpeg("-f", "lavfi", "-i", "sine=f=220:sample_rate=44100", "-t", "20", str(files["music.mp3"]))
    return files


# ---------------------------------------------------------------------------
# The timelines: a draft for ours, the same video by hand for the baseline.


@dataclass
class Timeline:
    name: str
    description: str
    draft: dict[str, Any]
    baseline: Callable[[dict[str, Path], Path], list[str]]  # ffmpeg arguments writing to the path

    @property
    def duration_s(self) -> float:
        return float(self.draft["d"]) / 1000

    @property
    def size(self) -> tuple[int, int]:
        return int(self.draft["m"]["width"]), int(self.draft["m"]["height"])


def _media(sid: str, name: str, kind: str, st: int, d: int, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "st": st, "d": d, "n": name, "k": kind, "src": "http://127.0.0.1/bench/" + name, **extra}


def simple_timeline(k: float, w: int, h: int) -> Timeline:
    """img(zoom) -x- clip -x- img(zoom), 1 s crossfades, title 0-3 s, music at 35%."""

    def ms(value: int) -> int:
        return round(value * k)

    draft = {
        "t": [
            {"tt": 0, "sg": [
                _media("v1", "photo.png", "image", 0, ms(4000), fx="zoom"),
                _media("v2", "clip.mp4", "video", ms(3000), ms(4000)),
                _media("v3", "photo4.jpg", "image", ms(6000), ms(4000), fx="zoom"),
            ]},
            {"tt": 1, "sg": [_media("a1", "music.mp3", "audio", 0, ms(10000), v=0.35)]},
            {"tt": 7, "sg": [{"id": "x1", "st": 0, "d": ms(3000), "tx": "Urban Dreams"}]},
        ],
        "d": ms(10000),
        "m": {"title": "bench", "width": w, "height": h},
    }  # fmt: skip

    def baseline(files: dict[str, Path], out: Path) -> list[str]:
        s = [ms(4000) / 1000, ms(4000) / 1000, ms(4000) / 1000]
        x = ms(1000) / 1000
        n = round(s[0] * 30)
        kb = (f"scale={2 * w}:{2 * h}:force_original_aspect_ratio=increase,crop={2 * w}:{2 * h},setsar=1,"
              f"zoompan=z='1+0.15*on/{n - 1}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={n}:s={w}x{h}:fps=30,"
              "scale=out_range=tv,format=yuv420p,settb=1/30")  # fmt: skip
        graph = ";".join([
            f"[0:v]{kb}[v0]",
            f"[1:v]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1,fps=30,"
            f"scale=out_range=tv,trim=duration={s[1]},setpts=PTS-STARTPTS,format=yuv420p,settb=1/30[v1]",
            f"[2:v]{kb}[v2]",
            f"[v0][v1]xfade=duration={x}:offset={s[0] - x}[j1]",
            f"[j1][v2]xfade=duration={x}:offset={s[0] + s[1] - 2 * x}[j2]",
            f"[j2]drawtext=fontfile={FONT}:text='Urban Dreams':fontsize={h // 20}:fontcolor=white:borderw=3:"
            f"x=(w-text_w)/2:y=(h-text_h)/2:enable='lt(t,{ms(3000) / 1000})'[vout]",
            f"[1:a]atrim=duration={s[1]},asetpts=PTS-STARTPTS,adelay={ms(3000)}:all=1[ca]",
            "[3:a]volume=0.35[ma]",
            f"[ca][ma]amix=inputs=2:normalize=0:duration=longest,atrim=end={ms(10000) / 1000}[aout]",
        ])  # fmt: skip
        return [
            "-i", str(files["photo.png"]), "-i", str(files["clip.mp4"]), "-i", str(files["photo4.jpg"]),
            "-i", str(files["music.mp3"]), "-filter_complex", graph, *_BASELINE_OUTPUT, str(out),
        ]  # fmt: skip

    return Timeline("simple", "3 segments, title, music", draft, baseline)


def realistic_timeline(k: float, w: int, h: int) -> Timeline:
    """Four photos and a clip with sound, 0.5 s crossfades, music ducked under the clip, two texts."""

    def ms(value: int) -> int:
        return round(value * k)

    draft = {
        "t": [
            {"tt": 0, "sg": [
                _media("p1", "photo1.jpg", "image", 0, ms(4000), fx="zoom_in"),
                _media("p2", "photo2.jpg", "image", ms(3500), ms(3500), fx="pan_left"),
                _media("c1", "clip.mp4", "video", ms(6500), ms(4000), fit="fit", ss=500, v=0.8),
                _media("p3", "photo3.jpg", "image", ms(10000), ms(3500), fx="zoom_out", fit="fit"),
                _media("p4", "photo4.jpg", "image", ms(13000), ms(3000), fx="zoom_in"),
            ]},
            {"tt": 1, "sg": [_media("a1", "music.mp3", "audio", 0, ms(16000), v=0.4, fi=ms(1000), fo=ms(2000),
                                    dk=0.3)]},
            {"tt": 7, "sg": [
                {"id": "x1", "st": 0, "d": ms(3000), "tx": "Summer in Lisbon", "pos": "top"},
                {"id": "x2", "st": ms(10500), "d": ms(4500), "tx": "The old town, at dusk", "pos": "bottom",
                 "c": "#ffe066"},
            ]},
        ],
        "d": ms(16000),
        "m": {"title": "bench", "width": w, "height": h, "bg": "blur", "xf": ms(500), "fo": ms(1000)},
    }  # fmt: skip

    def baseline(files: dict[str, Path], out: Path) -> list[str]:
        x = ms(500) / 1000
        lengths = [ms(4000), ms(3500), ms(4000), ms(3500), ms(3000)]
        frames = [round(value * 30 / 1000) for value in lengths]
        big = f"{2 * w}:{2 * h}"

        def kenburns(n: int, z: str, px: str = "iw/2-(iw/zoom/2)") -> str:
            return (f"zoompan=z='{z}':x='{px}':y='ih/2-(ih/zoom/2)':d={n}:s={w}x{h}:fps=30,"
                    "scale=out_range=tv,format=yuv420p,settb=1/30")  # fmt: skip

        def cover(size: str) -> str:
            return f"scale={size}:force_original_aspect_ratio=increase,crop={size},setsar=1"

        def letterbox(label: str, size: str) -> str:  # the picture fitted on a blurred copy of itself
            return (f"split[{label}a][{label}b];[{label}a]{cover(size)},boxblur=20:2[{label}bg];"
                    f"[{label}b]scale={size}:force_original_aspect_ratio=decrease,setsar=1[{label}fg];"
                    f"[{label}bg][{label}fg]overlay=(W-w)/2:(H-h)/2")  # fmt: skip

        n0, n1, _clip, n3, n4 = frames
        clip_s = lengths[2] / 1000
        offsets, total = [], lengths[0] / 1000
        for value in lengths[1:]:
            offsets.append(total - x)
            total += value / 1000 - x
        duck = f"volume='if(between(t,{ms(6500) / 1000},{ms(10500) / 1000}),0.3,1)':eval=frame"
        graph = ";".join([
            f"[0:v]{cover(big)},{kenburns(n0, f'1+0.15*on/{n0 - 1}')}[v0]",
            f"[1:v]{cover(big)},{kenburns(n1, '1.15', f'(iw-iw/zoom)*(1-on/{n1 - 1})')}[v1]",
            f"[2:v]trim=duration={clip_s},setpts=PTS-STARTPTS,fps=30,{letterbox('c', f'{w}:{h}')},"
            "scale=out_range=tv,format=yuv420p,settb=1/30[v2]",
            f"[3:v]{letterbox('p', big)},{kenburns(n3, f'1.15-0.15*on/{n3 - 1}')}[v3]",
            f"[4:v]{cover(big)},{kenburns(n4, f'1+0.15*on/{n4 - 1}')}[v4]",
            *(f"[{'v0' if i == 0 else f'j{i}'}][v{i + 1}]xfade=duration={x}:offset={offsets[i]:.4f}[j{i + 1}]"
              for i in range(4)),
            f"[j4]drawtext=fontfile={FONT}:text='Summer in Lisbon':fontsize={h // 20}:fontcolor=white:borderw=3:"
            f"x=(w-text_w)/2:y=h*0.08:enable='lt(t,{ms(3000) / 1000})',"
            f"drawtext=fontfile={FONT}:text='The old town, at dusk':fontsize={h // 24}:fontcolor=0xffe066:"
            f"borderw=3:x=(w-text_w)/2:y=h*0.8:enable='between(t,{ms(10500) / 1000},{ms(15000) / 1000})',"
            f"fade=t=out:st={total - ms(1000) / 1000:.4f}:d={ms(1000) / 1000}[vout]",
            f"[2:a]atrim=duration={clip_s},asetpts=PTS-STARTPTS,volume=0.8,adelay={ms(6500)}:all=1[ca]",
            f"[5:a]atrim=duration={total:.4f},volume=0.4,afade=t=in:d={ms(1000) / 1000},"
            f"afade=t=out:st={total - ms(2000) / 1000:.4f}:d={ms(2000) / 1000},{duck}[ma]",
            f"[ca][ma]amix=inputs=2:normalize=0:duration=longest,atrim=end={total:.4f}[aout]",
        ])  # fmt: skip
        return [
            "-i", str(files["photo1.jpg"]), "-i", str(files["photo2.jpg"]),
            "-ss", str(0.5), "-i", str(files["clip.mp4"]),
            "-i", str(files["photo3.jpg"]), "-i", str(files["photo4.jpg"]), "-i", str(files["music.mp3"]),
            "-filter_complex", graph, *_BASELINE_OUTPUT, str(out),
        ]  # fmt: skip

    return Timeline("realistic", "4 photos (zoom, pan, fit on blur), clip with sound, music ducked, 2 texts", draft,
                    baseline)  # fmt: skip


FONT = str(Path(__file__).resolve().parent.parent / "src/nemo_mcp/local/fonts/DejaVuSans-Bold.ttf").replace(":", r"\:")
_BASELINE_OUTPUT = [
    "-map", "[vout]", "-map", "[aout]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
    "-pix_fmt", "yuv420p", "-color_range", "tv", "-r", "30", "-c:a", "aac", "-b:a", "192k", "-ar", "48000",
    "-movflags", "+faststart",
]  # fmt: skip


# ---------------------------------------------------------------------------
# Measuring.


def _children_cpu() -> float:
    """User + system seconds of finished child processes (ffmpeg and its probes); NaN off Unix."""
    try:
        import resource
    except ImportError:
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of the child processes of one run."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started, _children_cpu() - cpu_before


def bench_timeline(timeline: Timeline, files: dict[str, Path], out_dir: Path, repeat: int, preset: str) -> float:
    """Render with both variants, print the table; returns our wall time."""

    def resolve(url: str) -> Path | None:
        return files.get(url.rsplit("/", 1)[-1])

    renderer = FfmpegRenderer(resolve, preset=preset)
    outputs = {"baseline": out_dir / f"{timeline.name}-baseline.mp4", "ours": out_dir / f"{timeline.name}-ours.mp4"}
    variants: dict[str, Callable[[], object]] = {
        "baseline": lambda: _ffmpeg(*timeline.baseline(files, outputs["baseline"])),
        "ours": lambda: asyncio.run(renderer.render(timeline.draft, outputs["ours"], lambda _p: None)),
    }
    results: dict[str, tuple[float, float]] = {}
    loads: list[float] = []
    for _ in range(max(1, repeat)):  # alternate, so that a burst of load hits both alike
        for label, run in variants.items():
            loads.append(_load())
            wall, cpu = timed(run)
            if label not in results or wall < results[label][0]:
                results[label] = (wall, cpu)
    video_s = timeline.duration_s
    for out in outputs.values():
        info = probe(out)
        assert info.duration_s is not None and abs(info.duration_s - video_s) < 0.15, (out, info)
    w, h = timeline.size
    print(f"timeline {timeline.name}: {video_s:g} s at {w}x{h}, {timeline.description}; preset {preset}; "
          f"{os.cpu_count()} cores, load average {max(loads):.1f}; best of {max(1, repeat)}")  # fmt: skip
    print(f"{'variant':<24} {'wall s':>8} {'x real time':>12} {'cpu s':>7} {'size MB':>8}")
    names = {"baseline": "baseline (hand-written)", "ours": "ours (FfmpegRenderer)"}
    for label, (wall, cpu) in results.items():
        size = outputs[label].stat().st_size / 1e6
        print(f"{names[label]:<24} {wall:>8.2f} {video_s / wall:>11.2f}x {cpu:>7.2f} {size:>8.2f}")
    (baseline, baseline_cpu), (ours, ours_cpu) = results["baseline"], results["ours"]
    print(f"ours is {baseline / ours:.2f}x faster than the baseline ({baseline_cpu / ours_cpu:.2f}x less CPU)")
    factor = video_s / ours
    print(f"target >= {TARGET_FACTOR:g}x real time: {factor:.2f}x -> {'PASS' if factor >= TARGET_FACTOR else 'MISS'}")
    return ours


def bench_frames(timeline: Timeline, files: dict[str, Path], export_s: float, repeat: int, k: float) -> None:
    """render_frames for 4 times of the timeline, against our export of it in the same run."""

    def resolve(url: str) -> Path | None:
        return files.get(url.rsplit("/", 1)[-1])

    times = [t * k for t in FRAME_TIMES]
    best = float("inf")
    sizes: list[int] = []
    load = _load()
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        frames = asyncio.run(render_frames(timeline.draft, times, resolve))
        best = min(best, time.perf_counter() - started)
        sizes = [len(frame.jpeg) for frame in frames]
    w, h = timeline.size
    print(f"frames of {timeline.name}: {len(times)} at {w}x{h}, load average {load:.1f}; best of {max(1, repeat)}")
    print(f"frames {best:.2f} s, export {export_s:.2f} s: {export_s / best:.1f}x faster than exporting; "
          f"JPEGs {min(sizes) / 1e3:.0f}-{max(sizes) / 1e3:.0f} KB")  # fmt: skip
    print(f"target <= {FRAMES_TARGET_S:g} s for {len(times)} frames: {best:.2f} s -> "
          f"{'PASS' if best <= FRAMES_TARGET_S else 'MISS'}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a quarter of the length, at 540x960")
    parser.add_argument("--repeat", type=int, default=1, help="renders per variant; the best time counts")
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--keep", type=Path, help="keep the rendered files in this folder")
    parser.add_argument("--only", choices=("simple", "realistic"), help="one timeline only")
    args = parser.parse_args()

    k, (w, h) = (0.25, (540, 960)) if args.quick else (1.0, (1080, 1920))
    timelines = [simple_timeline(k, w, h), realistic_timeline(k, w, h)]
    with tempfile.TemporaryDirectory(prefix="nemo-bench-") as tmp:
        folder = Path(tmp)
        files = make_media(folder)
        out_dir = args.keep or folder
        out_dir.mkdir(parents=True, exist_ok=True)
        for timeline in timelines:
            if args.only and timeline.name != args.only:
                continue
            ours = bench_timeline(timeline, files, out_dir, args.repeat, args.preset)
            if timeline.name == "realistic":
                bench_frames(timeline, files, ours, args.repeat, k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
