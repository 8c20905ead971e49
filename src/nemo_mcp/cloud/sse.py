"""Decode the Server-Sent Events stream of ``/run_sse`` into a few plain events.

No real capture of the stream is public, so two forms are read (see the API notes):

* **ADK events**: ``{"partial": true, "content": {"parts": [{"text": ...}]}}`` and friends,
  camelCase or snake_case keys. ``partial`` chunks are deltas; the non-partial event that
  follows them repeats the whole text, which is de-duplicated here.
* **Typed events**: ``{"type": "text" | "tool_call" | "tool_result" | "heartbeat" | "error", ...}``.
  A typed text event is always a delta.

Heartbeats arrive as comment lines (``: ping``), empty ``data:`` events and typed heartbeats.

Decoding never raises: JSON that fits neither form is dropped (logged at debug level). A
``data:`` payload that is not JSON is shown as text when it has visible characters, because
some servers stream plain text; payloads that look like broken JSON (``{``/``[``) and the
``[DONE]`` sentinel are dropped instead so that no raw protocol reaches the user.

Line splitting: ``httpx.Response.aiter_lines`` splits on every character ``str.splitlines``
knows, including U+2028 and form feed, which may legitimately sit raw inside a JSON string.
:func:`sse_lines` splits only on CR, LF and CRLF as the SSE spec says; feed it
``response.aiter_text()``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from nemo_mcp.lenient import ident, int_code

__all__ = [
    "Event",
    "EventDecoder",
    "Heartbeat",
    "StreamError",
    "TextDelta",
    "ToolCall",
    "ToolResult",
    "iter_events",
    "sse_lines",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextDelta:
    """New text to show; never a repeat of text already emitted."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class ToolResult:
    name: str
    result: Any
    id: str | None = None


@dataclass(frozen=True)
class StreamError:
    """An error reported inside the stream (the HTTP answer itself was fine)."""

    message: str
    code: int | None = None


@dataclass(frozen=True)
class Heartbeat:
    pass


Event = TextDelta | ToolCall | ToolResult | StreamError | Heartbeat

