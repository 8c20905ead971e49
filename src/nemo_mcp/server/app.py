"""The MCP server: tools, resources and a prompt over the shared actions.

Tools are thin: each validates nothing itself, calls the action of the same
name (``actions.py``) and turns the result into a structured tool result, or
a :class:`NemoError` into an ``isError`` result with the error's message.
Long actions run as jobs (``jobs.py``) that a call waits on for a bounded
time while forwarding their progress.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

import anyio
import mcp_types as types
from mcp.server import NotificationOptions
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.session import ServerSession
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated
from pydantic import BaseModel, Field, ValidationError

from nemo_mcp import __version__
from nemo_mcp.cloud import api
from nemo_mcp.cloud.client import NemoClient, SessionState, platform_var
from nemo_mcp.config import Settings
from nemo_mcp.core.jobs import Job, JobManager, Update
from nemo_mcp.core.workflow import Actions, state_result
from nemo_mcp.errors import InvalidInput, NemoError, OutOfCredits, SessionNotFound
from nemo_mcp.results import (
    CreditsResult,
    ExportResult,
    InstructionResult,
    SessionResult,
    StateResult,
    UploadResult,
)

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
nemo-mcp edits videos with the NemoVideo cloud editor. The workflow:
1. upload_media: local file paths or http(s) links (images, clips, music; 200 MB max each).
2. send_instruction: say in plain language what to make or change ("turn my images into an animated
   video with the title 'Summer' and soft music"). Edits can take minutes: if the result says
   status "running", call check_job with its job_id until it is "done".
3. get_state: the timeline (tracks, segments, durations), to check before exporting.
4. export_video: renders a 1080p MP4 and saves it on this computer (exports are free; instructions
   cost credits, see get_credits). Also returns a job_id while rendering.
Omit session_id to work on the current project; new_session starts another one.
Relay error messages to the user as they are: they say what to do next.
"""

# What NemoVideo calls the hosts it knows; others send their own name, cleaned.
KNOWN_PLATFORMS = {
    "claude-code": "claude_code",
    "claude code": "claude_code",
    "claude_code": "claude_code",
    "cursor": "cursor",
    "cursor-vscode": "cursor",
    "claude-ai": "claude_desktop",
    "claude desktop": "claude_desktop",
    "clawhub": "clawhub",
}

TIMELINE_URI = "nemo://sessions/{session_id}/timeline"
DRAFT_URI = "nemo://sessions/{session_id}/draft"
CREDITS_URI = "nemo://credits"

SessionArg = Annotated[
    str | None,
    Field(description="The project to work on; omit it for the current project.", max_length=128),
]


def platform_name(client_name: str | None) -> str:
    if not client_name or not client_name.strip():
        return "unknown"
    name = client_name.strip().lower()
    if name in KNOWN_PLATFORMS:
        return KNOWN_PLATFORMS[name]
    clean = re.sub(r"[^a-z0-9]+", "_", name).strip("_")[:40]
    return clean or "unknown"


JobOutput = InstructionResult | ExportResult | UploadResult


class JobResult(BaseModel):
    status: Literal["done", "running"]
    job_id: str
    kind: Literal["instruction", "export", "upload"]
    result: InstructionResult | ExportResult | UploadResult | None = Field(
        default=None, description="The original tool's full result once status is 'done'."
    )
    message: str | None = Field(default=None, description="The latest progress message.")


