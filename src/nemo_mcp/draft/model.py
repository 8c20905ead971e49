"""A draft read into a :class:`Timeline`: tracks of segments with times, names, text and volume.

Reading is tolerant (``keys``): any JSON value gives a timeline (an empty one for garbage)
instead of an error, a draft sent as a JSON-encoded string is decoded, and nothing is
mutated. This is a view for people and tools; a draft goes back to the API exactly as received.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, overload

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


class Segments(Sequence[Segment]):
    """A track's segments, each read when first looked at.

    The times of all of them are read up front (a track's span needs them, and a segment
    without a start begins where the one before it ends); the rest of a segment (name, text,
    volume…) when it is first looked at. A summary of a 4,000-segment draft looks at a few dozen.
    """

    __slots__ = ("_ends", "_items", "_parsed", "_starts", "end_ms", "start_ms")

    def __init__(self, items: list[Mapping[str, Any]], starts: list[int], ends: list[int]) -> None:
        self._items = items
        self._starts = starts
        self._ends = ends
        self._parsed: list[Segment | None] = [None] * len(items)
        self.start_ms: int = min(starts, default=0)
        """Where the first segment starts (0 for none)."""
        self.end_ms: int = max(ends, default=0)
        """Where the last segment ends (0 for none)."""

    @classmethod
    def read(cls, raw: list[Any]) -> Segments:
        """The segments of a raw ``sg`` list: its objects, in order (anything else is skipped)."""
        items: list[Mapping[str, Any]] = []
        starts: list[int] = []
        ends: list[int] = []
        cursor = 0  # where the previous segment ended
        for item in raw:
            if type(item) is not dict and not isinstance(item, Mapping):
                continue
            # The written keys hold valid values almost always, and then they win: read them
            # first, and look for aliases (and inside ``m``) only when they do not.
            start, duration = item.get(_ST), item.get(_D)
            if not (type(start) is int and start >= 0 and type(duration) is int and duration >= 0):
                start, duration = _TIMES.read(item)
                if start is None:
                    start = cursor
            cursor = start + (duration or 0)
            items.append(item)
            starts.append(start)
            ends.append(cursor)
        return cls(items, starts, ends)

    @classmethod
    def of(cls, segments: Iterable[Segment]) -> Segments:
        """Segments already read."""
        done = list(segments)
        made = cls([{} for _ in done], [s.start_ms for s in done], [s.end_ms for s in done])
        made._parsed = list(done)
        return made

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Segment: ...

    @overload
    def __getitem__(self, index: slice) -> list[Segment]: ...

    def __getitem__(self, index: int | slice) -> Segment | list[Segment]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        parsed = self._parsed[index]
        if parsed is None:
            parsed = self._parsed[index] = self._read(index % len(self._items))
        return parsed

    def _read(self, i: int) -> Segment:
        item = self._items[i]
        name, kind, text, volume, source = _DETAILS.read(item)
        start, end = self._starts[i], self._ends[i]
        return Segment(start, end - start, end, ident(item.get("id")), name, keys.kind_of(kind), text, volume, source)

    def __iter__(self) -> Iterator[Segment]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Segments({list(self)!r})"


@dataclass(slots=True, kw_only=True)
class Track:
    type: TrackType
    raw_type: int | None
    segments: Segments  # a list of Segment is taken too

    def __post_init__(self) -> None:
        if not isinstance(self.segments, Segments):
            self.segments = Segments.of(self.segments)

    @property
    def start_ms(self) -> int:
        """Where its first segment starts (0 for none)."""
        return self.segments.start_ms

    @property
    def end_ms(self) -> int:
        """Where its last segment ends (0 for none)."""
        return self.segments.end_ms


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


_ST, _D = keys.START.written, keys.DURATION.written
_TIMES = keys.Fields((keys.START, keys.ms), (keys.DURATION, keys.ms))
_DETAILS = keys.Fields(
    (keys.NAME, keys.text),
    (keys.KIND, keys.text),
    (keys.TEXT, keys.text),
    (keys.VOLUME, keys.volume),
    (keys.SOURCE, keys.text),
)


def _parse_track(track: Mapping[str, Any]) -> Track:
    track_type, raw_type = _track_type(track)
    return Track(type=track_type, raw_type=raw_type, segments=Segments.read(keys.read_list(track, keys.SEGMENTS) or []))


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
    """Read any JSON value as a draft; garbage gives an empty timeline. Never mutates ``draft``.

    Segments are read from ``draft`` when first looked at (:class:`Segments`): change the draft
    afterwards and the timeline may show the change.
    """
    data = as_mapping(draft) or {}
    tracks = [_parse_track(t) for t in keys.read_list(data, keys.TRACKS) or [] if isinstance(t, Mapping)]
    meta = keys.read_mapping(data, keys.META)
    width, height = canvas_size(meta)
    if width is None:
        width, height = canvas_size(canvas if isinstance(canvas, Mapping) else None)
    duration = keys.read_ms(data, keys.DURATION)
    if duration is None:
        duration = max((track.end_ms for track in tracks), default=0)
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
    # The tracks' ends are known without reading a segment: most drafts are checked and fit.
    length = max([timeline.duration_ms, *(track.end_ms for track in timeline.tracks)])
    if length <= MAX_DURATION_MS:
        return None
    why = f"the timeline is {_clock(length)} long, and a video may be at most {MAX_DURATION_MS // 60_000} minutes"
    segments = (s for track in timeline.tracks for s in track.segments)
    longest = max(segments, key=lambda s: s.duration_ms, default=None)
    if longest is not None and longest.duration_ms > MAX_DURATION_MS // 2:
        what = longest.name or longest.text or longest.kind or "one item"
        why += f" ({what} alone lasts {_clock(longest.duration_ms)})"
    return why


def _clock(ms: int) -> str:
    minutes, seconds = divmod(ms // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s"
