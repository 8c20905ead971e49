"""Which token a request carries, and getting a new one.

Offline, the local backend's own per-install key is the bearer and nothing else is ever sent.
On the cloud, ``NEMO_TOKEN`` wins and is never replaced: when the API refuses it, only the user
can fix it. Otherwise an anonymous token is requested with the client id and cached in the state
dir until it expires; the endpoint allows about one token per client id per week, so a valid
cached token is never replaced unless the API itself refused it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

import anyio

from nemo_mcp.cloud import api
from nemo_mcp.cloud.store import CachedToken, StateStore
from nemo_mcp.config import Settings
from nemo_mcp.errors import InvalidUserToken, MissingClientId, ProtocolError, RateLimited

DEFAULT_LIFETIME = 7 * 24 * 3600.0
# The longest one process may take to fetch a token before another may try; and how often the
# other looks whether it arrived.
LEASE_SECONDS = 30.0
LEASE_POLL_SECONDS = 0.05

# (client id) -> the anonymous-token answer; raises the API's errors.
RequestToken = Callable[[str], Awaitable[api.AnonymousToken]]


class TokenProvider:
    """The bearer token of every request: the user's, the local backend's, or an anonymous one."""

    def __init__(self, settings: Settings, store: StateStore) -> None:
        self._settings = settings
        self._store = store
        self._lock = anyio.Lock()
        self._current: CachedToken | None = None
        # Who holds the cross-process lease while fetching an anonymous token.
        self._holder = uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"TokenProvider(kind={self.kind!r})"

    @property
    def kind(self) -> Literal["local", "user", "anonymous"]:
        if self._settings.backend_secret is not None:
            return "local"
        return "user" if self._settings.token is not None else "anonymous"

    @property
    def user_token(self) -> bool:
        return self.kind == "user"

    @property
    def user_id(self) -> str | None:
        return self._current.user_id if self._current else None

    async def token(self, request: RequestToken) -> str:
        fixed = self._settings.backend_secret or self._settings.token
        if fixed:
            return fixed
        current = self._current
        if current is not None and current.valid():
            return current.token
        return await self._refresh(request, refused=None)

    async def renew(self, refused: str, request: RequestToken) -> str:
        """The API refused ``refused`` (1001): get another, unless someone already did."""
        if self.kind == "user":
            raise InvalidUserToken()
        if self.kind == "local":
            raise ProtocolError("The local backend refused nemo-mcp's own key; restart nemo-mcp.")
        return await self._refresh(request, refused=refused)

    async def _refresh(self, request: RequestToken, refused: str | None) -> str:
        async with self._lock:
            current = self._current
            if current is not None and current.valid() and current.token != refused:
                return current.token
            # Another process sharing the state dir may be fetching one: wait for it rather than ask twice.
            while not await self._store.claim_token_lease(self._holder, LEASE_SECONDS):
                cached = await self._store.cached_token()
                if cached is not None and cached.valid() and cached.token != refused:
                    self._current = cached
                    return cached.token
                await anyio.sleep(LEASE_POLL_SECONDS)
            try:
                cached = await self._store.cached_token()
                if cached is not None and cached.valid() and cached.token != refused:
                    self._current = cached
                    return cached.token
                fresh = await self._request_anonymous(request)
                await self._store.save_token(fresh)
            finally:
                with anyio.CancelScope(shield=True):
                    await self._store.release_token_lease(self._holder)
            self._current = fresh
            return fresh.token

    async def _request_anonymous(self, request: RequestToken) -> CachedToken:
        client_id = await self._store.client_id(self._settings.client_id)
        try:
            answer = await request(client_id)
        except MissingClientId:
            answer = await request(await self._store.new_client_id())
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