_TYPED_KINDS = frozenset({"text", "tool_call", "tool_result", "heartbeat", "ping", "error"})
_HEARTBEAT_EVENT_NAMES = frozenset({"heartbeat", "ping", "keepalive", "keep-alive"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_DEFAULT_ERROR = "The NemoVideo editor reported an error."


def _get(obj: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present with a non-None value (camelCase / snake_case aliases)."""
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return value
    return None


def _first_str(obj: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def _args(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        # Some servers send arguments as a JSON-encoded string.
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return {}
        if isinstance(parsed, dict):
            return parsed
    return {}


def _make_error(message: Any, code: Any) -> StreamError:
    number = int_code(code)
    text = message if isinstance(message, str) and message.strip() else None
    # A symbolic code such as "SAFETY" has no int form; keep it in the message instead.
    symbolic = code if isinstance(code, str) and code.strip() and number is None else None
    if text is None:
        if symbolic is not None:
            text = f"The NemoVideo editor stopped: {symbolic}."
        elif number is not None:
            text = f"The NemoVideo editor reported error {number}."
        else:
            text = _DEFAULT_ERROR
    elif symbolic is not None:
        text = f"{text} ({symbolic})"
    return StreamError(message=text, code=number)


class EventDecoder:
    """Turns SSE lines into events. Stateful: de-duplicates the final non-partial ADK text."""

    def __init__(self) -> None:
        # SSEDecoder lives in a private module of httpx-sse (0.4.x exports only the high-level API);
        # it is small and stable, and tests/test_sse.py pins its behaviour. Imported here: the
        # package imports httpx, which a server need not load before its first instruction.
        from httpx_sse._decoders import SSEDecoder

        self._sse = SSEDecoder()
        # httpx-sse dispatches on every blank line once an ``id:`` was seen (it keeps the last
        # id), so track whether a field arrived since the last dispatch ourselves.
        self._pending = False
        # Text streamed by ADK partial events since the last non-partial event.
        self._streamed = ""

    def feed_line(self, line: str) -> list[Event]:
        """Feed one line of the body, without its line break."""
        try:
            if not isinstance(line, str):
                return []
            if "\r" in line or "\n" in line:
                # Not one line after all: decode each piece as the spec would.
                events: list[Event] = []
                for piece in _LINE_BREAK.split(line):
                    events.extend(self._feed_one(piece))
                return events
            return self._feed_one(line)
        except Exception:  # decoding must never break the stream; see the module docstring
            logger.exception("Dropped an SSE line the decoder could not handle")
            return []

    def close(self) -> list[Event]:
        """End of body: flush an event whose closing blank line never came."""
        try:
            if not self._pending:
                return []
            return self._feed_one("")
        except Exception:
            logger.exception("Dropped the last SSE event")
            return []
        finally:
            self._streamed = ""

    def _feed_one(self, line: str) -> list[Event]:
        if line.startswith(":"):
            return [Heartbeat()]
        if line:
            self._pending = True
            self._sse.decode(line)
            return []
        if not self._pending:
            return []
        self._pending = False
        sse = self._sse.decode("")
        if sse is None:
            return []
        return self._decode_event(sse.event, sse.data)

    def _decode_event(self, name: str, data: str) -> list[Event]:
        if name.lower() in _HEARTBEAT_EVENT_NAMES:
            return [Heartbeat()]
        if not data.strip():
            return [Heartbeat()]
        try:
            payload = json.loads(data)
        except (ValueError, RecursionError):
            if name == "error":
                return [_make_error(data.strip(), None)]
            return self._plain_text(data)
        if not isinstance(payload, dict):
            logger.debug("Ignored a non-object SSE payload: %.200s", data)
            return []
        kind = payload.get("type")
        if not (isinstance(kind, str) and kind in _TYPED_KINDS) and name in _TYPED_KINDS:
            # ``event: tool_call`` + ``data: {"name": ...}``: the SSE event name gives the type.
            kind = name
        if isinstance(kind, str) and kind in _TYPED_KINDS:
            return self._typed(kind, payload)
        if _looks_like_adk(payload):
            return self._adk(payload)
        logger.debug("Ignored an SSE payload of unknown shape: %.200s", data)
        return []

    def _plain_text(self, data: str) -> list[Event]:
        stripped = data.strip()
        if not stripped or stripped == "[DONE]" or stripped[0] in "{[":
            logger.debug("Ignored a non-JSON SSE payload: %.200s", data)
            return []
        return [TextDelta(data)]

    def _typed(self, kind: str, payload: dict[str, Any]) -> list[Event]:
        if kind in ("heartbeat", "ping"):
            return [Heartbeat()]
        if kind == "text":
            text = _first_str(payload, "content", "text", "delta")
            return [TextDelta(text)] if text else []
        if kind == "tool_call":
            return [
                ToolCall(
                    name=_first_str(payload, "name", "tool_name", "tool") or "",
                    args=_args(_get(payload, "args", "arguments", "input")),
                    id=ident(_get(payload, "id", "call_id", "tool_call_id")),
                )
            ]
        if kind == "tool_result":
            return [
                ToolResult(
                    name=_first_str(payload, "name", "tool_name", "tool") or "",
                    result=_get(payload, "result", "output", "response"),
                    id=ident(_get(payload, "id", "call_id", "tool_call_id")),
                )
            ]
        # kind == "error"
        error = payload.get("error")
        if isinstance(error, dict):
            return [_make_error(_get(error, "message", "msg"), _get(error, "code", "status"))]
        return [_make_error(_get(payload, "message", "error", "detail"), payload.get("code"))]

    def _adk(self, payload: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        partial = payload.get("partial") is True
        content = payload.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        texts: list[str] = []
        text_slot: int | None = None  # where the (de-duplicated) text goes among the events
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict):
                continue
            text = part.get("text")
            if isinstance(text, str) and text and part.get("thought") is not True:
                if partial:
                    events.append(TextDelta(text))
                else:
                    texts.append(text)
                    if text_slot is None:
                        text_slot = len(events)
            call = _get(part, "functionCall", "function_call")
            if isinstance(call, dict):
                events.append(
                    ToolCall(
                        name=_first_str(call, "name") or "",
                        args=_args(call.get("args")),
                        id=ident(call.get("id")),
                    )
                )
            response = _get(part, "functionResponse", "function_response")
            if isinstance(response, dict):
                events.append(
                    ToolResult(
                        name=_first_str(response, "name") or "",
                        result=response.get("response"),
                        id=ident(response.get("id")),
                    )
                )
        if partial:
            self._streamed += "".join(e.text for e in events if isinstance(e, TextDelta))
        else:
            fresh = self._unseen("".join(texts))
            if fresh and text_slot is not None:
                events.insert(text_slot, TextDelta(fresh))
            self._streamed = ""
        error = self._adk_error(payload)
        if error is not None:
            events.append(error)
        return events

    def _unseen(self, full: str) -> str:
        """The part of a non-partial event's text that the partial chunks did not show yet."""
        streamed = self._streamed
        if not streamed:
            return full
        if full == streamed:
            return ""
        if full.startswith(streamed):
            return full[len(streamed) :]
        # The final text differs from the streamed chunks (the model rewrote it): show it whole,
        # accepting a partial repeat over hiding what the agent finally said.
        return full

    @staticmethod
    def _adk_error(payload: dict[str, Any]) -> StreamError | None:
        error = payload.get("error")
        if isinstance(error, dict):
            return _make_error(_get(error, "message", "msg"), _get(error, "code", "status"))
        if isinstance(error, str) and error.strip():
            return _make_error(error, None)
        code = _get(payload, "errorCode", "error_code")
        message = _get(payload, "errorMessage", "error_message")
        has_code = code is not None and code != "" and not isinstance(code, bool)
        has_message = isinstance(message, str) and bool(message.strip())
        if has_code or has_message:
            return _make_error(message, code)
        return None


def _looks_like_adk(payload: Mapping[str, Any]) -> bool:
    return any(
        key in payload
        for key in (
            "content",
            "partial",
            "error",
            "errorCode",
            "error_code",
            "errorMessage",
            "error_message",
        )
    )


async def iter_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Decode an async source of body lines (e.g. ``sse_lines(response.aiter_text())``)."""
    decoder = EventDecoder()
    async for line in lines:
        for event in decoder.feed_line(line):
            yield event
    for event in decoder.close():
        yield event


async def sse_lines(chunks: AsyncIterator[str]) -> AsyncIterator[str]:
    """Split text chunks into SSE lines on CR, LF and CRLF only (a CRLF may span two chunks)."""
    buffer = ""
    async for chunk in chunks:
        buffer += chunk
        # A trailing CR may be the first half of a CRLF: wait for the next chunk to know.
        cut = len(buffer) - 1 if buffer.endswith("\r") else len(buffer)
        start = 0
        for match in _LINE_BREAK.finditer(buffer, 0, cut):
            yield buffer[start : match.start()]
            start = match.end()
        buffer = buffer[start:]
    if buffer.endswith("\r"):
        buffer = buffer[:-1]
        yield buffer
    elif buffer:
        yield buffer
