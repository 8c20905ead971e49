"""What the API server asks of an editor, and what it gets back.

The server owns the stored draft and the undo history; an editor is handed one instruction with
everything it may read (its own copies) and returns the new draft and its reply. It keeps no
state about sessions: the same request gives the same result.

These mirror ``nemo_mcp.apiserver``'s ``EditRequest`` and ``EditResult`` (being split out of the
emulator on another branch); once that lands this module imports them from there instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EditRequest:
    """One instruction and everything an editor may read; every value is the editor's own copy."""

    session_id: str
    draft: dict[str, Any]
    instruction: str
    uploads: list[dict[str, Any]]  # the API's video_infos records: filename, file_type, cdn_url, duration, …
    language: str = "en"
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier drafts, most recent last


@dataclass
class EditResult:
    draft: dict[str, Any]  # the new draft (a new object)
    reply: str  # the agent's text ("" allowed)
    tool_name: str = "edit_multitrack"  # "" when no tool ran
    tool_args: dict[str, Any] = field(default_factory=dict)
    reverted: bool = False  # an undo: ``draft`` is ``history[-1]``, which the server pops
