"""Start the built wheel the way users will (``uvx``, ``pipx run``) and call a tool on it.

Run by .ci/run: ``python tools/wheel_check.py dist/nemo_mcp-*.whl``. The launchers install the
wheel and its dependencies into environments of their own; the server talks to an emulator here.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from nemo_mcp.server.preview import PREVIEW_URI
from nemo_mcp.testing import Emulator, EmulatorServer


async def check(command: list[str], url: str, tmp: Path) -> str:
    env = {**os.environ, "NEMO_API_BASE": url, "NEMO_STATE_DIR": str(tmp / "state"), "NEMO_OUTPUT_DIR": str(tmp)}
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    async with Client(params, mode="legacy") as client:
        result = await client.call_tool("get_credits", {})
        # The MCP App's page is package data: the installed wheel must find it.
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        page = (await client.read_resource(PREVIEW_URI)).contents[0] if PREVIEW_URI in listed else None
    if result.is_error or result.structured_content["available"] != 100:
        raise SystemExit(f"{command[0]}: get_credits failed: {result}")
    if page is not None and not getattr(page, "text", "").startswith("<!DOCTYPE html>"):
        raise SystemExit(f"{command[0]}: {PREVIEW_URI} is not the page: {page}")
    served = f"; {PREVIEW_URI} served" if page is not None else f"; {PREVIEW_URI} not bound into the server yet"
    return f"{command[0]}: get_credits answered {result.structured_content['available']:g} credits{served}"


def main() -> int:
    wheel = str(Path(sys.argv[1]).resolve())
    bin_dir = Path(sys.executable).parent
    launchers = {
        "uvx": [str(bin_dir / "uvx"), "--from", wheel, "nemo-mcp"],
        "pipx": [str(bin_dir / "pipx"), "run", "--spec", wheel, "nemo-mcp"],
    }
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(Emulator(Path(tmp) / "emulator")) as server:
        os.environ.setdefault("UV_CACHE_DIR", str(Path(tmp) / "uv"))
        os.environ.setdefault("PIPX_HOME", str(Path(tmp) / "pipx"))
        for name, command in launchers.items():
            print(anyio.run(check, command, server.url, Path(tmp) / name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
