"""get_frames through a real MCP client: the images decode, have their stated sizes, and show the video.

Offline the frames are rendered from the timeline (or taken from the export while it is current);
on the cloud they come only from a current export, and without one the tool says to export.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from tests.conftest import offline_env
from tests.renderkit import decode_image, make

from nemo_mcp.config import load_settings
from nemo_mcp.local.render import MAX_FRAME_BYTES, FfmpegRenderer
from nemo_mcp.server import build_server
from nemo_mcp.testing import Emulator, EmulatorServer

pytestmark = pytest.mark.anyio


def bright(r: int, g: int, b: int) -> bool:
    return min(r, g, b) > 200


def images(result: Any) -> list[bytes]:
    return [base64.b64decode(c.data) for c in result.content if c.type == "image" and c.mime_type == "image/jpeg"]


def text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A dark landscape photo: a white title on it stands out."""
    return make(tmp_path, "dark.png", "-f", "lavfi", "-i", "color=c=0x202830:s=640x360", "-frames:v", "1")


@pytest.fixture
def offline(tmp_path: Path) -> Any:
    env = offline_env(tmp_path, NEMO_RENDER_POLL_SECONDS="0.1", NEMO_LOG_LEVEL="WARNING")
    return build_server(load_settings({**os.environ, **env}))


async def call(client: Client, tool: str, args: dict[str, Any]) -> Any:
    result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result)
    return result


async def titled_project(client: Client, photo: Path) -> None:
    await call(client, "upload_media", {"paths": [str(photo)]})
    await call(client, "send_instruction", {"instruction": "make a slideshow"})
    await call(client, "send_instruction", {"instruction": "make the image 6 seconds"})
    await call(client, "send_instruction", {"instruction": "add the title 'HELLO' and make it last 3 seconds"})


async def test_offline_frames_are_rendered_from_the_timeline(offline: Any, photo: Path) -> None:
    async with Client(offline, mode="legacy") as client:
        await titled_project(client, photo)
        result = await call(client, "get_frames", {"times_s": [1.0, 5.0]})
    shown = result.structured_content
    assert shown["source"] == "draft" and [f["time_s"] for f in shown["frames"]] == [1.0, 5.0]
    jpegs = images(result)
    assert len(jpegs) == 2 and all(len(j) <= MAX_FRAME_BYTES for j in jpegs)
    pictures = [decode_image(j, f["width"], f["height"]) for j, f in zip(jpegs, shown["frames"], strict=True)]
    assert max(shown["frames"][0]["width"], shown["frames"][0]["height"]) == 360
    # The title is there at 1 s and gone at 5 s.
    assert pictures[0].count(0.3, 0.7, bright) > 30
    assert pictures[1].count(0, 1, bright) < 5
    assert "2 frame(s)" in text_of(result)


async def test_offline_frames_come_from_the_export_while_it_is_current(offline: Any, photo: Path) -> None:
    async with Client(offline, mode="legacy") as client:
        await titled_project(client, photo)
        exported = await call(client, "export_video", {})
        assert exported.structured_content["path"]
        spread = await call(client, "get_frames", {"count": 3})
        await call(client, "send_instruction", {"instruction": "remove the title"})
        after = await call(client, "get_frames", {"times_s": [1.0]})
    assert spread.structured_content["source"] == "export"
    assert [f["time_s"] for f in spread.structured_content["frames"]] == [1.0, 3.0, 5.0]
    assert len(images(spread)) == 3
    # The export no longer shows the timeline: the frame is rendered from the new one, without the title.
    assert after.structured_content["source"] == "draft"
    frame = after.structured_content["frames"][0]
    assert decode_image(images(after)[0], frame["width"], frame["height"]).count(0, 1, bright) < 5


async def test_cloud_frames_need_a_current_export(settings_for: Any, media: dict[str, Path]) -> None:
    async with Client(build_server(settings_for()), mode="legacy") as client:
        await call(client, "upload_media", {"paths": [str(media["city.png"])]})
        await call(client, "send_instruction", {"instruction": "make a slideshow"})
        result = await call(client, "get_frames", {})
    assert result.structured_content["source"] == "none" and not images(result)
    assert "Export it first" in text_of(result) and "free" in text_of(result)


async def test_cloud_frames_of_a_current_export(tmp_path: Path, photo: Path) -> None:
    """An emulator whose renders are real MP4s (ffmpeg): frames of the downloaded export."""
    emu = Emulator(tmp_path / "emulator")
    emu.api.renders.renderer = FfmpegRenderer(emu.media_path, progress_scale=1.0)
    with EmulatorServer(emu) as server:
        env = {"NEMO_API_BASE": server.url, "NEMO_STATE_DIR": str(tmp_path / "state")}
        env |= {"NEMO_OUTPUT_DIR": str(tmp_path / "out"), "NEMO_RENDER_POLL_SECONDS": "0.1"}
        async with Client(build_server(load_settings(env)), mode="legacy") as client:
            await call(client, "upload_media", {"paths": [str(photo)]})
            await call(client, "send_instruction", {"instruction": "make a slideshow titled 'HELLO'"})
            await call(client, "export_video", {})
            result = await call(client, "get_frames", {"times_s": [1.0, 2.5]})
    assert result.structured_content["source"] == "export"
    assert len(images(result)) == 2 and "exported video" in text_of(result)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"count": 0}, "1 to 8"),
        ({"count": 9}, "1 to 8"),
        ({"times_s": [1.0] * 9}, "At most 8"),
        ({"times_s": [-1.0]}, "0 or more"),
    ],
)
async def test_bad_frame_requests_are_refused_before_anything_is_sent(
    settings_for: Any, emulator: Emulator, args: dict[str, Any], expected: str
) -> None:
    async with Client(build_server(settings_for()), mode="legacy") as client:
        result = await client.call_tool("get_frames", args)
    assert result.is_error and expected in text_of(result), text_of(result)
    assert emulator.requests == []


async def test_an_empty_timeline_has_no_frames(settings_for: Any, emulator: Emulator) -> None:
    async with Client(build_server(settings_for()), mode="legacy") as client:
        result = await client.call_tool("get_frames", {})
    assert result.is_error and "timeline is empty" in text_of(result)


def test_frames_in_the_cloud_do_not_load_the_offline_editor_or_api_server() -> None:
    """The cloud server's get_frames and doctor import one offline module, not the whole backend."""
    code = (
        "import sys, nemo_mcp.local.render, nemo_mcp.local.probe; "
        "print(sorted(m for m in sys.modules if m.startswith(('nemo_mcp.apiserver', 'nemo_mcp.local.editor'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
