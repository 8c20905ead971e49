"""Which NemoVideo answers: the cloud, or the local backend started on 127.0.0.1 for this process.

The local backend is a real HTTP server with its own per-install key, so the client's code path
is exactly the cloud one; only the base URL and the bearer differ. ``open_workflow`` is the one
way the server and the CLI get a :class:`Workflow`, and closing it closes everything it opened:
the HTTP client, the state store, the local backend and its renders.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import anyio

from nemo_mcp.config import Settings
from nemo_mcp.core.workflow import Listener, Workflow

# The longest closing may take (a backend stopping its renders, a render cancelled on the API).
CLOSE_SECONDS = 15.0


@contextlib.asynccontextmanager
async def open_workflow(
    settings: Settings, *, platform: str = "unknown", listener: Listener | None = None
) -> AsyncIterator[Workflow]:
    stack = contextlib.AsyncExitStack()
    try:
        notices: list[str] = []
        if settings.backend == "local":
            from nemo_mcp.apiserver.fetch import LinkPolicy
            from nemo_mcp.local.backend import LocalBackend

            links = LinkPolicy(allow_private=settings.allow_private_urls, deadline_seconds=settings.url_fetch_seconds)
            backend = LocalBackend(settings.state_dir / "local", links=links)
            # Starting it reads its database and binds a port: blocking work, off the event loop.
            await anyio.to_thread.run_sync(backend.__enter__)
            stack.push_async_callback(anyio.to_thread.run_sync, backend.__exit__, None, None, None)
            settings = dataclasses.replace(settings, api_base=backend.url, backend_secret=backend.secret)
            notices = list(backend.warnings)
        # Here, not at the top: httpx (and the TLS set-up behind it) is loaded when the workflow is
        # first opened, which on the cloud is the first call, not the server's start.
        from nemo_mcp.cloud.client import NemoClient, scope_of
        from nemo_mcp.cloud.store import StateStore

        store = StateStore(settings.state_dir, scope_of(settings))
        stack.callback(store.close)
        client = NemoClient(settings, store=store, platform=platform)
        stack.push_async_callback(client.aclose)
        yield Workflow(client, store, listener=listener, notices=notices)
    finally:
        # Closing happens also when the server is being cancelled (SIGTERM): shielded, and bounded.
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_SECONDS):
            await stack.aclose()
