"""Copying an exported video from the network to disk, in a worker thread.

httpx's async stream tops out near half of curl's speed (``bench/``: 64 KiB reads,
each through the event loop and the HTTP parser); a blocking reader copying the
socket into the file with 1 MiB ``readinto`` calls keeps up with curl and leaves
the event loop free for progress. The standard library's opener honours the
same proxy variables as httpx; our redirect handler never carries the token to
another origin.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import urlsplit

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
