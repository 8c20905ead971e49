"""The local-render rows: run ``bench/render.py`` and read its verdicts.

``render.py`` exposes only a ``main()`` that parses ``sys.argv`` and prints its own tables, so it
runs as a subprocess (``--quick`` in quick mode) and its printed lines are parsed here: one row per
timeline (ours against the hand-written ffmpeg command of the same run) and one for the frames.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from bench.common import Row, Sizes

SCRIPT = Path(__file__).resolve().parent / "render.py"
_TIMELINE = re.compile(r"^timeline (\w+): (.*?);.*load average ([\d.]+)")
# "<label (...)>  <wall s>  <N.NNx real time>  [more columns]": the columns after the label.
_VARIANT = re.compile(r"^(baseline|ours)\b[^)]*\)\s+([\d.]+)\s+([\d.]+)x(\s|$)")
_TARGET = re.compile(r"target >= ([\d.]+)x real time: ([\d.]+)x -> (PASS|MISS)")
_FRAMES = re.compile(r"^frames ([\d.]+) s, export ([\d.]+) s: ([\d.]+)x faster")
_FRAMES_OF = re.compile(r"^frames of (\w+): (\d+) at (\d+x\d+), load average ([\d.]+)")
_FRAMES_TARGET = re.compile(r"target <= ([\d.]+) s for \d+ frames: [\d.]+ s -> (PASS|MISS)")


def _error(measure: str, why: str, target: str = "≥ 2x real time") -> Row:
    return Row(measure, "n/a", "n/a", why, target, "ERROR")


def render_rows(sizes: Sizes) -> list[Row]:
    measure = "local render (bench/render.py" + (" --quick)" if sizes.quick else ")")
    if not SCRIPT.is_file():
        return [_error(measure, "bench/render.py not found")]
    args = [sys.executable, str(SCRIPT), *(["--quick"] if sizes.quick else [])]
    timeout = 180.0 if sizes.quick else 600.0
    # Its own process group, so a timeout also ends the ffmpeg processes it started.
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return [_error(measure, f"timed out after {timeout:.0f} s")]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    rows = parse(stdout, measure)
    if proc.returncode != 0 or not rows:
        tail = (stderr.strip().splitlines() or stdout.strip().splitlines() or ["no output"])[-1]
        return [*rows, _error(measure, f"render.py failed: {tail[:80]}")]
    return rows


def parse(stdout: str, measure: str) -> list[Row]:
    """One row per timeline block and one for the frames block of render.py's output."""
    rows: list[Row] = []
    name = load = ""
    walls: dict[str, tuple[float, float]] = {}
    frames_of = ""
    for line in (raw.strip() for raw in stdout.splitlines()):
        if m := _TIMELINE.match(line):
            name, load, walls = m.group(1), m.group(3), {}
        elif m := _VARIANT.match(line):
            walls[m.group(1)] = (float(m.group(2)), float(m.group(3)))
        elif (m := _TARGET.search(line)) and set(walls) == {"baseline", "ours"}:
            (base_wall, base_x), (our_wall, our_x) = walls["baseline"], walls["ours"]
            rows.append(
                Row(
                    f"{measure}: {name}, load {load}",
                    f"hand-written {base_wall:.2f} s ({base_x:.2f}x RT)",
                    f"{our_wall:.2f} s ({our_x:.2f}x RT)",
                    f"{base_wall / our_wall:.2f}× faster than baseline",
                    f"≥ {float(m.group(1)):g}x real time",
                    m.group(3),
                )
            )
        elif m := _FRAMES_OF.match(line):
            frames_of = f"{m.group(2)} frames of {m.group(1)} at {m.group(3)}, load {m.group(4)}"
        elif m := _FRAMES.match(line):
            walls["frames"] = (float(m.group(1)), float(m.group(2)))
        elif (m := _FRAMES_TARGET.search(line)) and "frames" in walls:
            ours, export = walls["frames"]
            rows.append(
                Row(
                    f"render_frames: {frames_of}",
                    f"export {export:.2f} s",
                    f"{ours:.2f} s",
                    f"{export / ours:.1f}× faster than exporting",
                    f"≤ {float(m.group(1)):g} s",
                    m.group(2),
                )
            )
    return rows
