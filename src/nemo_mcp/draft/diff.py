"""What changed between two drafts, as short sentences in a stable order.

A few changes are told one sentence each ("Title 'Urban Dreams' → 'City Nights'"); an
instruction that rebuilt the timeline is told in counted sentences ("Replaced 2,000 captions",
"Added 1,995 clips") instead of one per segment, so the changes of one edit stay within
``budget.CHANGES_CHARS`` whatever the draft.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nemo_mcp import budget
from nemo_mcp.budget import ELLIPSIS, count
from nemo_mcp.draft.model import Segment, Timeline, Track, parse_draft
from nemo_mcp.draft.summary import Place, label, percent, seconds, span, track_name, words

# A whole track added or removed is told segment by segment up to this many segments.
_LISTED_IN_TRACK = 3


@dataclass(frozen=True)
class _Entry:
    """A segment with where it sits: its track, the track's ordinal among tracks of that type."""

    track: Track
    track_key: tuple[str, int]
    index: int
    segment: Segment
    track_index: int  # the track's place in its timeline

    @property
    def position(self) -> tuple[str, int, int]:
        return (*self.track_key, self.index)

    @property
    def place(self) -> Place:
        return (self.track_index, self.index)


@dataclass(frozen=True)
class _Said:
    """One sentence, and what it counts as when many changes are told in counted sentences."""

    sentence: str
    verb: str | None = None  # "added", "removed", "changed", "moved"; None: about the whole timeline
    noun: tuple[str, str] = ("segment", "segments")
    segments: int = 1  # how many it is about (0: a further sentence about the same segment)


@dataclass(frozen=True)
class Changes:
    """What changed: the sentences to tell, and the places of the new timeline's segments that
    were added or changed (what a summary of the new timeline shows first)."""

    sentences: list[str]
    touched: frozenset[Place]


def _entries(timeline: Timeline) -> tuple[list[_Entry], dict[tuple[str, int], Track]]:
    entries: list[_Entry] = []
    tracks: dict[tuple[str, int], Track] = {}
    ordinals: dict[str, int] = {}
    for index, track in enumerate(timeline.tracks):
        # "other" tracks of different raw types are different kinds of track.
        kind = track.type if track.type != "other" else f"other:{track.raw_type}"
        ordinal = ordinals.get(kind, 0)
        ordinals[kind] = ordinal + 1
        key = (kind, ordinal)
        tracks[key] = track
        entries.extend(_Entry(track, key, i, segment, index) for i, segment in enumerate(track.segments))
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
    return words(track).noun


def _counted(track: Track) -> tuple[str, str]:
    """What a track's segments are called when counted: ("clip", "clips")."""
    found = words(track)
    return found.one, found.many


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _added(entry: _Entry) -> _Said:
    track, segment = entry.track, entry.segment
    extra = f", {percent(segment.volume)}" if track.type == "audio" and segment.volume is not None else ""
    sentence = f"Added {_noun(track)} '{label(track, segment)}' ({span(segment)}{extra})"
    return _Said(sentence, "added", _counted(track))


def _removed(entry: _Entry) -> _Said:
    track = entry.track
    return _Said(f"Removed {_noun(track)} '{label(track, entry.segment)}'", "removed", _counted(track))


def _track_type_word(track: Track) -> str:
    return track.type if track.type != "other" else track_name(track).lower()


def _whole_track(verb: str, track: Track) -> _Said:
    kind = _track_type_word(track)
    if not track.segments:
        return _Said(f"{verb} empty {kind} track", verb.lower(), ("empty track", "empty tracks"))
    n = len(track.segments)
    if n > _LISTED_IN_TRACK:
        noun = _counted(track)
        sentence = f"{verb} {kind} track with {count(n, *noun)} ({seconds(track.start_ms)}-{seconds(track.end_ms)}s)"
    elif verb == "Removed":
        sentence = f"{verb} {kind} track " + ", ".join(f"'{label(track, s)}'" for s in track.segments)
    else:
        sentence = f"{verb} {kind} track " + ", ".join(f"'{label(track, s)}' {span(s)}" for s in track.segments)
    return _Said(sentence, verb.lower(), _counted(track), n)


def _change_sentences(old: _Entry, new: _Entry) -> list[_Said]:
    said: list[_Said] = []
    a, b = old.segment, new.segment
    old_label, new_label = label(old.track, a), label(new.track, b)
    noun = _capital(_noun(new.track))
    counted = _counted(new.track)

    def say(sentence: str, verb: str = "changed") -> None:
        # Counted once per segment, however many sentences tell its changes.
        said.append(_Said(sentence, verb, counted, 0 if said else 1))

    if old.track.type != new.track.type or old.track.raw_type != new.track.raw_type:
        say(f"Moved {_noun(old.track)} '{old_label}' to the {_track_type_word(new.track)} track", "moved")
    elif old_label != new_label:
        if new.track.type == "text":
            say(f"Title '{old_label}' → '{new_label}'")
        else:
            say(f"{noun} '{old_label}' → '{new_label}'")
    elif (a.source or "") != (b.source or ""):
        say(f"{noun} '{new_label}' now uses a different source")
    if span(a) != span(b):
        say(f"{noun} '{new_label}' now {span(b)} (was {span(a)})")
    old_volume = None if a.volume is None else percent(a.volume)
    new_volume = None if b.volume is None else percent(b.volume)
    if old_volume != new_volume:
        subject = "Background music" if new.track.type == "audio" else f"{noun} '{new_label}'"
        if old_volume is None:
            say(f"{subject} volume set to {new_volume}")
        elif new_volume is None:
            say(f"{subject} volume {old_volume} → default")
        else:
            say(f"{subject} volume {old_volume} → {new_volume}")
    return said


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
    """What changed between two raw drafts, as short sentences in a stable order (:func:`compare`)."""
    return compare(parse_draft(before), parse_draft(after)).sentences


