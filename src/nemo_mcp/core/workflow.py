"""The actions a user asks for, one method per tool; the MCP server and the CLI both call these.

Each action takes a ``report`` callback for live progress (message, progress,
total) and returns a pydantic result model. Sessions are resolved here: an
omitted session id means the current project, created on first need and
remembered in the state dir. Calls that change a session run one at a time
per session; a lost session (1002) is replaced by a new current one and
reported as :class:`SessionReset`, never silently replayed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import anyio

from nemo_mcp import draft as timeline
from nemo_mcp import errors
from nemo_mcp.cloud import api, sse
from nemo_mcp.cloud.client import NemoClient, SessionState, safe_filename
from nemo_mcp.cloud.store import KnownSession
from nemo_mcp.config import Settings
from nemo_mcp.core.admission import MAX_FILES, LocalMedia, check_file, check_url
from nemo_mcp.errors import InvalidInput, NemoError
from nemo_mcp.results import (
    CreditsResult,
    ExportResult,
    InstructionResult,
    SessionResult,
    StateResult,
    UploadedItem,
    UploadResult,
)

log = logging.getLogger(__name__)

MAX_INSTRUCTION_CHARS = 8000
HEARTBEAT_REPORT_SECONDS = 5.0
QUALITIES = ("high", "medium", "low")

T = TypeVar("T")


class Report(Protocol):
    def __call__(
        self, message: str | None = None, progress: float | None = None, total: float | None = None
    ) -> None: ...


def silent(message: str | None = None, progress: float | None = None, total: float | None = None) -> None:
    return None


class SessionReset(NemoError):
    """The session was gone (1002); a new empty one is now current."""

    code = 1002

    def __init__(self, old: str, new: str) -> None:
        self.old_session_id, self.new_session_id = old, new
        super().__init__(
            f"The NemoVideo project {old} has expired on the server, with its timeline and uploads. "
            f"A new empty project ({new}) is ready and is now the current one: upload the media again, "
            "then send the instruction again."
        )


@dataclass
class Actions:
    client: NemoClient
    # Called when a session's timeline or uploads may have changed, and when a session is created.
    on_session_changed: Callable[[str], Awaitable[None]] | None = None
    on_session_created: Callable[[str], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self._session_locks: dict[str, anyio.Lock] = {}
        self._create_lock = anyio.Lock()

    @property
    def settings(self) -> Settings:
        return self.client.settings

    # -- sessions ----------------------------------------------------------------------------------

    def session_lock(self, session_id: str) -> anyio.Lock:
        return self._session_locks.setdefault(session_id, anyio.Lock())

    async def new_session(self, language: str | None = None) -> SessionResult:
        language = _check_language(language or self.settings.language)
        info = await self.client.create_session(language)
        self.client.store.add_session(
            KnownSession(info.session_id, info.task_id, time.time(), language), make_current=True
        )
        if self.on_session_created:
            await self.on_session_created(info.session_id)
        return SessionResult(session_id=info.session_id, task_id=info.task_id, language=language)

    async def resolve_session(self, session_id: str | None) -> str:
        if session_id:
            return api.check_session_id(session_id)
        current = self.client.store.current_session()
        if current:
            return current
        async with self._create_lock:
            current = self.client.store.current_session()
            if current:
                return current
            return (await self.new_session()).session_id

    def known_sessions(self) -> list[KnownSession]:
        return self.client.store.sessions()

    async def _guarded(self, session_id: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work``; a lost session becomes a new current one and a :class:`SessionReset`."""
        try:
            return await work()
        except errors.SessionNotFound:
            self.client.store.forget_session(session_id)
            fresh = await self.new_session()
            raise SessionReset(session_id, fresh.session_id) from None

    # -- tools -------------------------------------------------------------------------------------

    async def get_credits(self) -> CreditsResult:
        credits = await self.client.credits()
        registered = self.client.tokens.user_token or not (self.client.tokens.user_id or "").startswith("anon_")
        return CreditsResult(
            available=credits.available,
            frozen=credits.frozen,
            total=credits.total,
            account="registered" if registered else "anonymous",
            register_url=None if registered else self.client.register_url(),
        )

    async def get_state(self, session_id: str | None = None) -> StateResult:
        sid = await self.resolve_session(session_id)
        state = await self._guarded(sid, lambda: self.client.state(sid))
        return state_result(state)

    async def upload_media(
        self,
        paths: list[str],
        urls: list[str],
        session_id: str | None = None,
        allowed_dirs: tuple[Path, ...] | None = None,
        report: Report = silent,
    ) -> UploadResult:
        # Everything is checked before anything is sent: a bad third file must not leave two uploaded.
        if not paths and not urls:
            raise InvalidInput("Nothing to upload: pass local file paths in `paths` or links in `urls`.")
        if len(paths) + len(urls) > MAX_FILES:
            raise InvalidInput(f"At most {MAX_FILES} files per upload; split them into several calls.")
        dirs = self.settings.allowed_dirs if allowed_dirs is None else allowed_dirs
        files = [check_file(p, dirs) for p in paths]
        links = [check_url(u) for u in urls]
        sid = await self.resolve_session(session_id)

        async def upload() -> UploadResult:
            uploaded: list[UploadedItem] = []
            async with self.session_lock(sid):
                if files:
                    uploaded += await self._upload_files(sid, files, report)
                if links:
                    report(f"Uploading {len(links)} link(s)…")
                    for item in await self.client.upload_urls(sid, links):
                        uploaded.append(
                            UploadedItem(
                                name=item.filename,
                                kind=item.kind,
                                size_bytes=None,
                                source="url",
                                url=item.url,
                            )
                        )
            return UploadResult(session_id=sid, uploaded=uploaded)

        result = await self._guarded(sid, upload)
        if self.on_session_changed:
            await self.on_session_changed(sid)
        return result

    async def _upload_files(self, sid: str, files: list[LocalMedia], report: Report) -> list[UploadedItem]:
        total = sum(f.size for f in files)
        names = ", ".join(f.name for f in files)
        report(f"Uploading {names} ({_mb(total)})", 0, total)
        answered = await self.client.upload_files(sid, files, _throttled(report, "Uploaded"))
        by_name = {f.name: f for f in files}
        return [
            UploadedItem(
                name=item.filename,
                kind=item.kind,
                size_bytes=by_name[item.filename].size if item.filename in by_name else None,
                source="file",
                url=item.url,
            )
            for item in answered
        ]

    async def send_instruction(
        self,
        instruction: str,
        session_id: str | None = None,
        report: Report = silent,
        on_reply: Callable[[str], None] | None = None,
    ) -> InstructionResult:
        text = (instruction or "").strip() if isinstance(instruction, str) else ""
        if not text:
            raise InvalidInput("The instruction is empty: say what to change, e.g. 'add the title \"Hello\"'.")
        if len(text) > MAX_INSTRUCTION_CHARS:
            raise InvalidInput(
                f"The instruction is {len(text)} characters long; keep it under {MAX_INSTRUCTION_CHARS}. "
                "Split a long request into several instructions."
            )
        sid = await self.resolve_session(session_id)

        async def run() -> InstructionResult:
            async with self.session_lock(sid):
                return await self._instruct(sid, text, report, on_reply)

        result = await self._guarded(sid, run)
        if self.on_session_changed:
            await self.on_session_changed(sid)
        return result

    async def _instruct(
        self, sid: str, text: str, report: Report, on_reply: Callable[[str], None] | None
    ) -> InstructionResult:
        before = await self.client.state(sid)
        report("Sending the instruction to the NemoVideo editor…")
        stream = _StreamReader(report, on_reply)
        note: str | None = None
        try:
            with anyio.fail_after(self.settings.sse_timeout_seconds):
                async with self.client.instruction_stream(sid, text) as events:
                    async for event in events:
                        stream.take(event)
        except errors.StreamDropped:
            note = "The connection to the editor dropped before it finished."
            after = await self._recover(sid, before, report, note)
        except TimeoutError:
            note = f"The editor was still working after {self.settings.sse_timeout_seconds:g} s."
            after = await self._recover(sid, before, report, note)
        else:
            if isinstance(stream.error, errors.OutOfCredits) and not stream.error.register_url:
                raise errors.OutOfCredits(register_url=self.client.register_url())
            if stream.error is not None:
                raise stream.error
            after = await self.client.state(sid)
        changes = timeline.diff(before.draft, after.draft)
        reply = stream.reply.strip()
        if not reply:
            reply = (
                "The timeline was updated: " + "; ".join(changes) + "."
                if changes
                else "The editor finished without a reply and the timeline did not change."
            )
            if changes:
                report(reply)
        if note:
            note += " The timeline changed, so the edit was applied; it was not sent again."
        parsed = timeline.parse_draft(after.draft, after.canvas)
        return InstructionResult(
            session_id=sid,
            reply=reply,
            timeline_changed=bool(changes) or _raw(before) != _raw(after),
            changes=changes,
            timeline=timeline.summarize(parsed),
            tools_used=stream.tools,
            note=note,
        )

    async def _recover(self, sid: str, before: SessionState, report: Report, why: str) -> SessionState:
        """The agent may still be working: watch the state instead of resending the instruction."""
        settings = self.settings
        report(f"{why} Checking whether the edit landed…")
        deadline = time.monotonic() + settings.drop_recovery_seconds
        while True:
            after = await self.client.state(sid)
            if _raw(after) != _raw(before):
                return after
            left = deadline - time.monotonic()
            if left <= 0:
                break
            report(f"{why} Waiting for the timeline to change ({_duration(settings.drop_recovery_seconds - left)})…")
            await anyio.sleep(min(settings.state_poll_seconds, left))
        raise errors.StreamDropped(
            f"{why} The timeline did not change within {settings.drop_recovery_seconds:g} s, so the edit "
            "was not applied. It is safe to send the instruction again."
        )

    async def export_video(
        self,
        session_id: str | None = None,
        quality: str = "high",
        download: bool = True,
        report: Report = silent,
        on_render: Callable[[str], None] | None = None,
    ) -> ExportResult:
        if quality not in QUALITIES:
            raise InvalidInput(f"Unknown quality {quality!r}; use one of: {', '.join(QUALITIES)}.")
        sid = await self.resolve_session(session_id)
        return await self._guarded(sid, lambda: self._export(sid, quality, download, report, on_render))

    async def _export(
        self, sid: str, quality: str, download: bool, report: Report, on_render: Callable[[str], None] | None
    ) -> ExportResult:
        # Wait for edits in flight, so the export has the latest timeline.
        async with self.session_lock(sid):
            state = await self.client.state(sid)
        if state.raw_draft is None or not timeline.is_exportable(state.draft):
            raise errors.NotExportable()
        report("Starting the export…", 0, 100)
        render_id = await self.client.start_render(sid, state.raw_draft, quality)
        if on_render:
            on_render(render_id)

        shown: list[str] = []

        def on_status(status: api.RenderStatus) -> None:
            pct = status.progress if status.progress is not None else (100.0 if status.finished else 0.0)
            message = f"Rendering: {status.status} {pct:.0f}%"
            if shown[-1:] != [message]:  # a poll that saw no change is not news
                shown.append(message)
                report(message, pct, 100)

        status = await self.client.wait_render(render_id, on_status)
        result = ExportResult(
            session_id=sid,
            render_id=render_id,
            render_status=status.status,
            progress=100.0,
            url=status.url,
            size_bytes=status.size_bytes,
        )
        if not download:
            return result
        name = safe_filename(f"{_video_name(state)}-{render_id}")

        path, size = await self.client.download(
            status, self.settings.output_dir, name, _throttled(report, "Downloading")
        )
        report(f"Saved {path}")
        return result.model_copy(update={"path": str(path), "size_bytes": size})


