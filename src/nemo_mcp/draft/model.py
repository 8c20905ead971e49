"""Read a draft (the cloud's timeline), summarise it for people, and describe what changed.

The draft format is only partly documented (``docs/draft-format.md``), so everything here reads
tolerantly: every documented alias, unknown keys ignored, wrong types skipped, and any JSON value
at all gives a :class:`Timeline` (an empty one for garbage) instead of an error. Nothing here
writes or re-serialises a draft: drafts go back to the API exactly as received.

Beyond the documented draft keys (``t``, ``tt``, ``sg``, ``d``, ``m``) the long spellings
``tracks``, ``type``/``track_type``, ``segments``, ``duration``/``duration_ms`` and
``meta``/``metadata`` are read as fallbacks, and a draft sent as a JSON-encoded string is decoded,
because nothing public shows a real draft.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, computed_field

from nemo_mcp.lenient import ident

__all__ = [
    "TRACK_TYPES",
    "Segment",
    "Timeline",
    "Track",
    "TrackType",
    "diff",
    "is_exportable",
    "parse_draft",
    "summarize",
]

TrackType = Literal["video", "audio", "text", "other"]
TRACK_TYPES: dict[int, TrackType] = {0: "video", 1: "audio", 7: "text"}
_TRACK_TYPE_NAMES: dict[str, TrackType] = {
    "video": "video",
    "audio": "audio",
    "bgm": "audio",
    "music": "audio",
    "text": "text",
    "title": "text",
}

# Segment key aliases, in the order they are tried (docs/draft-format.md).
_START_KEYS = ("st", "s", "start", "startTime", "start_ms", "offset")
_DURATION_KEYS = ("d", "dur", "duration", "duration_ms")
_NAME_KEYS = ("n", "name", "title", "filename", "label")
_KIND_KEYS = ("k", "kind", "type", "media_type")
_SOURCE_KEYS = ("src", "url", "cdn_url", "source", "path")
_TEXT_KEYS = ("tx", "text", "content", "caption")
_VOLUME_KEYS = ("v", "vol", "volume")
_MAX_LABEL = 80


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


# --- reading -------------------------------------------------------------------------------


def _number(value: Any) -> float | int | None:
    """A finite, non-negative JSON number; bools, strings, NaN and negatives are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if value >= 0 else None


