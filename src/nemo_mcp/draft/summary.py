"""A timeline as lines a person (or a model) reads at a glance, within a budget, and the wording
the lines share with ``diff``.

A timeline that fits is a header and one numbered line per segment. One that does not gets an
outline within the budget, built in this order: the header (duration, canvas, counts), every
track with its segment count and span, the first and last segment of each track, the segments
the last instruction changed, then more from both ends of every track while there is room; gaps
are marked, and a last line counts what was left out and names where to read it. The full list
is :func:`page`, page by page within the same budget. Segments are numbered once, in track
order, so a number means the same segment in an outline, on every page and in the structured
output.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from nemo_mcp import budget
from nemo_mcp.budget import ELLIPSIS, TEXT_CHARS, count
from nemo_mcp.draft.model import Segment, Timeline, Track

# (track index, segment index): a segment's place in a timeline.
Place = tuple[int, int]


def seconds(ms: int) -> str:
    """10000 → "10", 2500 → "2.5", 2960 → "3" (one decimal, half up, no trailing ".0")."""
    tenths = (ms + 50) // 100
    whole, tenth = divmod(tenths, 10)
    return f"{whole}" if tenth == 0 else f"{whole}.{tenth}"


def span(segment: Segment) -> str:
    return f"{seconds(segment.start_ms)}-{seconds(segment.end_ms)}s"


def percent(volume: float) -> str:
    return f"{round(volume * 100)}%"


def label(track: Track, segment: Segment) -> str:
    if track.type == "video":
        value = segment.name or segment.kind or "clip"
    elif track.type == "audio":
        value = segment.name or segment.kind or "audio"
    elif track.type == "text":
        value = segment.text or segment.name or ""
    else:
        value = segment.name or segment.text or "segment"
    return budget.label(value)


def track_name(track: Track) -> str:
    return "Track" if track.raw_type is None else f"Track {track.raw_type}"


def _summary_line(track: Track, segment: Segment) -> str:
    shown = label(track, segment)
    if track.type == "video":
        return f"Video: {shown} ({span(segment)})"
    if track.type == "audio":
        volume = f", {percent(segment.volume)}" if segment.volume is not None else ""
        return f"BGM: {shown} ({span(segment)}{volume})"
    if track.type == "text":
        return f'Title: "{shown}" ({span(segment)})'
    return f"{track_name(track)}: {shown} ({span(segment)})"


@dataclass(frozen=True)
class Words:
    """What one kind of track and its segments are called."""

    track: str  # its line in an outline: "Video track"
    noun: str  # a segment in a change: "Added video 'city.jpg'"
    one: str  # counted: "1 clip", "2,000 clips"
    many: str


_WORDS: dict[str, Words] = {
    "video": Words("Video track", "video", "clip", "clips"),
    "audio": Words("BGM track", "background music", "audio clip", "audio clips"),
    "text": Words("Text track", "title", "caption", "captions"),
}


def words(track: Track) -> Words:
    found = _WORDS.get(track.type)
    if found is not None:
        return found
    name = track_name(track)
    noun = f"{name.lower()} segment"
    return Words(name, noun, noun, noun + "s")


def track_line(track: Track) -> str:
    """'Video track: 1,995 segments, 0-598.5s'."""
    n = len(track.segments)
    if not n:
        return f"{words(track).track}: no segments"
    return f"{words(track).track}: {count(n, 'segment')}, {seconds(track.start_ms)}-{seconds(track.end_ms)}s"


def _header(timeline: Timeline, with_segments: bool) -> str:
    parts = [f"{seconds(timeline.duration_ms)}s"]
    if timeline.width and timeline.height:
        parts.append(f"{timeline.width}x{timeline.height}")
    parts.append(count(len(timeline.tracks), "track"))
    if with_segments:
        parts.append(count(timeline.segment_count, "segment"))
    return "Timeline: " + ", ".join(parts)


EMPTY = "The timeline is empty."


def summarize(timeline: Timeline) -> str:
    """The whole timeline: a header line, then one numbered line per segment in track order.

    Unbounded: tool results use :func:`outline`, which is this whenever it fits.
    """
    if not timeline.exportable:
        return EMPTY
    lines = [_header(timeline, False)]
    number = 0
    for track in timeline.tracks:
        for segment in track.segments:
            number += 1
            lines.append(f"{number}. {_summary_line(track, segment)}")
    return "\n".join(lines)


# -- the outline: a summary within a budget ---------------------------------------------------------


@dataclass(frozen=True)
class Outline:
    """What :func:`outline` shows: its text, and which segments, with their numbers, per track."""

    text: str
    # Per track shown, in order: (track index, [(number, segment index), ...] in order).
    tracks: list[tuple[int, list[tuple[int, int]]]]
    segment_count: int
    track_count: int
    changed: frozenset[Place] = field(default_factory=frozenset)

    @property
    def segments_shown(self) -> int:
        return sum(len(shown) for _, shown in self.tracks)

    @property
    def truncated(self) -> bool:
        return self.segments_shown < self.segment_count or len(self.tracks) < self.track_count


def more_line(segments: int, tracks: int, where: str) -> str:
    """The last line of an outline that leaves something out."""
    parts = []
    if segments:
        parts.append(count(segments, "more segment"))
    if tracks:
        parts.append(count(tracks, "more track"))
    return f"{ELLIPSIS} and {' in '.join(parts)}: read {where} for the full list."


def _gap_line(n: int) -> str:
    return f"   {ELLIPSIS} {n:,} more"


def _numbers(timeline: Timeline) -> list[int]:
    """The number of each track's first segment, less one."""
    firsts, n = [], 0
    for track in timeline.tracks:
        firsts.append(n)
        n += len(track.segments)
    return firsts


