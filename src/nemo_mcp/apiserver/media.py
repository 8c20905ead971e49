"""Stored media: where uploads live, their unguessable names, copying with a size limit, cheap metadata.

Files live under ``<root>/<session id>/<name>`` and are served at ``/media/<session id>/<name>``.
A stored name starts with 128 random bits, so knowing one URL tells nothing about another; the
client's own name is only a readable hint after it, never a path.

What is read from a stored upload is an :data:`Inspector`'s choice. :func:`describe` needs no
ffmpeg (the emulator's): images get their size from the file header, WAV files their duration
from the RIFF header, everything else answers ``null`` like a service that has not analysed the
file yet. :func:`inspect_decoding` (the offline backend's) decodes the file with ffmpeg, since
headers lie: it refuses what cannot be used (a picture that does not decode, one too large to
decode safely, a "video" with no picture) with :class:`BadMedia`, and measures durations from
the decoded stream, not from what the header claims.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import struct
import subprocess
from collections.abc import AsyncIterator, Callable
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


ARTICLES: dict[MediaKind, str] = {"image": "an", "video": "a", "audio": "an"}


class BadMedia(Exception):
    """A stored upload that cannot be used; the message says why ("its picture data cannot be decoded")."""


# What the server reads from a stored upload: duration (s), width, height, fps, each None when unknown.
# Raises BadMedia. Blocks: called in a worker thread.
Inspector = Callable[[Path, MediaKind], dict[str, Any]]


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


# -- decoding with ffmpeg (the offline backend) ---------------------------------------------------

# A picture is decoded whole into memory: past this it is refused before it is decoded (a small PNG
# can claim 20000x20000 pixels and take gigabytes to open).
MAX_IMAGE_SIDE = 16384
MAX_IMAGE_PIXELS = 100_000_000
# Reading a whole 200 MB file takes seconds; this long means it is damaged or hostile.
DECODE_TIMEOUT_SECONDS = 120.0


def inspect_decoding(path: Path, kind: MediaKind) -> dict[str, Any]:
    """What ffmpeg finds when it opens and decodes the file; :class:`BadMedia` when it cannot be used."""
    from nemo_mcp.errors import NemoError
    from nemo_mcp.local.probe import probe

    try:
        found = probe(path)
    except NemoError:
        raise BadMedia(
            f"it is not {ARTICLES[kind]} {kind} file ffmpeg can read; replace it with one that opens"
        ) from None
    info: dict[str, Any] = {"duration": None, "width": found.width, "height": found.height, "fps": None}
    if kind == "image":
        try:
            header = image_size(path)
        except (OSError, struct.error, ValueError):
            header = None
        width, height = header or (found.width, found.height)
        if not found.has_video or not width or not height:
            raise BadMedia("it is not a picture ffmpeg can read; replace it with one that opens")
        if max(width, height) > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
            raise BadMedia(
                f"it is {width}x{height} pixels, too large to open safely (at most {MAX_IMAGE_SIDE} "
                f"pixels a side and {MAX_IMAGE_PIXELS // 1_000_000} megapixels); scale it down and upload it again"
            )
        _decode(path, ["-map", "0:v:0", "-frames:v", "1", "-xerror"], "its picture data cannot be decoded")
        info["width"], info["height"] = width, height
        return info
    if kind == "video" and not found.has_video:
        if found.has_audio:
            raise BadMedia("it holds sound but no picture; to use it as music, upload it as an audio file (.m4a)")
        raise BadMedia("it holds no picture")
    if kind == "audio" and not found.has_audio:
        raise BadMedia("it holds no sound")
    if kind == "video":
        # The first frame must decode; the length is where the last packet of the picture really is.
        _decode(path, ["-map", "0:v:0", "-frames:v", "1", "-xerror"], "its picture data cannot be decoded")
        seconds = _decode(path, ["-map", "0:v:0", "-c", "copy"], "it cannot be read to its end")
    else:
        seconds = _decode(path, ["-map", "0:a:0"], "its sound cannot be decoded")
    if seconds <= 0:
        raise BadMedia("it holds nothing to play: no picture or sound could be decoded")
    info["duration"] = round(seconds, 3)
    return info


_OUT_TIME = re.compile(r"^out_time_us=(\d+)$", re.MULTILINE)


def _decode(path: Path, args: list[str], failure: str) -> float:
    """Run ffmpeg over the file to a null output; the seconds it got through. ``failure`` starts the error."""
    from nemo_mcp.local.probe import ffmpeg_exe

    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", "error", "-progress", "pipe:1"]
    command += ["-i", str(path), *args, "-f", "null", "-"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=DECODE_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise BadMedia(f"reading it took longer than {DECODE_TIMEOUT_SECONDS:g} s; it may be damaged") from None
    errors = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    if done.returncode != 0:
        reason = errors[-1][:200] if errors else f"ffmpeg exited with {done.returncode}"
        raise BadMedia(f"{failure} ({reason})")
    times = _OUT_TIME.findall(done.stdout.decode("ascii", "replace"))
    return int(times[-1]) / 1e6 if times else 0.0
