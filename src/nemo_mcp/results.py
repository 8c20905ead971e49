"""The results of the actions: what tools return as structured output and the CLI prints as JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nemo_mcp.draft import Track

Status = Literal["done", "running"]


class SessionResult(BaseModel):
    session_id: str = Field(description="The project's session id; now the current project.")
    task_id: str | None = None
    language: str


class UploadedItem(BaseModel):
    name: str
    kind: str = Field(description="image, video or audio")
    size_bytes: int | None = None
    source: str = Field(description="'file' for a local path, 'url' for a link")
    url: str | None = Field(default=None, description="Where NemoVideo stored it.")


class UploadResult(BaseModel):
    status: Status = "done"
    job_id: str | None = Field(default=None, description="Pass to check_job while status is 'running'.")
    session_id: str
    uploaded: list[UploadedItem]


class InstructionResult(BaseModel):
    status: Status = "done"
    job_id: str | None = Field(default=None, description="Pass to check_job while status is 'running'.")
    session_id: str
    reply: str = Field(default="", description="The editor's text (may be empty).")
    timeline_changed: bool = False
    changes: list[str] = Field(default_factory=list, description="What changed on the timeline.")
    timeline: str = Field(default="", description="Summary of the timeline after the edit.")
    tools_used: list[str] = Field(default_factory=list)
    note: str | None = None


class StateResult(BaseModel):
    session_id: str
    duration_ms: int
    width: int | None = None
    height: int | None = None
    exportable: bool
    tracks: list[Track]
    uploads: int = Field(default=0, description="How many media files the project holds.")
    summary: str


class CreditsResult(BaseModel):
    available: float
    frozen: float
    total: float
    account: Literal["anonymous", "registered"]
    register_url: str | None = None


class ExportResult(BaseModel):
    status: Status = "done"
    job_id: str | None = None
    session_id: str
    render_id: str | None = None
    render_status: str | None = None
    progress: float | None = Field(default=None, description="Render percentage while running.")
    url: str | None = None
    path: str | None = Field(default=None, description="The MP4 on this computer, when downloaded.")
    size_bytes: int | None = None