def outline(
    timeline: Timeline,
    where: str,
    limit: int = TEXT_CHARS,
    *,
    changed: Collection[Place] = (),
    most: int | None = None,
) -> Outline:
    """The timeline in at most ``limit`` characters; ``where`` names the full list (a resource
    URI). ``changed`` segments are shown (and marked) right after the ends of each track, when
    there are at most ``budget.OUTLINE_SEGMENTS`` of them; ``most`` caps the segments shown (the
    structured output uses it to fit its own budget)."""
    total = timeline.segment_count
    # More changed segments than an outline shows (an edit that rebuilt the timeline) are told by
    # the counted changes; the outline is then the usual one, without a mark on every line.
    changed_set = frozenset(changed) if len(changed) <= budget.OUTLINE_SEGMENTS else frozenset()
    tracks = len(timeline.tracks)
    # All of it, when it fits with room to spare for a line per track (the structured output
    # lists every track then); past one line per 12 characters it cannot fit.
    if (most is None or most >= total) and (total + tracks) * 12 <= limit:
        text = summarize(timeline)
        if len(text) + 40 * tracks <= limit:
            firsts = _numbers(timeline)
            shown = [
                (i, [(firsts[i] + j + 1, j) for j in range(len(t.segments))]) for i, t in enumerate(timeline.tracks)
            ]
            return Outline(text, shown, total, tracks, changed_set)
    return _Fitter(timeline, where, limit, changed_set, total if most is None else most).run()


class _Fitter:
    """Chooses what an outline shows, line by line in order of importance, counting characters:
    the ends of each track and what changed while they fit, then more up to
    ``budget.OUTLINE_SEGMENTS`` segments."""

    def __init__(self, timeline: Timeline, where: str, limit: int, changed: frozenset[Place], most: int) -> None:
        self.timeline = timeline
        self.where = where
        self.changed = changed
        self.most = most
        self.total = timeline.segment_count
        self.firsts = _numbers(timeline)
        self.header = _header(timeline, True)
        # The last line is there whenever this runs; its length is largest with the largest counts.
        reserve = len(more_line(self.total, len(timeline.tracks), where)) + 1
        self.room = limit - len(self.header) - reserve
        self.gap_cost = len(_gap_line(self.total)) + 1
        self.tracks: list[int] = []  # track indexes shown
        self.chosen: dict[int, set[int]] = {}
        self.lines: dict[Place, str] = {}

    def run(self) -> Outline:
        timeline = self.timeline
        for i, track in enumerate(timeline.tracks):
            cost = len(track_line(track)) + 1 + (self.gap_cost if track.segments else 0)
            if cost > self.room:
                break
            self.room -= cost
            self.tracks.append(i)
            self.chosen[i] = set()
        self._fill(self._order())
        return self._render()

    def _order(self) -> Iterator[tuple[Place, bool]]:
        """Segments in order of importance, each with whether it must be tried whatever the
        count: the ends of each track and what changed; then more, inwards from both ends."""
        shown = self.tracks
        tracks = self.timeline.tracks
        for i in shown:
            n = len(tracks[i].segments)
            yield from (((i, j), True) for j in dict.fromkeys((0, n - 1)) if 0 <= j < n)
        changed = sorted(p for p in self.changed if p[0] in self.chosen and p[1] < len(tracks[p[0]].segments))
        yield from ((p, True) for p in changed)
        depth = 1
        while True:
            more = False
            for i in shown:
                n = len(tracks[i].segments)
                if depth < n - depth - 1:
                    yield (i, depth), False
                    yield (i, n - depth - 1), False
                    more = True
                elif depth == n - depth - 1:
                    yield (i, depth), False
            if not more:
                return
            depth += 1

    def _fill(self, order: Iterator[tuple[Place, bool]]) -> None:
        shown = 0
        for place, first in order:
            i, j = place
            chosen = self.chosen[i]
            if j in chosen:
                continue
            if shown >= self.most or (not first and shown >= budget.OUTLINE_SEGMENTS):
                return
            line = self._line(place)
            n = len(self.timeline.tracks[i].segments)
            # Choosing j splits the gap it sits in: a gap line on each side that stays non-empty.
            gaps = (j > 0 and j - 1 not in chosen) + (j < n - 1 and j + 1 not in chosen) - 1
            cost = len(line) + 1 + gaps * self.gap_cost
            if cost > self.room:
                if first:
                    continue  # a shorter one may still fit
                return
            self.room -= cost
            chosen.add(j)
            self.lines[place] = line
            shown += 1

    def _line(self, place: Place) -> str:
        i, j = place
        track = self.timeline.tracks[i]
        line = f"{self.firsts[i] + j + 1}. {_summary_line(track, track.segments[j])}"
        return f"{line} (changed)" if place in self.changed else line

    def _render(self) -> Outline:
        timeline = self.timeline
        lines = [self.header]
        shown: list[tuple[int, list[tuple[int, int]]]] = []
        for i in self.tracks:
            track = timeline.tracks[i]
            lines.append(track_line(track))
            picked = sorted(self.chosen[i])
            previous = -1
            for j in picked:
                if j > previous + 1:
                    lines.append(_gap_line(j - previous - 1))
                lines.append(self.lines[(i, j)])
                previous = j
            if len(track.segments) > previous + 1:
                lines.append(_gap_line(len(track.segments) - previous - 1))
            shown.append((i, [(self.firsts[i] + j + 1, j) for j in picked]))
        left = self.total - sum(len(s) for _, s in shown)
        if left or len(self.tracks) < len(timeline.tracks):  # else it all fitted after all
            lines.append(more_line(left, len(timeline.tracks) - len(self.tracks), self.where))
        return Outline("\n".join(lines), shown, self.total, len(timeline.tracks), self.changed)


