"""What a user asks nemo-mcp to do, one method per tool; the MCP server and the CLI both call these.

Long methods take a ``progress`` callback for live progress (message, progress, total) and every
method returns a result model (``results``). Sessions are resolved here: an omitted session id
means the current project, created on first need and remembered in the state dir. Calls that
change a session run one at a time per session; a lost session (1002) is replaced by a new
current one and reported as :class:`SessionReset`, never silently replayed. Everything a call
is given is checked before anything is sent.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import anyio

from nemo_mcp import draft, errors
from nemo_mcp.cloud import api, sse, transfer
from nemo_mcp.cloud.store import KnownSession, SavedExport, StateStore
from nemo_mcp.cloud.transfer import safe_filename
from nemo_mcp.config import Settings
from nemo_mcp.core.admission import check_file, check_url
from nemo_mcp.draft.media import MAX_FILES
from nemo_mcp.errors import InvalidInput, NemoError, SessionReset
from nemo_mcp.results import (
    CHANGED_PREFIX,
    CreditsResult,
    ExportResult,
    FrameShown,
    FramesResult,
    InstructionResult,
    SessionResult,
    StateResult,
    UploadedItem,
    UploadResult,
    megabytes,
)

if TYPE_CHECKING:  # imported when the workflow is opened: httpx is no part of a cold start
    from nemo_mcp.cloud.client import NemoClient

log = logging.getLogger(__name__)

MAX_INSTRUCTION_CHARS = 8000
HEARTBEAT_REPORT_SECONDS = 5.0
QUALITIES = ("high", "medium", "low")
# Sessions whose last instruction's changes are remembered (a draft each).
KEEP_LAST_CHANGES = 8

T = TypeVar("T")


class Progress(Protocol):
    def __call__(
        self, message: str | None = None, progress: float | None = None, total: float | None = None
    ) -> None: ...


def silent(message: str | None = None, progress: float | None = None, total: float | None = None) -> None:
    return None


class Listener(Protocol):
    """Who hears that a project changed or was created (the MCP layer's resource notifications)."""

    async def session_changed(self, session_id: str) -> None: ...

    async def session_created(self, session_id: str) -> None: ...


@dataclass(frozen=True)
class UploadPlan:
    """An upload whose every path and link was admitted; nothing has been sent yet."""

    files: list[transfer.UploadFile]
    urls: list[str]


class Workflow:
    def __init__(
        self,
        client: NemoClient,
        store: StateStore,
        *,
        listener: Listener | None = None,
        notices: list[str] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.listener = listener
        # Things the user should hear about once (state moved aside, …), besides the store's own.
        self.notices = notices if notices is not None else []
        # Per-session locks, the lock that creates sessions and the notices already said. Views
        # (for_platform) are shallow copies, so all of them share these objects and the ones around
        # them: mutate them, never rebind one, or a view would lock and remember on its own.
        self._session_locks: dict[str, anyio.Lock] = {}
        self._create_lock = anyio.Lock()
        self._said: set[str] = set()
        # Per session: the draft the last instruction left and the places of what it changed.
        self._last_changes: dict[str, tuple[Any, frozenset[draft.Place]]] = {}

    @property
    def settings(self) -> Settings:
        return self.client.settings

    @property
    def offline(self) -> bool:
        return self.settings.backend == "local"

    def for_platform(self, platform: str) -> Workflow:
        """This workflow, telling the API that ``platform`` (the connected host) is calling."""
        view = copy.copy(self)
        view.client = self.client.for_platform(platform)
        return view

    def warnings(self) -> list[str]:
        """Everything found wrong with the saved state since the start (``nemo-mcp doctor`` shows them)."""
        return [*self.notices, *self.store.warnings]

    def take_notices(self) -> list[str]:
        """The warnings nobody has been told yet; each is handed out once, to the next result."""
        fresh = [w for w in dict.fromkeys(self.warnings()) if w not in self._said]
        self._said.update(fresh)
        return fresh

    # -- sessions ----------------------------------------------------------------------------------

    def _lock(self, session_id: str) -> anyio.Lock:
        return self._session_locks.setdefault(session_id, anyio.Lock())

    async def new_session(self, language: str | None = None) -> SessionResult:
        language = _check_language(language or self.settings.language)
        info = await self.client.create_session(language)
        await self.store.add_session(KnownSession(info.session_id, info.task_id, time.time(), language))
        if self.listener:
            await self.listener.session_created(info.session_id)
        return SessionResult(session_id=info.session_id, task_id=info.task_id, language=language)

    async def resolve_session(self, session_id: str | None) -> str:
        """The project to work on: the one named, else the current one, created on first need."""
        if session_id:
            return api.check_session_id(session_id)
        current = await self._current()
        if current:
            return current
        async with self._create_lock:
            current = await self._current()
            if current:
                return current
            return (await self.new_session()).session_id

    async def _current(self) -> str | None:
        current = await self.store.current_session()
        if current is None:
            return None
        try:
            return api.check_session_id(current)
        except InvalidInput:
            # Hand-edited or damaged: forgotten, so every call does not fail over an id nobody passed.
            await self.store.forget_session(current)
            self.notices.append(
                f"The saved current project id {current[:40]!r} was not a valid id and was forgotten; "
                "a new project was started."
            )
            log.warning(self.notices[-1])
            return None

    async def known_sessions(self) -> list[KnownSession]:
        return await self.store.sessions()

    async def _replacing_lost_session(self, session_id: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work``; a lost session becomes a new current one and a :class:`SessionReset`."""
        try:
            return await work()
        except errors.SessionNotFound:
            await self.store.forget_session(session_id)
            fresh = await self.new_session()
            raise SessionReset(session_id, fresh.session_id) from None

    async def _changed(self, session_id: str) -> None:
        if self.listener:
            await self.listener.session_changed(session_id)

    # -- reading -----------------------------------------------------------------------------------

    async def get_credits(self) -> CreditsResult:
        if self.offline:
            return CreditsResult(account="offline")
        credits = await self.client.credits()
        account, register_url = self.client.account()
        return CreditsResult(
            available=credits.available,
            frozen=credits.frozen,
            total=credits.total,
            account=account,
            register_url=register_url,
        )

    async def get_state(self, session_id: str | None = None) -> StateResult:
        state = await self.current_state(session_id)
        return state_result(state, self.last_changes(state))

    async def current_state(self, session_id: str | None = None) -> api.SessionState:
        """The state of a project (the current one by default), as ``get_state`` reads it."""
        sid = await self.resolve_session(session_id)
        return await self._replacing_lost_session(sid, lambda: self.client.state(sid))

    def last_changes(self, state: api.SessionState) -> frozenset[draft.Place]:
        """The segments the last instruction through this server changed, while the draft is
        still the one it left (a summary shows them first)."""
        known = self._last_changes.get(state.session_id)
        return known[1] if known is not None and known[0] == state.draft else frozenset()

    async def read_state(self, session_id: str) -> api.SessionState:
        """A project's state with no side effects: a lost session is :class:`SessionNotFound`, not replaced."""
        return await self.client.state(api.check_session_id(session_id))

    # -- uploading ---------------------------------------------------------------------------------

    def admit_upload(self, paths: list[str], urls: list[str], allowed_dirs: tuple[Path, ...] | None) -> UploadPlan:
        """Check every path and link; a bad third file must not leave two uploaded."""
        if not paths and not urls:
            raise InvalidInput("Nothing to upload: pass local file paths in `paths` or links in `urls`.")
        if len(paths) + len(urls) > MAX_FILES:
            raise InvalidInput(f"At most {MAX_FILES} files per upload; split them into several calls.")
        dirs = self.settings.allowed_dirs if allowed_dirs is None else allowed_dirs
        return UploadPlan(files=[check_file(p, dirs) for p in paths], urls=[check_url(u) for u in urls])

    async def upload_media(self, plan: UploadPlan, session_id: str, progress: Progress = silent) -> UploadResult:
        async def upload() -> UploadResult:
            uploaded: list[UploadedItem] = []
            async with self._lock(session_id):
                if plan.files:
                    uploaded += await self._upload_files(session_id, plan.files, progress)
                if plan.urls:
                    progress(f"Uploading {len(plan.urls)} link(s)…")
                    answered = await self.client.upload_urls(session_id, plan.urls)
                    uploaded += [
                        UploadedItem(name=item.filename, kind=item.kind, source="url", url=item.url)
                        for item in answered
                    ]
            return UploadResult(session_id=session_id, uploaded=uploaded)

        result = await self._replacing_lost_session(session_id, upload)
        await self._changed(session_id)
        return result

    async def _upload_files(self, sid: str, files: list[transfer.UploadFile], progress: Progress) -> list[UploadedItem]:
        total = sum(f.size for f in files)
        names = ", ".join(f.name for f in files)
        progress(f"Uploading {names} ({megabytes(total)})", 0, total)
        answered = await self.client.upload_files(sid, files, _throttled(progress, "Uploaded"))
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

    # -- editing -----------------------------------------------------------------------------------

    @staticmethod
    def check_instruction(instruction: str) -> str:
        text = instruction.strip() if isinstance(instruction, str) else ""
        if not text:
            raise InvalidInput("The instruction is empty: say what to change, e.g. 'add the title \"Hello\"'.")
        if len(text) > MAX_INSTRUCTION_CHARS:
            raise InvalidInput(
                f"The instruction is {len(text)} characters long; keep it under {MAX_INSTRUCTION_CHARS}. "
                "Split a long request into several instructions."
            )
        return text

    async def send_instruction(
        self,
        text: str,
        session_id: str,
        progress: Progress = silent,
        on_reply: Callable[[str], None] | None = None,
    ) -> InstructionResult:
        """``text`` is what :meth:`check_instruction` returned: callers check before they resolve the
        session, so that bad input creates no project."""

        async def run() -> InstructionResult:
            async with self._lock(session_id):
                return await self._instruct(session_id, text, progress, on_reply)

        result = await self._replacing_lost_session(session_id, run)
        await self._changed(session_id)
        return result

    async def _instruct(
        self, sid: str, text: str, progress: Progress, on_reply: Callable[[str], None] | None
    ) -> InstructionResult:
        before = await self.client.state(sid)
        progress("Sending the instruction to the NemoVideo editor…")
        stream = _StreamReader(progress, on_reply)
        note: str | None = None
        try:
            with anyio.fail_after(self.settings.sse_timeout_seconds):
                async with self.client.instruction_stream(sid, text) as events:
                    async for event in events:
                        stream.take(event)
        except errors.StreamDropped:
            note = "The connection to the editor dropped before it finished."
            after = await self._recover(sid, before, progress, note)
        except TimeoutError:
            note = f"The editor was still working after {self.settings.sse_timeout_seconds:g} s."
            after = await self._recover(sid, before, progress, note)
        else:
            if isinstance(stream.error, errors.OutOfCredits) and not stream.error.register_url:
                raise errors.OutOfCredits(register_url=self.client.account()[1])
            if stream.error is not None:
                raise stream.error
            after = await self.client.state(sid)
        parsed = draft.parse_draft(after.draft, after.canvas)
        compared = draft.compare(draft.parse_draft(before.draft, before.canvas), parsed)
        changes = compared.sentences
        reply, cut = InstructionResult.bounded_reply(stream.reply.strip())
        if not reply:
            reply = (
                CHANGED_PREFIX + "; ".join(changes) + "."
                if changes
                else "The editor finished without a reply and the timeline did not change."
            )
            if changes:
                progress(reply)
        if note:
            note += " The timeline changed, so the edit was applied; it was not sent again."
        self._last_changes.pop(sid, None)
        self._last_changes[sid] = (after.draft, compared.touched)
        while len(self._last_changes) > KEEP_LAST_CHANGES:
            del self._last_changes[next(iter(self._last_changes))]
        result = InstructionResult(
            session_id=sid,
            reply=reply,
            timeline_changed=bool(changes) or before.raw_draft != after.raw_draft,
            changes=changes,
            tools_used=InstructionResult.bounded_tools(stream.tools),
            note=note,
            truncated=cut,
        )
        return result.with_timeline(parsed, compared.touched)

    async def _recover(self, sid: str, before: api.SessionState, progress: Progress, why: str) -> api.SessionState:
        """The agent may still be working: watch the state instead of resending the instruction."""
        settings = self.settings
        progress(f"{why} Checking whether the edit landed…")
        deadline = time.monotonic() + settings.drop_recovery_seconds
        while True:
            after = await self.client.state(sid)
            if after.raw_draft != before.raw_draft:
                return after
            left = deadline - time.monotonic()
            if left <= 0:
                break
            waited = _duration(settings.drop_recovery_seconds - left)
            progress(f"{why} Waiting for the timeline to change ({waited})…")
            await anyio.sleep(min(settings.state_poll_seconds, left))
        raise errors.StreamDropped(
            f"{why} The timeline did not change within {settings.drop_recovery_seconds:g} s, so the edit "
            "was not applied. It is safe to send the instruction again."
        )

    # -- looking -----------------------------------------------------------------------------------

    async def get_frames(self, session_id: str | None, times_s: list[float] | None = None, count: int = 4) -> Frames:
        """Frames of the project as the video shows them: from the saved MP4 when it shows this very
        timeline, else (offline) rendered from the timeline; on the cloud without one, none."""
        wanted = check_frame_request(times_s, count)
        state = await self.current_state(session_id)
        sid = state.session_id
        raw, timeline = _exportable(state)
        times = frame_times(wanted, timeline.duration_ms)
        saved = await self.store.latest_export(sid)
        if saved is not None and saved.draft_sha256 == draft_hash(raw) and saved.path.is_file():
            from nemo_mcp.local.render import video_stills

            stills: list[api.Still] = await video_stills(saved.path, times, FRAME_LONG_SIDE)
            source: Literal["export", "draft", "none"] = "export"
        elif self.offline:
            stills = await self.client.stills(sid, times, FRAME_LONG_SIDE)
            source = "draft"
        else:
            return Frames(FramesResult(session_id=sid, source="none"), [])
        shown = [FrameShown(time_s=round(s.time_s, 3), width=s.width, height=s.height) for s in stills]
        return Frames(FramesResult(session_id=sid, source=source, frames=shown), [s.jpeg for s in stills])

    # -- exporting ---------------------------------------------------------------------------------

    @staticmethod
    def check_quality(quality: str) -> str:
        if quality not in QUALITIES:
            raise InvalidInput(f"Unknown quality {quality!r}; use one of: {', '.join(QUALITIES)}.")
        return quality

    async def export_video(
        self,
        session_id: str,
        quality: str = "high",
        download: bool = True,
        progress: Progress = silent,
        on_render: Callable[[str], None] | None = None,
    ) -> ExportResult:
        """``quality`` is what :meth:`check_quality` returned: callers check before they resolve the
        session, so that bad input creates no project."""
        return await self._replacing_lost_session(
            session_id, lambda: self._export(session_id, quality, download, progress, on_render)
        )

    async def _export(
        self, sid: str, quality: str, download: bool, progress: Progress, on_render: Callable[[str], None] | None
    ) -> ExportResult:
        # Wait for edits in flight, so the export has the latest timeline.
        async with self._lock(sid):
            state = await self.client.state(sid)
        raw, timeline = _exportable(state)
        progress("Starting the export…", 0, 100)
        render_id = await self.client.start_render(sid, raw, quality)
        if on_render:
            on_render(render_id)

        def on_status(status: api.RenderStatus) -> None:
            pct = status.progress if status.progress is not None else (100.0 if status.finished else 0.0)
            progress(f"Rendering: {status.status} {pct:.0f}%", pct, 100)

        try:
            status = await self.client.wait_render(render_id, on_status)
        except errors.RenderFailed as failed:
            raise _render_failure(failed, state) from None
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
        name = safe_filename(_video_name(state, timeline), tail=f"-{render_id}")
        path, size = await self.client.download(
            status, self.settings.output_dir, name, _throttled(progress, "Downloading")
        )
        progress(f"Saved {path}")
        # get_frames looks at this file while the timeline still is what it shows.
        await self.store.record_export(sid, SavedExport(path, draft_hash(raw)))
        return result.model_copy(update={"path": str(path), "size_bytes": size})


class _StreamReader:
    """Collects a stream's reply and turns its events into progress messages."""

    def __init__(self, report: Progress, on_reply: Callable[[str], None] | None = None) -> None:
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


def state_result(state: api.SessionState, changed: frozenset[draft.Place] = frozenset()) -> StateResult:
    parsed = draft.parse_draft(state.draft, state.canvas)
    return StateResult.of(state.session_id, parsed, len(state.uploads), changed)


# Words of renderers (ffmpeg, browsers, Lambda workers) that say a media file could not be read.
_MEDIA_TROUBLE = re.compile(
    r"decod|invalid data|corrupt|moov|codec|demux|stream|no such file|not found|404|403|input|"
    r"unsupported|dimension|too large|pixel|image|media|source|format",
    re.IGNORECASE,
)


def _render_failure(failed: errors.RenderFailed, state: api.SessionState) -> errors.RenderFailed:
    """A failed render, said so that the user knows which file to replace when a file is the cause.

    All there is to go on: the renderer's text, the draft's media segments and the uploads' names.
    A file the text names is the culprit; a text about media that names none makes every media file
    on the timeline a suspect, those the service could not analyse at upload first.
    """
    reason = (failed.reason or "").strip().rstrip(".")
    inputs = _media_inputs(state)
    if not reason or not inputs:
        return failed
    rid = failed.render_id
    # A key shorter than "a.png" would match words by chance.
    named = [name for name, keys in inputs.items() if any(len(key) >= 5 and key in reason for key in keys)]
    if named:
        which = _listing(named)
        return errors.RenderFailed(
            f"The export (render {rid}) failed because of {which} ({reason}). Replace {which}: upload a copy "
            "that plays on your computer (or another file), ask the editor to use it instead, then export again.",
            render_id=rid,
            reason=failed.reason,
        )
    if not _MEDIA_TROUBLE.search(reason):
        return failed
    unread = [f.get("filename") for f in state.uploads if not (f.get("width") or f.get("duration"))]
    suspects = [name for name in inputs if name in unread] or list(inputs)
    return errors.RenderFailed(
        f"The export (render {rid}) failed while reading the timeline's media ({reason}), so one of its files "
        f"cannot be used: check {_listing(suspects)}. Replace the one that does not play on your computer "
        "(upload a working copy and ask the editor to use it), then export again; exporting again as it is "
        "will fail the same way.",
        render_id=rid,
        reason=failed.reason,
    )


def _media_inputs(state: api.SessionState) -> dict[str, tuple[str, ...]]:
    """Each media file on the timeline by its name, with the strings a renderer's text may call it by."""
    by_url = {str(u.get("cdn_url") or u.get("url")): str(u.get("filename") or "") for u in state.uploads}
    found: dict[str, tuple[str, ...]] = {}
    for track in draft.parse_draft(state.draft).tracks:
        for seg in track.segments:
            if not seg.source:
                continue
            path = urlsplit(seg.source).path
            name = by_url.get(seg.source) or seg.name or unquote(path.rsplit("/", 1)[-1]) or seg.source
            found.setdefault(name, (name, seg.source, path, unquote(path.rsplit("/", 1)[-1])))
    return found


def _listing(names: list[str]) -> str:
    shown = [repr(n) if " " in n else n for n in names[:5]] + (["…"] if len(names) > 5 else [])
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _exportable(state: api.SessionState) -> tuple[str, draft.Timeline]:
    """The draft's exact text and its timeline, read once; :class:`NotExportable` when it has nothing
    to show."""
    if state.raw_draft is None:
        raise errors.NotExportable()
    parsed = draft.parse_draft(state.draft, state.canvas)
    if not parsed.exportable:
        raise errors.NotExportable()
    return state.raw_draft, parsed


def _video_name(state: api.SessionState, parsed: draft.Timeline) -> str:
    """What to call the file: the video's title text, else the project's own name, else 'nemovideo'."""
    titles = [seg.text for track in parsed.tracks if track.type == "text" for seg in track.segments if seg.text]
    project = parsed.title or state.task_name
    return titles[0] if titles else project if project and project != "project" else "nemovideo"


# Frames for a model to look at: small enough to be cheap, large enough to read a title.
FRAME_LONG_SIDE = 360
MAX_FRAMES = 8


@dataclass(frozen=True)
class Frames:
    result: FramesResult
    jpegs: list[bytes]  # one per frame of ``result``, in order


def check_frame_request(times_s: list[float] | None, count: int) -> list[float] | int:
    """The asked times, or how many frames to spread over the video; refused when out of bounds."""
    if times_s:
        if len(times_s) > MAX_FRAMES:
            raise InvalidInput(f"At most {MAX_FRAMES} frames at once; ask for fewer times.")
        if any(not math.isfinite(t) or t < 0 for t in times_s):
            raise InvalidInput("Frame times are seconds from the start of the video: numbers of 0 or more.")
        return list(times_s)
    if not 1 <= count <= MAX_FRAMES:
        raise InvalidInput(f"`count` is how many frames to show, 1 to {MAX_FRAMES}.")
    return count


def frame_times(wanted: list[float] | int, duration_ms: int) -> list[float]:
    """Seconds within the video: the asked ones (clamped, in order), or ``wanted`` spread evenly."""
    end = max(duration_ms, 1) / 1000
    if isinstance(wanted, int):
        return [round((i + 0.5) * end / wanted, 3) for i in range(wanted)]
    return [min(t, end) for t in wanted]


def draft_hash(raw_draft: str) -> str:
    """Which draft an export shows: the hash of the draft's exact text."""
    return hashlib.sha256(raw_draft.encode("utf-8")).hexdigest()


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


def _throttled(report: Progress, verb: str) -> Callable[[int, int | None], None]:
    last = [0.0]

    def on_bytes(done: int, total: int | None) -> None:
        now = time.monotonic()
        if (total is not None and done >= total) or now - last[0] >= TRANSFER_REPORT_SECONDS:
            last[0] = now
            report(f"{verb} {megabytes(done)}" + (f" of {megabytes(total)}" if total else ""), done, total)

    return on_bytes


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
