"""Shared fixtures: an emulator on 127.0.0.1, settings pointing at it, and sample media."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.config import Settings, load_settings
from nemo_mcp.testing import Emulator, EmulatorServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator(tmp_path / "emulator")
    with EmulatorServer(emu):
        yield emu


def fast_env(emu_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a nemo-mcp pointed at the emulator, with every wait short."""
    env = {
        "NEMO_API_BASE": emu_url,
        "NEMO_STATE_DIR": str(tmp_path / "state"),
        "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
        "NEMO_RENDER_POLL_SECONDS": "0.02",
        "NEMO_RATE_LIMIT_WAIT_SECONDS": "0.01",
        "NEMO_STATE_POLL_SECONDS": "0.02",
        "NEMO_DROP_RECOVERY_SECONDS": "0.5",
        "NEMO_RETRY_BACKOFF_SECONDS": "0.01",
        "NEMO_RENDER_TIMEOUT_SECONDS": "10",
        "NEMO_SSE_TIMEOUT_SECONDS": "10",
    }
    env.update(extra)
    return env


def offline_env(folder: Path, **extra: str) -> dict[str, str]:
    """Environment for a nemo-mcp on the offline backend, its state and videos under ``folder``."""
    return {
        "NEMO_BACKEND": "local",
        "NEMO_STATE_DIR": str(folder / "state"),
        "NEMO_OUTPUT_DIR": str(folder / "out"),
        **extra,
    }


@pytest.fixture
def settings_for(emulator: Emulator, tmp_path: Path) -> Any:
    def make(**extra: str) -> Settings:
        return load_settings(fast_env(emulator.url, tmp_path, **extra))

    return make


@pytest.fixture
def server(settings_for: Any) -> Any:
    """``server(**env)``: an MCP server (in memory) pointed at the emulator, with every wait short."""
    from nemo_mcp.server import build_server

    def make(**env: str) -> Any:
        return build_server(settings_for(**env))

    return make


def png_bytes(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    frames = int(seconds * rate)
    data = b"\x00\x00" * frames
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "media"
    folder.mkdir()
    files = {
        "city.png": png_bytes(rgb=(30, 30, 200)),
        "park.png": png_bytes(rgb=(30, 200, 30)),
        "music.wav": wav_bytes(),
    }
    out = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        out[name] = path
    return out


@pytest.fixture(scope="session")
def project_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The realistic media of tests/editor_project.py, made once per run."""
    from tests.editor_project import make_media

    return make_media(tmp_path_factory.mktemp("project"))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Scores tests record as the "score" property (the offline editor's corpus), at the end of the run."""
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "score" and getattr(report, "when", "call") == "call":
                    terminalreporter.write_line(str(value))
