"""What the server asks of an editor: the ``Editor`` protocol and its request and result.

The real service runs an LLM agent behind ``/run_sse``; this server runs an ``Editor`` (the
offline backend's rule-based one, or the emulator's scripted one) in a worker thread and
streams its result in the documented event forms. The server owns everything around the
edit: the stored draft, the undo history, and applying the result without losing a
concurrent change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class EditRequest:
    """One instruction and everything an editor may read; every value is the editor's own copy."""

    session_id: str
    draft: dict[str, Any]
    instruction: str
    uploads: list[dict[str, Any]]
    language: str = "en"
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier drafts, most recent last


@dataclass
class EditResult:
    draft: dict[str, Any]  # the new draft (a new object)
    reply: str  # the agent's text ("" allowed)
    tool_name: str = "edit_multitrack"  # "" when no tool ran: no tool events are streamed
    tool_args: dict[str, Any] = field(default_factory=dict)
    reverted: bool = False  # an undo: ``draft`` is ``history[-1]``, which the server pops


class EditFailed(Exception):
    """Raised by an editor to end the turn with this message and no change to the draft."""


class Editor(Protocol):
    def edit(self, request: EditRequest) -> EditResult:
        """Apply the instruction; called in a worker thread, so it may block (e.g. probing media).

        May be called again for the same instruction when another process changed the draft
        meanwhile: it must not keep state of its own about the session.
        """
        ...
