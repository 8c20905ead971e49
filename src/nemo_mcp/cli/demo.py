"""``nemo-mcp demo``: sample media in, an MP4 out, through the real server and the official MCP client.

Nothing is downloaded: the two images and the music are generated here. The
server runs as a subprocess over stdio, exactly as an assistant would start it.
"""

from __future__ import annotations

import math
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

INSTRUCTION = "turn my images into an animated video with the title 'Hello from nemo-mcp' and background music at 30%"


def _png(path: Path, width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> None:
    """A vertical gradient with a bright disc: enough texture to see the slow zoom."""
    cx, cy, r2 = width * 0.65, height * 0.35, (min(width, height) * 0.18) ** 2
    rows = []
    for y in range(height):
        t = y / max(1, height - 1)
        base = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        row = bytearray(base * width)
        dy2 = (y - cy) ** 2
        if dy2 < r2:
            half = int(math.sqrt(r2 - dy2))
            lo, hi = max(0, int(cx) - half), min(width, int(cx) + half)
            row[lo * 3 : hi * 3] = b"\xff\xe6\x9a" * (hi - lo)
        rows.append(b"\x00" + bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"".join(rows), 6)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _wav(path: Path, seconds: float = 12.0, rate: int = 22050) -> None:
    """A soft arpeggio (A minor), 16-bit mono."""
    notes = [220.0, 261.63, 329.63, 392.0]
    frames = bytearray()
    beat = rate // 2
    for i in range(int(seconds * rate)):
        freq = notes[(i // beat) % len(notes)]
        env = 1.0 - (i % beat) / beat
        value = 0.35 * env * math.sin(2 * math.pi * freq * i / rate)
        frames += struct.pack("<h", int(value * 32767))
    header = b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(frames))
    path.write_bytes(header + bytes(frames))


def make_samples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    city, park, music = folder / "city.png", folder / "park.png", folder / "music.wav"
    _png(city, 960, 640, (24, 32, 88), (230, 120, 60))
    _png(park, 960, 640, (20, 90, 60), (180, 220, 140))
    _wav(music)
    return [city, park, music]


async def run(backend: str, out: Any = None) -> int:
    """The demo itself; prints progress and the result on ``out`` (stdout by default)."""
    from mcp import Client, StdioServerParameters

    out = out or sys.stdout

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        if message:
            say(f"   … {message.strip()}")

    with tempfile.TemporaryDirectory(prefix="nemo-demo-") as tmp:
        files = make_samples(Path(tmp))
        say(f"Made sample media: {', '.join(f.name for f in files)}")
        env = {"NEMO_LOG_LEVEL": "WARNING", **os.environ, "NEMO_BACKEND": backend}
        params = StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp"], env=env)
        say(f"Starting nemo-mcp ({backend} backend) over stdio…")
        async with Client(params, mode="legacy") as client:
            steps: list[tuple[str, str, dict[str, Any]]] = [
                ("A fresh project", "new_session", {}),
                ("Uploading", "upload_media", {"paths": [str(f) for f in files]}),
                (f'Instruction: "{INSTRUCTION}"', "send_instruction", {"instruction": INSTRUCTION}),
                ("The timeline", "get_state", {}),
                ("Exporting", "export_video", {}),
            ]
            result: Any = None
            for title, tool, args in steps:
                say(f"\n▶ {title}")
                result = await client.call_tool(tool, args, progress_callback=progress)
                while not result.is_error and (result.structured_content or {}).get("status") == "running":
                    job = result.structured_content["job_id"]
                    result = await client.call_tool("check_job", {"job_id": job}, progress_callback=progress)
                    if not result.is_error and result.structured_content["status"] == "done":
                        result.structured_content = result.structured_content["result"]
                text = "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
                if result.is_error:
                    say(f"✗ {text}")
                    return 1
                say(text if tool in ("get_state", "send_instruction") else f"✓ {text.splitlines()[0]}")
        path = result.structured_content.get("path")
        say(f"\nYour video: {path}")
        return 0
