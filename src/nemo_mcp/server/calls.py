"""One tool call: who is calling, the app it works on, its jobs, and what it answers.

Every tool is a plain async function registered with :data:`tools` (``@tools.tool(...)``), whose
wrapper turns a :class:`NemoError` into a tool error the assistant can relay and anything else
into a logged "internal error". Inside, ``Call(ctx)`` gives the workflow as this caller sees it
(the connected host is sent to the API as X-Skill-Platform), starts jobs, waits on them with
live progress, and shapes the answer.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

from nemo_mcp import budget
from nemo_mcp.config import Settings
from nemo_mcp.core.jobs import Job, Jobs, Update
from nemo_mcp.core.workflow import Workflow
from nemo_mcp.errors import NemoError
from nemo_mcp.results import (
    ExportResult,
    InstructionResult,
    JobOutput,
    JobResult,
    UploadResult,
    latest_message,
    running_text,
)
from nemo_mcp.server._sdk import LegacyChannels, quiet_deprecations
from nemo_mcp.server.preview import Preview

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

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


def platform_name(client_name: str | None) -> str:
    if not client_name or not client_name.strip():
        return "unknown"
    name = client_name.strip().lower()
    if name in KNOWN_PLATFORMS:
        return KNOWN_PLATFORMS[name]
    clean = re.sub(r"[^a-z0-9]+", "_", name).strip("_")[:40]
    return clean or "unknown"


@dataclass
class App:
    """What the server's lifespan opens and every call shares.

    The workflow (HTTP client, state store, the local backend) is opened by the first call that
    needs it, into the lifespan's exit stack, so the server answers ``initialize`` without
    loading it; the offline backend is opened at once (a missing ffmpeg must stop the start).
    """

    settings: Settings
    jobs: Jobs
    channels: LegacyChannels
    preview: Preview
    opener: Callable[[], Awaitable[Workflow]]
    _workflow: Workflow | None = None
    _opening: anyio.Lock = field(default_factory=anyio.Lock)

    async def workflow(self) -> Workflow:
        if self._workflow is None:
            async with self._opening:
                if self._workflow is None:
                    self._workflow = await self.opener()
        return self._workflow

    @property
    def opened(self) -> Workflow | None:
        """The workflow if a call has opened it (nothing to say about state nobody read yet)."""
        return self._workflow


# -- shaping results ------------------------------------------------------------------------------


def ok(model: BaseModel, text: str, extra: list[Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text), *(extra or [])],
        structured_content=model.model_dump(mode="json"),
    )


def bounded(result: types.CallToolResult) -> types.CallToolResult:
    """``result`` within the budgets of :mod:`nemo_mcp.budget`, whatever made it.

    The MCP layer applies this to every tool result (``NemoMCPServer``). Results are built to fit
    (a timeline as an outline); this is the guarantee for everything else: an error's text, a
    list of uploads, whatever a later tool returns. Text is cut at a line, with a line saying how
    much was left out; structured content has its long strings and lists shortened and says
    ``truncated: true``; what cannot be encoded (a lone surrogate from a JSON escape) is replaced.
    """
    cut = False
    room = budget.TEXT_CHARS
    content: list[Any] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            text, was_cut = budget.fit_text(block.text, max(room, 0))
            room -= len(text)
            cut = cut or was_cut
            block = block if text == block.text else block.model_copy(update={"text": text})
        content.append(block)
    structured = result.structured_content
    if structured is not None:
        dumped = json.dumps(structured, default=str)  # as budget.json_size measures it
        if "\\ud" in dumped:  # a character past U+FFFF, or a lone surrogate
            structured = budget.clean_json(structured)
        shrunk = False
        if len(dumped) > budget.STRUCTURED_BYTES:
            structured, shrunk = budget.fit_json(structured, budget.STRUCTURED_BYTES)
        if (cut or shrunk) and not structured.get("truncated"):
            structured = {**structured, "truncated": True}
    if not cut and structured is result.structured_content:
        return result
    return result.model_copy(update={"content": content, "structured_content": structured})


def error(exc: BaseException) -> types.CallToolResult:
    if isinstance(exc, NemoError):
        message = str(exc)
    else:
        log.error("Unexpected error", exc_info=exc)
        message = f"nemo-mcp hit an internal error ({type(exc).__name__}); please report it."
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def _links(result: JobOutput) -> list[Any]:
    """The exported file as a resource link, for hosts that open files."""
    if not isinstance(result, ExportResult) or not result.path:
        return []
    path = Path(result.path)
    return [
        types.ResourceLink(
            type="resource_link",
            uri=path.as_uri(),
            name=path.name,
            title="Exported video",
            mime_type="video/mp4",
            size=result.size_bytes,
        )
    ]


def _running(job: Job) -> BaseModel:
    """What is known of a job that is still running, in the shape of its tool's result."""
    sid = job.session_id or ""
    if job.kind == "instruction":
        reply, cut = InstructionResult.bounded_reply(job.partial.get("reply", ""))
        return InstructionResult(status="running", job_id=job.id, session_id=sid, reply=reply, truncated=cut)
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


