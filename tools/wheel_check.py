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

from nemo_mcp.testing import Emulator, EmulatorServer


async def check(command: list[str], url: str, tmp: Path) -> str:
    env = {**os.environ, "NEMO_API_BASE": url, "NEMO_STATE_DIR": str(tmp / "state"), "NEMO_OUTPUT_DIR": str(tmp)}
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    async with Client(params, mode="legacy") as client:
        result = await client.call_tool("get_credits", {})
    if result.is_error or result.structured_content["available"] != 100:
        raise SystemExit(f"{command[0]}: get_credits failed: {result}")
    return f"{command[0]}: get_credits answered {result.structured_content['available']:g} credits"


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
