"""The offline backend as users run it: several processes on one state dir, its secret, old state files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http_api import auth, data_events, new_session, read_sse, render_status, state, upload_pair

from nemo_mcp.apiserver import Store
from nemo_mcp.cli.demo import make_samples
from nemo_mcp.local.backend import DATABASE, LocalBackend

# A LocalBackend in a process of its own, with an editor that appends each instruction to the
# draft and takes a moment to do it, so that two processes edit the same project at once.
CHILD = """
import sys, time
from pathlib import Path
from nemo_mcp.apiserver import EditResult
from nemo_mcp.local.backend import LocalBackend

class Appending:
    def edit(self, request):
        time.sleep(0.005)
        return EditResult({**request.draft, "log": [*request.draft.get("log", []), request.instruction]}, "ok")

with LocalBackend(Path(sys.argv[1]), editor=Appending()) as backend:
    print(backend.url, flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def two_processes(tmp_path: Path) -> Iterator[list[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "local")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        urls = []
        for proc in procs:
            assert proc.stdout is not None
            urls.append(proc.stdout.readline().strip())
        assert all(url.startswith("http://127.0.0.1:") for url in urls)
        yield urls
    finally:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(20)


def test_two_processes_edit_two_projects_without_losing_an_edit(tmp_path: Path, two_processes: list[str]) -> None:
    secret = (tmp_path / "local" / "secret").read_text().strip()  # one secret for the state dir
    clients = [httpx.Client(base_url=url, timeout=30) for url in two_processes]
    sessions = [new_session(clients[0], secret, "one"), new_session(clients[1], secret, "two")]
    assert state(clients[1], secret, sessions[0])["code"] == 0  # made by the other process: seen at once

    def say(job: tuple[int, str, str]) -> list[dict[str, Any]]:
        process, sid, text = job
        lines, _ = read_sse(clients[process], secret, sid, text)
        return data_events(lines)

    sent: dict[str, set[str]] = {sid: set() for sid in sessions}
    with ThreadPoolExecutor(4) as pool:
        for n in range(50):
            jobs = [(p, sid, f"p{p}-{sid[:4]}-{n}") for p in (0, 1) for sid in sessions]
            for (_, sid, text), events in zip(jobs, pool.map(say, jobs), strict=True):
                assert not [e for e in events if "errorMessage" in e], events
                sent[sid].add(text)
    for client in clients:
        for sid in sessions:
            log = state(client, secret, sid)["data"]["state"]["draft"]["log"]
            assert sorted(log) == sorted(sent[sid])  # every edit, each once
        client.close()


def test_the_secret_is_private_shared_and_required(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    with LocalBackend(folder) as backend, httpx.Client(base_url=backend.url) as http:
        assert LocalBackend(folder).secret == backend.secret and len(backend.secret) >= 43
        assert stat.S_IMODE((folder / "secret").stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert http.get("/api/credits/balance/simple").status_code == 401
        sid = new_session(http, backend.secret)
        image, _ = upload_pair(http, backend.secret, sid)
        path = "/" + image["cdn_url"].split("/", 3)[3].partition("?")[0]
        assert httpx.get(backend.signed_url(path)).status_code == 200
        assert httpx.get(f"{backend.url}{path}").status_code == 401
    assert backend.warnings == []


OLD_SESSION = {
    "session_id": "5529798706024415232",
    "task_id": "task_1",
    "user_id": "anon_1",
    "draft": {"t": [{"tt": 7, "sg": [{"id": "x1", "st": 0, "d": 3000, "tx": "Now"}]}], "d": 3000, "m": {}},
    "uploads": [{"filename": "city.png", "file_type": "image", "cdn_url": "http://127.0.0.1:1/media/x/y.png"}],
    "language": "en",
    "task_name": "Trip",
}


def old_state(*sessions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"tokens": {}, "client_users": {}, "credits": {}, "sessions": list(sessions), **extra}


def test_the_previous_versions_state_is_imported_once(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    second = {**OLD_SESSION, "session_id": "6629798706024415232", "task_name": "Other"}
    (folder / "backend.json").write_text(json.dumps(old_state(OLD_SESSION, second)))
    earlier = {"t": [{"tt": 7, "sg": [{"id": "x1", "st": 0, "d": 3000, "tx": "Before"}]}], "d": 3000, "m": {}}
    (folder / "undo.json").write_text(json.dumps({OLD_SESSION["session_id"]: [earlier]}))
    with LocalBackend(folder) as backend, httpx.Client(base_url=backend.url) as http:
        assert backend.warnings == []
        sid = OLD_SESSION["session_id"]
        body = state(http, backend.secret, sid)["data"]
        assert body["state"]["draft"] == OLD_SESSION["draft"] and body["state"]["video_infos"] == OLD_SESSION["uploads"]
        read_sse(http, backend.secret, sid, "undo")  # the old undo history came along
        assert state(http, backend.secret, sid)["data"]["state"]["draft"] == earlier
    assert not (folder / "backend.json").exists() and (folder / "backend.json.migrated").is_file()
    assert (folder / "undo.json.migrated").is_file()
    LocalBackend(folder)  # nothing left to import
    assert len(Store(folder / DATABASE).sessions()) == 2


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: text.index('"6629798706024415232"') + 30], id="truncated"),
        pytest.param(lambda text: text.replace('"6629798706024415232"', "6629798706024415232"), id="bad byte"),
        pytest.param(lambda text: text.replace('"tokens"', '"surprise": 1, "tokens"'), id="unknown field"),
        pytest.param(lambda text: text.replace('"task_name": "Other"', '"task_name": 7'), id="wrong type"),
    ],
)
def test_a_damaged_old_state_is_moved_aside_and_read_as_far_as_possible(tmp_path: Path, damage: Any) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    second = {**OLD_SESSION, "session_id": "6629798706024415232", "task_name": "Other"}
    damaged = damage(json.dumps(old_state(OLD_SESSION, second)))
    (folder / "backend.json").write_text(damaged)
    backend = LocalBackend(folder)
    (aside,) = folder.glob("backend.json.corrupt-*")
    assert aside.read_text() == damaged  # kept as it was
    assert len(backend.warnings) == 1 and aside.name in backend.warnings[0]
    ids = {s.session_id for s in backend.store.sessions()}
    assert OLD_SESSION["session_id"] in ids


def test_a_damaged_database_is_reported_and_set_aside(tmp_path: Path) -> None:
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / DATABASE).write_bytes(b"\x00garbage" * 512)
    backend = LocalBackend(folder)
    assert len(backend.warnings) == 1 and "damaged" in backend.warnings[0]
    assert len(list(folder.glob(f"{DATABASE}.corrupt-*"))) == 1


