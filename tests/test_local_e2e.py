"""The local backend end to end: the real server over stdio, real edits, a real MP4 checked frame by frame."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from tests.conftest import offline_env

from nemo_mcp.cli.demo import INSTRUCTION, make_samples
from nemo_mcp.local.probe import ffmpeg_exe, parse_banner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


# The demo's photos are landscape, so the canvas is (1920x1080); frames are read at a tenth of it.
def gray_frame(video: Path, at: float, width: int = 192, height: int = 108) -> bytes:
    done = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", str(at), "-i", str(video), "-frames:v", "1", "-vf",
         f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert len(done.stdout) == width * height
    return done.stdout


def title_band_contrast(frame: bytes, width: int = 192, height: int = 108) -> int:
    """Bright pixels beside dark ones in the middle band, where the title sits: text makes many."""
    band = frame[width * (height * 2 // 5) : width * (height * 3 // 5)]
    return sum(1 for a, b in itertools.pairwise(band) if abs(a - b) > 80)


def mean_volume_db(video: Path) -> float:
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(video), "-vn", "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"mean_volume: (-?[\d.]+) dB", done.stderr)
    assert match, done.stderr
    return float(match.group(1))


async def test_instructions_become_a_real_mp4(tmp_path: Path) -> None:
    files = make_samples(tmp_path / "media")
    env = {**os.environ, **offline_env(tmp_path, NEMO_RENDER_POLL_SECONDS="0.2")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
    async with Client(params, mode="legacy") as client:
        up = await client.call_tool("upload_media", {"paths": [str(f) for f in files]})
        assert not up.is_error, text_of(up)
        said = await client.call_tool("send_instruction", {"instruction": INSTRUCTION})
        assert not said.is_error, text_of(said)
        state = (await client.call_tool("get_state", {})).structured_content
        assert state["width"] == 1920 and state["height"] == 1080
        first = await client.call_tool("export_video", {})
        assert not first.is_error, text_of(first)
        louder = await client.call_tool("send_instruction", {"instruction": "set the music volume to 100%"})
        assert any("100%" in c for c in louder.structured_content["changes"]), louder.structured_content
        second = await client.call_tool("export_video", {})
        assert not second.is_error, text_of(second)
        unknown = await client.call_tool("send_instruction", {"instruction": "make it more cinematic please"})
        # Needs the cloud: nothing changes, and the reply says why and what to say instead.
        refused = unknown.structured_content
        assert not refused["timeline_changed"] and refused["tools_used"] == []
        assert "offline" in refused["reply"] and "fade in from black" in refused["reply"]

    video = Path(first.structured_content["path"])
    banner = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(video)], capture_output=True, text=True).stderr
    info = parse_banner(banner)
    assert (info.width, info.height) == (1920, 1080) and info.has_audio
    assert info.duration_s is not None and abs(info.duration_s - state["duration_ms"] / 1000) < 0.15
    assert "Video: h264" in banner and "yuv420p" in banner and "Audio: aac" in banner

    # The title shows during 0-3 s and is gone after.
    with_title, without = title_band_contrast(gray_frame(video, 1.0)), title_band_contrast(gray_frame(video, 4.0))
    assert with_title > 3 * max(without, 5), (with_title, without)

    # The music follows the volume: 30 % → 100 % is +10.5 dB.
    gain = mean_volume_db(Path(second.structured_content["path"])) - mean_volume_db(video)
    assert 8.5 < gain < 12.5, gain


def test_demo_is_one_command_to_an_mp4(tmp_path: Path) -> None:
    env = {**os.environ, "NEMO_STATE_DIR": str(tmp_path / "state"), "NEMO_OUTPUT_DIR": str(tmp_path / "out")}
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "demo"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Running edit_multitrack" in done.stdout and "Rendering" in done.stdout  # live progress shown
    path = Path(done.stdout.strip().splitlines()[-1].removeprefix("Your video: "))
    assert path.is_file() and path.parent == tmp_path / "out" and path.suffix == ".mp4"


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(stat.parent.name), cmdline))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_sigterm_mid_render_leaves_no_ffmpeg_behind(tmp_path: Path) -> None:
    """Hosts stop stdio servers with SIGTERM; a render must not go on as an orphan."""
    import contextlib
    import signal

    import anyio

    files = make_samples(tmp_path / "media")
    env = {**os.environ, "NEMO_BACKEND": "local", "NEMO_STATE_DIR": str(tmp_path / "s"), "NEMO_TOOL_WAIT_SECONDS": "0"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
    client = Client(params, mode="legacy")
    await client.__aenter__()
    try:
        (server_pid,) = [pid for pid, cmd in _children(os.getpid()) if "nemo_mcp" in cmd]
        await client.call_tool("upload_media", {"paths": [str(f) for f in files[:2]]})
        said = await client.call_tool("send_instruction", {"instruction": "make a slideshow, 60 seconds long"})
        while said.structured_content["status"] == "running":
            said = await client.call_tool("check_job", {"job_id": said.structured_content["job_id"]})
        await client.call_tool("export_video", {})  # returns at once: the render goes on
        with anyio.fail_after(30):
            while not (ffmpeg := [pid for pid, cmd in _children(server_pid) if "ffmpeg" in cmd]):
                await anyio.sleep(0.05)
        os.kill(server_pid, signal.SIGTERM)
        with anyio.fail_after(5):
            while _alive(server_pid) or any(_alive(pid) for pid in ffmpeg):
                await anyio.sleep(0.02)
    finally:
        with contextlib.suppress(Exception):  # the connection ends with the server
            await client.__aexit__(None, None, None)


def test_local_projects_and_undo_survive_a_restart(tmp_path: Path) -> None:
    """Every CLI command is a process of its own: the project and its undo history must persist."""
    files = make_samples(tmp_path / "media")
    env = {**os.environ, "NEMO_BACKEND": "local", "NEMO_STATE_DIR": str(tmp_path / "s"), "NEMO_LOG_LEVEL": "WARNING"}

    def nemo(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "nemo_mcp", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    nemo("upload", str(files[0]))
    nemo("say", "make a slideshow")
    assert '"Kept"' in nemo("say", "add the title 'Kept'")
    assert "Undone" in nemo("say", "undo")
    state = nemo("state")
    assert "Video: city.png" in state and "Title" not in state
