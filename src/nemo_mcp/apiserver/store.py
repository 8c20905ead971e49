"""The server's state in SQLite: sessions, their uploads and undo history, and renders, as rows.

Several processes serve one state dir at once (two MCP hosts, CLI commands), each on its own
port, so every read goes to the database and every change is one short transaction:

* WAL mode, so readers never wait for a writer; a busy timeout, so writers queue instead of
  failing; ``BEGIN IMMEDIATE`` for changes, so two writers never deadlock upgrading a read.
* A draft changes only by compare-and-swap on the session's ``version`` (:meth:`Store.apply_edit`):
  an edit computed from a draft that another process has changed since is refused, never
  written over it.

Damage never deletes projects: a file that is not a database or fails SQLite's check is moved
aside (``<name>.corrupt-<UTC time>``) and what can still be read, row by row, is copied into a
fresh database; ``warnings`` says so. The methods block: the server calls them in worker threads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import filelock

from nemo_mcp.aside import move_aside

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
HISTORY_LIMIT = 50
BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    task_id TEXT NOT NULL,
    task_name TEXT NOT NULL,
    language TEXT NOT NULL,
    draft TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_by_session ON uploads (session_id, id);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    draft TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_session ON history (session_id, id);
CREATE TABLE IF NOT EXISTS leases (
    session_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS renders (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    account TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    completed_at REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
"""

# Each table's columns in the order salvage copies them, and which hold JSON objects.
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sessions": (("id", "account", "task_id", "task_name", "language", "draft", "version", "created_at"), ("draft",)),
    "uploads": (("id", "session_id", "record"), ("record",)),
    "history": (("id", "session_id", "draft"), ("draft",)),
    "renders": (
        ("id", "session_id", "account", "status", "progress", "error", "created_at", "updated_at", "completed_at"),
        (),
    ),
}

EditOutcome = Literal["applied", "conflict", "gone"]


class StoreError(Exception):
    """The database cannot be used as it is (for example, a newer nemo-mcp wrote it)."""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def new_session_id() -> str:
    # Real session ids are long decimal strings ("5529798706024415232"); 39 digits carry 128 bits.
    return str(secrets.randbelow(9 * 10**38) + 10**38)


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    account: str
    task_id: str
    task_name: str
    language: str
    draft: dict[str, Any]
    version: int
    created_at: float


@dataclass(frozen=True)
class Snapshot:
    """One consistent read of everything an edit needs."""

    session: SessionRecord
    uploads: list[dict[str, Any]]
    history: list[dict[str, Any]]  # most recent last
    lease: str | None = None  # the edit that has the project to itself for now (see Store.lease)


@dataclass(frozen=True)
class RenderRecord:
    render_id: str
    session_id: str
    account: str
    status: str
    progress: float  # 0.0-1.0
    error: str | None
    created_at: float
    updated_at: float
    completed_at: float | None = None
    cancel_requested: bool = False


