"""Which token a request carries, and getting a new one.

``NEMO_TOKEN`` wins and is never replaced: when the API refuses it, only the
user can fix it. Otherwise an anonymous token is requested with the client id
and cached in the state dir until it expires; the endpoint allows about one
token per client id per week, so a valid cached token is never replaced
unless the API itself refused it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import anyio

from nemo_mcp.cloud import api
from nemo_mcp.cloud.store import CachedToken, StateStore
from nemo_mcp.config import Settings
from nemo_mcp.errors import ConfigError, InvalidUserToken, MissingClientId, RateLimited

DEFAULT_LIFETIME = 7 * 24 * 3600.0

# (client id) -> the anonymous-token answer; raises the API's errors.
RequestToken = Callable[[str], Awaitable[api.AnonymousToken]]


class TokenProvider:
    def __init__(self, settings: Settings, store: StateStore) -> None:
        self._settings = settings
        self._store = store
        self._lock = anyio.Lock()
        self._current: CachedToken | None = None

    def __repr__(self) -> str:
        return f"TokenProvider(user_token={self.user_token})"

    @property
    def user_token(self) -> bool:
        return self._settings.token is not None

    @property
    def user_id(self) -> str | None:
        return self._current.user_id if self._current else None

    async def token(self, request: RequestToken) -> str:
        # The local backend takes its own secret and knows no NemoVideo token, not even NEMO_TOKEN.
        if self._settings.backend_secret:
            return self._settings.backend_secret
        if self._settings.token:
            return self._settings.token
        current = self._current
        if current is not None and current.valid():
            return current.token
        return await self._refresh(request, refused=None)

    async def renew(self, refused: str, request: RequestToken) -> str:
        """The API refused ``refused`` (1001): get another, unless someone already did."""
        if self._settings.backend_secret:
            raise ConfigError("The local backend refused its own secret; restart nemo-mcp.")
        if self._settings.token:
            raise InvalidUserToken()
        return await self._refresh(request, refused=refused)

    async def _refresh(self, request: RequestToken, refused: str | None) -> str:
        async with self._lock:
            current = self._current
            if current is not None and current.valid() and current.token != refused:
                return current.token
            with self._store.token_lock():
                # Another process sharing the state dir may have fetched one meanwhile.
                cached = self._store.cached_token_unlocked()
                if cached is not None and cached.valid() and cached.token != refused:
                    self._current = cached
                    return cached.token
                fresh = await self._request_anonymous(request)
                self._store.save_token_unlocked(fresh)
            self._current = fresh
            return fresh.token

    async def _request_anonymous(self, request: RequestToken) -> CachedToken:
        client_id = self._store.client_id(self._settings.client_id)
        try:
            answer = await request(client_id)
        except MissingClientId:
            answer = await request(self._store.new_client_id())
        except RateLimited:
            raise RateLimited(
                "NemoVideo limits free anonymous tokens (about one per week per machine) and refused a new "
                "one. Try again later, or set NEMO_TOKEN to your own token from nemovideo.com."
            ) from None
        return CachedToken(token=answer.token, user_id=answer.user_id, expires_at=_expiry(answer.expires_at))


def _expiry(expires_at: str | None) -> float:
    if expires_at:
        try:
            return datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time() + DEFAULT_LIFETIME


_TOKEN_TEXT = re.compile(r"(nmv_[A-Za-z]+_)[A-Za-z0-9_\-.]+|(Bearer\s+)\S+")


def redact(text: str) -> str:
    """``text`` with anything that looks like a token masked."""
    return _TOKEN_TEXT.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class RedactingFilter(logging.Filter):
    """Masks tokens in every record a handler emits, whoever logged it and at any level."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = redact(record.getMessage())
        for secret in self._secrets:
            message = message.replace(secret, "***")
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = message, None
        return True
