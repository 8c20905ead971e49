"""The built wheel, not the checkout: it installs, starts, and serves a tool."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from tests.conftest import fast_env

from nemo_mcp.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("nemo_mcp-*.whl")
    return built


def test_wheel_carries_the_package_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "nemo_mcp/py.typed" in names
    assert any(n.startswith("nemo_mcp/local/fonts/") and n.endswith(".ttf") for n in names)
    assert "nemo_mcp/server/preview.html" in names  # the MCP App page, read with importlib.resources
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "nemo-mcp = nemo_mcp.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


@pytest.mark.anyio
async def test_installed_wheel_serves_a_tool(wheel: Path, tmp_path: Path, emulator: Emulator) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    # The wheel's code first on the path; its dependencies come from this environment.
    env = {**os.environ, **fast_env(emulator.url, tmp_path), "PYTHONPATH": str(target)}
    version = subprocess.run(
        [str(target / "bin" / "nemo-mcp"), "--version"], env=env, capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("nemo-mcp ")
    where = subprocess.run(
        [sys.executable, "-c", "import nemo_mcp; print(nemo_mcp.__file__)"], env=env, capture_output=True, text=True
    )
    assert where.stdout.startswith(str(target))
    params = StdioServerParameters(command=str(target / "bin" / "nemo-mcp"), args=[], env=env)
    async with Client(params, mode="legacy") as client:
        credits = await client.call_tool("get_credits", {})
    assert not credits.is_error and credits.structured_content["available"] == 100
