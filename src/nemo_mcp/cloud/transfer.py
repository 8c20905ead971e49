"""Moving bytes between this computer and the API: streamed uploads, downloads, placing files.

Uploads stream each file from disk in chunks (memory stays flat whatever the size), counting
the bytes as httpx sends them. Downloads copy the socket to disk in a worker thread: httpx's
async stream tops out near half of curl's speed (``bench/``: 64 KiB reads, each through the
event loop and the HTTP parser), while a blocking reader with 1 MiB ``readinto`` calls keeps up
with curl and leaves the event loop free for progress. The standard library's opener honours
the same proxy variables as httpx; our redirect handler never carries the token to another
origin. A download lands under its final name only when complete, without overwriting anything.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import anyio

# (done, total) in bytes.
BytesProgress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class UploadFile:
    """A local file to send, already admitted (``core.admission``), by its resolved path."""

    path: Path
    name: str
    size: int


READ_SIZE = 1 << 20
REPORT_SECONDS = 0.1


class StatusError(Exception):
    """The server answered with something other than 200."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body = status, body


class NetworkError(Exception):
    """The connection failed or broke."""


class WriteError(Exception):
    """The file could not be written (disk full, permissions)."""

    def __init__(self, cause: OSError) -> None:
        super().__init__(cause.strerror or str(cause))


class Cancelled(Exception):
    pass


class _SameOriginAuth(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: object, code: int, msg: str, headers: object, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]
        if new is not None and urlsplit(newurl)[:2] != urlsplit(req.full_url)[:2]:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameOriginAuth())


def fetch(
    url: str,
    headers: dict[str, str],
    out: BinaryIO,
    on_bytes: Callable[[int, int | None], None],
    cancelled: threading.Event,
    timeout: float,
) -> tuple[int, int | None]:
    """Copy ``url`` into ``out`` and make it durable; returns (bytes written, Content-Length or None).

    Blocks: run it in a worker thread. ``on_bytes`` is called from this thread, at
    most every ``REPORT_SECONDS`` and once at the end.
    """
    request = urllib.request.Request(url, headers=headers)
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        body = exc.read(64 * 1024).decode("utf-8", "replace")
        raise StatusError(exc.code, body) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise NetworkError(str(exc)) from None
    with response:
        length = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding")
        total = int(length) if length and length.isdigit() and not encoded else None
        view = memoryview(bytearray(READ_SIZE))
        done, last = 0, 0.0
        while True:
            if cancelled.is_set():
                raise Cancelled
            try:
                n = response.readinto(view)
            except (http.client.HTTPException, OSError) as exc:
                raise NetworkError(str(exc)) from None
            if not n:
                break
            try:
                out.write(view[:n])
            except OSError as exc:
                raise WriteError(exc) from None
            done += n
            now = time.monotonic()
            if now - last >= REPORT_SECONDS:
                last = now
                on_bytes(done, total)
    try:
        out.flush()
        # Durable before it gets its final name: a crash must never leave a truncated video there.
        os.fsync(out.fileno())
    except OSError as exc:
        raise WriteError(exc) from None
    on_bytes(done, total)
    return done, total


# --- downloads in a worker thread ------------------------------------------------------------


async def fetch_in_thread(
    url: str, headers: dict[str, str], out: BinaryIO, on_bytes: BytesProgress | None, read_timeout: float
) -> tuple[int, int | None]:
    """:func:`fetch` in a worker thread; progress hops back to the event loop."""
    cancelled = threading.Event()

    def report(done: int, total: int | None) -> None:
        if on_bytes is not None and not cancelled.is_set():
            anyio.from_thread.run_sync(on_bytes, done, total)

    def work() -> tuple[int, int | None]:
        return fetch(url, headers, out, report, cancelled, timeout=read_timeout)

    try:
        # Abandoned on cancel: the caller returns at once, and the thread stops at its next read.
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    finally:
        cancelled.set()


# --- uploads ------------------------------------------------------------------------------

