"""A draft read into a :class:`Timeline`: tracks of segments with times, names, text and volume.

Reading is tolerant (``keys``): any JSON value gives a timeline (an empty one for garbage)
instead of an error, a draft sent as a JSON-encoded string is decoded, and nothing is
mutated. This is a view for people and tools; a draft goes back to the API exactly as received.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from nemo_mcp.draft import keys
from nemo_mcp.lenient import ident

TrackType = Literal["video", "audio", "text", "other"]
TRACK_TYPES: Final[dict[int, TrackType]] = {
    keys.TRACK_VIDEO: "video",
    keys.TRACK_AUDIO: "audio",
    keys.TRACK_TEXT: "text",
}


# Plain classes, not pydantic models: a draft of 4,000 segments is read on every call, and
# validating what this module builds itself cost more than the rest of a get_state.
@dataclass(slots=True)
class Segment:
    start_ms: int
    duration_ms: int
    end_ms: int
    id: str | None = None
    name: str | None = None
    kind: str | None = None
    text: str | None = None
    volume: float | None = None
    source: str | None = None


@dataclass(slots=True, kw_only=True)
class Track:
    type: TrackType
    raw_type: int | None
    segments: list[Segment]

    @property
    def start_ms(self) -> int:
        """Where its first segment starts (0 for none)."""
        return min((s.start_ms for s in self.segments), default=0)

    @property
    def end_ms(self) -> int:
        """Where its last segment ends (0 for none)."""
        return max((s.end_ms for s in self.segments), default=0)


@dataclass(slots=True, kw_only=True)
class Timeline:
    duration_ms: int
    width: int | None = None
    height: int | None = None
    title: str | None = None
    tracks: list[Track]

    @property
    def exportable(self) -> bool:
        """Some track has at least one segment (the API's own rule)."""
        return any(track.segments for track in self.tracks)

    @property
    def segment_count(self) -> int:
        return sum(len(track.segments) for track in self.tracks)


def _track_type(track: Mapping[str, Any]) -> tuple[TrackType, int | None]:
    number, was_number = keys.read_track_type(track)
    if number is None:
        return "other", None
    return TRACK_TYPES.get(number, "other"), number if was_number else None


_SEGMENT = keys.Fields(
    (keys.START, keys.ms),
    (keys.DURATION, keys.ms),
    (keys.NAME, keys.text),
    (keys.KIND, keys.text),
    (keys.TEXT, keys.text),
    (keys.VOLUME, keys.volume),
    (keys.SOURCE, keys.text),
)


def _parse_track(track: Mapping[str, Any]) -> Track:
    track_type, raw_type = _track_type(track)
    segments: list[Segment] = []
    cursor = 0  # where the previous segment of this track ended
    for item in keys.read_list(track, keys.SEGMENTS) or []:
        if not isinstance(item, Mapping):
            continue
        start, duration, name, kind, text, volume, source = _SEGMENT.read(item)
        if start is None:
            start = cursor
        end = start + (duration or 0)
        # Positional: a third cheaper than by keyword, on thousands of segments.
        segments.append(
            Segment(start, duration or 0, end, ident(item.get("id")), name, keys.kind_of(kind), text, volume, source)
        )
        cursor = end
    return Track(type=track_type, raw_type=raw_type, segments=segments)


def canvas_size(meta: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    """Width and height from a metadata or canvas object; a size of 0 is no size."""
    if meta is None:
        return None, None
    width = keys.read_ms(meta, keys.WIDTH)
    height = keys.read_ms(meta, keys.HEIGHT)
    if not width or not height:
        return None, None
    return width, height


def as_mapping(draft: Any) -> Mapping[str, Any] | None:
    """The draft as an object: itself, or decoded from a JSON string; None for anything else."""
    if isinstance(draft, str):
        try:
            draft = json.loads(draft)
        except (ValueError, RecursionError):
            return None
    return draft if isinstance(draft, Mapping) else None


def parse_draft(draft: Any, canvas: Mapping[str, Any] | None = None) -> Timeline:
    """Read any JSON value as a draft; garbage gives an empty timeline. Never mutates ``draft``."""
    data = as_mapping(draft) or {}
    tracks = [_parse_track(t) for t in keys.read_list(data, keys.TRACKS) or [] if isinstance(t, Mapping)]
    meta = keys.read_mapping(data, keys.META)
    width, height = canvas_size(meta)
    if width is None:
        width, height = canvas_size(canvas if isinstance(canvas, Mapping) else None)
    duration = keys.read_ms(data, keys.DURATION)
    if duration is None:
        duration = max((s.end_ms for track in tracks for s in track.segments), default=0)
    title = keys.read_text(meta, keys.TITLE) if meta is not None else None
    return Timeline(duration_ms=duration, width=width, height=height, title=title, tracks=tracks)


def is_exportable(draft: Any) -> bool:
    """Some track of the draft has a segment, i.e. exporting it can produce a video."""
    return parse_draft(draft).exportable
