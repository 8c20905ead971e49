"""What the editor knows about each upload: kind, size, length, sound, animation — probed once per file.

Upload records (the API's ``video_infos``) carry a size for images and often nothing else, so
clips, GIFs and songs are probed with ffmpeg when a decision needs them (a clip's length, whether
it has sound, whether a GIF moves). Probes are cached per file for the editor's lifetime; that
is knowledge about files, not about any session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_mcp.draft import media as formats
from nemo_mcp.errors import NemoError
from nemo_mcp.local.probe import MediaInfo

log = logging.getLogger(__name__)

Resolver = Callable[[str], Path | None]
Prober = Callable[[Path], MediaInfo]

# One frame of a GIF probes as ~0.04 s; anything longer has several frames and moves.
_STILL_GIF_MS = 60


@dataclass(frozen=True)
class Facts:
    kind: str  # image, gif, video or audio
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    has_audio: bool = False

    @property
    def orientation(self) -> str | None:
        if not self.width or not self.height:
            return None
        if abs(self.width - self.height) <= 0.05 * max(self.width, self.height):
            return "square"
        return "landscape" if self.width > self.height else "portrait"

    @property
    def animated(self) -> bool:
        return self.kind == "gif" and (self.duration_ms or 0) > _STILL_GIF_MS


def upload_kind(upload: Mapping[str, Any]) -> str:
    """image, gif, video, audio or "" — by the record's file_type, else its name."""
    name = str(upload.get("filename") or upload.get("cdn_url") or "")
    kind = upload.get("file_type")
    if not isinstance(kind, str) or kind not in {"image", "video", "audio"}:
        kind = formats.kind_of(name) or ""
    if kind == "image" and formats.extension(name) == "gif":
        return "gif"
    return kind


def upload_name(upload: Mapping[str, Any]) -> str:
    return str(upload.get("filename") or formats.file_name(str(upload.get("cdn_url", ""))) or "media")


def is_called(shown: str, name: str) -> bool:
    """Whether a file shown as ``shown`` is called ``name`` (lower-case): its file name, or that
    without its extension, in any case."""
    shown = shown.lower()
    return name in {shown, shown.rsplit(".", 1)[0]}


def find_upload(uploads: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The upload called ``name`` (its file name, or the name without its extension)."""
    wanted = name.lower()
    for upload in reversed(uploads):  # the latest of equal names
        if is_called(upload_name(upload), wanted):
            found: dict[str, Any] = upload
            return found
    return None


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


class ProbeCache:
    """Probe results per file (path, size, mtime), shared by every edit of one editor."""

    def __init__(self, probe: Prober) -> None:
        self._probe = probe
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int, int], MediaInfo | None] = {}

    def info(self, path: Path) -> MediaInfo | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._known:
                return self._known[key]
        try:
            found: MediaInfo | None = self._probe(path)
        except NemoError as exc:
            log.warning("could not probe %s: %s", path.name, exc)
            found = None
        with self._lock:
            self._known[key] = found
        return found


class Media:
    """The project's uploads and their facts."""

    def __init__(self, uploads: list[dict[str, Any]], resolve: Resolver, cache: ProbeCache) -> None:
        self.uploads = [u for u in uploads if isinstance(u, dict) and isinstance(u.get("cdn_url"), str)]
        self._resolve = resolve
        self._cache = cache
        self._facts: dict[str, Facts] = {}

    def by_src(self, src: str) -> dict[str, Any] | None:
        return next((u for u in self.uploads if u["cdn_url"] == src), None)

    def facts(self, src: str, kind_hint: str = "") -> Facts:
        if src in self._facts:
            return self._facts[src]
        upload = self.by_src(src) or {"cdn_url": src}
        kind = upload_kind(upload) or kind_hint
        width, height = _positive(upload.get("width")), _positive(upload.get("height"))
        seconds = _positive(upload.get("duration"))
        facts = Facts(
            kind,
            int(width) if width else None,
            int(height) if height else None,
            round(seconds * 1000) if seconds else None,
        )
        # Clips and GIFs are always probed: their sound and animation decide what the editor writes.
        if kind in {"video", "gif"} or (kind == "image" and facts.orientation is None):
            facts = self._probed(src, facts)
        self._facts[src] = facts
        return facts

    def audio_ms(self, src: str) -> int | None:
        """A song's length (probed only when asked: few decisions need it)."""
        facts = self.facts(src, "audio")
        if facts.duration_ms is None:
            facts = self._probed(src, facts)
            self._facts[src] = facts
        return facts.duration_ms

    def _probed(self, src: str, facts: Facts) -> Facts:
        path = self._resolve(src)
        info = self._cache.info(path) if path is not None else None
        if info is None:
            return facts
        return Facts(
            facts.kind,
            facts.width or info.width,
            facts.height or info.height,
            round(info.duration_s * 1000) if info.duration_s else facts.duration_ms,
            info.has_audio,
        )
