"""What each tool returns: the structured result, and its words for people.

Every result model is the tool's published ``outputSchema`` and the CLI's ``--json`` output;
its ``text()`` is the one wording of it, which the MCP tool result carries as text and the CLI
prints. Change a sentence here and both change.

Results are built within the budgets of :mod:`nemo_mcp.budget`: a timeline as an outline that
fits (:meth:`StateResult.of`, :meth:`InstructionResult.with_timeline`), the rest cut to size.
Every result has ``truncated``, true when something was left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from nemo_mcp import budget
from nemo_mcp.draft import Timeline, TrackType
from nemo_mcp.draft.summary import Outline, Place, outline

Status = Literal["done", "running"]
JobKind = Literal["instruction", "export", "upload"]

TIMELINE_URI = "nemo://sessions/{session_id}/timeline"
"""The timeline resource: the whole timeline, page by page (``?page=N``), each page naming the next."""

# How much of a progress message a result repeats.
_LATEST_CHARS = 500
# How many tool names an instruction's result lists.
_TOOLS_LISTED = 20


def running_text(job_id: str, latest: str | None) -> str:
    """What a call says when it stops waiting for a job that is still working."""
    hint = f"Still working (job {job_id}). Call check_job with job_id '{job_id}' to wait for the result."
    return f"{hint} Latest: {latest_message(latest)}" if latest else hint


def latest_message(message: str | None) -> str | None:
    """A progress message as a result repeats it (an editor's chunk of text can be long)."""
    return None if message is None else budget.cut(budget.clean(message), _LATEST_CHARS)


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def timeline_uri(session_id: str) -> str:
    return TIMELINE_URI.format(session_id=session_id)


Truncated = Annotated[
    bool, Field(description="Something was left out to keep this result small; the text says where the rest is.")
]


class Result(BaseModel):
    """A tool's result: the fields are its structured output, ``text()`` its words."""

    notices: list[str] | None = Field(
        default=None,
        description="Something found wrong with nemo-mcp's saved state (moved aside, forgotten); said once.",
    )

    def text(self) -> str:
        raise NotImplementedError


class SessionResult(Result):
    session_id: str = Field(description="The project's session id; now the current project.")
    task_id: str | None = None
    language: str
    truncated: Truncated = False

    def text(self) -> str:
        return f"New project {self.session_id} is now current."


class UploadedItem(BaseModel):
    name: str
    kind: str = Field(description="image, video or audio")
    size_bytes: int | None = None
    source: str = Field(description="'file' for a local path, 'url' for a link")
    url: str | None = Field(default=None, description="Where NemoVideo stored it.")


class UploadResult(Result):
    status: Status = "done"
    job_id: str | None = Field(default=None, description="Pass to check_job while status is 'running'.")
    session_id: str
    uploaded: list[UploadedItem]
    truncated: Truncated = False

    def text(self) -> str:
        names = ", ".join(f"{budget.label(u.name)} ({u.kind})" for u in self.uploaded)
        return f"Uploaded {names} to project {self.session_id}."


# -- timelines -------------------------------------------------------------------------------------


def _absent_not_null(schema: dict[str, Any]) -> None:
    """The schema of a model whose unset fields are left out rather than sent as null: each such
    field is its plain type (which also spares a client that checks results a branch per field)."""
    for prop in schema.get("properties", {}).values():
        branches = prop.get("anyOf")
        if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
            prop.update(next(b for b in branches if b != {"type": "null"}))
            del prop["anyOf"]
            prop.pop("default", None)


class ShownSegment(BaseModel):
    model_config = ConfigDict(json_schema_extra=_absent_not_null)

    number: int = Field(description="Its number in the full list of the timeline (the timeline resource).")
    id: str | None = None
    start_ms: int
    duration_ms: int
    end_ms: int
    name: str | None = None
    kind: str | None = None
    text: str | None = None
    volume: float | None = None
    source: str | None = None

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # What a segment does not have is left out: a third of the bytes, and what a client
        # checks against the schema (the SDK's own client checks every field) is halved.
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


class TrackSummary(BaseModel):
    type: TrackType
    raw_type: int | None
    segment_count: int = Field(description="Segments on this track.")
    start_ms: int = Field(description="Where its first segment starts.")
    end_ms: int = Field(description="Where its last segment ends.")
    segments: list[ShownSegment] = Field(
        description="The segments shown: all of them unless the result is truncated (the numbers show the gaps)."
    )


R = TypeVar("R", bound=Result)


def fitted(build: Callable[[int | None], R], shown: Callable[[R], int], limit: int) -> R:
    """``build(most)``, a result showing at most ``most`` segments (None: as many as its text
    holds), for the largest ``most`` whose structured content is within ``limit`` bytes.

    The text is within its budget by construction; the structured content carries a little
    more per segment (ids, sources), so long names in scripts that JSON escapes may leave room
    for fewer segments than the text holds. Showing none always fits.
    """
    result = build(None)
    if budget.json_size(result.model_dump(mode="json")) <= limit:
        return result
    best, low, high = build(0), 0, shown(result) - 1
    while low < high:
        middle = (low + high + 1) // 2
        candidate = build(middle)
        if budget.json_size(candidate.model_dump(mode="json")) <= limit:
            best, low = candidate, middle
        else:
            high = middle - 1
    return best


def _field(value: str | None) -> str | None:
    return None if value is None else budget.cut(budget.clean(value), budget.FIELD_CHARS)


def _track_summaries(timeline: Timeline, shown: Outline) -> list[TrackSummary]:
    summaries = []
    for i, picked in shown.tracks:
        track = timeline.tracks[i]
        segments = [
            ShownSegment(
                number=number,
                id=_field(s.id),
                start_ms=s.start_ms,
                duration_ms=s.duration_ms,
                end_ms=s.end_ms,
                name=_field(s.name),
                kind=_field(s.kind),
                text=_field(s.text),
                volume=s.volume,
                source=_field(s.source),
            )
            for number, s in ((number, track.segments[j]) for number, j in picked)
        ]
        summaries.append(
            TrackSummary(
                type=track.type,
                raw_type=track.raw_type,
                segment_count=len(track.segments),
                start_ms=track.start_ms,
                end_ms=track.end_ms,
                segments=segments,
            )
        )
    return summaries


def _outline(timeline: Timeline, uri: str, limit: int, changed: frozenset[Place], most: int | None) -> Outline:
    return outline(timeline, f"`{uri}`", limit, changed=changed, most=most)


class InstructionResult(Result):
    status: Status = "done"
    job_id: str | None = Field(default=None, description="Pass to check_job while status is 'running'.")
    session_id: str
    reply: str = Field(default="", description="The editor's text (may be empty).")
    timeline_changed: bool = False
    changes: list[str] = Field(default_factory=list, description="What changed on the timeline.")
    timeline: str = Field(default="", description="Summary of the timeline after the edit.")
    tools_used: list[str] = Field(default_factory=list)
    note: str | None = None
    segment_count: int = Field(default=0, description="Segments on the timeline after the edit.")
    segments_shown: int = Field(default=0, description="Segments the `timeline` summary lists.")
    timeline_uri: str | None = Field(default=None, description="The whole timeline, page by page.")
    truncated: Truncated = False

    def text(self) -> str:
        parts = [self.reply]
        if self.note:
            parts.append(self.note)
        if self.changes and not self.reply.startswith(CHANGED_PREFIX):
            parts.append("Changes: " + "; ".join(self.changes) + ".")
        parts.append(self.timeline)
        return "\n\n".join(p for p in parts if p)

    def with_timeline(
        self,
        timeline: Timeline,
        changed: frozenset[Place] = frozenset(),
        limit: int = budget.STRUCTURED_BYTES - budget.WRAPPER_BYTES,
    ) -> InstructionResult:
        """This result with the summary of ``timeline`` after the edit, in the room the reply and
        the changes leave: its text and structured content within their budgets."""
        room = budget.TEXT_CHARS - len(self.model_copy(update={"timeline": ""}).text()) - 2
        uri = timeline_uri(self.session_id)

        def build(most: int | None) -> InstructionResult:
            shown = _outline(timeline, uri, room, changed, most)
            return self.model_copy(
                update={
                    "timeline": shown.text,
                    "segment_count": shown.segment_count,
                    "segments_shown": shown.segments_shown,
                    "timeline_uri": uri,
                    "truncated": self.truncated or shown.truncated,
                }
            )

        return fitted(build, lambda r: r.segments_shown, limit)

    @staticmethod
    def bounded_reply(reply: str) -> tuple[str, bool]:
        """The editor's reply within its share of the text, and whether some was left out."""
        return budget.fit_text(reply, budget.REPLY_CHARS)

    @staticmethod
    def bounded_tools(names: list[str]) -> list[str]:
        """The tools the editor ran, each once, at most a few."""
        return [budget.label(name) for name in dict.fromkeys(n for n in names if n)][:_TOOLS_LISTED]


# The reply made from the diff when the editor said nothing.
CHANGED_PREFIX = "The timeline was updated: "


class StateResult(Result):
    session_id: str
    duration_ms: int
    width: int | None = None
    height: int | None = None
    exportable: bool
    track_count: int = Field(description="Tracks on the timeline; `tracks` lists them all unless truncated.")
    segment_count: int = Field(description="Segments on the timeline.")
    segments_shown: int = Field(description="Segments listed here; the timeline resource has every one.")
    tracks: list[TrackSummary]
    uploads: int = Field(default=0, description="How many media files the project holds.")
    summary: str
    timeline_uri: str = Field(description="The whole timeline, page by page; each page names the next.")
    truncated: Truncated = False

    def text(self) -> str:
        return self.summary

    @classmethod
    def of(
        cls,
        session_id: str,
        timeline: Timeline,
        uploads: int = 0,
        changed: frozenset[Place] = frozenset(),
        limit: int = budget.STRUCTURED_BYTES,
    ) -> StateResult:
        """The result of reading ``timeline``: an outline of it, within the budgets."""
        uri = timeline_uri(session_id)

        def build(most: int | None) -> StateResult:
            shown = _outline(timeline, uri, budget.TEXT_CHARS, changed, most)
            return cls(
                session_id=session_id,
                duration_ms=timeline.duration_ms,
                width=timeline.width,
                height=timeline.height,
                exportable=timeline.exportable,
                track_count=shown.track_count,
                segment_count=shown.segment_count,
                segments_shown=shown.segments_shown,
                tracks=_track_summaries(timeline, shown),
                uploads=uploads,
                summary=shown.text,
                timeline_uri=uri,
                truncated=shown.truncated,
            )

        return fitted(build, lambda r: r.segments_shown, limit)


# -- the rest --------------------------------------------------------------------------------------


class CreditsResult(Result):
    available: float | None = Field(default=None, description="None offline, where editing is free.")
    frozen: float | None = None
    total: float | None = None
    account: Literal["anonymous", "registered", "offline"]
    register_url: str | None = None
    truncated: Truncated = False

    def text(self) -> str:
        if self.account == "offline":
            return "Offline editing is free: instructions and exports use no credits."
        text = f"{self.available or 0:g} credits available ({self.frozen or 0:g} reserved)."
        if self.register_url:
            text += f" Register for free to get more: {self.register_url}"
        return text


class ExportResult(Result):
    status: Status = "done"
    job_id: str | None = None
    session_id: str
    render_id: str | None = None
    render_status: str | None = None
    progress: float | None = Field(default=None, description="Render percentage while running.")
    url: str | None = None
    path: str | None = Field(default=None, description="The MP4 on this computer, when downloaded.")
    size_bytes: int | None = None
    truncated: Truncated = False

    def text(self) -> str:
        if self.path:
            return f"The video is ready: {self.path} ({megabytes(self.size_bytes or 0)})."
        return f"The video is rendered: {self.url}"


class FrameShown(BaseModel):
    time_s: float = Field(description="The moment of the video the frame shows, in seconds.")
    width: int
    height: int


class FramesResult(Result):
    session_id: str
    source: Literal["export", "draft", "none"] = Field(
        description="'export': frames of the saved MP4 of this very timeline; 'draft': rendered from the "
        "timeline (offline); 'none': no frames (the cloud shows frames of an export only)."
    )
    frames: list[FrameShown] = Field(default_factory=list, description="One per image, in the same order.")
    truncated: Truncated = False

    def text(self) -> str:
        if not self.frames:
            return (
                "There is no export of the timeline as it is now, and the cloud editor shows frames only of an "
                "export. Export it first (exports are free), then ask for frames again."
            )
        where = "the exported video" if self.source == "export" else "the timeline, rendered as the export would"
        times = ", ".join(f"{f.time_s:g} s" for f in self.frames)
        size = f"{self.frames[0].width}x{self.frames[0].height}"
        return f"{len(self.frames)} frame(s) of {where}, at {times} ({size} JPEG each)."


JobOutput = InstructionResult | ExportResult | UploadResult


class JobResult(Result):
    status: Status
    job_id: str
    kind: JobKind
    result: JobOutput | None = Field(default=None, description="The original tool's full result once status is 'done'.")
    message: str | None = Field(default=None, description="The latest progress message.")
    truncated: Truncated = False

    def text(self) -> str:
        if self.result is not None:
            return self.result.text()
        return running_text(self.job_id, self.message)
