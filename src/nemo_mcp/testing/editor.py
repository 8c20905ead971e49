"""The emulator's agent: a scripted editor, and the faults that concern an agent's work.

``ScriptedEditor`` puts new uploads on the timeline and sets a quoted phrase as the title, with
the keys of docs/draft-format.md. ``FaultyEditor`` wraps any editor with the turn faults: work
until the server has sent the asked-for heartbeats, give up when the stream is dropped before
the tool call and the edit should not land, and say nothing (``textless``).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from nemo_mcp.apiserver import EditFailed, Editor, EditRequest, EditResult
from nemo_mcp.draft.edit import Editable
from nemo_mcp.draft.keys import TRACK_AUDIO, TRACK_TEXT, TRACK_VIDEO
from nemo_mcp.testing.wire import CURRENT_TURN

IMAGE_MS = 3000
VIDEO_FALLBACK_MS = 5000
TITLE_MS = 3000
BGM_VOLUME = 0.5

# 'single', "double" or “curly” quotes; the first quoted phrase is the title.
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"|“([^”]+)”")


class FaultyEditor:
    def __init__(self, inner: Editor) -> None:
        self.inner = inner

    def edit(self, request: EditRequest) -> EditResult:
        wire = CURRENT_TURN.get()
        if wire is None:  # not a turn the fault injector saw
            return self.inner.edit(request)
        if wire.faults.heartbeats:
            wire.wait_heartbeats(wire.faults.heartbeats)
        if wire.next_event_dropped() and not wire.faults.drop_applies_edit:
            raise EditFailed("The stream was dropped and the emulated agent's work was lost.")
        result = self.inner.edit(request)
        if wire.faults.textless:
            result.reply = ""
        return result


class ScriptedEditor:
    """Puts new uploads on the timeline and sets a quoted phrase as the title; stateless."""

    def edit(self, request: EditRequest) -> EditResult:
        draft, instruction, uploads = request.draft, request.instruction, request.uploads
        new = Editable(copy.deepcopy(draft))
        existing = [id(track) for track in new.draft["t"]]
        placed = {seg.get("src") for tt in (TRACK_VIDEO, TRACK_AUDIO) for seg in new.segments(tt)}
        added = {"image": 0, "video": 0, "audio": 0}
        actions: list[dict[str, Any]] = []

        for upload in uploads:
            src, kind = upload.get("cdn_url"), upload.get("file_type")
            if src in placed or kind not in added:
                continue
            placed.add(src)
            name = upload.get("filename") or "media"
            seconds = upload.get("duration")
            known_ms = round(seconds * 1000) if isinstance(seconds, int | float) and seconds > 0 else None
            if kind == "audio":
                music = new.track(TRACK_AUDIO, create=True)
                assert music is not None
                length = known_ms or VIDEO_FALLBACK_MS
                seg = {"id": new.next_id("a"), "st": 0, "d": length, "n": name, "k": "audio", "src": src}
                music["sg"].append({**seg, "v": BGM_VOLUME})
            else:
                video = new.track(TRACK_VIDEO, create=True)
                assert video is not None
                length = IMAGE_MS if kind == "image" else known_ms or VIDEO_FALLBACK_MS
                start = new.end(TRACK_VIDEO)
                video["sg"].append({"id": new.next_id("v"), "st": start, "d": length, "n": name, "k": kind, "src": src})
            added[kind] += 1
            actions.append({"op": "add", "track": TRACK_AUDIO if kind == "audio" else TRACK_VIDEO, "src": src})

        video_end = new.end(TRACK_VIDEO)
        # Background music spans the whole video, also when the video grew this turn.
        if video_end > 0:
            for seg in new.segments(TRACK_AUDIO):
                seg["st"], seg["d"] = 0, video_end

        title = _quoted(instruction)
        if title is not None:
            text = new.track(TRACK_TEXT, create=True)
            assert text is not None
            keep = [s for s in text["sg"] if not (isinstance(s, dict) and s.get("st", 0) == 0)]
            text["sg"] = [{"id": new.next_id("x"), "st": 0, "d": TITLE_MS, "tx": title}, *keep]
            actions.append({"op": "set_title", "track": TRACK_TEXT, "text": title})

        # Drop tracks this turn created but left empty, so an idle turn changes nothing.
        new.draft["t"] = [t for t in new.draft["t"] if t.get("sg") or id(t) in existing]
        new.draft["d"] = video_end or new.end()
        return EditResult(draft=new.draft, reply=_reply(added, title), tool_args={"actions": actions})


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
