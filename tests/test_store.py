"""The SQLite store: compare-and-swap edits, undo history, sharing, and damage that never deletes projects."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.apiserver import Store, StoreError

DRAFT: dict[str, Any] = {"t": [], "d": 0}


def test_a_session_is_visible_to_another_store_at_once(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "state.db"), Store(tmp_path / "state.db")
    session = one.create_session("local", "Trip", "ja", DRAFT)
    seen = two.session(session.session_id)
    assert seen is not None and (seen.task_name, seen.language, seen.draft) == ("Trip", "ja", DRAFT)
    assert two.add_uploads(session.session_id, [{"filename": "a.png"}])
    snapshot = one.snapshot(session.session_id)
    assert snapshot is not None and snapshot.uploads == [{"filename": "a.png"}]


def test_an_edit_lands_only_on_the_draft_it_was_made_from(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db", history_limit=2)
    sid = store.create_session("local", "p", "en", DRAFT).session_id
    drafts = [{"d": n} for n in range(1, 5)]
    version = 1
    previous = DRAFT
    for draft in drafts:
        assert store.apply_edit(sid, version, previous, draft, reverted=False) == "applied"
        version, previous = version + 1, draft
    assert store.apply_edit(sid, 1, DRAFT, {"d": 99}, reverted=False) == "conflict"  # made from an old draft
    snapshot = store.snapshot(sid)
    assert snapshot is not None and snapshot.session.draft == {"d": 4} and snapshot.session.version == 5
    assert snapshot.history == [{"d": 2}, {"d": 3}]  # bounded, most recent last
    assert store.apply_edit(sid, 5, {"d": 4}, {"d": 3}, reverted=True) == "applied"
    after = store.snapshot(sid)
    assert after is not None and after.history == [{"d": 2}] and after.session.draft == {"d": 3}
    store.delete_session(sid)
    assert store.apply_edit(sid, 6, {"d": 3}, {"d": 1}, reverted=False) == "gone"


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    store = Store(path)
    (aside,) = tmp_path.glob("state.db.corrupt-*")
    assert aside.read_bytes() == b"this is not sqlite" * 100  # kept as it was, never overwritten
    assert len(store.warnings) == 1 and aside.name in store.warnings[0] and "0 sessions" in store.warnings[0]
    assert store.sessions() == [] and store.create_session("local", "p", "en", DRAFT)


def test_a_damaged_database_keeps_every_row_still_readable(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path)
    kept = [store.create_session("local", f"p{n}", "en", {"d": n}) for n in range(3)]
    for session in kept:
        store.add_uploads(session.session_id, [{"filename": f"{session.task_name}.png"}])
        store.apply_edit(session.session_id, 1, session.draft, {"d": 10}, reverted=False)
    store.close()
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'history'").fetchone()
    with path.open("r+b") as f:  # the history table's page becomes garbage
        f.seek((root - 1) * page_size)
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))

    repaired = Store(path)
    assert len(list(tmp_path.glob("state.db.corrupt-*Z"))) == 1  # with its -wal and -shm beside it
    assert len(repaired.warnings) == 1 and "3 sessions" in repaired.warnings[0]
    assert {s.session_id for s in repaired.sessions()} == {s.session_id for s in kept}
    snapshot = repaired.snapshot(kept[0].session_id)
    assert snapshot is not None and snapshot.session.draft == {"d": 10} and snapshot.uploads == [{"filename": "p0.png"}]


def test_a_database_from_a_newer_version_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer nemo-mcp"):
        Store(path)
    assert not list(tmp_path.glob("state.db.corrupt-*"))


def test_a_lease_keeps_other_edits_off_until_it_lands_or_expires(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "state.db"), Store(tmp_path / "state.db")
    sid = one.create_session("local", "p", "en", DRAFT).session_id
    assert one.lease(sid, "turn_a", 60) and not two.lease(sid, "turn_b", 60)
    assert two.apply_edit(sid, 1, DRAFT, {"d": 1}, reverted=False, editor="turn_b") == "conflict"
    assert one.apply_edit(sid, 1, DRAFT, {"d": 2}, reverted=False, editor="turn_a") == "applied"
    snapshot = two.snapshot(sid)
    assert snapshot is not None and snapshot.lease is None  # landing gave the project back
    assert one.lease(sid, "turn_a", -1)  # a holder that died: its lease has run out
    assert two.apply_edit(sid, 2, {"d": 2}, {"d": 3}, reverted=False, editor="turn_b") == "applied"
