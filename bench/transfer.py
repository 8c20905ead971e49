"""Transfer rows: a big upload through ``upload_media`` and a big export download, against curl."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from mcp import Client

from bench.common import (
    EmulatorProcess,
    PeakRss,
    Row,
    Sizes,
    api_headers,
    children_of,
    cmdline,
    mbps,
    server_env,
    verdict,
)
from bench.latency import _check, stdio_params
from nemo_mcp.cloud import api

THROUGHPUT_TARGET = 0.8
RSS_GROWTH_TARGET_MB = 30.0
_BLOCK = 1024 * 1024


def curl_exe() -> str | None:
    return shutil.which("curl")


def make_mp4(path: Path, size: int) -> Path:
    """A file that passes nemo-mcp's checks as an .mp4 (an ``ftyp`` box first); filler after."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    block = (head + bytes(range(256)) * (_BLOCK // 256))[:_BLOCK]
    with path.open("wb") as f:
        left = size
        while left > 0:
            n = min(left, _BLOCK)
            f.write(block[:n])
            left -= n
    return path


def make_png(path: Path) -> Path:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\x00" + bytes((200, 40, 40)) * 8
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * 8))
        + chunk(b"IEND", b"")
    )
    return path


def _stdio_children() -> set[int]:
    import os

    return {pid for pid in children_of(os.getpid()) if "-m nemo_mcp" in cmdline(pid)}


def _new_child(before: set[int]) -> int:
    for _ in range(200):
        new = _stdio_children() - before
        if new:
            return max(new)
        time.sleep(0.01)
    raise RuntimeError("could not find the stdio server's process")


