"""Long drafts for benchmarks and tests: what a 10-minute talk with word-by-word captions makes.

``long_draft(4000)`` is about 2,000 caption words and 2,000 clips with a music bed, in the keys of
docs/draft-format.md, with names and captions in several scripts (Latin, CJK, emoji with joiners
and modifiers, right-to-left) and now and then a very long one. The same call gives the same draft.
"""

from __future__ import annotations

from typing import Any

# Words in several scripts: Latin with accents, Chinese, Japanese, emoji (a family joined by
# ZWJ, a skin tone, a flag), Arabic and Hebrew (right to left), Devanagari with its marks.
WORDS = (
    "Hello",
    "Ünïcødé",
    "世界",
    "こんにちは",
    "👩‍👩‍👧",
    "👍🏽",
    "🇯🇵",
    "مرحبا",
    "שלום",
    "नमस्ते",
    "café",
    "東京の夜",
)
CLIP_MS = 300
WORD_MS = 300


def _word(i: int) -> str:
    word = WORDS[i % len(WORDS)]
    # Every 97th caption is a whole paragraph, every 89th clip name very long.
    return " ".join([word] * 60) if i % 97 == 96 else word


def _clip_name(i: int) -> str:
    stem = f"clip_{i:04d}_{WORDS[i % len(WORDS)]}"
    return ("长" * 300 + stem if i % 89 == 88 else stem) + ".mp4"


def long_draft(segments: int, *, width: int = 1920, height: int = 1080) -> dict[str, Any]:
    """A draft of exactly ``segments`` segments: one music bed (from 3 segments on), clips and
    captions half and half. 0 gives an empty draft, 1 a single clip."""
    music = 1 if segments >= 3 else 0
    clips = (segments - music + 1) // 2
    captions = segments - music - clips
    video = [
        {
            "id": f"v{i + 1}",
            "st": i * CLIP_MS,
            "d": CLIP_MS,
            "n": _clip_name(i),
            "k": "video",
            "src": f"https://cdn.example.com/media/{i:06d}.mp4",
        }
        for i in range(clips)
    ]
    end = max(clips * CLIP_MS, captions * WORD_MS)
    text = [{"id": f"x{i + 1}", "st": i * WORD_MS, "d": WORD_MS, "tx": _word(i)} for i in range(captions)]
    tracks: list[dict[str, Any]] = []
    if video:
        tracks.append({"tt": 0, "sg": video})
    if music:
        bed = {"id": "a1", "st": 0, "d": end, "n": "lo-fi 🎵 موسيقى.mp3", "k": "audio", "v": 0.3}
        tracks.append({"tt": 1, "sg": [bed]})
    if text:
        tracks.append({"tt": 7, "sg": text})
    return {"t": tracks, "d": end, "m": {"title": "talk", "width": width, "height": height}}
