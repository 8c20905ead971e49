"""The tools, one function each: the signature is the input schema, the result model the output.

Each tool checks what it was given, then calls the workflow (``core.workflow``). The three that
can take minutes (upload, instruction, export) run as jobs and answer within the host's
patience with a job id when the work is not done; ``check_job`` waits again.
"""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import anyio
import mcp_types as types
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import ListRoots, Resolve
from pydantic import Field

from nemo_mcp.core.jobs import Job
from nemo_mcp.draft.media import MAX_UPLOAD_TEXT
from nemo_mcp.errors import OutOfCredits
from nemo_mcp.results import (
    CreditsResult,
    ExportResult,
    FramesResult,
    InstructionResult,
    JobResult,
    SessionResult,
    StateResult,
    UploadResult,
)
from nemo_mcp.server._sdk import quiet_deprecations
from nemo_mcp.server.calls import Call, ok, tools

log = logging.getLogger(__name__)

SessionArg = Annotated[
    str | None,
    Field(description="The project to work on; omit it for the current project.", max_length=128),
]
READ_ONLY = types.ToolAnnotations(read_only_hint=True, open_world_hint=True)
OPEN_WORLD = types.ToolAnnotations(open_world_hint=True)


async def client_roots(ctx: Context[Any, Any]) -> types.ListRootsResult | ListRoots | None:
    """The folders the client shares (MCP roots), when it says it has any; None when it does not.

    Handshake-era clients are asked here, with a deadline; on 2026-07-28 the SDK asks through
    the call's input-required round. A client that declares roots but cannot list them gets
    its uploads refused: the limit must never fail open.
    """
    caps = ctx.client_capabilities
    if caps is None or caps.roots is None:
        return None
    if not ctx.session.can_send_request:
        return ListRoots()
    try:
        # How long a client may take to list its roots before uploads are refused (never allowed blindly).
        seconds = ctx.request_context.lifespan_context.settings.roots_timeout_seconds
        with anyio.fail_after(seconds), quiet_deprecations():
            listed: types.ListRootsResult = await ctx.session.list_roots()
            return listed
    except Exception as exc:
        why = f"it did not answer within {seconds:g} s" if isinstance(exc, TimeoutError) else type(exc).__name__
        raise ToolError(
            "Your assistant did not say which folders nemo-mcp may read (its MCP roots could not be listed: "
            f"{why}), so no file was uploaded. Try again, or set NEMO_ALLOWED_DIRS to the "
            "folders with your media."
        ) from None


def _root_dirs(roots: types.ListRootsResult | None) -> tuple[Path, ...]:
    return tuple(
        Path(unquote(urlsplit(str(root.uri)).path))
        for root in (roots.roots if roots else [])
        if str(root.uri).startswith("file://")
    )


@tools.tool(
    title="Upload media",
    annotations=types.ToolAnnotations(open_world_hint=True, destructive_hint=False, idempotent_hint=False),
)
async def upload_media(
    ctx: Context[Any, Any],
    roots: Annotated[types.ListRootsResult | None, Resolve(client_roots)],
    paths: Annotated[
        list[str], Field(description=f"Local files: images, clips or audio ({MAX_UPLOAD_TEXT} max each).")
    ] = [],  # noqa: B006 - the schema needs a literal default; never mutated
    urls: Annotated[list[str], Field(description="http(s) links to media files.")] = [],  # noqa: B006
    session_id: SessionArg = None,
) -> Annotated[types.CallToolResult, UploadResult]:
    """Upload images, video clips or music to the project, from local paths or http(s) links."""
    call = await Call.of(ctx)
    allowed = call.app.settings.allowed_dirs + _root_dirs(roots)
    plan = call.workflow.admit_upload(paths, urls, allowed)
    sid = await call.workflow.resolve_session(session_id)
    job = call.jobs.start("upload", sid, lambda job: call.workflow.upload_media(plan, sid, job.report))
    await call.attend(job)
    return call.answer(job)


@tools.tool(title="Send an editing instruction", annotations=OPEN_WORLD)
async def send_instruction(
    ctx: Context[Any, Any],
    instruction: Annotated[str, Field(description="What to make or change, in plain language.", max_length=8000)],
    session_id: SessionArg = None,
) -> Annotated[types.CallToolResult, InstructionResult] | types.InputRequiredResult:
    """Ask the NemoVideo editor to edit the timeline, in plain language.

    Edits can take minutes: a result with status 'running' has a job_id for check_job.
    """
    call = await Call.of(ctx)
    if ctx.request_state is not None:
        # The retry after the registration link was offered: the instruction already ran and failed.
        raise OutOfCredits(register_url=ctx.request_state)
    text = call.workflow.check_instruction(instruction)
    sid = await call.workflow.resolve_session(session_id)

    async def work(job: Job) -> InstructionResult:
        return await call.workflow.send_instruction(
            text, sid, job.report, on_reply=lambda reply: job.partial.update(reply=reply)
        )

    job = call.jobs.start("instruction", sid, work)
    await call.attend(job)
    if isinstance(job.error, OutOfCredits) and job.error.register_url:
        offered = await _offer_registration(call, job.error.register_url)
        if offered is not None:
            return offered
    return call.answer(job)


