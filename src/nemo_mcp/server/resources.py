"""Resources (a project's timeline and raw draft, the credit balance), their change notifications,
and the prompt.

Reading a resource has no side effects: a lost project is "not found", never replaced by a
new one. When a project changes or a new one is made, subscribers hear of it on both protocol
eras: 2026-07-28 clients through the SDK's subscription bus, handshake-era clients through
:class:`~nemo_mcp.server._sdk.LegacyChannels`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.subscriptions import SubscriptionBus
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated

from nemo_mcp import draft, results
from nemo_mcp.cloud.api import SessionState
from nemo_mcp.errors import NemoError, SessionNotFound
from nemo_mcp.server._sdk import LegacyChannels
from nemo_mcp.server.calls import App

TIMELINE_URI = results.TIMELINE_URI
# The first page is the plain URI; ``?page=N`` the others (RFC 6570 form-style query).
TIMELINE_TEMPLATE = TIMELINE_URI + "{?page}"
DRAFT_URI = "nemo://sessions/{session_id}/draft"
CREDITS_URI = "nemo://credits"


class Notifier:
    """Tells subscribers that a project changed or that the list of projects did."""

    def __init__(self, bus: SubscriptionBus, channels: LegacyChannels) -> None:
        self.bus = bus
        self.channels = channels

    async def session_changed(self, session_id: str) -> None:
        for template in (TIMELINE_URI, DRAFT_URI):
            uri = template.format(session_id=session_id)
            await self.channels.resource_updated(uri)
            await self.bus.publish(ResourceUpdated(uri=uri))

    async def session_created(self, session_id: str) -> None:
        await self.channels.resource_list_changed()
        await self.bus.publish(ResourcesListChanged())


def _app(ctx: Context[Any, Any]) -> App:
    app: App = ctx.request_context.lifespan_context
    return app


async def _read_state(ctx: Context[Any, Any], session_id: str) -> SessionState:
    try:
        workflow = await _app(ctx).workflow()
        return await workflow.read_state(unquote(session_id))
    except SessionNotFound:
        raise ResourceNotFoundError(f"No project {session_id[:40]!r} on NemoVideo (it may have expired).") from None
    except NemoError as exc:
        raise ResourceError(str(exc)) from None


async def timeline_resource(session_id: str, ctx: Context[Any, Any], page: str | None = None) -> str:
    """A project's whole timeline, every segment numbered; a long one in pages (`?page=2`…), each naming the next."""
    number = _page_number(page)
    state = await _read_state(ctx, session_id)
    sid = unquote(session_id)
    timeline = draft.parse_draft(state.draft, state.canvas)
    try:
        return draft.page(timeline, f"# Project {sid}", results.timeline_uri(sid), number).text
    except ValueError as exc:
        raise ResourceNotFoundError(str(exc)) from None


def _page_number(page: str | None) -> int:
    if page is None or page == "":
        return 1
    if not (page.isascii() and page.isdigit() and len(page) <= 9 and int(page) >= 1):
        raise ResourceNotFoundError(f"No page {page[:20]!r}: pages are numbered from 1 (`?page=2`).")
    return int(page)


async def draft_resource(session_id: str, ctx: Context[Any, Any]) -> str:
    """The project's draft exactly as NemoVideo stores it."""
    return (await _read_state(ctx, session_id)).raw_draft or "null"


class Running:
    """The apps the server's lifespan has open: the SDK injects no context into static resources
    (``nemo://credits``), so they read through the newest one."""

    def __init__(self) -> None:
        self.apps: list[App] = []

    async def credits(self) -> str:
        """The account's credit balance."""
        if not self.apps:
            raise ResourceError("nemo-mcp is not running.")
        try:
            credits = await (await self.apps[-1].workflow()).get_credits()
        except NemoError as exc:
            raise ResourceError(str(exc)) from None
        return credits.model_dump_json()


def animate_images(folder_or_files: str, title: str = "", music: str = "") -> str:
    """Walk through turning a few images into an animated video with a title and music."""
    steps = [
        f"Make an animated video from these images: {folder_or_files}.",
        "1. Upload them (and the music file, if any) with upload_media.",
        "2. Call send_instruction with: 'turn my images into an animated video"
        + (f' with the title "{title}"' if title else "")
        + (" and background music" if music else "")
        + "'.",
        "3. Show me the timeline from get_state and ask whether to change anything.",
        "4. When I am happy, call export_video and tell me where the MP4 was saved.",
    ]
    if music:
        steps.insert(1, f"Music to use: {music}.")
    return "\n".join(steps)


async def list_projects(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: ``resources/list`` also names each known project's timeline."""
    result = await call_next(ctx)
    if ctx.method != "resources/list" or not isinstance(result, dict):
        return result
    app: App = ctx.lifespan_context
    listed = result.setdefault("resources", [])
    workflow = await app.workflow()
    for known in reversed(await workflow.known_sessions()):
        listed.append(
            types.Resource(
                uri=TIMELINE_URI.format(session_id=known.session_id),
                name=f"timeline-{known.session_id}",
                title=f"Timeline of project {known.session_id}",
                mime_type="text/markdown",
            ).model_dump(by_alias=True, mode="json", exclude_none=True)
        )
    return result


def install(server: MCPServer[Any], running: Running) -> None:
    server.resource(TIMELINE_TEMPLATE, name="timeline", title="Timeline", mime_type="text/markdown")(timeline_resource)
    server.resource(DRAFT_URI, name="draft", title="Raw draft", mime_type="application/json")(draft_resource)
    server.resource(
        CREDITS_URI,
        name="credits",
        title="Credit balance",
        description="The account's credit balance.",
        mime_type="application/json",
    )(running.credits)
    server.prompt(title="Animate my images")(animate_images)