def _curl(args: list[str]) -> float:
    exe = curl_exe()
    assert exe is not None
    started = time.perf_counter()
    done = subprocess.run([exe, "-sS", "--fail", *args], check=True, stdout=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    answer = done.stdout.decode(errors="replace")
    if answer.strip().startswith("{") and json.loads(answer).get("code") not in (0, None):
        raise RuntimeError(f"curl's request was refused: {answer[:200]}")
    return elapsed


def _header_args() -> list[str]:
    return [arg for name, value in api_headers().items() for arg in ("-H", f"{name}: {value}")]


def _session_id(result: Any) -> str:
    return str(result.structured_content["session_id"])


# --- upload --------------------------------------------------------------------------------------


async def upload_row(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
    size = sizes.transfer_bytes
    big = make_mp4(workdir / "big-upload.mp4", size)
    warm = make_mp4(workdir / "warm.mp4", 2 * _BLOCK)
    env = server_env(emu.url, workdir)
    before = _stdio_children()
    curl_times: list[float] = []
    our_times: list[float] = []
    growth: list[float] = []
    try:
        async with Client(stdio_params(env)) as client:
            pid = _new_child(before)
            sid = _session_id(await client.call_tool("new_session", {}))
            url = f"{emu.url}{api.upload_path(sid)}"

            def curl_upload(path: Path) -> float:
                return _curl([*_header_args(), "-F", f"files=@{path};type=video/mp4", url])

            async def our_upload(path: Path) -> float:
                started = time.perf_counter()
                result = await client.call_tool("upload_media", {"paths": [str(path)], "session_id": sid})
                elapsed = time.perf_counter() - started
                _check(result, "upload_media")
                if result.structured_content.get("status") == "running":
                    raise RuntimeError("upload_media handed back a job id; raise NEMO_TOOL_WAIT_SECONDS")
                return elapsed

            curl_upload(warm)  # warm-up: imports, connections, the multipart code paths
            await our_upload(warm)
            emu.clear_media()
            for _ in range(sizes.transfer_rounds):
                curl_times.append(curl_upload(big))
                emu.clear_media()
                with PeakRss(pid) as rss:
                    our_times.append(await our_upload(big))
                growth.append(rss.growth_mb)
                emu.clear_media()
    finally:
        big.unlink(missing_ok=True)
        warm.unlink(missing_ok=True)
        emu.clear_media()
    return _transfer_row(f"upload_media {size / 1e6:.0f} MB (stdio)", "curl -F", size, curl_times, our_times, growth)


def _transfer_row(
    measure: str, baseline: str, size: int, curl_times: list[float], our_times: list[float], growth: list[float]
) -> Row:
    best_curl, best_ours = min(curl_times), min(our_times)
    factor = best_curl / best_ours  # throughput ratio
    worst_growth = max(growth)
    ok = factor >= THROUGHPUT_TARGET and worst_growth < RSS_GROWTH_TARGET_MB
    return Row(
        f"{measure}, best of {len(our_times)}",
        f"{baseline} {mbps(size, best_curl)} ({best_curl:.2f} s)",
        f"{mbps(size, best_ours)} ({best_ours:.2f} s)",
        f"{factor:.2f}× curl; RSS +{worst_growth:.1f} MB",
        "≥ 0.8× curl; RSS < +30 MB",
        verdict(ok),
    )


# --- download ------------------------------------------------------------------------------------


async def download_row(emu: EmulatorProcess, workdir: Path, sizes: Sizes) -> Row:
    size = sizes.transfer_bytes
    env = server_env(emu.url, workdir)
    out_dir = workdir / "out"
    curl_out = workdir / "curl-download.mp4"
    before = _stdio_children()
    curl_times: list[float] = []
    our_times: list[float] = []
    growth: list[float] = []
    try:
        async with Client(stdio_params(env)) as client:
            pid = _new_child(before)
            sid = _session_id(await client.call_tool("new_session", {}))
            png = make_png(workdir / "frame.png")
            _check(await client.call_tool("upload_media", {"paths": [str(png)], "session_id": sid}), "upload")
            _check(
                await client.call_tool("send_instruction", {"instruction": "add my image", "session_id": sid}),
                "instruction",
            )

            async def our_export() -> tuple[float, str]:
                """Time from the render reported completed to the call's answer: the download."""
                marks: list[tuple[float, str]] = []

                async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                    marks.append((time.perf_counter(), message or ""))

                result = await client.call_tool("export_video", {"session_id": sid}, progress_callback=on_progress)
                ended = time.perf_counter()
                _check(result, "export_video")
                data = result.structured_content
                if data.get("status") == "running" or data.get("size_bytes") != emu_size[0]:
                    raise RuntimeError(f"unexpected export result: {data}")
                rendered = [t for t, message in marks if message.startswith("Rendering: completed")]
                if not rendered:
                    raise RuntimeError("no 'Rendering: completed' progress before the download")
                Path(data["path"]).unlink(missing_ok=True)
                return ended - rendered[-1], str(data["url"])

            def curl_download(url: str) -> float:
                # The same work as ours: the file is on disk durably (we fsync before the atomic
                # rename, so a crash can never leave a truncated video under its final name).
                try:
                    seconds = _curl(["-o", str(curl_out), url])
                    started = time.perf_counter()
                    fd = os.open(curl_out, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                    return seconds + time.perf_counter() - started
                finally:
                    curl_out.unlink(missing_ok=True)

            emu_size = [2 * _BLOCK]
            emu.faults(render_size_bytes=emu_size[0], render_seconds=0.0)
            _, url = await our_export()  # warm-up
            curl_download(url)
            emu.clear_media()
            emu_size[0] = size
            emu.faults(render_size_bytes=size)
            for _ in range(sizes.transfer_rounds):
                with PeakRss(pid) as rss:
                    seconds, url = await our_export()
                our_times.append(seconds)
                growth.append(rss.growth_mb)
                curl_times.append(curl_download(url))
                emu.clear_media()
    finally:
        emu.faults(render_size_bytes=200_000)
        emu.clear_media()
        curl_out.unlink(missing_ok=True)
        if out_dir.is_dir():
            shutil.rmtree(out_dir, ignore_errors=True)
    return _transfer_row(
        f"export_video download {size / 1e6:.0f} MB (stdio)", "curl -o + fsync", size, curl_times, our_times, growth
    )


def curl_missing_rows() -> list[Row]:
    note = f"curl not found on PATH ({sys.platform}); transfer rows skipped"
    return [Row("upload / download vs curl", "n/a", "n/a", note, "≥ 0.8× curl", "ERROR")]