class _StreamReader:
    """Collects a stream's reply and turns its events into progress messages."""

    def __init__(self, report: Report, on_reply: Callable[[str], None] | None = None) -> None:
        self.report = report
        self.on_reply = on_reply
        self.reply = ""
        self.tools: list[str] = []
        self.error: NemoError | None = None
        self.started = time.monotonic()
        self.last_heartbeat_report = 0.0

    def take(self, event: sse.Event) -> None:
        if isinstance(event, sse.TextDelta):
            self.reply += event.text
            self.report(event.text)
            if self.on_reply:
                self.on_reply(self.reply)
        elif isinstance(event, sse.ToolCall):
            self.tools.append(event.name)
            self.report(f"Running {event.name}")
        elif isinstance(event, sse.ToolResult):
            self.report(f"Finished {event.name}")
        elif isinstance(event, sse.Heartbeat):
            now = time.monotonic()
            if now - self.last_heartbeat_report >= HEARTBEAT_REPORT_SECONDS:
                self.last_heartbeat_report = now
                self.report(f"Still working… {_duration(now - self.started)}")
        elif isinstance(event, sse.StreamError):
            self.error = _stream_error(event)


def _stream_error(event: sse.StreamError) -> NemoError:
    found = api.error_for(200, {"code": event.code, "message": event.message}) if event.code else None
    if found is not None and not isinstance(found, errors.ApiError):
        return found
    return errors.ApiError(f"The NemoVideo editor reported an error: {event.message}")


