"""What the MCP SDK does not do for us yet, each piece on its public surface, in this one module.

Written against ``mcp`` 2.3.0; ``tests/test_sdk_seams.py`` checks every piece against the SDK
installed, and fails when the SDK starts doing one itself (then delete the piece) or stops
offering the seam it uses.

* **Handshake-era resource subscriptions and ``logging/setLevel``.** ``MCPServer`` 2.3 answers
  ``resources/subscribe``, ``resources/unsubscribe`` and ``logging/setLevel`` with "method not
  found" and advertises neither; desktop hosts speaking 2025-11-25 use all three. The
  :class:`LegacyChannels` middleware (``MCPServer(middleware=...)``, provisional in 2.x) answers
  them, keeps subscriptions and the log level *per connection*, and adds ``resources.subscribe``,
  ``resources.listChanged`` and ``logging`` to the ``initialize`` result. A connection is known
  by its ``client_params`` object, which the SDK keeps for the connection's life; notifications
  go out on the session's standalone channel, and a connection that can no longer take one is
  forgotten. (On 2026-07-28 the SDK's own ``subscriptions/listen`` bus does all of this.)
* **Argument errors a model can read.** A tool called with arguments of the wrong shape raises
  ``ToolError`` caused by pydantic's ``ValidationError`` (documented on ``MCPServer.call_tool``);
  the SDK relays pydantic's text. :class:`NemoMCPServer` turns it into one plain sentence.
* **A size limit on tool results.** The SDK sends whatever a tool returns. :class:`NemoMCPServer`
  passes every ``CallToolResult`` it answers, the error results it makes itself included, through
  one shaping function (``server.calls.bounded``: the budgets of ``nemo_mcp.budget``).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from pydantic import ValidationError

log = logging.getLogger(__name__)

SDK_VERSION = "2.3.0"
# Connections remembered for notifications; the oldest is forgotten past this.
MAX_CONNECTIONS = 256
# notifications/message levels, least severe first.
LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


@dataclass(eq=False)
class _Peer:
    session: ServerSession
    params: Any  # the connection's InitializeRequestParams, held so its id stays this connection's
    log_level: str = "debug"
    subscriptions: set[str] = field(default_factory=set)


class LegacyChannels:
    """Server middleware: resource subscriptions and log levels for handshake-era connections."""

    def __init__(self) -> None:
        self._peers: OrderedDict[int, _Peer] = OrderedDict()

    def _peer(self, session: ServerSession) -> _Peer | None:
        params = session.client_params
        if params is None:  # a 2026-07-28 connection: the SDK's bus serves it
            return None
        key = id(params)
        peer = self._peers.get(key)
        if peer is None:
            peer = self._peers[key] = _Peer(session, params)
            while len(self._peers) > MAX_CONNECTIONS:
                self._peers.popitem(last=False)
        else:
            peer.session = session
        return peer

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        method = ctx.method
        if method == "initialize":
            result = await call_next(ctx)
            return _advertise(result)
        if ctx.request_id is None or ctx.protocol_version.startswith("2026"):
            return await call_next(ctx)
        peer = self._peer(ctx.session)
        params = ctx.params or {}
        if peer is not None and method == "resources/subscribe":
            peer.subscriptions.add(str(params.get("uri", "")))
            return {}
        if peer is not None and method == "resources/unsubscribe":
            peer.subscriptions.discard(str(params.get("uri", "")))
            return {}
        if peer is not None and method == "logging/setLevel":
            level = str(params.get("level", ""))
            if level not in LEVELS:
                raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown log level {level[:20]!r}")
            peer.log_level = level
            return {}
        return await call_next(ctx)

    def wants_log(self, session: ServerSession, level: str) -> bool:
        """Whether this connection asked for log notifications at ``level`` (all of them by default)."""
        peer = self._peer(session)
        if peer is None:
            return True
        return LEVELS.index(level) >= LEVELS.index(peer.log_level)

    async def resource_updated(self, uri: str) -> None:
        for key, peer in list(self._peers.items()):
            if uri in peer.subscriptions and not await _send(peer.session.send_resource_updated(uri)):
                self._peers.pop(key, None)

    async def resource_list_changed(self) -> None:
        for key, peer in list(self._peers.items()):
            if not await _send(peer.session.send_resource_list_changed()):
                self._peers.pop(key, None)


async def _send(notification: Any) -> bool:
    """Send one notification; False when the connection is gone."""
    try:
        await notification
    except Exception as exc:
        log.debug("Dropped a connection that could not take a notification (%s)", type(exc).__name__)
        return False
    return True


def _advertise(result: HandlerResult) -> HandlerResult:
    """The ``initialize`` result, saying what :class:`LegacyChannels` serves."""
    if not isinstance(result, dict):
        return result
    capabilities = result.setdefault("capabilities", {})
    resources = capabilities.setdefault("resources", {})
    resources["subscribe"] = True
    resources["listChanged"] = True
    capabilities.setdefault("logging", {})
    return result


Shape = Callable[[types.CallToolResult], types.CallToolResult]


class NemoMCPServer(MCPServer[Any]):
    """``MCPServer`` whose argument errors read as one sentence a model can act on, and whose
    every tool result, errors included, goes through ``shape`` on its way out (the budgets)."""

    def __init__(self, *args: Any, shape: Shape, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shape = shape

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> types.CallToolResult | types.InputRequiredResult:
        try:
            result = await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                message = argument_errors(name, exc.__cause__)
            else:
                # What the SDK would answer (an unknown tool, a resolver's refusal), shaped too.
                log.info("Tool %r failed: %r", name[:100], str(exc)[:200])
                message = str(exc)
            result = types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)
        return self.shape(result) if isinstance(result, types.CallToolResult) else result


def argument_errors(tool: str, exc: ValidationError) -> str:
    """'Invalid arguments for upload_media: `paths`: input should be a valid list (got 5).'"""
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(part) for part in err["loc"]) or "arguments"
        given = err.get("input")
        shown = repr(given) if len(repr(given)) <= 40 else repr(given)[:40] + "…"
        if err["type"] == "missing":
            problems.append(f"`{where}` is required")
        else:
            problems.append(f"`{where}`: {err['msg'].lower()} (got {shown})")
    return f"Invalid arguments for {tool}: " + "; ".join(problems) + "."


@contextlib.contextmanager
def quiet_deprecations() -> Iterator[None]:
    """Logging and roots are deprecated on 2026-07-28; still how handshake-era hosts do it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        yield