_CHUNK = 256 * 1024


class ByteCounter:
    """Bytes sent so far across the files of one request (reset when httpx retries the body)."""

    def __init__(self, total: int, on_bytes: BytesProgress | None) -> None:
        self.total = total
        self.done = 0
        self.on_bytes = on_bytes

    def reset(self) -> None:
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n
        if self.on_bytes:
            self.on_bytes(self.done, self.total)


class CountingReader:
    """A file httpx streams in chunks, counting the bytes as they go out."""

    def __init__(self, path: Path, counter: ByteCounter) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by open_readers
        self._counter = counter

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(_CHUNK if size is None or size < 0 else max(size, _CHUNK))
        self._counter.add(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def fileno(self) -> int:
        return self._fh.fileno()

    def close(self) -> None:
        self._fh.close()


@contextlib.contextmanager
def open_readers(counter: ByteCounter) -> Iterator[Callable[[Path], CountingReader]]:
    """A factory of counting readers, every one of them closed when the block ends."""
    opened: list[CountingReader] = []

    def reader(path: Path) -> CountingReader:
        opened.append(CountingReader(path, counter))
        return opened[-1]

    try:
        yield reader
    finally:
        for each in opened:
            each.close()


# --- placing files ---------------------------------------------------------------------------

PART_PREFIX, PART_SUFFIX = ".nemo-", ".part"
# A download this old was left by a killed process, not one still running.
STALE_PART_SECONDS = 6 * 3600


def sweep_stale_parts(directory: Path) -> None:
    now = time.time()
    for part in directory.glob(f"{PART_PREFIX}*{PART_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()


# What Windows, macOS and Linux file systems refuse in a name, besides control characters.
_REFUSED = re.compile(r'[<>:"/\\|?*]+')
_SPACES = re.compile(r"\s+")
# Names Windows reserves for devices, whatever the extension ("CON.mp4" is the console).
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")}
)
MAX_NAME_BYTES = 255  # a name's limit on ext4, APFS, NTFS (NTFS counts UTF-16 units: never more than this)
_COPY_ROOM = len(" (999)")  # what place_file may add to a name already taken


def safe_filename(stem: str, suffix: str = ".mp4", tail: str = "") -> str:
    """``stem`` + ``tail`` + ``suffix`` as a name any common file system takes, in its directory, not hidden.

    The stem keeps its letters in any script (NFC), losing only what file systems refuse: path
    separators, ``<>:"|?*``, control and invisible formatting characters, leading and trailing
    dots and spaces. It is cut by UTF-8 bytes *before* ``tail`` (a render id, say) is added, so
    the whole name fits in 255 bytes (with room for a " (2)") and the tail is never cut off.
    """
    text = unicodedata.normalize("NFC", stem)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn") or c in "\t\n")
    text = _SPACES.sub(" ", _REFUSED.sub("-", text))
    budget = MAX_NAME_BYTES - _COPY_ROOM - len((tail + suffix).encode("utf-8"))
    clean = text.encode("utf-8")[: max(budget, 0)].decode("utf-8", "ignore").strip(" .-") or "nemovideo"
    if (clean + tail).split(".")[0].rstrip(" ").upper() in _RESERVED:
        clean += "_"
    return f"{clean}{tail}{suffix}"


class PlaceError(Exception):
    """No free name was left for the file."""


def place_file(tmp: Path, directory: Path, filename: str) -> Path:
    """Give ``tmp`` its final name in ``directory`` without overwriting anything."""
    suffix = Path(filename).suffix
    name = safe_filename(Path(filename).stem, suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ".mp4")
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 1000):
        target = directory / (name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            os.link(tmp, target)  # atomic, and fails instead of replacing
        except FileExistsError:
            continue
        except OSError:
            # File systems without hard links: rename, after checking the name is free.
            if target.exists():
                continue
            os.replace(tmp, target)
        return target
    raise PlaceError(f"Too many files named {name} in {directory}; clean up and export again.")
