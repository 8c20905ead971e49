"""The draft's keys: what we write, every alias we read, and tolerant readers for them.

The cloud documents only ``t`` (tracks), ``tt`` (track type), ``sg`` (segments), ``d``
(duration, ms) and ``m`` (metadata); the rest is our guess at what a draft may hold, so a
reader tries the key we write, then its aliases, at the object's top level and then inside its
own ``m`` (nothing says ``m`` is only the draft's: segments and tracks may carry theirs). A value
of the wrong type is skipped as if it were absent. ``docs/draft-format.md`` is the table of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# Track types (``tt``), as documented.
TRACK_VIDEO: Final = 0
TRACK_AUDIO: Final = 1
TRACK_TEXT: Final = 7


@dataclass(frozen=True)
class Key:
    """One draft field: the key we write, then the aliases read after it, in order."""

    written: str
    aliases: tuple[str, ...] = ()
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: drafts are read field by field, segment by segment.
        object.__setattr__(self, "names", (self.written, *self.aliases))


# The draft and its tracks.
TRACKS = Key("t", ("tracks",))
SEGMENTS = Key("sg", ("segments",))
TRACK_TYPE = Key("tt", ("track_type", "type"))
META = Key("m", ("meta", "metadata"))
WIDTH = Key("width", ("w",))
HEIGHT = Key("height", ("h",))
TITLE = Key("title", ("name",))

# Segments (and the draft itself for DURATION).
ID = Key("id")
START = Key("st", ("s", "start", "startTime", "start_ms", "offset"))
DURATION = Key("d", ("dur", "duration", "duration_ms"))
NAME = Key("n", ("name", "title", "filename", "label"))
KIND = Key("k", ("kind", "type", "media_type"))
SOURCE = Key("src", ("url", "cdn_url", "source", "path"))
TEXT = Key("tx", ("text", "content", "caption"))
VOLUME = Key("v", ("vol", "volume"))
EFFECT = Key("fx", ("effect", "effects", "motion"))
SOURCE_START = Key("ss", ("trim_start", "source_start"))
SPEED = Key("sp", ("speed", "rate", "playback_rate"))
FIT = Key("fit", ("fit_mode", "scale_mode"))
BACKGROUND = Key("bg", ("background",))
COLOR = Key("c", ("color", "colour", "fill"))
COLOR_2 = Key("c2", ("color2", "gradient_to"))
FONT_SIZE = Key("fs", ("font_size", "fontSize"))
POSITION = Key("pos", ("position", "align"))
FADE_IN = Key("fi", ("fade_in", "fadeIn"))
FADE_OUT = Key("fo", ("fade_out", "fadeOut"))
DUCK = Key("dk", ("duck", "ducking"))
CROSSFADE = Key("xf", ("crossfade", "transition_ms"))
LANGUAGE = Key("lang", ("language",))


def _places(obj: Mapping[str, Any], key: Key) -> Iterator[Any]:
    """The candidate values of ``key`` in ``obj``: its own names first, then inside its ``m``."""
    for name in key.names:
        yield obj.get(name)
    for name in META.names:
        inner = obj.get(name)
        if isinstance(inner, Mapping) and inner is not obj:
            for candidate in key.names:
                yield inner.get(candidate)
            return


def number(value: Any) -> float | int | None:
    """A finite, non-negative JSON number; bools, strings, NaN and negatives are not."""
    if type(value) is int:  # the common case, first
        return value if value >= 0 else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if value >= 0 else None


def read_number(obj: Mapping[str, Any], key: Key) -> float | int | None:
    for value in _places(obj, key):
        found = number(value)
        if found is not None:
            return found
    return None


def read_ms(obj: Mapping[str, Any], key: Key) -> int | None:
    found = read_number(obj, key)
    return None if found is None else round(found)


def read_text(obj: Mapping[str, Any], key: Key) -> str | None:
    """The first non-blank string."""
    for value in _places(obj, key):
        if isinstance(value, str) and value.strip():
            return value
    return None


def read_any(obj: Mapping[str, Any], key: Key) -> Any:
    """The first value present (not None), whatever its type."""
    for value in _places(obj, key):
        if value is not None:
            return value
    return None


def read_mapping(obj: Mapping[str, Any], key: Key) -> Mapping[str, Any] | None:
    for name in key.names:
        value = obj.get(name)
        if isinstance(value, Mapping):
            return value
    return None


def read_list(obj: Mapping[str, Any], key: Key) -> list[Any] | None:
    for name in key.names:
        value = obj.get(name)
        if isinstance(value, list):
            return value
    return None


def ms(value: Any) -> int | None:
    """A number of milliseconds, rounded; None for anything :func:`number` refuses."""
    if type(value) is int:
        return value if value >= 0 else None
    found = number(value)
    return None if found is None else round(found)


def text(value: Any) -> str | None:
    """A non-blank string, else None."""
    return value if isinstance(value, str) and value.strip() else None


def volume(value: Any) -> float | None:
    """A gain 0..1; a number above 1 (up to 100) is read as a percentage; None for anything else."""
    found = number(value)
    if found is None:
        return None
    if found <= 1:
        return float(found)
    return found / 100 if found <= 100 else None


def kind_of(value: str | None) -> str | None:
    """A kind as read: lower-case, and a MIME type's first part (``video/mp4`` is ``video``)."""
    if value is None:
        return None
    return value.strip().lower().split("/", 1)[0] or None


