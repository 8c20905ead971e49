"""What changed between two drafts, as short sentences in a stable order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nemo_mcp.draft.model import Segment, Timeline, Track, parse_draft
from nemo_mcp.draft.summary import label, percent, seconds, span, track_name


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
    return f"{track_name(track).lower()} segment"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _added_sentence(entry: _Entry) -> str:
    track, segment = entry.track, entry.segment
    extra = f", {percent(segment.volume)}" if track.type == "audio" and segment.volume is not None else ""
    return f"Added {_noun(track)} '{label(track, segment)}' ({span(segment)}{extra})"


def _track_type_word(track: Track) -> str:
    return track.type if track.type != "other" else track_name(track).lower()


def _whole_track_sentence(verb: str, track: Track) -> str:
    if not track.segments:
        return f"{verb} empty {_track_type_word(track)} track"
    if verb == "Removed":
        parts = [f"'{label(track, s)}'" for s in track.segments]
    else:
        parts = [f"'{label(track, s)}' {span(s)}" for s in track.segments]
    return f"{verb} {_track_type_word(track)} track " + ", ".join(parts)


def _change_sentences(old: _Entry, new: _Entry) -> list[str]:
    sentences: list[str] = []
    a, b = old.segment, new.segment
    old_label, new_label = label(old.track, a), label(new.track, b)
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
    if span(a) != span(b):
        sentences.append(f"{noun} '{new_label}' now {span(b)} (was {span(a)})")
    old_volume = None if a.volume is None else percent(a.volume)
    new_volume = None if b.volume is None else percent(b.volume)
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
            sentences.append(f"Removed {_noun(entry.track)} '{label(entry.track, entry.segment)}'")

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

    if seconds(old.duration_ms) != seconds(new.duration_ms):
        sentences.append(f"Duration {seconds(old.duration_ms)}s → {seconds(new.duration_ms)}s")
    old_size, new_size = _size_text(old), _size_text(new)
    if old_size != new_size and new_size is not None:
        sentences.append(f"Canvas {old_size} → {new_size}" if old_size else f"Canvas set to {new_size}")
    if old.title != new.title and new.title is not None:
        sentences.append(
            f"Project title '{old.title}' → '{new.title}'" if old.title else f"Project title set to '{new.title}'"
        )
    return sentences