# -- the call -------------------------------------------------------------------------------------


class Call:
    """Made by :meth:`of` (the workflow may have to be opened first)."""

    def __init__(self, ctx: Context[Any, Any], app: App, workflow: Workflow) -> None:
        self.ctx = ctx
        self.app = app
        params = ctx.session.client_params
        self.platform = platform_name(params.client_info.name if params is not None else None)
        self.workflow = workflow.for_platform(self.platform)

    @classmethod
    async def of(cls, ctx: Context[Any, Any]) -> Call:
        app: App = ctx.request_context.lifespan_context
        return cls(ctx, app, await app.workflow())

    @property
    def jobs(self) -> Jobs:
        return self.app.jobs

    async def attend(self, job: Job, since: int = 0) -> None:
        """Wait for the job a bounded time, forwarding its progress to this caller as it happens."""
        await job.wait(self.app.settings.tool_wait_seconds, since, self._send)

    async def _send(self, update: Update) -> None:
        # A progress message that cannot be delivered is no reason to stop the work.
        try:
            # A no-op when the client sent no progressToken.
            await self.ctx.report_progress(update.progress, update.total, update.message)
            if update.message and self.app.channels.wants_log(self.ctx.session, "info"):
                with quiet_deprecations():
                    # Progress carries the same text on 2026-07-28; older hosts show this one.
                    await self.ctx.info(update.message)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            log.debug("Could not deliver progress (%s)", type(exc).__name__)

    def answer(self, job: Job) -> types.CallToolResult:
        """The job's result in its tool's shape, or what is known while it runs."""
        if job.error is not None:
            return error(job.error)
        if job.done:
            result = self._finished(job)
            return ok(result, result.text(), _links(result))
        return ok(_running(job), running_text(job.id, job.latest_message))

    def _finished(self, job: Job) -> JobOutput:
        """A done job's result, carrying its job id; the preview page may load what it points at
        (a render's CDN, say)."""
        result: JobOutput = job.result.model_copy(update={"job_id": job.id})
        if isinstance(result, ExportResult) and result.url:
            self.app.preview.allow(result.url)
        return result

    def check_answer(self, job: Job) -> types.CallToolResult:
        """check_job's answer: the job's status with the original result inside once done."""
        if job.error is not None:
            return error(job.error)
        latest = latest_message(job.latest_message)
        if job.done:
            result = self._finished(job)
            checked = JobResult(status="done", job_id=job.id, kind=job.kind, result=result, message=latest)
            return ok(checked, checked.text(), _links(result))
        running = JobResult(status="running", job_id=job.id, kind=job.kind, message=latest)
        return ok(running, running.text())


def _with_notices(result: Any, ctx: Any) -> Any:
    """The result, carrying what the user has not yet heard about the saved state (once, then never again)."""
    if not isinstance(result, types.CallToolResult) or not isinstance(ctx, Context):
        return result
    app = ctx.request_context.lifespan_context
    workflow = app.opened if isinstance(app, App) else None
    notes = workflow.take_notices() if workflow is not None else []
    if not notes:
        return result
    line = "Note: " + " ".join(notes)
    texts = [i for i, c in enumerate(result.content) if isinstance(c, types.TextContent)]
    content = list(result.content)
    if texts:
        first = content[texts[0]]
        assert isinstance(first, types.TextContent)
        content[texts[0]] = types.TextContent(type="text", text=f"{first.text}\n\n{line}")
    else:
        content.insert(0, types.TextContent(type="text", text=line))
    structured = result.structured_content
    if structured is not None:
        structured = {**structured, "notices": notes}
    return result.model_copy(update={"content": content, "structured_content": structured})


# -- registering tools ----------------------------------------------------------------------------


@dataclass
class ToolSet:
    """Tools declared as module-level functions, added to a server by :meth:`install`."""

    entries: list[tuple[Callable[..., Any], dict[str, Any]]] = field(default_factory=list)

    def tool(self, **options: Any) -> Callable[[F], F]:
        def register(fn: F) -> F:
            @functools.wraps(fn)
            async def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    result = await fn(*args, **kwargs)
                except Exception as exc:
                    result = error(exc)
                return _with_notices(result, kwargs.get("ctx"))

            self.entries.append((guarded, options))
            return fn

        return register

    def install(self, server: MCPServer[Any], meta: Callable[[str], dict[str, Any] | None]) -> None:
        """Add every tool; ``meta(name)`` gives a tool's ``_meta`` (its MCP App binding)."""
        for fn, options in self.entries:
            server.add_tool(fn, meta=meta(fn.__name__), **options)


tools = ToolSet()