def read_volume(obj: Mapping[str, Any]) -> float | None:
    """A volume as a gain 0..1; a number above 1 (up to 100) is read as a percentage."""
    for value in _places(obj, VOLUME):
        found = volume(value)
        if found is not None:
            return found
    return None


def read_kind(obj: Mapping[str, Any]) -> str | None:
    """``image``, ``video``, ``audio``, ``color``… lower-case; a MIME type gives its first part."""
    return kind_of(read_text(obj, KIND))


class Fields:
    """Several fields of one object read in one pass over its keys, with the rules of the readers
    above (a field's names in order, the object before its ``m``, a refused value as absent).

    Reading field by field costs a lookup per alias per field; a segment has a handful of keys,
    so one pass over them is several times faster on a draft of thousands of segments.
    """

    def __init__(self, *fields: tuple[Key, Callable[[Any], Any]]) -> None:
        self._accept = tuple(accept for _, accept in fields)
        # name -> (slot, rank); the metadata names have slot -1.
        self._slots: dict[str, tuple[int, int]] = {name: (-1, rank) for rank, name in enumerate(META.names)}
        for slot, (key, _) in enumerate(fields):
            for rank, name in enumerate(key.names):
                self._slots.setdefault(name, (slot, rank))

    def read(self, obj: Mapping[str, Any]) -> list[Any]:
        """The fields' values, in the order given (None where absent)."""
        accept, slots = self._accept, self._slots
        values: list[Any] = [None] * len(accept)
        ranks = [_ABSENT] * len(accept)
        meta: Any = None
        meta_rank = _ABSENT
        for name, raw in obj.items():
            hit = slots.get(name)
            if hit is None:
                continue
            slot, rank = hit
            if slot < 0:
                if rank < meta_rank and isinstance(raw, Mapping) and raw is not obj:
                    meta, meta_rank = raw, rank
            elif rank < ranks[slot]:
                value = accept[slot](raw)
                if value is not None:
                    values[slot] = value
                    ranks[slot] = rank
        if meta is not None and _ABSENT in ranks:
            inner = self.read(_without_meta(meta))
            values = [inner[i] if ranks[i] == _ABSENT else v for i, v in enumerate(values)]
        return values


_ABSENT = 1 << 30


def _without_meta(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ``m``'s own fields: its own ``m`` is not read (only one level, as in ``_places``)."""
    if not any(name in meta for name in META.names):
        return meta
    return {k: v for k, v in meta.items() if k not in META.names}


_TRACK_TYPE_NAMES = {"video": TRACK_VIDEO, "audio": TRACK_AUDIO, "bgm": TRACK_AUDIO, "music": TRACK_AUDIO}
_TRACK_TYPE_NAMES |= {"text": TRACK_TEXT, "title": TRACK_TEXT}


def read_track_type(track: Mapping[str, Any]) -> tuple[int | None, bool]:
    """(the raw ``tt`` number, or the number a type name stands for; whether it was a number)."""
    for value in _places(track, TRACK_TYPE):
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value, True
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value), True
        if isinstance(value, str):
            text = value.strip().lower()
            if text.isascii() and text.isdigit():
                return int(text), True
            if text in _TRACK_TYPE_NAMES:
                return _TRACK_TYPE_NAMES[text], False
    return None, False
