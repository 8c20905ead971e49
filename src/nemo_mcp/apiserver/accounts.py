"""Who is calling, whether they may edit, and what a turn costs: the ``Accounts`` policy.

The offline backend has one account and a per-install secret (``SecretAccounts``): editing is
free. The cloud emulator plugs in NemoVideo-style tokens and credits instead (``nemo_mcp.testing``).
"""

from __future__ import annotations

import hmac
from typing import Any, Protocol

from nemo_mcp.apiserver.answers import Refused

# The offline balance: shown by `nemo-mcp credits`, never charged. A positive number, so that
# checks reading "available > 0" (doctor) see an account that may edit.
OFFLINE_CREDITS = 1000


class Accounts(Protocol):
    def caller(self, bearer: str | None) -> str:
        """The account a request's bearer token names; raises :class:`Refused` when there is none."""
        ...

    def check_edit(self, account: str) -> None:
        """Raises :class:`Refused` when the account may not start an instruction (no credits)."""
        ...

    def charge(self, account: str) -> None:
        """Called once after a turn whose edit landed."""
        ...

    def credits(self, account: str) -> dict[str, Any]:
        """The credits endpoint's ``data``."""
        ...


class SecretAccounts:
    """One local account, reached with the install's secret as the bearer token; editing is free."""

    ACCOUNT = "local"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def caller(self, bearer: str | None) -> str:
        if bearer is None or not hmac.compare_digest(bearer.encode("utf-8"), self._secret.encode("utf-8")):
            raise Refused(
                401, 401, "This local backend answers only its own client: send its secret as the bearer token."
            )
        return self.ACCOUNT

    def check_edit(self, account: str) -> None:
        return None

    def charge(self, account: str) -> None:
        return None

    def credits(self, account: str) -> dict[str, Any]:
        return {
            "available": OFFLINE_CREDITS,
            "frozen": 0,
            "total": OFFLINE_CREDITS,
            "free": True,
            "message": "Offline backend: editing and exports are free; this balance never goes down.",
        }
