"""A bare MCPServer with one trivial tool: what the SDK alone costs per call over streamable HTTP.

``python -m bench.sdk_floor PORT`` serves it; the concurrency row calls it exactly as it calls
nemo-mcp, so the two can be told apart: what the SDK and the client cost, and what we add.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer(name="sdk-floor")


@server.tool()
async def noop() -> dict[str, int]:
    """Answers at once, touching nothing."""
    return {"available": 100}


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
