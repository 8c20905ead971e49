"""How big one tool result may get, and how text and JSON are cut to fit.

Hosts cut or refuse tool output far below what a long project produces: Claude Code warns at
about 25,000 tokens, while a 10-minute talk with word-by-word captions is a draft of some 4,000
segments, over 100,000 characters when listed in full. So every tool result of nemo-mcp stays
within :data:`TEXT_CHARS` of text and :data:`STRUCTURED_BYTES` of structured content, whatever the
draft: what a person wants first is shown, the rest is counted, and the result says where to read
it (the timeline resource, page by page, each page within the same budget).

Cuts never split a line where a whole line can go, and never split a character: not a UTF-8
sequence (Python strings are code points), and not what a reader sees as one character either
(an emoji with its modifiers or joiners, a flag, a letter with its combining marks).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, Final

TEXT_CHARS: Final = 8_000
"""Characters of text in one tool result (its text blocks together) and in one page of the
timeline resource: about 2,000 tokens, a small part of what any host accepts from a tool."""

STRUCTURED_BYTES: Final = 64 * 1024
"""Bytes of one tool result's structured content, measured by :func:`json_size`. The text is a
reading of the structured content, which carries a little more (ids, sources); 64 KB holds it."""

WRAPPER_BYTES: Final = 2 * 1024
"""Room ``check_job`` needs around the result it carries: results are built within
``STRUCTURED_BYTES - WRAPPER_BYTES`` so that the wrapped one fits too."""

OUTLINE_SEGMENTS: Final = 20
"""Segments an outline of a long timeline shows, at most: after the ends of every track and what
the last instruction changed, more from both ends up to this many. Enough to see how it starts and
ends; a person reads the rest page by page, and every shown segment costs a client time to check."""

LABEL_CHARS: Final = 80
"""Characters of a name or caption in a line of text (a summary line, a change)."""

FIELD_CHARS: Final = 1_000
"""Characters of one string field of a segment in structured content; the draft resource has it whole."""

ELLIPSIS: Final = "…"

# Code points that belong to the character before them: a cut must not fall just before one.
_JOINING_RANGES: Final = (
    (0x200C, 0x200D),  # zero-width non-joiner and joiner
    (0xFE00, 0xFE0F),  # variation selectors (text or emoji presentation)
    (0x1F3FB, 0x1F3FF),  # skin-tone modifiers
    (0xE0020, 0xE007F),  # tag characters (subdivision flags)
    (0xE0100, 0xE01EF),  # variation selectors supplement
    (0x1160, 0x11FF),  # Hangul jamo vowels and finals
    (0xD7B0, 0xD7FF),  # Hangul jamo extended-B
    (0xDC00, 0xDFFF),  # a low surrogate after its high one
)
_REGIONAL = (0x1F1E6, 0x1F1FF)  # flags are pairs of these
_ZWJ = "\u200d"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _joins_previous(ch: str) -> bool:
    code = ord(ch)
    if code < 0x300:
        return False  # ASCII and Latin-1: nothing joins (fast path)
    if any(lo <= code <= hi for lo, hi in _JOINING_RANGES):
        return True
    return unicodedata.category(ch) in ("Mn", "Mc", "Me")


def _is_regional(ch: str) -> bool:
    return _REGIONAL[0] <= ord(ch) <= _REGIONAL[1]


def boundary(text: str, index: int) -> int:
    """The largest character boundary of ``text`` at or before ``index``."""
    i = max(0, min(index, len(text)))
    while 0 < i < len(text) and (_joins_previous(text[i]) or text[i - 1] == _ZWJ):
        i -= 1
    if 0 < i < len(text) and _is_regional(text[i]):
        run = 0
        while i - run > 0 and _is_regional(text[i - run - 1]):
            run += 1
        i -= run % 2  # inside a flag: keep its first half out too
    return i


def clean(text: str) -> str:
    """``text`` with surrogates as U+FFFD: a JSON ``\\ud83d`` escape without its pair decodes to
    one, and no transport can encode it (the whole result would fail)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def cut(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters, else a prefix of it ending on a character
    boundary followed by "…", ``limit`` characters at most in all."""
    if len(text) <= limit:
        return text
    if limit < 1:
        return ""
    return text[: boundary(text, limit - 1)] + ELLIPSIS


def label(text: str, limit: int = LABEL_CHARS) -> str:
    """A name or caption as one line (runs of white space as one space) of at most ``limit`` characters."""
    return cut(clean(" ".join(text.split())), limit)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 segment', '3,980 segments'."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {plural or noun + 's'}"


def take_lines(lines: Iterable[str], limit: int) -> list[str]:
    """The leading whole lines that fit in ``limit`` characters (newlines between them counted)."""
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if kept else 0)
        if used + cost > limit:
            break
        kept.append(line)
        used += cost
    return kept


def fit_text(text: str, limit: int = TEXT_CHARS) -> tuple[str, bool]:
    """``text`` within ``limit`` characters: whole lines, then a line saying how much was left out.

    A first line longer than the budget is itself cut on a character boundary. Returns the text
    and whether anything was left out.
    """
    text = clean(text)
    if len(text) <= limit:
        return text, False
    lines = text.split("\n")
    # The closing line's length depends on the number in it; the whole length bounds that number.
    room = limit - len(_left_out_line(len(text))) - 1
    if room < 1:
        return cut(_left_out_line(len(text)), limit), True
    kept = take_lines(lines, room)
    if not kept:
        kept = [cut(lines[0], room)]
    shown = "\n".join(kept)
    return f"{shown}\n{_left_out_line(len(text) - len(shown))}", True


def _left_out_line(chars: int) -> str:
    return f"{ELLIPSIS} and {count(chars, 'more character')} left out."


def json_size(value: Any) -> int:
    """Bytes of ``value`` as JSON the way ``json.dumps`` writes it by default: ASCII only
    (``\\uXXXX`` escapes), ", " and ": " separators. That is never less than the UTF-8 bytes of
    any other serialisation of it (a transport's compact UTF-8 included), so a result within the
    budget by this measure is within it however it is sent."""
    return len(json.dumps(value, default=str))


def fit_json(value: dict[str, Any], limit: int = STRUCTURED_BYTES) -> tuple[dict[str, Any], bool]:
    """``value`` within ``limit`` bytes (:func:`json_size`): long strings cut and long lists
    shortened, evenly, until it fits; every key is kept, and short strings, so that the result
    still matches its schema. Returns the value (``value`` itself when it already fit) and
    whether it was cut."""
    if json_size(value) <= limit:
        return value, False
    strings, items = 4_096, 256
    while True:
        shrunk = _shrink(value, strings, items)
        if json_size(shrunk) <= limit or (strings == _SHORTEST and items == 0):
            assert isinstance(shrunk, dict)
            return shrunk, True
        strings, items = max(_SHORTEST, strings // 2), items // 2


# Strings this short are never cut: statuses, kinds and ids are, and must stay whole to match
# their schema; with every list emptied, a result of a few dozen fields fits anyway.
_SHORTEST = 64


def _shrink(value: Any, strings: int, items: int) -> Any:
    return _walk(value, lambda text: cut(text, strings), items)


def clean_json(value: Any) -> Any:
    """``value`` with every string :func:`clean`."""
    return _walk(value, clean, None)


def _walk(value: Any, string: Callable[[str], str], items: int | None) -> Any:
    """``value`` with ``string`` applied to its strings and its lists cut to ``items``."""
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list):
        return [_walk(v, string, items) for v in value[:items]]
    if isinstance(value, dict):
        return {k: _walk(v, string, items) for k, v in value.items()}
    return value


# Shares of TEXT_CHARS in an instruction's result: the editor's reply and the list of changes
# come first, the summary of the timeline after the edit gets what they leave. The reply's share
# is the larger: when the offline editor understood nothing, its reply is the whole list of what
# it understands (about 5,000 characters), which the assistant needs to rephrase the request.
REPLY_CHARS: Final = 5_500
CHANGES_CHARS: Final = 1_500
CHANGE_SENTENCES: Final = 12
"""Changes told one sentence each up to this many; past it (or CHANGES_CHARS), counted."""
