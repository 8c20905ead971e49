"""The events of a ``/run_sse`` turn, in either documented form: ADK events or typed events.

ADK: one JSON event per ``data:`` line with camelCase keys, text streamed as ``partial`` chunks
and repeated whole in a last non-partial event. Typed: ``{"type": "text" | "tool_call" |
"tool_result" | "heartbeat" | "error", ...}``. Heartbeats cycle through every documented kind:
a ``: ping`` comment, an empty ``data:`` line and, in typed form, ``{"type": "heartbeat"}``.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from typing import Any, Literal

from nemo_mcp.apiserver.answers import dumps

SseForm = Literal["adk", "typed"]

AGENT_NAME = "nemo_agent"
COMMENT_PING = b": ping\n\n"
EMPTY_DATA = b"data:\n\n"


def sse_data(event: dict[str, Any]) -> bytes:
    return b"data: " + dumps(event) + b"\n\n"


TYPED_HEARTBEAT = sse_data({"type": "heartbeat"})
HEARTBEATS = frozenset({COMMENT_PING, EMPTY_DATA, TYPED_HEARTBEAT})


def split_reply(text: str, max_chunks: int = 4) -> list[str]:
    """2-4 chunks (fewer only for tiny texts) that join back to exactly ``text``, as an agent streams."""
    if not text:
        return []
    words = re.findall(r"\S+\s*|\s+", text)
    count = max(2, min(max_chunks, len(words) // 3))
    if len(words) < count:  # too few words: cut by characters instead
        words = list(text)
    count = min(count, len(words))
    size = math.ceil(len(words) / count)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


class EventWriter:
    """Builds one turn's events in the form chosen at construction."""

    def __init__(self, form: SseForm) -> None:
        self.form = form
        self.invocation_id = f"e-{uuid.uuid4()}"
        self._call_id = f"adk-{uuid.uuid4()}"

    def heartbeat(self, n: int) -> bytes:
        """The n-th heartbeat, cycling through every documented kind."""
        kinds = [COMMENT_PING, EMPTY_DATA] + ([TYPED_HEARTBEAT] if self.form == "typed" else [])
        return kinds[n % len(kinds)]

    def _adk(self, parts: list[dict[str, Any]], *, partial: bool = False, role: str = "model") -> bytes:
        return sse_data(
            {
                "id": str(uuid.uuid4()),
                "invocationId": self.invocation_id,
                "author": AGENT_NAME,
                "timestamp": time.time(),
                "partial": partial,
                "content": {"role": role, "parts": parts},
            }
        )

    def tool_call(self, name: str, args: dict[str, Any]) -> bytes:
        if self.form == "typed":
            return sse_data({"type": "tool_call", "name": name, "args": args})
        return self._adk([{"functionCall": {"id": self._call_id, "name": name, "args": args}}])

    def tool_result(self, name: str, result: dict[str, Any]) -> bytes:
        if self.form == "typed":
            return sse_data({"type": "tool_result", "name": name, "result": result})
        # ADK puts function responses in a "user" content authored by the agent.
        part = {"functionResponse": {"id": self._call_id, "name": name, "response": result}}
        return self._adk([part], role="user")

    def text(self, reply: str) -> list[bytes]:
        """The reply as streamed chunks, plus ADK's closing event that repeats it whole."""
        if self.form == "typed":
            return [sse_data({"type": "text", "content": chunk}) for chunk in split_reply(reply)]
        chunks = [self._adk([{"text": chunk}], partial=True) for chunk in split_reply(reply)]
        return [*chunks, self._adk([{"text": reply}])] if chunks else []

    def error(self, message: str) -> bytes:
        if self.form == "typed":
            return sse_data({"type": "error", "message": message})
        return sse_data({"invocationId": self.invocation_id, "errorCode": "AGENT_ERROR", "errorMessage": message})
