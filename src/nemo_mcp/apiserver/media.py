"""Stored media: where uploads live, their unguessable names, copying with a size limit, cheap metadata.

Files live under ``<root>/<session id>/<name>`` and are served at ``/media/<session id>/<name>``.
A stored name starts with 128 random bits, so knowing one URL tells nothing about another; the
client's own name is only a readable hint after it, never a path.

No video is probed here (no ffmpeg needed): images get their size from the file header, WAV
files their duration from the RIFF header, everything else answers ``null`` like a service that
has not analysed the file yet.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import anyio

from nemo_mcp.draft.media import MediaKind

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# A path component this module may have written: no separators, no leading dot.
SAFE_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class TooLarge(Exception):
    """A file went over the size limit while it was being stored."""


def client_basename(name: str) -> str:
    """The last component of a client-given name, whatever separator the client's OS uses."""
    return re.split(r"[\\/]", name)[-1].strip() or "file"


def stored_name(client_name: str) -> str:
    """An unguessable, collision-free name of safe characters that still reads like the client's."""
    base = _UNSAFE.sub("_", client_basename(client_name)).strip("._") or "file"
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem[:60] or "file"
    suffix = f".{ext.lower()[:10]}" if ext else ""
    return f"{secrets.token_hex(16)}-{stem}{suffix}"


class MediaStore:
    """The folder of uploaded files, shared by every process serving the same state dir."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def new_path(self, session_id: str, client_name: str) -> Path:
        """Where a new upload for the session goes (its folder is created); blocks: a worker thread."""
        folder = self.root / session_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder / stored_name(client_name)

    def url_path(self, path: Path) -> str:
        """The URL path a stored file is served at."""
        return f"/media/{path.parent.name}/{path.name}"

    def path_for(self, url: str) -> Path | None:
        """The stored file behind a media URL this server issued, whatever host, port or query it names.

        Host and port are ignored on purpose: processes sharing the state dir serve the same
        files on different ports, and a draft keeps the URL of whichever one stored it.
        """
        parts = unquote(urlsplit(url).path).split("/")
        if len(parts) != 4 or parts[:2] != ["", "media"]:
            return None
        session_id, name = parts[2], parts[3]
        if not SAFE_COMPONENT.fullmatch(session_id) or not SAFE_COMPONENT.fullmatch(name):
            return None
        path = self.root / session_id / name
        return path if path.is_file() else None


def copy_limited(source: BinaryIO, dest: Path, limit: int) -> str:
    """Copy a stream to ``dest`` in chunks; returns its sha256. Raises TooLarge past ``limit``.

    Runs in a worker thread: uploads can be hundreds of megabytes and must not sit in memory.
    """
    digest = hashlib.sha256()
    size = 0
    try:
        with dest.open("wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


async def save_limited(chunks: AsyncIterator[bytes], dest: Path, limit: int) -> str:
    """Write a byte stream (a fetched URL) to ``dest``; returns its sha256. Raises TooLarge past ``limit``."""
    digest = hashlib.sha256()
    size = 0
    try:
        async with await anyio.open_file(dest, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge
                digest.update(chunk)
                await out.write(chunk)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.Path(dest).unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def describe(path: Path, kind: MediaKind) -> dict[str, Any]:
    """``duration`` (s), ``width``, ``height``, ``fps`` as far as headers tell; ``None`` otherwise."""
    info: dict[str, Any] = {"duration": None, "width": None, "height": None, "fps": None}
    try:
        if kind == "image":
            size = image_size(path)
            if size:
                info["width"], info["height"] = size
        elif path.suffix.lower() == ".wav":
            info["duration"] = wav_duration(path)
    except (OSError, struct.error, ValueError):
        pass  # a damaged header just means "unknown", as for any unanalysed file
    return info


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF, JPEG or WebP header."""
    with path.open("rb") as f:
        head = f.read(64)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return int(w), int(h)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", head[6:10])
            return int(w), int(h)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head)
        if head[:2] == b"\xff\xd8":
            f.seek(2)
            return _jpeg_size(f)
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and head[20] == 0x2F:
        b0, b1, b2, b3 = head[21:25]
        width = 1 + (((b1 & 0x3F) << 8) | b0)
        height = 1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
        return width, height
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
        return width, height
    return None


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(f: BinaryIO) -> tuple[int, int] | None:
    while True:
        byte = f.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes
            marker = f.read(1)
        if not marker:
            return None
        code = marker[0]
        if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
            continue  # markers without a length
        length_bytes = f.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack(">H", length_bytes)
        if code in _JPEG_SOF:
            data = f.read(5)
            if len(data) < 5:
                return None
            h, w = struct.unpack(">HH", data[1:5])
            return int(w), int(h)
        f.seek(length - 2, 1)


def wav_duration(path: Path) -> float | None:
    """Seconds of audio in a RIFF/WAVE file, from its ``fmt `` byte rate and ``data`` size."""
    with path.open("rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        while header := f.read(8):
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"fmt ":
                fmt = f.read(size + (size & 1))
                byte_rate = struct.unpack("<I", fmt[8:12])[0]
            elif chunk_id == b"data":
                return round(size / byte_rate, 3) if byte_rate else None
            else:
                f.seek(size + (size & 1), 1)
    return None
