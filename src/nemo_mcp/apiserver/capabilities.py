"""Capability URLs: a file URL that carries its own permission, ``?sig=<HMAC-SHA256(key, path)>``.

A video player (a browser's ``<video>``, a desktop player) fetches a URL without our bearer
header; a signed URL lets exactly that one file be fetched, by whoever holds the URL, and
nothing else. The signature covers the path only, not host or port: processes sharing one state
dir serve the same files on different ports.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote


class Signer:
    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")

    def signature(self, path: str) -> str:
        return hmac.new(self._key, path.encode("utf-8"), hashlib.sha256).hexdigest()

    def signed(self, path: str) -> str:
        """``path?sig=...``; ``path`` is the decoded URL path, as the server will see it."""
        return f"{quote(path)}?sig={self.signature(path)}"

    def valid(self, path: str, sig: str | None) -> bool:
        return sig is not None and hmac.compare_digest(self.signature(path), sig)
