"""NemoVideo-style accounts: anonymous and registered users' tokens, and credits that turns spend.

Anonymous tokens follow the service's rule: one valid token per client id at a time (another
request is a 429); a new one, once the old has expired, belongs to the same user. Registered
users' tokens (like ``NEMO_TOKEN``) never expire unless a test says so.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nemo_mcp.apiserver import Refused

ANONYMOUS_CREDITS = 100


@dataclass
class TokenInfo:
    user_id: str
    client_id: str | None  # None for registered users' tokens
    expires_at: datetime | None  # None: never (registered users' tokens)
    expired: bool = False

    def valid(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return not self.expired and (self.expires_at is None or now < self.expires_at)


class TokenAccounts:
    """The emulator's ``Accounts`` policy; state is read by tests from their own thread, hence the lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, TokenInfo] = {}
        self.token_requests = 0
        self.balances: dict[str, int] = {}
        self._client_users: dict[str, str] = {}

    def issue_anonymous_token(self, client_id: str, lifetime: float) -> tuple[str, TokenInfo] | None:
        """A new token for ``client_id``, or None while its previous token is still valid (429)."""
        now = datetime.now(UTC)
        with self.lock:
            if any(t.client_id == client_id and t.valid(now) for t in self.tokens.values()):
                return None
            user_id = self._client_users.get(client_id)
            if user_id is None:
                user_id = f"anon_{secrets.token_hex(8)}"
                self._client_users[client_id] = user_id
                self.balances[user_id] = ANONYMOUS_CREDITS
            token = f"nmv_usr_{secrets.token_urlsafe(24)}"
            info = TokenInfo(user_id, client_id, now + timedelta(seconds=lifetime))
            self.tokens[token] = info
            self.token_requests += 1
            return token, info

    def add_user_token(self, token: str, user_id: str, credits: int) -> None:
        with self.lock:
            self.tokens[token] = TokenInfo(user_id, None, None)
            self.balances[user_id] = credits

    def expire_tokens(self) -> None:
        with self.lock:
            for info in self.tokens.values():
                info.expired = True

    def balance(self, user_id: str) -> int:
        with self.lock:
            return self.balances.get(user_id, 0)

    def set_balance(self, user_id: str, n: int) -> None:
        with self.lock:
            self.balances[user_id] = n

    # -- the Accounts policy ---------------------------------------------------------------------

    def caller(self, bearer: str | None) -> str:
        with self.lock:
            info = self.tokens.get(bearer) if bearer else None
            if info is None or not info.valid():
                raise Refused(200, 1001, "Token expired or invalid")
            return info.user_id

    def check_edit(self, account: str) -> None:
        if self.balance(account) <= 0:
            raise Refused(200, 2001, "Insufficient credits")

    def charge(self, account: str) -> None:
        with self.lock:
            self.balances[account] = max(0, self.balances.get(account, 0) - 1)

    def credits(self, account: str) -> dict[str, Any]:
        available = self.balance(account)
        return {"available": available, "frozen": 0, "total": available}
