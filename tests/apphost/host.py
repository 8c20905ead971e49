"""A small MCP Apps host for tests: a real nemo-mcp behind the official MCP client, a page in a browser.

``AppHost`` runs, in a thread with its own event loop:

* an MCP ``Client`` connected to the server (stdio), advertising the Apps extension as hosts do;
* an HTTP server on 127.0.0.1 with two ports, so that host and view are different origins:
  the *host* origin serves ``host.html`` (the host side of the protocol, see that file) and
  ``POST /rpc``, which relays the view's ``tools/call`` and ``resources/read`` to the server;
  the *view* origin serves the ``ui://`` resource exactly as ``resources/read`` returned it, with
  the Content-Security-Policy the spec builds from its ``_meta.ui.csp``.

Tests drive the model's side themselves (``call_tool``) and the browser with Playwright.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client import advertise
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
APPS = "io.modelcontextprotocol/ui"
APP_MIME = "text/html;profile=mcp-app"
T = TypeVar("T")

# The restrictive default the spec prescribes when a resource declares no ui.csp.
DEFAULT_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' data:; connect-src 'none'"
)

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str | None:
    """The system Chromium (Playwright's own download is not reachable here)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def build_csp(csp: dict[str, Any] | None) -> str:
    """The iframe's Content-Security-Policy from a resource's ``_meta.ui.csp``, as the spec constructs it."""
    if csp is None:
        return DEFAULT_CSP

    def join(key: str) -> str:
        values = csp.get(key) or []
        return " ".join(str(v) for v in values)

    resources, connect = join("resourceDomains"), join("connectDomains")
    directives = [
        "default-src 'none'",
        f"script-src 'self' 'unsafe-inline' {resources}",
        f"style-src 'self' 'unsafe-inline' {resources}",
        f"connect-src 'self' {connect}",
        f"img-src 'self' data: {resources}",
        f"font-src 'self' {resources}",
        f"media-src 'self' data: {resources}",
        f"frame-src {join('frameDomains') or chr(39) + 'none' + chr(39)}",
        "object-src 'none'",
        f"base-uri {join('baseUriDomains') or chr(39) + 'self' + chr(39)}",
    ]
    return "; ".join(" ".join(d.split()) for d in directives)


def dump(result: Any) -> dict[str, Any]:
    """A result model as it travels on the wire (camelCase, no nulls)."""
    data: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


class AppHost:
    """See the module docstring. Use as a context manager; every method is synchronous and thread-safe."""

    def __init__(self, server: StdioServerParameters, *, timeout: float = 30.0, mode: str = "legacy") -> None:
        self.server = server
        self.timeout = timeout
        self.mode = mode
        # Until the lead binds the page into the server: where the stand-in resource may load media from.
        self.relayed: list[tuple[str, dict[str, Any]]] = []
        self.served: dict[str, Any] = {}  # uri -> {"bound": bool, "csp": ...}: what /view.html served
        self._host_sock, self._view_sock = _bind(), _bind()
        self.host_origin = f"http://127.0.0.1:{self._host_sock.getsockname()[1]}"
        self.view_origin = f"http://127.0.0.1:{self._view_sock.getsockname()[1]}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Client | None = None
        self._tools: dict[str, dict[str, Any]] = {}
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run_thread, name="apphost", daemon=True)

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> AppHost:
        self._thread.start()
        if not self._ready.wait(self.timeout) or self._error is not None:
            self.close()
            raise RuntimeError(f"the test host did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.timeout)

    @property
    def url(self) -> str:
        """The host page; the view's origin rides along so the page knows whom to talk to."""
        return f"{self.host_origin}/host.html?view={self.view_origin}"

    def _run_thread(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by __enter__
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        ext = advertise(APPS, {"mimeTypes": [APP_MIME]})
        async with Client(self.server, mode=self.mode, extensions=[ext]) as client:  # type: ignore[arg-type]
            self._client = client
            listed = await client.list_tools()
            self._tools = {t.name: dump(t) for t in listed.tools}
            config = uvicorn.Config(self._app(), log_level="warning", lifespan="off", access_log=False)
            web = uvicorn.Server(config)
            serving = asyncio.create_task(web.serve(sockets=[self._host_sock, self._view_sock]))
            while not web.started:
                if serving.done():
                    await serving  # raises what stopped it
                await asyncio.sleep(0.01)
            self._ready.set()
            await self._stop.wait()
            web.should_exit = True
            await serving

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout or self.timeout)

    # -- the model's side -------------------------------------------------------------------------

    def call_tool(
        self, name: str, arguments: dict[str, Any] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """A tool call as the model makes it; the result as the host would hand it to the view."""

        async def call() -> dict[str, Any]:
            assert self._client is not None
            return dump(await self._client.call_tool(name, arguments or {}))

        return self._run(call(), timeout)

    def tool(self, name: str) -> dict[str, Any]:
        return self._tools[name]

    def resource_uri(self, tool: str) -> str | None:
        """The tool's ``_meta.ui.resourceUri``, as a host reads it from tools/list."""
        meta = self._tools.get(tool, {}).get("_meta") or {}
        ui = meta.get("ui") or {}
        uri = ui.get("resourceUri")
        return uri if isinstance(uri, str) else None

    def ui_resource(self, uri: str) -> dict[str, Any]:
        """``resources/read`` of a ``ui://`` resource: ``{"text", "mimeType", "csp", "bound"}``."""
        return self._run(self._ui_resource(uri))

    async def _ui_resource(self, uri: str) -> dict[str, Any]:
        assert self._client is not None
        read = dump(await self._client.read_resource(uri, cache_mode="bypass"))
        (content,) = read["contents"]
        ui = (content.get("_meta") or {}).get("ui") or {}
        return {"text": content.get("text"), "mimeType": content.get("mimeType"), "csp": ui.get("csp")}

    # -- HTTP -------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        host_port = int(self.host_origin.rsplit(":", 1)[1])
        view_port = int(self.view_origin.rsplit(":", 1)[1])

        async def host_page(request: Request) -> Response:
            if request.url.port != host_port:
                return Response(status_code=404)
            return HTMLResponse((HERE / "host.html").read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})

        async def view_page(request: Request) -> Response:
            if request.url.port != view_port:
                return Response(status_code=404)
            uri = request.query_params.get("uri", "")
            if not uri.startswith("ui://"):
                return Response(status_code=404)
            resource = await self._ui_resource(uri)
            if resource["mimeType"] != APP_MIME or not isinstance(resource["text"], str):
                return Response("not an MCP App resource", status_code=415)
            self.served[uri] = resource
            headers = {"Content-Security-Policy": build_csp(resource["csp"]), "Cache-Control": "no-store"}
            return HTMLResponse(resource["text"], headers=headers)

        async def rpc(request: Request) -> Response:
            if request.url.port != host_port:
                return Response(status_code=404)
            body = await request.json()
            method, params = body.get("method"), body.get("params") or {}
            self.relayed.append((method, params))
            assert self._client is not None
            try:
                if method == "tools/call":
                    name = params.get("name")
                    visibility = ((self._tools.get(name, {}).get("_meta") or {}).get("ui") or {}).get("visibility")
                    if name not in self._tools or (visibility is not None and "app" not in visibility):
                        refused = {"code": -32602, "message": f"Tool {name!r} is not callable from the view"}
                        return JSONResponse({"error": refused})
                    result = dump(await self._client.call_tool(name, params.get("arguments") or {}))
                elif method == "resources/read":
                    result = dump(await self._client.read_resource(params.get("uri", ""), cache_mode="bypass"))
                else:
                    return JSONResponse({"error": {"code": -32601, "message": f"Method not found: {method}"}})
            except Exception as exc:
                return JSONResponse({"error": {"code": -32603, "message": str(exc) or type(exc).__name__}})
            return JSONResponse({"result": result})

        return Starlette(
            routes=[
                Route("/host.html", host_page),
                Route("/view.html", view_page),
                Route("/rpc", rpc, methods=["POST"]),
            ]
        )

    def calls_from_view(self, method: str = "tools/call") -> list[str]:
        """Names of the tools (or URIs) the view asked for, in order."""
        return [p.get("name") or p.get("uri") or "" for m, p in list(self.relayed) if m == method]
