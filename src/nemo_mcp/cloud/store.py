"""What nemo-mcp remembers between runs: client id, token, sessions.

One JSON file in the state dir (``state.json``, mode 0600, directory 0700),
read-modified-written under a file lock so that two server processes sharing
the dir (two hosts started together) neither lose writes nor both ask for an
anonymous token. Entries are kept per *scope* (the API base, or ``local``):
a token for one backend means nothing to another.

A corrupt file is set aside and replaced; an unwritable dir makes the store
work in memory with a warning. Neither stops the server from starting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
MAX_SESSIONS = 200


@dataclass(frozen=True)
class CachedToken:
    token: str
    user_id: str | None
    expires_at: float  # unix time

    def __repr__(self) -> str:
        return f"CachedToken(user_id={self.user_id!r}, expires_at={self.expires_at})"

    def valid(self, now: float | None = None, margin: float = 60.0) -> bool:
        return self.expires_at - margin > (time.time() if now is None else now)


@dataclass(frozen=True)
class KnownSession:
    session_id: str
    task_id: str | None
    created_at: float
    language: str | None = None


class StateStore:
    def __init__(self, state_dir: Path, scope: str) -> None:
        self.dir = state_dir
        self.scope = scope
        self.path = state_dir / STATE_FILE
        self.warnings: list[str] = []
        self._memory: dict[str, Any] = {}
        self._writable = self._prepare()
        self._lock = filelock.FileLock(str(state_dir / LOCK_FILE), timeout=10) if self._writable else None

    def _prepare(self) -> bool:
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(OSError):
                os.chmod(self.dir, 0o700)
            probe = self.dir / LOCK_FILE
            probe.touch(exist_ok=True)
            if not os.access(self.dir, os.W_OK):
                raise PermissionError(f"{self.dir} is not writable")
        except OSError as exc:
            self._warn(
                f"State dir {self.dir} is not usable ({exc.strerror or exc}); nemo-mcp keeps its token and "
                "sessions in memory until it stops. Set NEMO_STATE_DIR to a writable directory."
            )
            return False
        return True

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    # -- file access ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock is None:
            yield
            return
        try:
            self._lock.acquire()
        except (filelock.Timeout, OSError) as exc:
            self._warn(f"Could not lock {self.dir / LOCK_FILE} ({exc}); going on without the lock.")
            yield
            return
        try:
            yield
        finally:
            self._lock.release()

    def _read(self) -> dict[str, Any]:
        if not self._writable:
            return json.loads(json.dumps(self._memory)) if self._memory else {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._warn(f"Could not read {self.path} ({exc.strerror or exc}); starting from an empty state.")
            return {}
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError:
            aside = self.path.with_name(f"{STATE_FILE}.corrupt-{int(time.time())}")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            self._warn(f"{self.path} was corrupt; it was moved to {aside.name} and a new one started.")
            return {}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        if not self._writable:
            self._memory = data
            return
        try:
            fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".tmp", dir=self.dir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    os.fchmod(fh.fileno(), 0o600)
                    json.dump(data, fh, indent=1, sort_keys=True)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            self._warn(f"Could not save {self.path} ({exc.strerror or exc}); keeping state in memory.")
            self._writable = False
            self._lock = None
            self._memory = data

    def _update(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        with self._locked():
            data = self._read()
            result = change(data)
            self._write(data)
            return result

    def _scoped(self, data: dict[str, Any]) -> dict[str, Any]:
        scopes = data.setdefault("scopes", {})
        if not isinstance(scopes, dict):
            scopes = data["scopes"] = {}
        entry = scopes.setdefault(self.scope, {})
        if not isinstance(entry, dict):
            entry = scopes[self.scope] = {}
        return entry

    # -- client id ---------------------------------------------------------------------------------

    def client_id(self, fixed: str | None = None) -> str:
        if fixed:
            return fixed

        def ensure(data: dict[str, Any]) -> str:
            value = data.get("client_id")
            if not isinstance(value, str) or not 0 < len(value) <= 64:
                value = data["client_id"] = str(uuid.uuid4())
            return value

        return str(self._update(ensure))

    def new_client_id(self) -> str:
        def renew(data: dict[str, Any]) -> str:
            data["client_id"] = str(uuid.uuid4())
            return str(data["client_id"])

        return str(self._update(renew))

    # -- token -------------------------------------------------------------------------------------

    def cached_token(self) -> CachedToken | None:
        with self._locked():
            entry = self._scoped(self._read())
        return _token_from(entry.get("token"))

    @contextlib.contextmanager
    def token_lock(self) -> Iterator[None]:
        """Held while asking for a token, so that a second process waits and reuses it."""
        with self._locked():
            yield

    def cached_token_unlocked(self) -> CachedToken | None:
        return _token_from(self._scoped(self._read()).get("token"))

    def save_token_unlocked(self, token: CachedToken | None) -> None:
        data = self._read()
        entry = self._scoped(data)
        if token is None:
            entry.pop("token", None)
        else:
            entry["token"] = {"token": token.token, "user_id": token.user_id, "expires_at": token.expires_at}
        self._write(data)

    # -- sessions ----------------------------------------------------------------------------------

    def current_session(self) -> str | None:
        with self._locked():
            value = self._scoped(self._read()).get("current_session")
        return value if isinstance(value, str) else None

    def sessions(self) -> list[KnownSession]:
        with self._locked():
            raw = self._scoped(self._read()).get("sessions")
        return [s for s in map(_session_from, raw if isinstance(raw, list) else []) if s is not None]

    def add_session(self, session: KnownSession, make_current: bool = True) -> None:
        def add(data: dict[str, Any]) -> None:
            entry = self._scoped(data)
            raw = entry.get("sessions")
            items = [s for s in (raw if isinstance(raw, list) else []) if isinstance(s, dict)]
            items = [s for s in items if s.get("session_id") != session.session_id]
            items.append(
                {
                    "session_id": session.session_id,
                    "task_id": session.task_id,
                    "created_at": session.created_at,
                    "language": session.language,
                }
            )
            entry["sessions"] = items[-MAX_SESSIONS:]
            if make_current:
                entry["current_session"] = session.session_id

        self._update(add)

    def forget_session(self, session_id: str) -> None:
        def forget(data: dict[str, Any]) -> None:
            entry = self._scoped(data)
            raw = entry.get("sessions")
            if isinstance(raw, list):
                entry["sessions"] = [s for s in raw if not (isinstance(s, dict) and s.get("session_id") == session_id)]
            if entry.get("current_session") == session_id:
                entry.pop("current_session", None)

        self._update(forget)

    def set_current(self, session_id: str) -> None:
        self._update(lambda data: self._scoped(data).__setitem__("current_session", session_id))


def _token_from(raw: Any) -> CachedToken | None:
    if not isinstance(raw, dict):
        return None
    token, expires = raw.get("token"), raw.get("expires_at")
    if not isinstance(token, str) or not token or isinstance(expires, bool) or not isinstance(expires, (int, float)):
        return None
    user_id = raw.get("user_id")
    return CachedToken(token=token, user_id=user_id if isinstance(user_id, str) else None, expires_at=float(expires))


def _session_from(raw: Any) -> KnownSession | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("session_id"), str):
        return None
    created = raw.get("created_at")
    task = raw.get("task_id")
    lang = raw.get("language")
    return KnownSession(
        session_id=raw["session_id"],
        task_id=task if isinstance(task, str) else None,
        created_at=float(created) if isinstance(created, (int, float)) and not isinstance(created, bool) else 0.0,
        language=lang if isinstance(lang, str) else None,
    )