async def _offer_registration(call: Call, url: str) -> types.InputRequiredResult | None:
    """Where the client opens links itself (URL elicitation), offer the registration page.

    On 2026-07-28 that is an input-required round (the retry answers with the error, without
    running the instruction again); handshake-era clients get an elicitation request mid-call.
    """
    caps = call.ctx.client_capabilities
    if caps is None or caps.elicitation is None or caps.elicitation.url is None:
        return None
    message = "You are out of NemoVideo credits. Register for free to get more and keep this project."
    if not call.ctx.session.can_send_request:
        request = types.ElicitRequest(params=types.ElicitRequestURLParams(message=message, url=url))
        return types.InputRequiredResult(input_requests={"register": request}, request_state=url)
    try:
        with anyio.move_on_after(call.app.settings.tool_wait_seconds):
            await call.ctx.elicit_url(message, url, f"register-{secrets.token_hex(4)}")
    except Exception as exc:  # the error result below still carries the link
        log.debug("Could not offer the registration link (%s)", type(exc).__name__)
    return None


@tools.tool(title="Read the timeline", annotations=READ_ONLY)
async def get_state(
    ctx: Context[Any, Any], session_id: SessionArg = None
) -> Annotated[types.CallToolResult, StateResult]:
    """The project's timeline: tracks, segments, duration and a readable summary.

    A long timeline comes as an outline; the timeline resource it names lists every segment.
    """
    call = await Call.of(ctx)
    state = await call.workflow.get_state(session_id)
    return ok(state, state.text())


@tools.tool(title="Check credits", annotations=READ_ONLY)
async def get_credits(ctx: Context[Any, Any]) -> Annotated[types.CallToolResult, CreditsResult]:
    """The account's NemoVideo credits (instructions cost credits; exports are free)."""
    call = await Call.of(ctx)
    credits = await call.workflow.get_credits()
    return ok(credits, credits.text())


@tools.tool(title="Export the video", annotations=OPEN_WORLD)
async def export_video(
    ctx: Context[Any, Any],
    session_id: SessionArg = None,
    quality: Annotated[str, Field(description="high, medium or low.")] = "high",
    download: Annotated[bool, Field(description="Save the MP4 on this computer.")] = True,
) -> Annotated[types.CallToolResult, ExportResult]:
    """Render the timeline to an MP4 (free) and save it on this computer.

    A result with status 'running' has a job_id for check_job.
    """
    call = await Call.of(ctx)
    quality = call.workflow.check_quality(quality)
    sid = await call.workflow.resolve_session(session_id)
    # A second export of the same project joins the one running.
    job = call.jobs.running("export", sid)
    if job is None:

        async def work(job: Job) -> ExportResult:
            return await call.workflow.export_video(
                sid, quality, download, job.report, on_render=lambda rid: job.partial.update(render_id=rid)
            )

        job = call.jobs.start("export", sid, work)
    await call.attend(job)
    return call.answer(job)


@tools.tool(title="Look at frames of the video", annotations=READ_ONLY)
async def get_frames(
    ctx: Context[Any, Any],
    session_id: SessionArg = None,
    times_s: Annotated[
        list[float] | None,
        Field(description="Moments to show, in seconds from the start (at most 8); omit to spread `count` evenly."),
    ] = None,
    count: Annotated[int, Field(description="How many frames to spread over the video when no times are given.")] = 4,
) -> Annotated[types.CallToolResult, FramesResult]:
    """Frames of the video as JPEG images, to check an edit by eye before the user does.

    From the exported MP4 when it shows the timeline as it is now; offline, rendered straight from
    the timeline. On the cloud without a current export there are none: export first (free).
    """
    call = await Call.of(ctx)
    frames = await call.workflow.get_frames(session_id, times_s, count)
    images = [
        types.ImageContent(type="image", data=base64.b64encode(jpeg).decode(), mime_type="image/jpeg")
        for jpeg in frames.jpegs
    ]
    return ok(frames.result, frames.result.text(), images)


@tools.tool(title="Check a running job", annotations=OPEN_WORLD)
async def check_job(
    ctx: Context[Any, Any],
    job_id: Annotated[str, Field(description="The job_id from send_instruction or export_video.", max_length=100)],
) -> Annotated[types.CallToolResult, JobResult]:
    """Wait for a running instruction or export and return its result when done."""
    call = await Call.of(ctx)
    job = call.jobs.get(job_id)
    await call.attend(job, since=len(job.updates))
    return call.check_answer(job)


@tools.tool(title="Start a new project", annotations=OPEN_WORLD)
async def new_session(
    ctx: Context[Any, Any],
    language: Annotated[
        str | None, Field(description="Language of the editor's replies: en, zh-CN, ja, es, ...")
    ] = None,
) -> Annotated[types.CallToolResult, SessionResult]:
    """Start a fresh, empty project and make it the current one (the old one stays available by id)."""
    call = await Call.of(ctx)
    session = await call.workflow.new_session(language)
    return ok(session, session.text())
