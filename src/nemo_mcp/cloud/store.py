"""What nemo-mcp remembers between runs: client id, token, known projects and the current one.

Several processes share the state dir (two hosts started together, the human CLI beside a
running server), so the state is a SQLite database (``state.db``, WAL, mode 0600 in a 0700
dir), one transaction per change: nobody's write is lost and nobody reads half of one.
Entries are kept per *scope* (the API base URL, or ``local``): a token for one backend means
nothing to another. The anonymous token is fetched by one process at a time through a lease
row, so two servers starting together ask the API for one token, not two.

Every call runs in a worker thread (``anyio.to_thread``): SQLite may wait on another process's
lock, and the event loop must not. A database that cannot be read is moved aside, a file that
is not a regular file is never opened, and an unwritable dir makes the store work in memory;
each case adds a line to ``warnings`` (shown by ``nemo-mcp doctor``) and none of them stops
the server. ``state.json`` of earlier versions is imported once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard, TypeVar

import anyio

from nemo_mcp.aside import move_aside

log = logging.getLogger(__name__)

DB_FILE = "state.db"
LEGACY_FILE = "state.json"
MAX_SESSIONS = 200
BUSY_TIMEOUT_MS = 10_000
SCHEMA_VERSION = 2

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    scope TEXT PRIMARY KEY, token TEXT NOT NULL, user_id TEXT, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS token_leases (scope TEXT PRIMARY KEY, holder TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    scope TEXT NOT NULL, session_id TEXT NOT NULL, task_id TEXT, created_at REAL NOT NULL, language TEXT,
    PRIMARY KEY (scope, session_id));
CREATE TABLE IF NOT EXISTS current (scope TEXT PRIMARY KEY, session_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exports (
    scope TEXT NOT NULL, session_id TEXT NOT NULL, draft_sha256 TEXT NOT NULL, path TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (scope, session_id));
"""


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
class SavedExport:
    """The latest MP4 saved for a project, and which draft it shows (by the hash of its exact text)."""

    path: Path
    draft_sha256: str


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
        self.path = state_dir / DB_FILE
        self.warnings: list[str] = []
        self._lock = threading.Lock()  # one connection, used by one worker thread at a time
        self._db: sqlite3.Connection | None = None  # opened by the first call, in a worker thread

    def __repr__(self) -> str:
        return f"StateStore(path={str(self.path)!r}, scope={self.scope!r})"

    # -- opening ----------------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    def _open(self) -> sqlite3.Connection:
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(OSError):
                os.chmod(self.dir, 0o700)
            if not os.access(self.dir, os.W_OK):
                raise PermissionError(f"{self.dir} is not writable")
        except OSError as exc:
            return self._in_memory(f"State dir {self.dir} is not usable ({exc.strerror or exc})")
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            return self._in_memory(f"Cannot read {self.path} ({exc.strerror or exc})")
        if info is not None and not stat.S_ISREG(info.st_mode):
            return self._in_memory(f"{self.path} is not a regular file, so nemo-mcp will not open it")
        fresh = info is None
        if fresh:
            # Created 0600 before SQLite opens it (its -wal and -shm files copy the mode): the token
            # must never be readable by other users, not even for an instant.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        try:
            db = self._connect(str(self.path))
        except sqlite3.DatabaseError as exc:
            aside = move_aside(self.path, tolerant=True).name
            self._warn(f"{self.path} could not be read ({exc}); it was moved to {aside} and a new one started.")
            fresh = True
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                db = self._connect(str(self.path))
            except (OSError, sqlite3.Error) as again:
                return self._in_memory(f"Cannot create {self.path} ({again})")
        except sqlite3.Error as exc:
            return self._in_memory(f"Cannot open {self.path} ({exc})")
        with contextlib.suppress(OSError):
            os.chmod(self.path, 0o600)
        if fresh:
            self._import_legacy(db)
        return db

    def _in_memory(self, why: str) -> sqlite3.Connection:
        self._warn(
            f"{why}; nemo-mcp keeps its token and projects in memory until it stops. "
            "Set NEMO_STATE_DIR to a writable directory."
        )
        return self._connect(":memory:")

    @staticmethod
    def _connect(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            if target != ":memory:":
                db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _import_legacy(self, db: sqlite3.Connection) -> None:
        """Bring over what ``state.json`` of earlier versions knew; what cannot be read is set aside."""
        legacy = self.dir / LEGACY_FILE
        try:
            info = os.stat(legacy)
        except OSError:
            return
        if not stat.S_ISREG(info.st_mode):
            self._warn(f"{legacy} is not a regular file; it was left alone and not read.")
            return
        try:
            data = json.loads(legacy.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (OSError, ValueError, UnicodeDecodeError):
            aside = move_aside(legacy, tolerant=True).name
            self._warn(f"{legacy} was corrupt; it was moved to {aside} and a new state was started.")
            return
        skipped = _import_json(db, data)
        if skipped:
            self._warn(f"{legacy}: {skipped} entries of the wrong shape were not imported.")
        with contextlib.suppress(OSError):
            os.replace(legacy, legacy.with_name(f"{LEGACY_FILE}.migrated"))

    # -- access ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, mode: Literal["DEFERRED", "IMMEDIATE"]) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db is None:
                self._db = self._open()
            with _begun(self._db, mode) as db:
                yield db

    async def _run(self, work: Callable[[sqlite3.Connection], T], mode: Literal["DEFERRED", "IMMEDIATE"]) -> T:
        def in_thread() -> T:
            with self._transaction(mode) as db:
                return work(db)

        return await anyio.to_thread.run_sync(in_thread)

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        # WAL readers never wait for a writer; the token is polled every 50 ms while another process fetches it.
        return await self._run(work, "DEFERRED")

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        # Taken at BEGIN: a read that turned into a write would fail at once if another process wrote meanwhile.
        return await self._run(work, "IMMEDIATE")

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- client id ---------------------------------------------------------------------------------

    async def client_id(self, fixed: str | None = None) -> str:
        if fixed:
            return fixed

        def ensure(db: sqlite3.Connection) -> str:
            row = db.execute("SELECT value FROM settings WHERE key = 'client_id'").fetchone()
            if row and 0 < len(row[0]) <= 64:
                return str(row[0])
            return _set_client_id(db)

        return await self._write(ensure)

    async def new_client_id(self) -> str:
        return await self._write(_set_client_id)

    # -- token -------------------------------------------------------------------------------------

    async def cached_token(self) -> CachedToken | None:
        def read(db: sqlite3.Connection) -> CachedToken | None:
            row = db.execute("SELECT token, user_id, expires_at FROM tokens WHERE scope = ?", (self.scope,)).fetchone()
            return CachedToken(row[0], row[1], float(row[2])) if row else None

        return await self._read(read)

    async def save_token(self, token: CachedToken) -> None:
        await self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?)",
                (self.scope, token.token, token.user_id, token.expires_at),
            )
        )

    async def claim_token_lease(self, holder: str, seconds: float) -> bool:
        """True when ``holder`` may fetch a token now: nobody else holds an unexpired lease."""

        def claim(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT holder, until FROM token_leases WHERE scope = ?", (self.scope,)).fetchone()
            now = time.time()
            if row and row[0] != holder and row[1] > now:
                return False
            db.execute("INSERT OR REPLACE INTO token_leases VALUES (?, ?, ?)", (self.scope, holder, now + seconds))
            return True

        return await self._write(claim)

    async def release_token_lease(self, holder: str) -> None:
        await self._write(
            lambda db: db.execute("DELETE FROM token_leases WHERE scope = ? AND holder = ?", (self.scope, holder))
        )

    # -- sessions ----------------------------------------------------------------------------------

    async def current_session(self) -> str | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT session_id FROM current WHERE scope = ?", (self.scope,)).fetchone()
            return str(row[0]) if row else None

        return await self._read(read)

    async def sessions(self) -> list[KnownSession]:
        def read(db: sqlite3.Connection) -> list[KnownSession]:
            rows = db.execute(
                "SELECT session_id, task_id, created_at, language FROM sessions WHERE scope = ? ORDER BY created_at",
                (self.scope,),
            ).fetchall()
            return [KnownSession(r[0], r[1], float(r[2]), r[3]) for r in rows]

        return await self._read(read)

    async def add_session(self, session: KnownSession, make_current: bool = True) -> None:
        def add(db: sqlite3.Connection) -> None:
            _add_session(db, self.scope, session)
            if make_current:
                _set_current(db, self.scope, session.session_id)

        await self._write(add)

    async def forget_session(self, session_id: str) -> None:
        def forget(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions WHERE scope = ? AND session_id = ?", (self.scope, session_id))
            db.execute("DELETE FROM current WHERE scope = ? AND session_id = ?", (self.scope, session_id))

        await self._write(forget)

    async def record_export(self, session_id: str, export: SavedExport) -> None:
        await self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO exports VALUES (?, ?, ?, ?, ?)",
                (self.scope, session_id, export.draft_sha256, str(export.path), time.time()),
            )
        )

    async def latest_export(self, session_id: str) -> SavedExport | None:
        def read(db: sqlite3.Connection) -> SavedExport | None:
            row = db.execute(
                "SELECT path, draft_sha256 FROM exports WHERE scope = ? AND session_id = ?", (self.scope, session_id)
            ).fetchone()
            return SavedExport(Path(row[0]), row[1]) if row else None

        return await self._read(read)

    async def set_current(self, session_id: str) -> None:
        await self._write(lambda db: _set_current(db, self.scope, session_id))


