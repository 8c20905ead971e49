"""Deciding whether a path or URL may be uploaded, before anything is sent.

Paths come from a model that may have read a malicious page, so a file is
accepted only when it is a regular file (after resolving symlinks), inside
the allowed directories when those are set, within the size limit, with an accepted
extension *and* content whose magic bytes say it is that kind of media: a
private key renamed ``photo.png`` is refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

from nemo_mcp.cloud.transfer import UploadFile
from nemo_mcp.draft.media import (
    ACCEPTED_FORMATS,
    FORMATS,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_TEXT,
    content_matches,
    extension,
)
from nemo_mcp.errors import InvalidInput

MAX_URL_LENGTH = 2048


def check_file(raw: str, allowed_dirs: tuple[Path, ...] = ()) -> UploadFile:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("An empty path was given; pass the full path of an image, video or audio file.")
    if "\x00" in raw or len(raw) > 4096:
        raise InvalidInput("That path is not a valid file path.")
    given = Path(raw).expanduser()
    shown = _short(raw)
    try:
        resolved = given.resolve(strict=True)
    except FileNotFoundError:
        raise InvalidInput(
            f"No file at {shown}. Check the path; it must be absolute or relative to the server."
        ) from None
    except (OSError, RuntimeError):
        raise InvalidInput(f"Cannot read {shown}.") from None
    if allowed_dirs and not any(_inside(resolved, d) for d in allowed_dirs):
        allowed = ", ".join(str(d) for d in allowed_dirs)
        raise InvalidInput(f"{shown} is outside the directories nemo-mcp may read ({allowed}).")
    try:
        info = os.stat(resolved)
    except OSError:
        raise InvalidInput(f"Cannot read {shown}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput(f"{shown} is a directory; pass the media files inside it one by one.")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{shown} is not a regular file (a device, pipe or socket cannot be uploaded).")
    ext = extension(resolved.name) or extension(given.name)
    kind = FORMATS[ext][0] if ext in FORMATS else None
    if kind is None:
        raise InvalidInput(f"{shown} is not a supported media file. Accepted formats: {ACCEPTED_FORMATS}.")
    if info.st_size > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            f"{shown} is {info.st_size / 1e6:.0f} MB; NemoVideo accepts files up to {MAX_UPLOAD_TEXT}. "
            "Compress or trim it first."
        )
    if info.st_size == 0:
        raise InvalidInput(f"{shown} is empty.")
    try:
        with open(resolved, "rb") as fh:
            head = fh.read(16)
    except OSError:
        raise InvalidInput(f"Cannot read {shown}.") from None
    if not content_matches(ext, head):
        raise InvalidInput(
            f"{shown} is named .{ext} but its content is not a {kind} file; only real media files are uploaded."
        )
    return UploadFile(path=resolved, name=given.name, size=info.st_size)


def check_url(raw: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("An empty URL was given.")
    url = raw.strip()
    if len(url) > MAX_URL_LENGTH or any(ch in url for ch in "\x00\r\n\t "):
        raise InvalidInput(f"{_short(url)} is not a valid URL.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"{_short(url)} is not an http(s) URL; only http:// and https:// links can be uploaded by URL. "
            "For a file on this computer, pass it in `paths`."
        )
    if parts.username or parts.password:
        raise InvalidInput(f"{_short(url)} carries credentials; pass a URL without user:password@.")
    return url


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.relative_to(directory.expanduser().resolve())
    except (ValueError, OSError):
        return False
    return True


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
