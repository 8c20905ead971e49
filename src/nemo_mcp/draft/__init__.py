"""The draft (timeline) model: the one place that knows the draft format."""

from nemo_mcp.draft.model import (
    TRACK_TYPES,
    Segment,
    Timeline,
    Track,
    TrackType,
    diff,
    is_exportable,
    parse_draft,
    summarize,
)

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