def _ms(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _first_ms(obj: Mapping[str, Any], keys: Iterable[str]) -> int | None:
    for key in keys:
        ms = _ms(obj.get(key))
        if ms is not None:
            return ms
    return None


def _first_str(obj: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _first_dict(obj: Mapping[str, Any], keys: Iterable[str]) -> Mapping[str, Any] | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, Mapping):
            return value
    return None


def _first_list(obj: Mapping[str, Any], keys: Iterable[str]) -> list[Any] | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return None


def _volume(obj: Mapping[str, Any]) -> float | None:
    for key in _VOLUME_KEYS:
        number = _number(obj.get(key))
        if number is None:
            continue
        if number <= 1:
            return float(number)
        if number <= 100:  # a percentage
            return number / 100
    return None


def _kind(obj: Mapping[str, Any]) -> str | None:
    kind = _first_str(obj, _KIND_KEYS)
    if kind is None:
        return None
    # "image/jpeg" (a MIME type) → "image"
    return kind.strip().lower().split("/", 1)[0] or None


def _track_type(track: Mapping[str, Any]) -> tuple[TrackType, int | None]:
    for key in ("tt", "track_type", "type"):
        value = track.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return TRACK_TYPES.get(value, "other"), value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return TRACK_TYPES.get(int(value), "other"), int(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text.isascii() and text.isdigit():
                return TRACK_TYPES.get(int(text), "other"), int(text)
            if text in _TRACK_TYPE_NAMES:
                return _TRACK_TYPE_NAMES[text], None
    return "other", None


def _parse_track(track: Mapping[str, Any]) -> Track:
    track_type, raw_type = _track_type(track)
    segments: list[Segment] = []
    cursor = 0  # where the previous segment of this track ended
    for item in _first_list(track, ("sg", "segments")) or []:
        if not isinstance(item, Mapping):
            continue
        start = _first_ms(item, _START_KEYS)
        if start is None:
            start = cursor
        duration = _first_ms(item, _DURATION_KEYS) or 0
        segment = Segment(
            id=ident(item.get("id")),
            start_ms=start,
            duration_ms=duration,
            end_ms=start + duration,
            name=_first_str(item, _NAME_KEYS),
            kind=_kind(item),
            text=_first_str(item, _TEXT_KEYS),
            volume=_volume(item),
            source=_first_str(item, _SOURCE_KEYS),
        )
        segments.append(segment)
        cursor = segment.end_ms
    return Track(type=track_type, raw_type=raw_type, segments=segments)


def _size(meta: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    if meta is None:
        return None, None
    width = _first_ms(meta, ("width", "w"))
    height = _first_ms(meta, ("height", "h"))
    if not width or not height:  # a size of 0 is no size
        return None, None
    return width, height


def _as_mapping(draft: Any) -> Mapping[str, Any] | None:
    if isinstance(draft, str):
        try:
            draft = json.loads(draft)
        except (ValueError, RecursionError):
            return None
    return draft if isinstance(draft, Mapping) else None


def parse_draft(draft: Any, canvas: Mapping[str, Any] | None = None) -> Timeline:
    """Read any JSON value as a draft; garbage gives an empty timeline. Never mutates ``draft``."""
    data = _as_mapping(draft)
    if data is None:
        data = {}
    tracks = [_parse_track(item) for item in _first_list(data, ("t", "tracks")) or [] if isinstance(item, Mapping)]
    meta = _first_dict(data, ("m", "meta", "metadata"))
    width, height = _size(meta)
    if width is None:
        width, height = _size(canvas if isinstance(canvas, Mapping) else None)
    duration = _first_ms(data, ("d", "duration", "duration_ms"))
    if duration is None:
        duration = max((s.end_ms for track in tracks for s in track.segments), default=0)
    title = _first_str(meta, ("title", "name")) if meta is not None else None
    return Timeline(duration_ms=duration, width=width, height=height, title=title, tracks=tracks)


def is_exportable(draft: Any) -> bool:
    """Some track of the draft has a segment, i.e. exporting it can produce a video."""
    return parse_draft(draft).exportable


# --- summarising -----------------------------------------------------------------------------


def _seconds(ms: int) -> str:
    """10000 → "10", 2500 → "2.5", 2960 → "3" (one decimal, half up, no trailing ".0")."""
    tenths = (ms + 50) // 100
    whole, tenth = divmod(tenths, 10)
    return f"{whole}" if tenth == 0 else f"{whole}.{tenth}"


def _span(segment: Segment) -> str:
    return f"{_seconds(segment.start_ms)}-{_seconds(segment.end_ms)}s"


def _percent(volume: float) -> str:
    return f"{round(volume * 100)}%"


def _clip(text: str) -> str:
    """One line, at most _MAX_LABEL characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_LABEL else flat[: _MAX_LABEL - 1] + "…"


def _label(track: Track, segment: Segment) -> str:
    if track.type == "video":
        value = segment.name or segment.kind or "clip"
    elif track.type == "audio":
        value = segment.name or segment.kind or "audio"
    elif track.type == "text":
        value = segment.text or segment.name or ""
    else:
        value = segment.name or segment.text or "segment"
    return _clip(value)


def _track_name(track: Track) -> str:
    return "Track" if track.raw_type is None else f"Track {track.raw_type}"


def _summary_line(track: Track, segment: Segment) -> str:
    label = _label(track, segment)
    if track.type == "video":
        return f"Video: {label} ({_span(segment)})"
    if track.type == "audio":
        volume = f", {_percent(segment.volume)}" if segment.volume is not None else ""
        return f"BGM: {label} ({_span(segment)}{volume})"
    if track.type == "text":
        return f'Title: "{label}" ({_span(segment)})'
    return f"{_track_name(track)}: {label} ({_span(segment)})"


def summarize(timeline: Timeline) -> str:
    """A header line, then one numbered line per segment in track order."""
    if not timeline.exportable:
        return "The timeline is empty."
    header = [f"{_seconds(timeline.duration_ms)}s"]
    if timeline.width and timeline.height:
        header.append(f"{timeline.width}x{timeline.height}")
    count = len(timeline.tracks)
    header.append(f"{count} track" if count == 1 else f"{count} tracks")
    lines = ["Timeline: " + ", ".join(header)]
    number = 0
    for track in timeline.tracks:
        for segment in track.segments:
            number += 1
            lines.append(f"{number}. {_summary_line(track, segment)}")
    return "\n".join(lines)


# --- diffing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """A segment with where it sits: its track, the track's ordinal among tracks of that type."""

    track: Track
    track_key: tuple[str, int]
    index: int
    segment: Segment

    @property
    def position(self) -> tuple[str, int, int]:
        return (*self.track_key, self.index)


def _entries(timeline: Timeline) -> tuple[list[_Entry], dict[tuple[str, int], Track]]:
    entries: list[_Entry] = []
    tracks: dict[tuple[str, int], Track] = {}
    ordinals: dict[str, int] = {}
    for track in timeline.tracks:
        # "other" tracks of different raw types are different kinds of track.
        kind = track.type if track.type != "other" else f"other:{track.raw_type}"
        ordinal = ordinals.get(kind, 0)
        ordinals[kind] = ordinal + 1
        key = (kind, ordinal)
        tracks[key] = track
        entries.extend(_Entry(track, key, i, segment) for i, segment in enumerate(track.segments))
    return entries, tracks


def _match(before: list[_Entry], after: list[_Entry]) -> list[tuple[_Entry, _Entry]]:
    """Pairs of the same segment: by id when both have one, else by (track, position)."""
    pairs: list[tuple[_Entry, _Entry]] = []
    used_before: set[int] = set()
    used_after: set[int] = set()
    # Ids: the n-th occurrence of an id before pairs with its n-th occurrence after.
    by_id: dict[str, list[int]] = {}
    for i, entry in enumerate(before):
        if entry.segment.id is not None:
            by_id.setdefault(entry.segment.id, []).append(i)
    for j, entry in enumerate(after):
        candidates = by_id.get(entry.segment.id) if entry.segment.id is not None else None
        if candidates:
            i = candidates.pop(0)
            pairs.append((before[i], entry))
            used_before.add(i)
            used_after.add(j)
    # Positions, for what is left; two different ids are two different segments.
    by_position = {e.position: i for i, e in enumerate(before) if i not in used_before}
    for j, entry in enumerate(after):
        if j in used_after:
            continue
        i_or_none = by_position.get(entry.position)
        if i_or_none is None:
            continue
        old = before[i_or_none]
        if old.segment.id is not None and entry.segment.id is not None:
            continue
        pairs.append((old, entry))
        used_before.add(i_or_none)
        used_after.add(j)
        del by_position[entry.position]
    return pairs


def _noun(track: Track) -> str:
    if track.type == "video":
        return "video"
    if track.type == "audio":
        return "background music"
    if track.type == "text":
        return "title"
    return f"{_track_name(track).lower()} segment"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _added_sentence(entry: _Entry) -> str:
    track, segment = entry.track, entry.segment
    extra = f", {_percent(segment.volume)}" if track.type == "audio" and segment.volume is not None else ""
    return f"Added {_noun(track)} '{_label(track, segment)}' ({_span(segment)}{extra})"


def _track_type_word(track: Track) -> str:
    return track.type if track.type != "other" else _track_name(track).lower()


def _whole_track_sentence(verb: str, track: Track) -> str:
    if not track.segments:
        return f"{verb} empty {_track_type_word(track)} track"
    if verb == "Removed":
        parts = [f"'{_label(track, s)}'" for s in track.segments]
    else:
        parts = [f"'{_label(track, s)}' {_span(s)}" for s in track.segments]
    return f"{verb} {_track_type_word(track)} track " + ", ".join(parts)


def _change_sentences(old: _Entry, new: _Entry) -> list[str]:
    sentences: list[str] = []
    a, b = old.segment, new.segment
    old_label, new_label = _label(old.track, a), _label(new.track, b)
    noun = _capital(_noun(new.track))
    if old.track.type != new.track.type or old.track.raw_type != new.track.raw_type:
        sentences.append(f"Moved {_noun(old.track)} '{old_label}' to the {_track_type_word(new.track)} track")
    elif old_label != new_label:
        if new.track.type == "text":
            sentences.append(f"Title '{old_label}' → '{new_label}'")
        else:
            sentences.append(f"{noun} '{old_label}' → '{new_label}'")
    elif (a.source or "") != (b.source or ""):
        sentences.append(f"{noun} '{new_label}' now uses a different source")
    if _span(a) != _span(b):
        sentences.append(f"{noun} '{new_label}' now {_span(b)} (was {_span(a)})")
    old_volume = None if a.volume is None else _percent(a.volume)
    new_volume = None if b.volume is None else _percent(b.volume)
    if old_volume != new_volume:
        subject = "Background music" if new.track.type == "audio" else f"{noun} '{new_label}'"
        if old_volume is None:
            sentences.append(f"{subject} volume set to {new_volume}")
        elif new_volume is None:
            sentences.append(f"{subject} volume {old_volume} → default")
        else:
            sentences.append(f"{subject} volume {old_volume} → {new_volume}")
    return sentences


def _lone_tracks(
    tracks: Mapping[tuple[str, int], Track],
    entries: list[_Entry],
    matched: set[int],
    other_side: Mapping[tuple[str, int], Track],
) -> list[tuple[str, int]]:
    """Tracks that exist on one side only and none of whose segments moved to the other side."""
    moved = {e.track_key for e in entries if id(e) in matched}
    return [key for key in tracks if key not in other_side and key not in moved]


def _size_text(timeline: Timeline) -> str | None:
    if timeline.width and timeline.height:
        return f"{timeline.width}x{timeline.height}"
    return None


def diff(before: Any, after: Any) -> list[str]:
    """What changed between two raw drafts, as short sentences in a stable order.

    Removals come first (in the old order), then additions and changes (in the new order),
    then duration, canvas and project title. Changes too small to show (under 0.05 s, or a
    volume within half a percent) are not reported.
    """
    old, new = parse_draft(before), parse_draft(after)
    old_entries, old_tracks = _entries(old)
    new_entries, new_tracks = _entries(new)
    pairs = _match(old_entries, new_entries)
    matched_old = {id(pair[0]) for pair in pairs}
    matched_new = {id(pair[1]) for pair in pairs}

    gone = _lone_tracks(old_tracks, old_entries, matched_old, new_tracks)
    fresh = _lone_tracks(new_tracks, new_entries, matched_new, old_tracks)

    sentences: list[str] = [_whole_track_sentence("Removed", old_tracks[key]) for key in gone]
    for entry in old_entries:
        if id(entry) not in matched_old and entry.track_key not in gone:
            sentences.append(f"Removed {_noun(entry.track)} '{_label(entry.track, entry.segment)}'")

    changes = {id(pair[1]): _change_sentences(*pair) for pair in pairs}
    announced: set[tuple[str, int]] = set()
    for entry in new_entries:
        if id(entry) in matched_new:
            sentences.extend(changes[id(entry)])
        elif entry.track_key in fresh:
            if entry.track_key not in announced:
                announced.add(entry.track_key)
                sentences.append(_whole_track_sentence("Added", entry.track))
        else:
            sentences.append(_added_sentence(entry))
    # Empty new tracks have no entries to announce them above.
    sentences.extend(_whole_track_sentence("Added", new_tracks[key]) for key in fresh if key not in announced)

    if _seconds(old.duration_ms) != _seconds(new.duration_ms):
        sentences.append(f"Duration {_seconds(old.duration_ms)}s → {_seconds(new.duration_ms)}s")
    old_size, new_size = _size_text(old), _size_text(new)
    if old_size != new_size and new_size is not None:
        sentences.append(f"Canvas {old_size} → {new_size}" if old_size else f"Canvas set to {new_size}")
    if old.title != new.title and new.title is not None:
        sentences.append(
            f"Project title '{old.title}' → '{new.title}'" if old.title else f"Project title set to '{new.title}'"
        )
    return sentences
