"""Our own drafts: what a new project's draft is, and an editable view that writes canonical keys.

The offline editor and the test emulator's scripted editor change drafts only through this, so
everything they write follows ``keys`` (and ``docs/draft-format.md``): tracks in the order
video, audio, text; segment ids unique across the draft; ``d`` the end of the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nemo_mcp.draft import keys

DEFAULT_WIDTH, DEFAULT_HEIGHT = 1080, 1920
_TRACK_ORDER = {keys.TRACK_VIDEO: 0, keys.TRACK_AUDIO: 1, keys.TRACK_TEXT: 2}


def new_draft(title: str = "project", width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT) -> dict[str, Any]:
    """The draft of a project nobody has edited yet."""
    return {"t": [], "d": 0, "m": {"title": title, "width": width, "height": height}}


def has_segments(draft: Any) -> bool:
    """Exportable: some track holds a segment (checked on the raw value, as the API does)."""
    if not isinstance(draft, Mapping):
        return False
    tracks = keys.read_list(draft, keys.TRACKS) or []
    return any(isinstance(t, Mapping) and keys.read_list(t, keys.SEGMENTS) for t in tracks)


def start(segment: Mapping[str, Any]) -> int:
    return keys.read_ms(segment, keys.START) or 0


def duration(segment: Mapping[str, Any]) -> int:
    return keys.read_ms(segment, keys.DURATION) or 0


def end(segment: Mapping[str, Any]) -> int:
    return start(segment) + duration(segment)


def _track_rank(track: Any) -> int:
    """Video, audio, text, then the rest (type 0 is the video track, not "no type")."""
    number = keys.read_track_type(track)[0] if isinstance(track, Mapping) else None
    return _TRACK_ORDER.get(number, 3) if number is not None else 3


class Editable:
    """A draft being changed in place (the caller's private copy), with canonical keys."""

    def __init__(self, draft: dict[str, Any]) -> None:
        self.draft = draft
        if not isinstance(draft.get("t"), list):
            draft["t"] = []
        if not isinstance(draft.get("m"), dict):
            draft["m"] = {}

    @property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.draft["m"]
        return meta

    def track(self, track_type: int, *, create: bool = False) -> dict[str, Any] | None:
        """The first track of this type (its ``sg`` made a list), created when asked."""
        for track in self.draft["t"]:
            if isinstance(track, dict) and keys.read_track_type(track)[0] == track_type:
                if not isinstance(track.get("sg"), list):
                    track["sg"] = []
                return track
        if not create:
            return None
        track = {"tt": track_type, "sg": []}
        self.draft["t"].append(track)
        self.draft["t"].sort(key=_track_rank)
        return track

    def segments(self, track_type: int) -> list[dict[str, Any]]:
        track = self.track(track_type)
        return [seg for seg in track["sg"] if isinstance(seg, dict)] if track else []

    def drop_track(self, track_type: int) -> int:
        """Remove every track of this type; the number of segments removed."""
        gone = [t for t in self.draft["t"] if isinstance(t, dict) and keys.read_track_type(t)[0] == track_type]
        self.draft["t"] = [t for t in self.draft["t"] if not any(t is g for g in gone)]
        return sum(len(t.get("sg") or []) for t in gone)

    def drop_empty_tracks(self) -> None:
        self.draft["t"] = [t for t in self.draft["t"] if not isinstance(t, dict) or t.get("sg")]

    def next_id(self, prefix: str) -> str:
        used = {
            str(seg.get("id"))
            for track in self.draft["t"]
            if isinstance(track, dict)
            for seg in track.get("sg") or []
            if isinstance(seg, dict)
        }
        number = 1
        while f"{prefix}{number}" in used:
            number += 1
        return f"{prefix}{number}"

    def end(self, track_type: int | None = None) -> int:
        """Where the last segment of this track type (or of any track) ends, ms."""
        types = [track_type] if track_type is not None else list(_TRACK_ORDER)
        return max((end(seg) for tt in types for seg in self.segments(tt)), default=0)
