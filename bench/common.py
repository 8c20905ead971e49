"""Shared pieces: the emulator process, server environments, /proc readings, statistics, the table."""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nemo_mcp import __version__

TOKEN = "nmv_usr_bench_0123456789abcdef"
HOST = "127.0.0.1"


@dataclass
class Sizes:
    """How much each measure does: the issue's sizes, or small ones for CI (``--quick``)."""

    quick: bool
    credit_calls: int
    sse_turns: int
    sse_event_delay: float
    transfer_bytes: int
    transfer_rounds: int
    cold_starts: int
    concurrent: int
    concurrent_bursts: int
    long_segments: int  # the long draft of bench/long_timeline.py
    long_reps: int

    @classmethod
    def for_mode(cls, quick: bool) -> Sizes:
        if quick:
            return cls(True, 20, 5, 0.03, 20_000_000, 1, 3, 10, 2, 4000, 15)
        return cls(False, 200, 30, 0.05, 200_000_000, 2, 15, 50, 3, 4000, 60)


@dataclass
class Row:
    measure: str
    baseline: str
    ours: str
    ratio: str
    target: str
    verdict: str  # PASS, MISS or ERROR
    notes: list[str] | None = None


# --- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), nearest-rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def mbps(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:.0f} MB/s"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- the table -------------------------------------------------------------------------------

HEADERS = ("measure", "baseline", "ours", "ratio/added", "target", "result")


def format_table(rows: Sequence[Row]) -> str:
    cells = [HEADERS, *[(r.measure, r.baseline, r.ours, r.ratio, r.target, r.verdict) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_env(api_base: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a nemo-mcp pointed at the emulator with our token and short waits."""
    env = {
        "NEMO_API_BASE": api_base,
        "NEMO_TOKEN": TOKEN,
        "NEMO_STATE_DIR": str(workdir / "state"),
        "NEMO_OUTPUT_DIR": str(workdir / "out"),
        "NEMO_RENDER_POLL_SECONDS": "0.02",
        "NEMO_RENDER_TIMEOUT_SECONDS": "120",
        "NEMO_TOOL_WAIT_SECONDS": "300",
        "NEMO_SSE_TIMEOUT_SECONDS": "60",
        "NEMO_LOG_LEVEL": "WARNING",
        "NO_PROXY": "*",
    }
    env.update(extra)
    return env


def api_headers(platform: str = "bench") -> dict[str, str]:
    """The headers nemo-mcp's client sends on an API call (see client.NemoClient)."""
    return {
        "User-Agent": f"nemo-mcp/{__version__}",
        "Authorization": f"Bearer {TOKEN}",
        "X-Skill-Source": "ai-animations",
        "X-Skill-Version": __version__,
        "X-Skill-Platform": platform,
    }


class EmulatorProcess:
    """``bench.emulator_proc`` as a child process; its URL, data dir and control routes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.pid = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.emulator_proc", str(self.data_dir), TOKEN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process did not start")
        info = json.loads(line)
        self.url, self.pid = info["url"], info["pid"]

    def faults(self, **changes: Any) -> None:
        httpx.post(f"{self.url}/__bench/faults", json=changes, timeout=10).raise_for_status()

    def long_draft(self, session_id: str, segments: int) -> None:
        """Give a session the draft ``bench.drafts.long_draft(segments)``."""
        answer = httpx.post(
            f"{self.url}/__bench/draft", json={"session_id": session_id, "segments": segments}, timeout=30
        )
        answer.raise_for_status()

    def sse_log(self) -> list[tuple[float, str]]:
        answer = httpx.get(f"{self.url}/__bench/sse-log", timeout=10)
        answer.raise_for_status()
        return [(float(t), str(chunk)) for t, chunk in answer.json()]

    def clear_media(self) -> None:
        """Forget stored uploads and render outputs (they are 200 MB each in full mode)."""
        for folder in (self.data_dir / "media", self.data_dir / "renders"):
            if folder.is_dir():
                for path in folder.rglob("*"):
                    if path.is_file():
                        path.unlink(missing_ok=True)

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        self.proc = None


def stop_process(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)


# --- /proc -----------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (any of its threads)."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name sits in parentheses and may hold spaces: fields follow the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\x00", b" ").decode(errors="replace")
    except OSError:
        return ""


def find_child(marker: str) -> int:
    """The pid of our child process whose command line contains ``marker``."""
    for _ in range(100):
        for pid in children_of(os.getpid()):
            if marker in cmdline(pid):
                return pid
        time.sleep(0.02)
    raise RuntimeError(f"no child process running {marker!r}")


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


class PeakRss:
    """Peak RSS growth of a process over a block: the kernel's VmHWM, reset at the start
    (``clear_refs`` 5) when allowed, cross-checked with a 10 ms VmRSS sampler."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start_kb = 0
        self.sampled_peak_kb = 0
        self.hwm_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            with contextlib.suppress(OSError):
                self.sampled_peak_kb = max(self.sampled_peak_kb, memory_kb(self.pid)["VmRSS"])

    def __enter__(self) -> PeakRss:
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.start_kb = memory_kb(self.pid)["VmRSS"]
        self.sampled_peak_kb = self.start_kb
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        mem = memory_kb(self.pid)
        peak = max(self.sampled_peak_kb, mem["VmRSS"])
        if self.hwm_reset:
            peak = max(peak, mem["VmHWM"])
        self.peak_kb = peak

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.start_kb) * 1024 / 1e6


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)


def load_average() -> str:
    """The 1-minute load average: other work on the machine that the baselines share with us."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}); Python {sys.version.split()[0]}"
