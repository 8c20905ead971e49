"""Bringing the projects of the previous offline backend (``backend.json`` + ``undo.json``) into the store.

Done once: a file read in full is renamed ``<name>.migrated``. A file that cannot be read in full
(broken JSON, unknown keys, wrong types) is renamed ``<name>.corrupt-<UTC time>`` instead, and
every record that could still be read is imported; such damage is returned as warnings. Nothing
is ever deleted: what could not be read stays in the renamed file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nemo_mcp.apiserver.accounts import SecretAccounts
from nemo_mcp.apiserver.store import SessionRecord, Store
from nemo_mcp.aside import move_aside

log = logging.getLogger(__name__)

STATE_FILE = "backend.json"
HISTORY_FILE = "undo.json"

_TOP_LEVEL = {"tokens": dict, "client_users": dict, "credits": dict, "sessions": list}
_SESSION_FIELDS = {
    "session_id": str,
    "task_id": str,
    "user_id": str,
    "draft": dict,
    "uploads": list,
    "language": str,
    "task_name": str,
}
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_SESSION_START = re.compile(r'\{\s*"session_id"\s*:')


def import_legacy(folder: Path, store: Store) -> list[str]:
    """Import ``backend.json`` and ``undo.json`` from ``folder`` if present; the warnings about damage."""
    state_file, history_file = folder / STATE_FILE, folder / HISTORY_FILE
    if not state_file.exists() and not history_file.exists():
        return []
    warnings: list[str] = []
    with store.exclusive():  # another process starting now must not import the same files
        history, history_ok = _read_history(history_file) if history_file.exists() else ({}, True)
        sessions, sessions_ok = _read_sessions(state_file) if state_file.exists() else ([], True)
        base = state_file.stat().st_mtime if state_file.exists() else time.time()
        imported = 0
        for n, raw in enumerate(sessions):
            record = SessionRecord(
                session_id=raw["session_id"],
                account=SecretAccounts.ACCOUNT,
                task_id=raw["task_id"],
                task_name=raw["task_name"],
                language=raw["language"],
                draft=raw["draft"],
                version=1,
                created_at=base + n * 1e-6,  # keeps the old order
            )
            uploads = [u for u in raw["uploads"] if isinstance(u, dict)]
            imported += store.import_session(record, uploads, history.get(record.session_id, []))
        for path, ok in ((state_file, sessions_ok), (history_file, history_ok)):
            if not path.exists():
                continue
            if ok:
                os.replace(path, path.with_name(path.name + ".migrated"))
            else:
                aside = move_aside(path)
                kept = f"{imported} projects imported" if path == state_file else "the readable undo history imported"
                warnings.append(
                    f"The old local state file {path} could not be read in full; it was moved to {aside.name} "
                    f"and what could be read was kept ({kept})."
                )
    log.info("Imported %d projects of the previous local backend from %s", imported, folder)
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def _read_sessions(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """The well-formed session records, and whether the whole file was well-formed."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.warning("Could not read %s: %s", path, exc)
        return [], False
    try:
        data = json.loads(text)
    except ValueError:
        return _valid_sessions(_scattered_sessions(text)), False
    if not isinstance(data, dict):
        return [], False
    intact = set(data) <= set(_TOP_LEVEL) and all(isinstance(value, _TOP_LEVEL[key]) for key, value in data.items())
    raw = data.get("sessions")
    candidates = raw if isinstance(raw, list) else []
    sessions = _valid_sessions(candidates)
    return sessions, intact and len(sessions) == len(candidates)


def _scattered_sessions(text: str) -> Iterator[Any]:
    """Every session object that still decodes in a broken file (truncated, a damaged byte)."""
    decoder = json.JSONDecoder()
    for match in _SESSION_START.finditer(text):
        try:
            yield decoder.raw_decode(text, match.start())[0]
        except ValueError:
            continue


def _valid_sessions(candidates: Iterator[Any] | list[Any]) -> list[dict[str, Any]]:
    return [
        raw
        for raw in candidates
        if isinstance(raw, dict)
        and set(raw) == set(_SESSION_FIELDS)
        and all(isinstance(raw[key], kind) for key, kind in _SESSION_FIELDS.items())
        and _SESSION_ID.fullmatch(raw["session_id"])
    ]


def _read_history(path: Path) -> tuple[dict[str, list[dict[str, Any]]], bool]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, False
    if not isinstance(data, dict):
        return {}, False
    history = {
        sid: [d for d in drafts if isinstance(d, dict)]
        for sid, drafts in data.items()
        if isinstance(sid, str) and isinstance(drafts, list)
    }
    intact = len(history) == len(data) and all(len(history[sid]) == len(data[sid]) for sid in history)
    return history, intact