class Store:
    def __init__(self, path: Path, *, history_limit: int = HISTORY_LIMIT) -> None:
        self.path = Path(path)
        self.history_limit = history_limit
        self.warnings: list[str] = []
        self._lock = threading.Lock()  # one connection, used by one worker thread at a time
        self._file_lock = filelock.FileLock(str(self.path) + ".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._file_lock:  # two processes starting at once must not both repair the file
            self._db = self._open()

    def exclusive(self) -> filelock.BaseFileLock:
        """Held while a process does one-off work on the whole store (opening it, importing old state)."""
        return self._file_lock

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- opening and repair ----------------------------------------------------------------------

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL survives a crash of the process (not of the machine) without an fsync per change.
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _open(self) -> sqlite3.Connection:
        damaged = _damage(self.path) if self.path.exists() else None
        aside = move_aside(self.path) if damaged else None
        db = self._connect(self.path)
        db.executescript(_SCHEMA)
        version = db.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        if version is None:
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif version > SCHEMA_VERSION:
            db.close()
            raise StoreError(f"{self.path} was written by a newer nemo-mcp (schema {version}); upgrade nemo-mcp.")
        if aside is not None:
            copied = _salvage(aside, db)
            self._warn(
                f"The local state database {self.path} was damaged ({damaged}); it was moved to {aside.name} "
                f"and what could be read was kept: {_counts(copied)}."
            )
        return db

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    # -- transactions ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, mode: Literal["DEFERRED", "IMMEDIATE"]) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute(f"BEGIN {mode}")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._transaction("DEFERRED")

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._transaction("IMMEDIATE")

    # -- sessions --------------------------------------------------------------------------------

    def create_session(self, account: str, task_name: str, language: str, draft: dict[str, Any]) -> SessionRecord:
        record = SessionRecord(
            new_session_id(), account, f"task_{secrets.token_hex(16)}", task_name, language, draft, 1, time.time()
        )
        with self._write() as db:
            # 128 random bits do not collide; a collision would be a broken random source, and an error.
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _session_row(record))
        return record

    def import_session(
        self, record: SessionRecord, uploads: list[dict[str, Any]], history: list[dict[str, Any]]
    ) -> bool:
        """Add a session from older state as it was; False (and nothing written) when its id exists."""
        with self._write() as db:
            added = db.execute("INSERT OR IGNORE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _session_row(record))
            if added.rowcount == 0:
                return False
            db.executemany(
                "INSERT INTO uploads (session_id, record) VALUES (?, ?)",
                [(record.session_id, dumps(u)) for u in uploads],
            )
            db.executemany(
                "INSERT INTO history (session_id, draft) VALUES (?, ?)",
                [(record.session_id, dumps(d)) for d in history[-self.history_limit :]],
            )
            return True

    def session(self, session_id: str) -> SessionRecord | None:
        with self._read() as db:
            row = db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session(row) if row else None

    def sessions(self) -> list[SessionRecord]:
        with self._read() as db:
            rows = db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY created_at").fetchall()
        return [_session(row) for row in rows]

    def snapshot(self, session_id: str) -> Snapshot | None:
        with self._read() as db:
            row = db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                return None
            upload_list = _uploads(db, session_id)
            history = db.execute("SELECT draft FROM history WHERE session_id = ? ORDER BY id", (session_id,))
            history_list = [json.loads(r[0]) for r in history.fetchall()]
            lease = _lease(db, session_id)
        return Snapshot(_session(row), upload_list, history_list, lease)

    def session_and_uploads(self, session_id: str) -> tuple[SessionRecord, list[dict[str, Any]]] | None:
        """The session and its uploads, read together; a snapshot would also parse up to 50 undo drafts."""
        with self._read() as db:
            row = db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                return None
            uploads = _uploads(db, session_id)
        return _session(row), uploads

    def add_uploads(self, session_id: str, records: list[dict[str, Any]]) -> bool:
        """Append upload records; False when the session is gone."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                return False
            db.executemany(
                "INSERT INTO uploads (session_id, record) VALUES (?, ?)", [(session_id, dumps(r)) for r in records]
            )
            return True

    def apply_edit(
        self,
        session_id: str,
        version: int,
        before: dict[str, Any],
        after: dict[str, Any],
        *,
        reverted: bool,
        editor: str = "",
    ) -> EditOutcome:
        """Replace the draft that was ``before`` at ``version`` with ``after``; never over a newer draft,
        nor while another edit holds the project's lease (``editor`` names this one).

        ``before`` goes on the undo history (bounded); an undo (``reverted``) pops it instead.
        """
        with self._write() as db:
            row = db.execute("SELECT version FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                return "gone"
            if row[0] != version or _lease(db, session_id) not in (None, editor):
                return "conflict"
            db.execute("DELETE FROM leases WHERE session_id = ? AND holder = ?", (session_id, editor))
            if reverted:
                db.execute(
                    "DELETE FROM history WHERE id = (SELECT max(id) FROM history WHERE session_id = ?)", (session_id,)
                )
            else:
                db.execute("INSERT INTO history (session_id, draft) VALUES (?, ?)", (session_id, dumps(before)))
                db.execute(
                    "DELETE FROM history WHERE session_id = ? AND id NOT IN "
                    "(SELECT id FROM history WHERE session_id = ? ORDER BY id DESC LIMIT ?)",
                    (session_id, session_id, self.history_limit),
                )
            db.execute("UPDATE sessions SET draft = ?, version = version + 1 WHERE id = ?", (dumps(after), session_id))
            return "applied"

    def lease(self, session_id: str, editor: str, seconds: float) -> bool:
        """Give the project to ``editor`` alone for ``seconds``, unless another edit holds it.

        An edit that lost a race takes the lease: the others then wait rather than race it again,
        so a project edited from several processes at once cannot starve one of them.
        """
        with self._write() as db:
            if _lease(db, session_id) not in (None, editor):
                return False
            db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (session_id, editor, time.time() + seconds))
            return True

    def release(self, session_id: str, editor: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM leases WHERE session_id = ? AND holder = ?", (session_id, editor))

    def delete_session(self, session_id: str) -> None:
        with self._write() as db:
            for table in ("uploads", "history", "leases"):
                db.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # -- renders ---------------------------------------------------------------------------------

    def add_render(self, record: RenderRecord) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO renders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.render_id,
                    record.session_id,
                    record.account,
                    record.status,
                    record.progress,
                    record.error,
                    record.created_at,
                    record.updated_at,
                    record.completed_at,
                    int(record.cancel_requested),
                ),
            )

    def update_render(
        self, render_id: str, status: str, progress: float, error: str | None, completed_at: float | None
    ) -> bool:
        """Record a running render's progress; answers whether another process asked to cancel it."""
        with self._write() as db:
            db.execute(
                "UPDATE renders SET status = ?, progress = ?, error = ?, completed_at = ?, updated_at = ? WHERE id = ?",
                (status, progress, error, completed_at, time.time(), render_id),
            )
            row = db.execute("SELECT cancel_requested FROM renders WHERE id = ?", (render_id,)).fetchone()
        return bool(row and row[0])

    def render(self, render_id: str) -> RenderRecord | None:
        with self._read() as db:
            row = db.execute("SELECT * FROM renders WHERE id = ?", (render_id,)).fetchone()
        if row is None:
            return None
        rid, sid, account, status, progress, error, created_at, updated_at, completed_at, cancel = row
        return RenderRecord(
            rid, sid, account, status, progress, error, created_at, updated_at, completed_at, bool(cancel)
        )

    def request_cancel(self, render_id: str) -> None:
        with self._write() as db:
            db.execute("UPDATE renders SET cancel_requested = 1 WHERE id = ?", (render_id,))


_SESSION_COLUMNS = "id, account, task_id, task_name, language, draft, version, created_at"


def _session_row(record: SessionRecord) -> tuple[Any, ...]:
    return (
        record.session_id,
        record.account,
        record.task_id,
        record.task_name,
        record.language,
        dumps(record.draft),
        record.version,
        record.created_at,
    )


def _uploads(db: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    rows = db.execute("SELECT record FROM uploads WHERE session_id = ? ORDER BY id", (session_id,))
    return [json.loads(r[0]) for r in rows.fetchall()]


def _lease(db: sqlite3.Connection, session_id: str) -> str | None:
    """Who holds the project's lease now (an expired lease is nobody's: its holder died)."""
    row = db.execute("SELECT holder FROM leases WHERE session_id = ? AND until > ?", (session_id, time.time()))
    found = row.fetchone()
    return str(found[0]) if found else None


def _session(row: tuple[Any, ...]) -> SessionRecord:
    sid, account, task_id, task_name, language, draft, version, created_at = row
    return SessionRecord(sid, account, task_id, task_name, language, json.loads(draft), version, created_at)


# -- damage ------------------------------------------------------------------------------------------


def _damage(path: Path) -> str | None:
    """Why the file at ``path`` is not a sound database, or None when it is."""
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            problems = [str(row[0]) for row in db.execute("PRAGMA quick_check").fetchall()]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if problems == ["ok"] else "; ".join(problems[:3])


def _salvage(aside: Path, db: sqlite3.Connection) -> dict[str, int]:
    """Copy every row that can still be read from the damaged file into ``db``; rows per table."""
    copied = dict.fromkeys(_TABLES, 0)
    try:
        old = sqlite3.connect(f"{aside.as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.DatabaseError:
        return copied
    try:
        for table, (columns, json_columns) in _TABLES.items():
            marks = ", ".join("?" * len(columns))
            wanted = [columns.index(c) for c in json_columns]
            for row in _readable_rows(old, table, columns):
                if not all(_is_json_object(row[i]) for i in wanted):
                    continue
                db.execute(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})", row)
                copied[table] += 1
    finally:
        old.close()
    return copied


def _readable_rows(db: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """Rows in rowid order, stepping over the ones a damaged page hides (ever further, then giving up)."""
    last, step = 0, 1
    for _ in range(64):
        try:
            cursor = db.execute(
                f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid", (last,)
            )
            for rowid, *row in cursor:
                last, step = rowid, 1
                yield tuple(row)
            return
        except sqlite3.DatabaseError:
            last, step = last + step, step * 2


def _is_json_object(text: Any) -> bool:
    try:
        return isinstance(text, str) and isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _counts(copied: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in copied.items())