@contextlib.contextmanager
def _begun(db: sqlite3.Connection, mode: Literal["DEFERRED", "IMMEDIATE"]) -> Iterator[sqlite3.Connection]:
    """One transaction on ``db``: committed, or rolled back by any error so that none stays open."""
    db.execute(f"BEGIN {mode}")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _set_current(db: sqlite3.Connection, scope: str, session_id: str) -> None:
    db.execute("INSERT OR REPLACE INTO current VALUES (?, ?)", (scope, session_id))


def _set_client_id(db: sqlite3.Connection) -> str:
    value = str(uuid.uuid4())
    db.execute("INSERT OR REPLACE INTO settings VALUES ('client_id', ?)", (value,))
    return value


def _add_session(db: sqlite3.Connection, scope: str, session: KnownSession) -> None:
    db.execute(
        "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?)",
        (scope, session.session_id, session.task_id, session.created_at, session.language),
    )
    db.execute(
        "DELETE FROM sessions WHERE scope = ? AND session_id NOT IN "
        "(SELECT session_id FROM sessions WHERE scope = ? ORDER BY created_at DESC LIMIT ?)",
        (scope, scope, MAX_SESSIONS),
    )


def _import_json(db: sqlite3.Connection, data: dict[str, Any]) -> int:
    """Import a ``state.json`` object; the number of entries skipped for their shape."""
    skipped = 0
    with _begun(db, "IMMEDIATE"):
        client_id = data.get("client_id")
        if isinstance(client_id, str) and 0 < len(client_id) <= 64:
            db.execute("INSERT OR REPLACE INTO settings VALUES ('client_id', ?)", (client_id,))
        elif client_id is not None:
            skipped += 1
        scopes = data.get("scopes")
        for scope, entry in (scopes if isinstance(scopes, dict) else {}).items():
            if not isinstance(entry, dict):
                skipped += 1
                continue
            token = entry.get("token")
            if isinstance(token, dict) and isinstance(token.get("token"), str) and _is_number(token.get("expires_at")):
                user = token.get("user_id")
                db.execute(
                    "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?)",
                    (scope, token["token"], user if isinstance(user, str) else None, float(token["expires_at"])),
                )
            elif token is not None:
                skipped += 1
            sessions = entry.get("sessions")
            for raw in sessions if isinstance(sessions, list) else []:
                if not (isinstance(raw, dict) and isinstance(raw.get("session_id"), str)):
                    skipped += 1
                    continue
                task, lang, created = raw.get("task_id"), raw.get("language"), raw.get("created_at")
                _add_session(
                    db,
                    scope,
                    KnownSession(
                        raw["session_id"],
                        task if isinstance(task, str) else None,
                        float(created) if _is_number(created) else 0.0,
                        lang if isinstance(lang, str) else None,
                    ),
                )
            current = entry.get("current_session")
            if isinstance(current, str):
                _set_current(db, scope, current)
    return skipped


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
