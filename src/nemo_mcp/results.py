"""What each tool returns: the structured result, and its words for people.

Every result model is the tool's published ``outputSchema`` and the CLI's ``--json`` output;
its ``text()`` is the one wording of it, which the MCP tool result carries as text and the CLI
prints. Change a sentence here and both change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nemo_mcp.draft import Track

Status = Literal["done", "running"]
JobKind = Literal["instruction", "export", "upload"]


def running_text(job_id: str, latest: str | None) -> str:
    """What a call says when it stops waiting for a job that is still working."""
    hint = f"Still working (job {job_id}). Call check_job with job_id '{job_id}' to wait for the result."
    return f"{hint} Latest: {latest}" if latest else hint


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


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

    def text(self) -> str:
        names = ", ".join(f"{u.name} ({u.kind})" for u in self.uploaded)
        return f"Uploaded {names} to project {self.session_id}."


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

    def text(self) -> str:
        parts = [self.reply]
        if self.note:
            parts.append(self.note)
        if self.changes and not self.reply.startswith(CHANGED_PREFIX):
            parts.append("Changes: " + "; ".join(self.changes) + ".")
        parts.append(self.timeline)
        return "\n\n".join(p for p in parts if p)


# The reply made from the diff when the editor said nothing.
CHANGED_PREFIX = "The timeline was updated: "


class StateResult(Result):
    session_id: str
    duration_ms: int
    width: int | None = None
    height: int | None = None
    exportable: bool
    tracks: list[Track]
    uploads: int = Field(default=0, description="How many media files the project holds.")
    summary: str

    def text(self) -> str:
        return self.summary


class CreditsResult(Result):
    available: float | None = Field(default=None, description="None offline, where editing is free.")
    frozen: float | None = None
    total: float | None = None
    account: Literal["anonymous", "registered", "offline"]
    register_url: str | None = None

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

    def text(self) -> str:
        if self.path:
            return f"The video is ready: {self.path} ({megabytes(self.size_bytes or 0)})."
        return f"The video is rendered: {self.url}"


JobOutput = InstructionResult | ExportResult | UploadResult


class JobResult(Result):
    status: Status
    job_id: str
    kind: JobKind
    result: InstructionResult | ExportResult | UploadResult | None = Field(
        default=None, description="The original tool's full result once status is 'done'."
    )
    message: str | None = Field(default=None, description="The latest progress message.")

    def text(self) -> str:
        if self.result is not None:
            return self.result.text()
        return running_text(self.job_id, self.message)
