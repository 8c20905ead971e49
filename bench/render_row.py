"""The local-render row: runs ``bench/render.py`` (owned elsewhere) and reads its verdict.

``render.py`` exposes only a ``main()`` that parses ``sys.argv`` and prints its own table, so it
runs as a subprocess (``--quick`` in quick mode) and its printed lines are parsed here.
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
# "<label (...)>  <wall s>  <N.NNx real time>  [more columns]": the columns after the label.
_VARIANT = re.compile(r"^(baseline|ours)\b[^)]*\)\s+([\d.]+)\s+([\d.]+)x(\s|$)")
_TARGET = re.compile(r"target >= ([\d.]+)x real time: ([\d.]+)x -> (PASS|MISS)")


def render_row(sizes: Sizes) -> Row:
    measure = "local render (bench/render.py" + (" --quick)" if sizes.quick else ")")
    if not SCRIPT.is_file():
        return Row(measure, "n/a", "n/a", "bench/render.py not found", "≥ 2x real time", "ERROR")
    args = [sys.executable, str(SCRIPT), *(["--quick"] if sizes.quick else [])]
    timeout = 30.0 if sizes.quick else 300.0
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
        return Row(measure, "n/a", "n/a", f"timed out after {timeout:.0f} s", "≥ 2x real time", "ERROR")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    done = subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)
    walls: dict[str, tuple[float, float]] = {}
    target = None
    for line in done.stdout.splitlines():
        if m := _VARIANT.match(line.strip()):
            walls[m.group(1)] = (float(m.group(2)), float(m.group(3)))
        elif m := _TARGET.search(line):
            target = m
    if done.returncode != 0 or target is None or set(walls) != {"baseline", "ours"}:
        tail = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
        return Row(measure, "n/a", "n/a", f"render.py failed: {tail[:80]}", "≥ 2x real time", "ERROR")
    (base_wall, base_x), (our_wall, our_x) = walls["baseline"], walls["ours"]
    return Row(
        measure,
        f"zoompan {base_wall:.2f} s ({base_x:.2f}x RT)",
        f"{our_wall:.2f} s ({our_x:.2f}x RT)",
        f"{base_wall / our_wall:.2f}× faster than baseline",
        f"≥ {float(target.group(1)):g}x real time",
        target.group(3),
    )
