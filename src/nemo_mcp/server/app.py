"""The MCP server: one ``MCPServer`` with nemo-mcp's tools, resources and prompt, and its lifespan.

The lifespan owns everything long-lived: the workflow (HTTP client, state store, the local
backend when offline) and the task group the jobs run in. When the server stops (stdin closed,
SIGTERM, Ctrl-C) the lifespan ends: running jobs are cancelled (a render is cancelled on the
API, a half-downloaded file removed), then the client, the store and the backend are closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus

from nemo_mcp import __version__
from nemo_mcp.config import Settings
from nemo_mcp.core.connect import open_workflow
from nemo_mcp.core.jobs import Jobs
from nemo_mcp.core.workflow import Workflow
from nemo_mcp.draft.media import MAX_UPLOAD_TEXT
from nemo_mcp.server import resources
from nemo_mcp.server import tools as _tools  # noqa: F401 - registers the tools with `tools`
from nemo_mcp.server._sdk import LegacyChannels, NemoMCPServer
from nemo_mcp.server.calls import App, bounded, tools
from nemo_mcp.server.preview import PREVIEW_TOOLS, Preview, preview_tool_meta

INSTRUCTIONS = f"""\
nemo-mcp edits videos with the NemoVideo cloud editor. The workflow:
1. upload_media: local file paths or http(s) links (images, clips, music; {MAX_UPLOAD_TEXT} max each).
2. send_instruction: say in plain language what to make or change ("turn my images into an animated
   video with the title 'Summer' and soft music"). Edits can take minutes: if the result says
   status "running", call check_job with its job_id until it is "done".
3. get_state: the timeline (tracks, segments, durations), to check before exporting. A long one
   comes as an outline; the resource nemo://sessions/<id>/timeline lists every segment, page by page.
4. export_video: renders a 1080p MP4 and saves it on this computer (exports are free; instructions
   cost credits, see get_credits). Also returns a job_id while rendering.
After an edit the user asked for something visual (a title, colours, framing, a new order), call
get_frames and look at the images before telling the user it is done: they show the video as
exported, so you can catch a title in the wrong place or a photo cropped badly.
Omit session_id to work on the current project; new_session starts another one.
Relay error messages to the user as they are: they say what to do next.
"""


# Where cloud media may come from besides the API itself: the vendor's own domains (its CDN is not
# documented); origins seen in answers are added as they come (server/preview.py).
CLOUD_MEDIA_ORIGINS = ("https://*.nemovideo.ai", "https://*.nemovideo.com")


def build_server(settings: Settings, *, on_close: Callable[[], object] | None = None) -> NemoMCPServer:
    """The server; ``on_close`` is called once its lifespan has closed everything it opened."""
    bus = InMemorySubscriptionBus()
    channels = LegacyChannels()
    notifier = resources.Notifier(bus, channels)
    running = resources.Running()
    preview = Preview()

    @contextlib.asynccontextmanager
    async def lifespan(server: Any) -> AsyncIterator[App]:
        try:
            async with contextlib.AsyncExitStack() as stack, anyio.create_task_group() as group:

                async def open_on_first_use() -> Workflow:
                    workflow = await stack.enter_async_context(open_workflow(settings, listener=notifier))
                    # The API's own origin serves media: the local backend's port is known only now.
                    preview.allow(workflow.settings.api_base)
                    return workflow

                app = App(settings, Jobs(group), channels, preview, open_on_first_use)
                if settings.backend == "local":
                    await app.workflow()
                else:
                    preview.allow(settings.api_base, settings.web_url, *CLOUD_MEDIA_ORIGINS)
                running.apps.append(app)
                try:
                    yield app
                finally:
                    running.apps.remove(app)
                    group.cancel_scope.cancel()
        finally:
            if on_close is not None:
                on_close()

    server = NemoMCPServer(
        name="nemo-mcp",
        title="NemoVideo",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        subscriptions=bus,
        middleware=[channels, resources.list_projects],
        extensions=[preview.apps],
        shape=bounded,
    )
    tools.install(server, meta=lambda name: preview_tool_meta() if name in PREVIEW_TOOLS else None)
    resources.install(server, running)
    return server
