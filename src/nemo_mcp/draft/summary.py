"""A timeline as a few lines a person (or a model) reads at a glance, and the wording they share.

The labels, spans and percentages here are also the vocabulary of ``diff``, so a change reads
the same way as the summary line it changes.
"""

from __future__ import annotations

from nemo_mcp.draft.model import Segment, Timeline, Track

_MAX_LABEL = 80


def seconds(ms: int) -> str:
    """10000 → "10", 2500 → "2.5", 2960 → "3" (one decimal, half up, no trailing ".0")."""
    tenths = (ms + 50) // 100
    whole, tenth = divmod(tenths, 10)
    return f"{whole}" if tenth == 0 else f"{whole}.{tenth}"


def span(segment: Segment) -> str:
    return f"{seconds(segment.start_ms)}-{seconds(segment.end_ms)}s"


def percent(volume: float) -> str:
    return f"{round(volume * 100)}%"


def _clip(text: str) -> str:
    """One line, at most _MAX_LABEL characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_LABEL else flat[: _MAX_LABEL - 1] + "…"


def label(track: Track, segment: Segment) -> str:
    if track.type == "video":
        value = segment.name or segment.kind or "clip"
    elif track.type == "audio":
        value = segment.name or segment.kind or "audio"
    elif track.type == "text":
        value = segment.text or segment.name or ""
    else:
        value = segment.name or segment.text or "segment"
    return _clip(value)


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


def summarize(timeline: Timeline) -> str:
    """A header line, then one numbered line per segment in track order."""
    if not timeline.exportable:
        return "The timeline is empty."
    header = [f"{seconds(timeline.duration_ms)}s"]
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
