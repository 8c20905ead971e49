"""Which font draws a text: the packaged DejaVu for Latin, else a font that has the text's glyphs.

``find_font(text)`` answers with a file whose first face covers every letter, mark and digit of
the text (ffmpeg's ``drawtext`` reads face 0 of a ``fontfile``), trying in order:

1. the packaged DejaVu Sans Bold (Latin, Greek, Cyrillic, Arabic, Hebrew…);
2. the system's fonts, as fontconfig ranks them for those characters (``fc-match -s``), bold first;
3. well-known font files of systems without fontconfig (macOS, Windows);
4. the fonts of optional extras: ``nemo-mcp[cjk]`` brings Noto Sans CJK Bold.

Coverage is read from each candidate's own ``cmap`` table, so a fontconfig answer that only
"best matches" is never taken for one that covers. ``None`` means nothing here has the text's
script; the renderer then draws it with DejaVu (empty boxes) and the editor warns.
"""

from __future__ import annotations

import functools
import importlib
import logging
import shutil
import struct
import subprocess
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

DEFAULT_FONT = Path(__file__).with_name("DejaVuSans-Bold.ttf")

# Fonts with CJK glyphs on systems that may have no fontconfig.
WELL_KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    "C:/Windows/Fonts/msyhbd.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/YuGothB.ttc",
    "C:/Windows/Fonts/malgunbd.ttf",
    "C:/Windows/Fonts/simhei.ttf",
)
# Optional extras that carry a font: (module, attribute holding the font's path).
EXTRA_FONTS = (("noto_cjk_sans_jp_bold", "FONT_PATH"),)

FC_TIMEOUT_S = 10.0
MAX_QUERY_CHARS = 64  # fontconfig's pattern gets a sample; the cmap check covers the rest


def find_font(text: str) -> Path | None:
    """A font file whose first face has every letter, mark and digit of ``text``; else ``None``."""
    needed = frozenset(ch for ch in text if unicodedata.category(ch)[0] in "LMN")
    return _find(needed)


@functools.lru_cache(maxsize=256)
def _find(needed: frozenset[str]) -> Path | None:
    for candidate in _candidates(needed):
        if _covers(candidate, needed):
            return candidate
    log.info("no font here covers %r", "".join(sorted(needed))[:40])
    return None


def _candidates(needed: frozenset[str]) -> Iterator[Path]:
    yield DEFAULT_FONT  # the generator stops here when DejaVu covers the text
    yield from _fontconfig_matches(needed)
    yield from (Path(name) for name in WELL_KNOWN_FONTS)
    yield from extra_fonts()


def extra_fonts() -> Iterator[Path]:
    """The font files installed by optional extras (``nemo-mcp[cjk]``)."""
    for module_name, attribute in EXTRA_FONTS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        path = Path(str(getattr(module, attribute, "")))
        if path.is_file():
            yield path


def _fontconfig_matches(needed: frozenset[str]) -> list[Path]:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return []
    sample = sorted(needed - _codepoints_as_chars(DEFAULT_FONT, needed))[:MAX_QUERY_CHARS]
    charset = " ".join(f"{ord(ch):x}" for ch in sample)
    found: list[Path] = []
    for weight in ("bold", "regular"):
        try:
            done = subprocess.run(
                [fc_match, "-s", "--format=%{file}\\n", f"sans-serif:weight={weight}:charset={charset}"],
                capture_output=True,
                timeout=FC_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.debug("fc-match failed: %s", exc)
            return found
        for line in done.stdout.decode("utf-8", "replace").splitlines()[:20]:
            path = Path(line.strip())
            if line.strip() and path not in found:
                found.append(path)
    return found


def _covers(path: Path, needed: frozenset[str]) -> bool:
    return not needed - _codepoints_as_chars(path, needed)


def _codepoints_as_chars(path: Path, chars: Iterable[str]) -> set[str]:
    """Which of ``chars`` the font's first face maps to a glyph."""
    ranges = cmap_ranges(path)
    return {ch for ch in chars if _in_ranges(ord(ch), ranges)}


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    low, high = 0, len(ranges)
    while low < high:
        mid = (low + high) // 2
        start, end = ranges[mid]
        if code < start:
            high = mid
        elif code > end:
            low = mid + 1
        else:
            return True
    return False


# ---------------------------------------------------------------------------
# Reading a font's character map (TrueType/OpenType, and the first face of a collection).


@functools.lru_cache(maxsize=64)
def cmap_ranges(path: Path) -> tuple[tuple[int, int], ...]:
    """The code point ranges (inclusive, sorted, merged) the font's first face has glyphs for.

    An unreadable file, or one that is not a font, covers nothing.
    """
    try:
        with path.open("rb") as f:
            return _read_cmap(f)
    except (OSError, ValueError, struct.error) as exc:
        log.debug("cannot read the character map of %s: %s", path, exc)
        return ()


def _read_cmap(f: IO[bytes]) -> tuple[tuple[int, int], ...]:
    def read(offset: int, size: int) -> bytes:
        f.seek(offset)
        data: bytes = f.read(size)
        if len(data) != size:
            raise ValueError("truncated font")
        return data

    face = 0
    if read(0, 4) == b"ttcf":
        (face,) = struct.unpack(">I", read(12, 4))  # the first face's table directory
    num_tables = struct.unpack(">H", read(face + 4, 2))[0]
    directory = read(face + 12, 16 * num_tables)
    for i in range(num_tables):
        tag, _checksum, offset, _length = struct.unpack(">4sIII", directory[16 * i : 16 * i + 16])
        if tag == b"cmap":
            return _best_subtable(read, offset)
    raise ValueError("no cmap table")


def _best_subtable(read: Any, cmap: int) -> tuple[tuple[int, int], ...]:
    _version, count = struct.unpack(">HH", read(cmap, 4))
    records = read(cmap + 4, 8 * count)
    by_format: dict[int, int] = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack(">HHI", records[8 * i : 8 * i + 8])
        if (platform, encoding) in {(3, 10), (3, 1), (0, 3), (0, 4), (0, 6)}:
            (fmt,) = struct.unpack(">H", read(cmap + offset, 2))
            by_format.setdefault(fmt, cmap + offset)
    if 12 in by_format:
        start = by_format[12]
        (n_groups,) = struct.unpack(">I", read(start + 12, 4))
        groups = read(start + 16, 12 * n_groups)
        pairs = [struct.unpack(">III", groups[12 * i : 12 * i + 12])[:2] for i in range(n_groups)]
        return _merged((first, last) for first, last in pairs)
    if 4 in by_format:
        start = by_format[4]
        (seg_x2,) = struct.unpack(">H", read(start + 6, 2))
        ends = struct.unpack(f">{seg_x2 // 2}H", read(start + 14, seg_x2))
        starts = struct.unpack(f">{seg_x2 // 2}H", read(start + 16 + seg_x2, seg_x2))
        # Glyph-id arithmetic is skipped: a segment that maps to .notdef is rare outside 0xFFFF.
        return _merged((s, e) for s, e in zip(starts, ends, strict=True) if s != 0xFFFF)
    raise ValueError("no Unicode cmap subtable of format 4 or 12")


def _merged(pairs: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(pairs):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)
