"""A bare MCPServer: what the SDK alone costs, the floor of the latency rows.

``python -m bench.sdk_floor stdio`` serves it on stdio, ``python -m bench.sdk_floor PORT`` over
streamable HTTP. Its ``noop`` tool answers at once; its ``credits`` tool makes the same API call
as nemo-mcp's ``get_credits`` with a plain httpx client (``NEMO_API_BASE``, the bench token). The
rows call it exactly as they call nemo-mcp, so what the SDK, its client and the API cost is told
apart from what we add.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer(name="sdk-floor")
_http: Any = None


@server.tool()
async def noop() -> dict[str, int]:
    """Answers at once, touching nothing."""
    return {"available": 100}


@server.tool()
async def credits() -> dict[str, float]:
    """The credit balance from the API, with nothing of nemo-mcp in the way."""
    global _http
    if _http is None:
        # Imported here: the hello-world cold start must not pay for them.
        import httpx

        from bench.common import api_headers

        _http = httpx.AsyncClient(base_url=os.environ["NEMO_API_BASE"], headers=api_headers())
    answer = await _http.get("/api/credits/balance/simple")
    answer.raise_for_status()
    return {"available": float(answer.json()["data"]["available"])}


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