class _MCP(MCPServer):
    """MCPServer with argument errors a model can read, and one timeline resource per project."""

    def __init__(self, owner: NemoServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._owner = owner

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return error(InvalidInput(argument_errors(name, exc.__cause__)))
            raise

    async def list_resources(self) -> list[types.Resource]:
        static = await super().list_resources()
        return [
            *static,
            *(
                types.Resource(
                    uri=TIMELINE_URI.format(session_id=s.session_id),
                    name=f"timeline-{s.session_id}",
                    title=f"Timeline of project {s.session_id}",
                    mime_type="text/markdown",
                )
                for s in reversed(self._owner.actions.known_sessions())
            ),
        ]


def argument_errors(tool: str, exc: ValidationError) -> str:
    """'Invalid arguments for upload_media: `paths` must be a list (got 5).' — without pydantic's jargon."""
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


class NemoServer:
    """The server's state: one client, the actions, the jobs, and who listens for updates."""

    def __init__(self, settings: Settings, client: NemoClient | None = None) -> None:
        self.settings = settings
        self.client = client or NemoClient(settings)
        self.actions = Actions(
            self.client, on_session_changed=self._session_changed, on_session_created=self._session_created
        )
        self.jobs = JobManager()
        self._subscribers: dict[str, list[ServerSession]] = {}
        self._peers: dict[int, ServerSession] = {}
        self._send_logs = True
        self.mcp = self._build()

    # -- plumbing ----------------------------------------------------------------------------------

    def _enter(self, ctx: Context) -> None:
        """Per call: who is calling (X-Skill-Platform) and where to send list updates."""
        with contextlib.suppress(Exception):
            session = ctx.session
            params = session.client_params
            name = params.client_info.name if params is not None else None
            platform_var.set(platform_name(name))
            key = id(session._connection)
            if key not in self._peers:
                self._peers[key] = session
                session._connection.exit_stack.callback(lambda: self._peers.pop(key, None))

    async def _session_changed(self, session_id: str) -> None:
        for template in (TIMELINE_URI, DRAFT_URI):
            uri = template.format(session_id=session_id)
            for peer in list(self._subscribers.get(uri, [])):
                try:
                    await peer.send_resource_updated(uri)
                except Exception:
                    self._subscribers[uri].remove(peer)
            with contextlib.suppress(Exception):
                await self.mcp._subscriptions.publish(ResourceUpdated(uri=uri))

    async def _session_created(self, session_id: str) -> None:
        for key, peer in list(self._peers.items()):
            try:
                await peer.send_resource_list_changed()
            except Exception:
                self._peers.pop(key, None)
        with contextlib.suppress(Exception):
            await self.mcp._subscriptions.publish(ResourcesListChanged())

    async def _collect(self, job: Job, ctx: Context, since: int = 0) -> None:
        """Wait for the job a bounded time, forwarding its progress; cancel it if the call is cancelled."""

        async def send(update: Update) -> None:
            # A progress message that cannot be delivered is no reason to stop the work.
            with contextlib.suppress(Exception):
                # A no-op when the client sent no progressToken.
                await ctx.report_progress(update.progress, update.total, update.message)
            if update.message and self._send_logs:
                with contextlib.suppress(Exception), warnings.catch_warnings():
                    # Deprecated on 2026-07-28 (progress carries the text there); still what older hosts show.
                    warnings.simplefilter("ignore")
                    await ctx.info(update.message)

        try:
            await job.wait(self.settings.tool_wait_seconds, since, send)
        except anyio.get_cancelled_exc_class():
            # The client cancelled the call: stop the work too. (Running out of waiting time does not.)
            job.cancel()
            raise

    # -- the MCP surface -----------------------------------------------------------------------------

    def _build(self) -> MCPServer:
        mcp = _MCP(self, name="nemo-mcp", title="NemoVideo", version=__version__, instructions=INSTRUCTIONS)
        open_world = types.ToolAnnotations(open_world_hint=True)
        actions = self.actions

        @mcp.tool(
            title="Upload media",
            annotations=types.ToolAnnotations(open_world_hint=True, destructive_hint=False, idempotent_hint=False),
        )
        async def upload_media(
            ctx: Context,
            paths: Annotated[
                list[str], Field(description="Local files: images, clips or audio (200 MB max each).")
            ] = [],  # noqa: B006 - the schema needs a literal default; never mutated
            urls: Annotated[list[str], Field(description="http(s) links to media files.")] = [],  # noqa: B006
            session_id: SessionArg = None,
        ) -> Annotated[types.CallToolResult, UploadResult]:
            """Upload images, video clips or music to the project, from local paths or http(s) links."""
            self._enter(ctx)
            return await guarded(lambda: self._start_upload(ctx, paths, urls, session_id))

        @mcp.tool(title="Send an editing instruction", annotations=open_world)
        async def send_instruction(
            ctx: Context,
            instruction: Annotated[
                str, Field(description="What to make or change, in plain language.", max_length=8000)
            ],
            session_id: SessionArg = None,
        ) -> Annotated[types.CallToolResult, InstructionResult]:
            """Ask the NemoVideo editor to edit the timeline, in plain language.

            Edits can take minutes: a result with status 'running' has a job_id for check_job.
            """
            self._enter(ctx)
            return await guarded(lambda: self._start_instruction(ctx, instruction, session_id))

        @mcp.tool(
            title="Read the timeline",
            annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=True),
        )
        async def get_state(
            ctx: Context, session_id: SessionArg = None
        ) -> Annotated[types.CallToolResult, StateResult]:
            """The project's timeline: tracks, segments, duration and a readable summary."""
            self._enter(ctx)

            async def run() -> types.CallToolResult:
                state = await actions.get_state(session_id)
                return ok(state, state.summary)

            return await guarded(run)

        @mcp.tool(
            title="Check credits",
            annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=True),
        )
        async def get_credits(ctx: Context) -> Annotated[types.CallToolResult, CreditsResult]:
            """The account's NemoVideo credits (instructions cost credits; exports are free)."""
            self._enter(ctx)

            async def run() -> types.CallToolResult:
                credits = await actions.get_credits()
                text = f"{credits.available:g} credits available ({credits.frozen:g} reserved)."
                if credits.register_url:
                    text += f" Register for free to get more: {credits.register_url}"
                return ok(credits, text)

            return await guarded(run)

        @mcp.tool(title="Export the video", annotations=open_world)
        async def export_video(
            ctx: Context,
            session_id: SessionArg = None,
            quality: Annotated[str, Field(description="high, medium or low.")] = "high",
            download: Annotated[bool, Field(description="Save the MP4 on this computer.")] = True,
        ) -> Annotated[types.CallToolResult, ExportResult]:
            """Render the timeline to an MP4 (free) and save it on this computer.

            A result with status 'running' has a job_id for check_job.
            """
            self._enter(ctx)
            return await guarded(lambda: self._start_export(ctx, session_id, quality, download))

        @mcp.tool(title="Check a running job", annotations=open_world)
        async def check_job(
            ctx: Context,
            job_id: Annotated[
                str, Field(description="The job_id from send_instruction or export_video.", max_length=100)
            ],
        ) -> Annotated[types.CallToolResult, JobResult]:
            """Wait for a running instruction or export and return its result when done."""
            self._enter(ctx)

            async def run() -> types.CallToolResult:
                job = self.jobs.get(job_id)
                await self._collect(job, ctx, since=len(job.updates))
                return self._job_answer(job, as_check=True)

            return await guarded(run)

        @mcp.tool(title="Start a new project", annotations=open_world)
        async def new_session(
            ctx: Context,
            language: Annotated[
                str | None, Field(description="Language of the editor's replies: en, zh-CN, ja, es, ...")
            ] = None,
        ) -> Annotated[types.CallToolResult, SessionResult]:
            """Start a fresh, empty project and make it the current one (the old one stays available by id)."""
            self._enter(ctx)

            async def run() -> types.CallToolResult:
                session = await actions.new_session(language)
                return ok(session, f"New project {session.session_id} is now current.")

            return await guarded(run)

        @mcp.resource(TIMELINE_URI, name="timeline", title="Timeline summary", mime_type="text/markdown")
        async def timeline_resource(session_id: str) -> str:
            """A readable summary of a project's timeline."""
            state = await self._read_state(session_id)
            return f"# Project {session_id}\n\n{state_result(state).summary}\n"

        @mcp.resource(DRAFT_URI, name="draft", title="Raw draft", mime_type="application/json")
        async def draft_resource(session_id: str) -> str:
            """The project's draft exactly as NemoVideo stores it."""
            return (await self._read_state(session_id)).raw_draft or "null"

        @mcp.resource(CREDITS_URI, name="credits", title="Credit balance", mime_type="application/json")
        async def credits_resource() -> str:
            """The account's credit balance."""
            credits: CreditsResult = await resource_guard(actions.get_credits)
            return credits.model_dump_json()

        @mcp.prompt(title="Animate my images")
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

        self._install_lowlevel(mcp)
        return mcp

    def _install_lowlevel(self, mcp: MCPServer) -> None:
        """What MCPServer 2.3 lacks: resources/subscribe and unsubscribe, logging/setLevel."""
        lowlevel = mcp._lowlevel_server

        async def subscribe(ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams) -> types.EmptyResult:
            uri, session = str(params.uri), ctx.session
            peers = self._subscribers.setdefault(uri, [])
            if all(p._connection is not session._connection for p in peers):
                peers.append(session)
                # Forget the subscriber when its connection closes (notifying a closed one is a no-op).
                session._connection.exit_stack.callback(lambda: peers.remove(session) if session in peers else None)
            return types.EmptyResult()

        async def unsubscribe(
            ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams
        ) -> types.EmptyResult:
            uri = str(params.uri)
            self._subscribers[uri] = [
                p for p in self._subscribers.get(uri, []) if p._connection is not ctx.session._connection
            ]
            return types.EmptyResult()

        async def set_level(ctx: ServerRequestContext[Any], params: types.SetLevelRequestParams) -> types.EmptyResult:
            # Our progress texts go out as 'info'; a client asking for warning or above gets none.
            self._send_logs = params.level in ("debug", "info")
            return types.EmptyResult()

        lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, unsubscribe)
        lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)

        # MCPServer announces no listChanged in the handshake era; we do send resources/list_changed.
        create_options = lowlevel.create_initialization_options

        def initialization_options(notification_options: Any = None, *args: Any, **kwargs: Any) -> Any:
            options = notification_options or NotificationOptions(resources_changed=True)
            return create_options(options, *args, **kwargs)

        lowlevel.create_initialization_options = initialization_options  # type: ignore[method-assign]

    # -- the job tools -----------------------------------------------------------------------------

    async def _start_upload(
        self, ctx: Context, paths: list[str], urls: list[str], session_id: str | None
    ) -> types.CallToolResult:
        allowed = await self._allowed_dirs(ctx)
        sid = await self.actions.resolve_session(session_id)

        async def work(job: Job) -> UploadResult:
            return await self.actions.upload_media(paths, urls, sid, allowed_dirs=allowed, report=job.report)

        job = self.jobs.start("upload", sid, work)
        await self._collect(job, ctx)
        return self._job_answer(job)

    async def _start_instruction(self, ctx: Context, instruction: str, session_id: str | None) -> types.CallToolResult:
        sid = await self.actions.resolve_session(session_id)

        async def work(job: Job) -> InstructionResult:
            return await self.actions.send_instruction(
                instruction, sid, report=job.report, on_reply=lambda text: job.partial.update(reply=text)
            )

        job = self.jobs.start("instruction", sid, work)
        await self._collect(job, ctx)
        if isinstance(job.error, OutOfCredits) and job.error.register_url:
            await self._offer_link(ctx, job.error.register_url)
        return self._job_answer(job)

    async def _offer_link(self, ctx: Context, url: str) -> None:
        """Where the client can open links itself (URL elicitation), offer the registration page."""
        caps = ctx.client_capabilities
        if caps is None or caps.elicitation is None or caps.elicitation.url is None:
            return
        with contextlib.suppress(Exception), anyio.move_on_after(self.settings.tool_wait_seconds):
            await ctx.elicit_url(
                "You are out of NemoVideo credits. Register for free to get more and keep this project.",
                url,
                f"register-{secrets.token_hex(4)}",
            )

    async def _start_export(
        self, ctx: Context, session_id: str | None, quality: str, download: bool
    ) -> types.CallToolResult:
        sid = await self.actions.resolve_session(session_id)
        job = self.jobs.running("export", sid)
        if job is None:

            async def work(job: Job) -> ExportResult:
                return await self.actions.export_video(
                    sid,
                    quality,
                    download,
                    report=job.report,
                    on_render=lambda rid: job.partial.update(render_id=rid),
                )

            job = self.jobs.start("export", sid, work)
        await self._collect(job, ctx)
        return self._job_answer(job)

    def _job_answer(self, job: Job, as_check: bool = False) -> types.CallToolResult:
        if job.error is not None:
            return error(job.error)
        last = next((u.message for u in reversed(job.updates) if u.message), None)
        if job.done:
            result: JobOutput = job.result.model_copy(update={"job_id": job.id})
            text, extra = _describe(result)
            if as_check:
                return ok(
                    JobResult(status="done", job_id=job.id, kind=job.kind, result=result, message=last),
                    text,
                    extra,
                )
            return ok(result, text, extra)
        hint = f"Still working (job {job.id}). Call check_job with job_id '{job.id}' to wait for the result."
        text = f"{hint} Latest: {last}" if last else hint
        if as_check:
            return ok(JobResult(status="running", job_id=job.id, kind=job.kind, message=last), text)
        return ok(_running(job), text)

    async def _read_state(self, session_id: str) -> SessionState:
        """A resource read: no side effects, so a lost session is 'not found', not replaced."""
        try:
            return await self.client.state(api.check_session_id(unquote(session_id)))
        except SessionNotFound:
            raise ResourceNotFoundError(f"No project {session_id[:40]!r} on NemoVideo (it may have expired).") from None
        except NemoError as exc:
            raise ResourceError(str(exc)) from None

    async def _allowed_dirs(self, ctx: Context) -> tuple[Path, ...]:
        """NEMO_ALLOWED_DIRS plus the client's roots; empty means any readable file."""
        dirs = list(self.settings.allowed_dirs)
        caps = ctx.client_capabilities
        if caps is not None and caps.roots is not None:
            try:
                with anyio.fail_after(5), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # deprecated on 2026-07-28; still how older hosts say it
                    roots = await ctx.session.list_roots()
            except Exception as exc:  # no back-channel (2026-07-28), a client that fails, a timeout
                log.debug("Could not list the client's roots: %s", type(exc).__name__)
            else:
                for root in roots.roots:
                    uri = str(root.uri)
                    if uri.startswith("file://"):
                        dirs.append(Path(unquote(urlsplit(uri).path)))
        return tuple(dirs)

    async def aclose(self) -> None:
        await self.jobs.aclose()
        await self.client.aclose()


