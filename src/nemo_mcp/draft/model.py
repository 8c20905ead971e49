"""A draft read into a :class:`Timeline`: tracks of segments with times, names, text and volume.

Reading is tolerant (``keys``): any JSON value gives a timeline (an empty one for garbage)
instead of an error, a draft sent as a JSON-encoded string is decoded, and nothing is
mutated. This is a view for people and tools; a draft goes back to the API exactly as received.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, computed_field

from nemo_mcp.draft import keys
from nemo_mcp.lenient import ident

TrackType = Literal["video", "audio", "text", "other"]
TRACK_TYPES: Final[dict[int, TrackType]] = {
    keys.TRACK_VIDEO: "video",
    keys.TRACK_AUDIO: "audio",
    keys.TRACK_TEXT: "text",
}


class Segment(BaseModel):
    id: str | None = None
    start_ms: int
    duration_ms: int
    end_ms: int
    name: str | None = None
    kind: str | None = None
    text: str | None = None
    volume: float | None = None
    source: str | None = None


class Track(BaseModel):
    type: TrackType
    raw_type: int | None
    segments: list[Segment]


class Timeline(BaseModel):
    duration_ms: int
    width: int | None = None
    height: int | None = None
    title: str | None = None
    tracks: list[Track]

    # A computed field so that it also appears in the tool's structured output.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def exportable(self) -> bool:
        """Some track has at least one segment (the API's own rule)."""
        return any(track.segments for track in self.tracks)


def _track_type(track: Mapping[str, Any]) -> tuple[TrackType, int | None]:
    number, was_number = keys.read_track_type(track)
    if number is None:
        return "other", None
    return TRACK_TYPES.get(number, "other"), number if was_number else None


def _parse_track(track: Mapping[str, Any]) -> Track:
    track_type, raw_type = _track_type(track)
    segments: list[Segment] = []
    cursor = 0  # where the previous segment of this track ended
    for item in keys.read_list(track, keys.SEGMENTS) or []:
        if not isinstance(item, Mapping):
            continue
        start = keys.read_ms(item, keys.START)
        if start is None:
            start = cursor
        duration = keys.read_ms(item, keys.DURATION) or 0
        segment = Segment(
            id=ident(item.get("id")),
            start_ms=start,
            duration_ms=duration,
            end_ms=start + duration,
            name=keys.read_text(item, keys.NAME),
            kind=keys.read_kind(item),
            text=keys.read_text(item, keys.TEXT),
            volume=keys.read_volume(item),
            source=keys.read_text(item, keys.SOURCE),
        )
        segments.append(segment)
        cursor = segment.end_ms
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


# The longest timeline the API server edits into or renders (an 8 KB file may claim to last 74 hours).
MAX_DURATION_MS: Final = 30 * 60_000


def too_long(draft: Any) -> str | None:
    """Why the draft is longer than :data:`MAX_DURATION_MS`, as the end of a sentence; None when it is not."""
    timeline = parse_draft(draft)
    segments = [s for track in timeline.tracks for s in track.segments]
    length = max([timeline.duration_ms, *(s.end_ms for s in segments)])
    if length <= MAX_DURATION_MS:
        return None
    why = f"the timeline is {_clock(length)} long, and a video may be at most {MAX_DURATION_MS // 60_000} minutes"
    longest = max(segments, key=lambda s: s.duration_ms, default=None)
    if longest is not None and longest.duration_ms > MAX_DURATION_MS // 2:
        what = longest.name or longest.text or longest.kind or "one item"
        why += f" ({what} alone lasts {_clock(longest.duration_ms)})"
    return why


def _clock(ms: int) -> str:
    minutes, seconds = divmod(ms // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s"
