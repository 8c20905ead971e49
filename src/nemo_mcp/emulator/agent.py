"""The emulated editing agent: the Editor protocol, the default ScriptedEditor, and SSE event builders.

The real service runs an LLM agent behind ``/run_sse``; the emulator runs an ``Editor`` (the
local backend plugs a rule-based one in) and wraps its result in the documented event forms.
Drafts are written with the keys of docs/draft-format.md.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

SseForm = Literal["adk", "typed"]

AGENT_NAME = "nemo_agent"
TRACK_VIDEO, TRACK_AUDIO, TRACK_TEXT = 0, 1, 7
IMAGE_MS = 3000
VIDEO_FALLBACK_MS = 5000
TITLE_MS = 3000
BGM_VOLUME = 0.5

# 'single', "double" or “curly” quotes; the first quoted phrase is the title.
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"|“([^”]+)”")


@dataclass
class EditResult:
    draft: dict[str, Any]  # the new draft (a new object)
    reply: str  # the agent's text ("" allowed)
    tool_name: str = "edit_multitrack"
    tool_args: dict[str, Any] = field(default_factory=dict)


class Editor(Protocol):
    def edit(
        self, session_id: str, draft: dict[str, Any], instruction: str, uploads: list[dict[str, Any]]
    ) -> EditResult:
        """Apply ``instruction``; called in a worker thread, so it may block (e.g. probing media)."""
        ...


class ScriptedEditor:
    """Puts new uploads on the timeline and sets a quoted phrase as the title; stateless."""

    def edit(
        self, session_id: str, draft: dict[str, Any], instruction: str, uploads: list[dict[str, Any]]
    ) -> EditResult:
        new = copy.deepcopy(draft)
        tracks: list[dict[str, Any]] = new.setdefault("t", [])
        placed = {seg.get("src") for track in tracks for seg in track.get("sg", []) if isinstance(seg, dict)}
        video = _track(tracks, TRACK_VIDEO)
        audio_added: list[dict[str, Any]] = []
        added = {"image": 0, "video": 0, "audio": 0}
        actions: list[dict[str, Any]] = []

        for upload in uploads:
            src, kind = upload.get("cdn_url"), upload.get("file_type")
            if src in placed or kind not in added:
                continue
            placed.add(src)
            name = upload.get("filename") or "media"
            if kind == "audio":
                seconds = upload.get("duration")
                length = round(seconds * 1000) if isinstance(seconds, int | float) else VIDEO_FALLBACK_MS
                seg = {"id": "", "st": 0, "d": length, "n": name, "k": "audio", "src": src, "v": BGM_VOLUME}
                audio_added.append(seg)
            else:
                seconds = upload.get("duration")
                if kind == "image":
                    length = IMAGE_MS
                elif isinstance(seconds, int | float) and seconds > 0:
                    length = round(seconds * 1000)
                else:
                    length = VIDEO_FALLBACK_MS
                seg = {
                    "id": _next_id(tracks, "v"),
                    "st": _end(video),
                    "d": length,
                    "n": name,
                    "k": kind,
                    "src": src,
                }
                video["sg"].append(seg)
            added[kind] += 1
            actions.append({"op": "add", "track": TRACK_AUDIO if kind == "audio" else TRACK_VIDEO, "src": src})

        video_end = _end(video)
        if audio_added:
            music = _track(tracks, TRACK_AUDIO)
            for seg in audio_added:
                seg["id"] = _next_id(tracks, "a")
                music["sg"].append(seg)
        # Background music spans the whole video, also when the video grew this turn.
        if video_end > 0:
            for track in tracks:
                if track.get("tt") == TRACK_AUDIO:
                    for seg in track.get("sg", []):
                        if isinstance(seg, dict):
                            seg["st"], seg["d"] = 0, video_end

        title = _quoted(instruction)
        if title is not None:
            text_track = _track(tracks, TRACK_TEXT)
            keep = [s for s in text_track["sg"] if not (isinstance(s, dict) and s.get("st", 0) == 0)]
            text_track["sg"] = [{"id": _next_id(tracks, "x"), "st": 0, "d": TITLE_MS, "tx": title}, *keep]
            actions.append({"op": "set_title", "track": TRACK_TEXT, "text": title})

        # Drop tracks this turn created but left empty, so an idle turn changes nothing.
        new["t"] = [t for t in tracks if t.get("sg") or t in draft.get("t", [])]
        new["d"] = video_end or max((_end(t) for t in new["t"]), default=0)
        return EditResult(draft=new, reply=_reply(added, title), tool_args={"actions": actions})


def _track(tracks: list[dict[str, Any]], track_type: int) -> dict[str, Any]:
    for track in tracks:
        if track.get("tt") == track_type:
            if not isinstance(track.get("sg"), list):
                track["sg"] = []
            return track
    track = {"tt": track_type, "sg": []}
    tracks.append(track)
    return track


def _end(track: dict[str, Any]) -> int:
    ends = [
        int(seg.get("st", 0)) + int(seg.get("d", 0))
        for seg in track.get("sg", [])
        if isinstance(seg, dict)
        and isinstance(seg.get("st", 0), int | float)
        and isinstance(seg.get("d", 0), int | float)
    ]
    return max(ends, default=0)


def _next_id(tracks: list[dict[str, Any]], prefix: str) -> str:
    used = {seg.get("id") for t in tracks for seg in t.get("sg", []) if isinstance(seg, dict)}
    n = 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _quoted(instruction: str) -> str | None:
    match = _QUOTED.search(instruction)
    if match is None:
        return None
    return next(g for g in match.groups() if g is not None).strip() or None


def _reply(added: dict[str, int], title: str | None) -> str:
    # Worded like the real agent, which assumes the user sees its web editor.
    parts = []
    for kind, noun in (("image", "image"), ("video", "video clip"), ("audio", "music track")):
        n = added[kind]
        if n:
            parts.append(f"{n} {noun}{'s' if n > 1 else ''}")
    done = []
    if parts:
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        done.append(f"added {listed} to your timeline")
    if title:
        done.append(f'set the title to "{title}"')
    if not done:
        return (
            "I checked your timeline but found nothing new to add. "
            "Upload some media or tell me what title you'd like, and I'll put it together."
        )
    return f"I {' and '.join(done)}. Take a look in the preview, and click Export when you're ready!"


def split_reply(text: str, max_chunks: int = 4) -> list[str]:
    """2-4 chunks (fewer only for tiny texts) that join back to exactly ``text``."""
    if not text:
        return []
    words = re.findall(r"\S+\s*|\s+", text)
    count = max(2, min(max_chunks, len(words) // 3))
    if len(words) < count:  # too few words: cut by characters instead
        words = list(text)
    count = min(count, len(words))
    size = math.ceil(len(words) / count)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


# --- SSE -------------------------------------------------------------------------------------

SSE_COMMENT_PING = b": ping\n\n"
SSE_EMPTY_DATA = b"data:\n\n"


def sse_data(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n\n"


def heartbeat(form: SseForm, n: int) -> bytes:
    """The n-th heartbeat, cycling through every documented kind."""
    kinds = [SSE_COMMENT_PING, SSE_EMPTY_DATA]
    if form == "typed":
        kinds.append(sse_data({"type": "heartbeat"}))
    return kinds[n % len(kinds)]


class EventWriter:
    """Builds one turn's events in one of the two documented forms."""

    def __init__(self, form: SseForm) -> None:
        self.form = form
        self.invocation_id = f"e-{uuid.uuid4()}"
        self._call_id = f"adk-{uuid.uuid4()}"

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

    def text_chunk(self, text: str) -> bytes:
        if self.form == "typed":
            return sse_data({"type": "text", "content": text})
        return self._adk([{"text": text}], partial=True)

    def final_text(self, text: str) -> bytes | None:
        """ADK repeats the whole text in a last non-partial event; the typed form does not."""
        return self._adk([{"text": text}]) if self.form == "adk" else None

    def error(self, message: str) -> bytes:
        if self.form == "typed":
            return sse_data({"type": "error", "message": message})
        return sse_data({"invocationId": self.invocation_id, "errorCode": "AGENT_ERROR", "errorMessage": message})