def state_result(state: SessionState) -> StateResult:
    parsed = timeline.parse_draft(state.draft, state.canvas)
    return StateResult(
        session_id=state.session_id,
        duration_ms=parsed.duration_ms,
        width=parsed.width,
        height=parsed.height,
        exportable=parsed.exportable,
        tracks=parsed.tracks,
        uploads=len(state.uploads),
        summary=timeline.summarize(parsed),
    )


def _video_name(state: SessionState) -> str:
    """What to call the file: the video's title text, else the project's own name, else 'nemovideo'."""
    parsed = timeline.parse_draft(state.draft)
    titles = [seg.text for track in parsed.tracks if track.type == "text" for seg in track.segments if seg.text]
    project = parsed.title or state.task_name
    return titles[0] if titles else project if project and project != "project" else "nemovideo"


def _raw(state: SessionState) -> str | None:
    return state.raw_draft


def _check_language(language: str) -> str:
    if (
        not isinstance(language, str)
        or not 2 <= len(language) <= 16
        or not all(c.isalnum() or c == "-" for c in language)
    ):
        raise InvalidInput(f"Unknown language {language!r}; use a code like en, zh-CN, ja or es.")
    return language


# Transfers report at most this often (and always their last chunk): a notification per chunk
# of a 200 MB file would cost more than the transfer.
TRANSFER_REPORT_SECONDS = 0.25


def _throttled(report: Report, verb: str) -> Callable[[int, int | None], None]:
    last = [0.0]

    def on_bytes(done: int, total: int | None) -> None:
        now = time.monotonic()
        if (total is not None and done >= total) or now - last[0] >= TRANSFER_REPORT_SECONDS:
            last[0] = now
            report(f"{verb} {_mb(done)}" + (f" of {_mb(total)}" if total else ""), done, total)

    return on_bytes


def _mb(n: int | float) -> str:
    return f"{n / 1e6:.1f} MB"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