def compare(old: Timeline, new: Timeline, limit: int = budget.CHANGES_CHARS) -> Changes:
    """What changed between two timelines.

    Removals come first (in the old order), then additions and changes (in the new order),
    then duration, canvas and project title. Changes too small to show (under 0.05 s, or a
    volume within half a percent) are not reported. When the changes to segments are more than
    ``budget.CHANGE_SENTENCES`` sentences or ``limit`` characters, they are counted instead
    ("Replaced 2,000 captions"); the sentences fit in ``limit`` characters in any case.
    """
    old_entries, old_tracks = _entries(old)
    new_entries, new_tracks = _entries(new)
    pairs = _match(old_entries, new_entries)
    matched_old = {id(pair[0]) for pair in pairs}
    matched_new = {id(pair[1]) for pair in pairs}

    gone = _lone_tracks(old_tracks, old_entries, matched_old, new_tracks)
    fresh = _lone_tracks(new_tracks, new_entries, matched_new, old_tracks)

    said: list[_Said] = [_whole_track("Removed", old_tracks[key]) for key in gone]
    for entry in old_entries:
        if id(entry) not in matched_old and entry.track_key not in gone:
            said.append(_removed(entry))

    changes = {id(pair[1]): _change_sentences(*pair) for pair in pairs}
    touched: set[Place] = set()
    announced: set[tuple[str, int]] = set()
    for entry in new_entries:
        if id(entry) in matched_new:
            if changes[id(entry)]:
                said.extend(changes[id(entry)])
                touched.add(entry.place)
        elif entry.track_key in fresh:
            touched.add(entry.place)
            if entry.track_key not in announced:
                announced.add(entry.track_key)
                said.append(_whole_track("Added", entry.track))
        else:
            said.append(_added(entry))
            touched.add(entry.place)
    # Empty new tracks have no entries to announce them above.
    said.extend(_whole_track("Added", new_tracks[key]) for key in fresh if key not in announced)

    whole: list[str] = []
    if seconds(old.duration_ms) != seconds(new.duration_ms):
        whole.append(f"Duration {seconds(old.duration_ms)}s → {seconds(new.duration_ms)}s")
    old_size, new_size = _size_text(old), _size_text(new)
    if old_size != new_size and new_size is not None:
        whole.append(f"Canvas {old_size} → {new_size}" if old_size else f"Canvas set to {new_size}")
    if old.title != new.title and new.title is not None:
        title = budget.label(new.title)
        whole.append(
            f"Project title '{budget.label(old.title)}' → '{title}'" if old.title else f"Project title set to '{title}'"
        )
    told = [s.sentence for s in said]
    if len(told) > budget.CHANGE_SENTENCES or sum(len(t) + 2 for t in told) > limit:
        told = _count(said)
    return Changes(_within([*told, *whole], limit), frozenset(touched))


def _count(said: list[_Said]) -> list[str]:
    """Segment changes as counted sentences, one group per kind of segment in order of appearance."""
    tally: dict[tuple[str, str], dict[str, int]] = {}
    for item in said:
        if item.verb is not None:
            verbs = tally.setdefault(item.noun, {})
            verbs[item.verb] = verbs.get(item.verb, 0) + item.segments
    out: list[str] = []
    for noun, verbs in tally.items():
        removed, added = verbs.get("removed", 0), verbs.get("added", 0)
        replaced = min(removed, added)
        for verb, n in (
            ("Replaced", replaced),
            ("Removed", removed - replaced),
            ("Added", added - replaced),
            ("Changed", verbs.get("changed", 0)),
        ):
            if n:
                out.append(f"{verb} {count(n, *noun)}")
        if verbs.get("moved"):
            out.append(f"Moved {count(verbs['moved'], *noun)} to another track")
    return out


def _within(sentences: list[str], limit: int) -> list[str]:
    """The leading sentences within ``limit`` characters (each counted with its "; "), and one
    saying how many more there were when some are left out."""
    used = 0
    for k, sentence in enumerate(sentences):
        used += len(sentence) + 2
        if used > limit:
            # Room for the closing sentence: drop from the end until it fits.
            kept = sentences[:k]
            while kept and sum(len(t) + 2 for t in kept) + 40 > limit:
                kept.pop()
            return [*kept, f"{ELLIPSIS} and {count(len(sentences) - len(kept), 'more change')}"]
    return sentences