# Tool results --------------------------------------------------------------------------------------


def ok(model: BaseModel, text: str, extra: list[Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text), *(extra or [])],
        structured_content=model.model_dump(mode="json"),
    )


def error(exc: BaseException) -> types.CallToolResult:
    if isinstance(exc, NemoError):
        message = str(exc)
    else:
        log.error("Unexpected error", exc_info=exc)
        message = f"nemo-mcp hit an internal error ({type(exc).__name__}); please report it."
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


async def guarded(run: Callable[[], Awaitable[types.CallToolResult]]) -> types.CallToolResult:
    """Any failure as a tool error; error() tells ours (relayed) from a crash (logged, not shown)."""
    try:
        return await run()
    except Exception as exc:
        return error(exc)


async def resource_guard(run: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await run()
    except NemoError as exc:
        raise ResourceError(str(exc)) from None


def _running(job: Job) -> BaseModel:
    """What is known of a job that is still running, in the shape of its tool's result."""
    sid = job.session_id or ""
    if job.kind == "instruction":
        return InstructionResult(status="running", job_id=job.id, session_id=sid, reply=job.partial.get("reply", ""))
    if job.kind == "upload":
        return UploadResult(status="running", job_id=job.id, session_id=sid, uploaded=[])
    latest = job.updates[-1] if job.updates else None
    return ExportResult(
        status="running",
        job_id=job.id,
        session_id=sid,
        render_id=job.partial.get("render_id"),
        progress=latest.progress if latest is not None and latest.total == 100 else None,
    )


def _describe(result: JobOutput) -> tuple[str, list[Any]]:
    if isinstance(result, UploadResult):
        names = ", ".join(f"{u.name} ({u.kind})" for u in result.uploaded)
        return f"Uploaded {names} to project {result.session_id}.", []
    if isinstance(result, InstructionResult):
        parts = [result.reply]
        if result.note:
            parts.append(result.note)
        if result.changes and not result.reply.startswith("The timeline was updated"):
            parts.append("Changes: " + "; ".join(result.changes) + ".")
        parts.append(result.timeline)
        return "\n\n".join(p for p in parts if p), []
    if result.path:
        path = Path(result.path)
        link = types.ResourceLink(
            type="resource_link",
            uri=path.as_uri(),
            name=path.name,
            title="Exported video",
            mime_type="video/mp4",
            size=result.size_bytes,
        )
        return f"The video is ready: {result.path} ({(result.size_bytes or 0) / 1e6:.1f} MB).", [link]
    return f"The video is rendered: {result.url}", []


def build_server(settings: Settings) -> NemoServer:
    return NemoServer(settings)


__all__ = ["NemoServer", "build_server", "platform_name"]