# -- pages: the whole timeline, each page within the budget -------------------------------------------


@dataclass(frozen=True)
class Page:
    text: str
    number: int
    count: int  # pages in all
    first: int  # numbers of the first and last segment on it (0, 0 for none)
    last: int


def _listing(timeline: Timeline) -> Iterator[tuple[int, int, str]]:
    """Every line of the full list: (track index, segment number or 0 for a track's line, text)."""
    number = 0
    for i, track in enumerate(timeline.tracks):
        yield i, 0, track_line(track)
        for segment in track.segments:
            number += 1
            yield i, number, f"{number}. {_summary_line(track, segment)}"


def page(timeline: Timeline, title: str, uri: str, number: int, limit: int = TEXT_CHARS) -> Page:
    """Page ``number`` (from 1) of the full list of the timeline, ``limit`` characters at most.

    ``title`` heads every page; ``uri`` is the first page's address, the others are ``uri`` with
    ``?page=N``, and each page but the last names the next. A timeline that fits on one page is
    its :func:`summarize`. Raises ``ValueError`` for a page that does not exist.
    """
    tracks = len(timeline.tracks)
    # A segment's line is at least 16 characters with its newline (``1. BGM:  (0-0s)``), so past
    # one line per 12 characters the whole list cannot fit: it is not built only to be measured.
    if (timeline.segment_count + tracks) * 12 <= limit:
        whole = f"{title}\n\n{summarize(timeline)}\n"
        if len(whole) + 40 * tracks <= limit:
            if number != 1:
                raise ValueError(f"There is only 1 page; page {number} does not exist.")
            return Page(whole, 1, 1, 1 if timeline.exportable else 0, timeline.segment_count)
    lines = list(_listing(timeline))
    # What a page holds besides its lines: its title, the header (page 1), a "continued" line,
    # the link to the next page, the blank lines between them and the final newline.
    continued = max(len(track_line(t)) for t in timeline.tracks) + len(_CONTINUED)
    fixed = len(_page_title(title, 10**9, 10**9)) + len(_header(timeline, True)) + continued
    fixed += len(_next_line(uri, 10**9)) + 8
    room = max(limit - fixed, 1)
    breaks = [0]  # index of each page's first line
    used = 0
    for k, (_, _, text) in enumerate(lines):
        if used + len(text) + 1 > room and k > breaks[-1]:
            breaks.append(k)
            used = 0
        used += len(text) + 1
    pages = len(breaks)
    if not 1 <= number <= pages:
        raise ValueError(f"There are {pages:,} pages; page {number} does not exist.")
    start = breaks[number - 1]
    end = breaks[number] if number < pages else len(lines)
    body = [text for _, _, text in lines[start:end]]
    first_track, first_number, _ = lines[start]
    if first_number:  # the page starts inside a track
        track = timeline.tracks[first_track]
        body.insert(0, track_line(track) + _CONTINUED)
    head = [_page_title(title, number, pages), ""]
    if number == 1:
        head += [_header(timeline, True), ""]
    numbers = [n for _, n, _ in lines[start:end] if n]
    tail = ["", _next_line(uri, number + 1)] if number < pages else []
    text = "\n".join([*head, *body, *tail]) + "\n"
    return Page(text, number, pages, numbers[0] if numbers else 0, numbers[-1] if numbers else 0)


_CONTINUED = " (continued)"


def _page_title(title: str, number: int, pages: int) -> str:
    return f"{title} (page {number:,} of {pages:,})"


def _next_line(uri: str, number: int) -> str:
    return f"Next page: {page_uri(uri, number)}"


def page_uri(uri: str, number: int) -> str:
    return uri if number == 1 else f"{uri}?page={number}"
