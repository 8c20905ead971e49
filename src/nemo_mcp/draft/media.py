"""The media a draft can hold: kinds, file types, MIME types, content sniffing and the size limit.

NemoVideo accepts video mp4 mov avi webm mkv, image jpg/jpeg png gif webp and audio mp3 wav
m4a aac, up to 200 MB a file; every check, message and server here reads these tables.
"""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import urlsplit

MediaKind = Literal["image", "video", "audio"]

# Extension → (kind, MIME type), in the order the formats are listed to users.
FORMATS: Final[dict[str, tuple[MediaKind, str]]] = {
    "mp4": ("video", "video/mp4"),
    "mov": ("video", "video/quicktime"),
    "avi": ("video", "video/x-msvideo"),
    "webm": ("video", "video/webm"),
    "mkv": ("video", "video/x-matroska"),
    "jpg": ("image", "image/jpeg"),
    "jpeg": ("image", "image/jpeg"),
    "png": ("image", "image/png"),
    "gif": ("image", "image/gif"),
    "webp": ("image", "image/webp"),
    "mp3": ("audio", "audio/mpeg"),
    "wav": ("audio", "audio/wav"),
    "m4a": ("audio", "audio/mp4"),
    "aac": ("audio", "audio/aac"),
}

MAX_UPLOAD_BYTES: Final = 200 * 1024 * 1024
MAX_UPLOAD_TEXT: Final = "200 MB"
# One upload call: more files than this are split into several calls.
MAX_FILES: Final = 20


def _accepted() -> str:
    groups: dict[str, list[str]] = {}
    for ext, (kind, _) in FORMATS.items():
        groups.setdefault(kind, []).append(ext)
    return "; ".join(f"{kind}: {', '.join(exts)}" for kind, exts in groups.items())


ACCEPTED_FORMATS: Final = _accepted()


def file_name(name: str) -> str:
    """The last component of a file path or URL (a query such as a URL's signature left out)."""
    path = urlsplit(name).path if "://" in name else name
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def extension(name: str) -> str:
    """The lower-case extension of a file name, path or URL, without the dot ("" for none)."""
    stem, dot, ext = file_name(name).rpartition(".")
    return ext.lower() if dot and stem else ""


def kind_of(name: str) -> MediaKind | None:
    """The media kind a file name announces by its extension (what the service accepts)."""
    found = FORMATS.get(extension(name))
    return found[0] if found else None


def mime_type(name: str) -> str:
    found = FORMATS.get(extension(name))
    return found[1] if found else "application/octet-stream"


def sniff(head: bytes) -> str | None:
    """The container a file's first bytes announce ("png", "isobmff", ...), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # mkv and webm
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "isobmff"  # mp4, mov, m4a
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mpeg-audio"  # mp3, and ADTS aac (0xFFF…)
    return None


# The containers a file with this extension may really be.
_CONTAINERS: Final[dict[str, frozenset[str]]] = {
    "png": frozenset({"png"}),
    "jpg": frozenset({"jpeg"}),
    "jpeg": frozenset({"jpeg"}),
    "gif": frozenset({"gif"}),
    # Many "webp"/"png" files on the web are really another image format; any image will do.
    "webp": frozenset({"webp", "png", "jpeg", "gif"}),
    "mp4": frozenset({"isobmff"}),
    "mov": frozenset({"isobmff"}),
    "m4a": frozenset({"isobmff"}),
    "avi": frozenset({"avi"}),
    "mkv": frozenset({"matroska"}),
    "webm": frozenset({"matroska"}),
    "wav": frozenset({"wav"}),
    "mp3": frozenset({"mpeg-audio"}),
    "aac": frozenset({"mpeg-audio", "isobmff"}),
}


def content_matches(ext: str, head: bytes) -> bool:
    """Whether a file's first bytes are media of the kind its extension names."""
    return sniff(head) in _CONTAINERS.get(ext, frozenset())


# Container → the extension a file of unknown name is stored under (URL uploads).
SNIFFED_EXTENSIONS: Final[dict[str, str]] = {
    "png": "png",
    "jpeg": "jpg",
    "gif": "gif",
    "webp": "webp",
    "wav": "wav",
    "avi": "avi",
    "matroska": "mkv",
    "isobmff": "mp4",
    "mpeg-audio": "mp3",
}
