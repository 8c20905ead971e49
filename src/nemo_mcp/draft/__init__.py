"""The draft (the cloud's timeline): the one place that knows its format.

Everyone reads and writes drafts through this package: ``keys`` (what we write, every alias we
read, including metadata under ``m``), ``media`` (kinds, file types, the size limit), ``rawjson``
(a value's exact text, so drafts go back to the API byte for byte), ``model`` (a draft read
into a :class:`Timeline`), ``summary`` and ``diff`` (the words for people), and ``edit`` (our
own drafts, written with the canonical keys).
"""

from nemo_mcp.draft.diff import Changes, compare, diff
from nemo_mcp.draft.model import TRACK_TYPES, Segment, Timeline, Track, TrackType, is_exportable, parse_draft
from nemo_mcp.draft.summary import Outline, Place, outline, page, summarize

__all__ = [
    "TRACK_TYPES",
    "Changes",
    "Outline",
    "Place",
    "Segment",
    "Timeline",
    "Track",
    "TrackType",
    "compare",
    "diff",
    "is_exportable",
    "outline",
    "page",
    "parse_draft",
    "summarize",
]