def test_credits_offline_with_any_token(tmp_path: Path) -> None:
    env = {**os.environ, "NEMO_TOKEN": "x", "NEMO_BACKEND": "local", "NEMO_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "credits", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["account"] == "offline"
    said = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "credits"], env=env, capture_output=True, text=True, timeout=60
    )
    assert said.returncode == 0 and "editing is free" in said.stdout, said.stderr


def _ffmpeg_children() -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            cmdline = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"ffmpeg" in cmdline and fields[0] != "Z":
            found.append(int(status.parent.name))
    return found


@pytest.mark.slow
def test_stopping_the_backend_ends_its_renders_and_their_ffmpeg(tmp_path: Path) -> None:
    files = make_samples(tmp_path / "media")
    folder = tmp_path / "local"
    backend = LocalBackend(folder)
    backend.start()
    try:
        http = httpx.Client(base_url=backend.url, timeout=30)
        sid = new_session(http, backend.secret)
        multipart = [("files", (f.name, f.read_bytes())) for f in files[:2]]
        http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=multipart, headers=auth(backend.secret))
        read_sse(http, backend.secret, sid, "make a slideshow, 60 seconds long")
        draft = json.dumps(state(http, backend.secret, sid)["data"]["state"]["draft"])
        body = f'{{"id": "r", "sessionId": "{sid}", "draft": {draft}}}'
        render_id = http.post("/api/render/proxy/lambda", content=body, headers=auth(backend.secret)).json()["data"][
            "id"
        ]
        while render_status(http, backend.secret, render_id)["data"]["status"] == "pending":
            pass  # ffmpeg starts with the first progress report
        assert _ffmpeg_children()
    finally:
        backend.stop()
    assert _ffmpeg_children() == []
    record = Store(folder / DATABASE).render(render_id)
    assert record is not None and (record.status, record.error) == ("failed", "cancelled")
