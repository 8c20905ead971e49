"""Reliability, round two (issue #11): each defect hostile testing found, driven through a real interface.

Every test here failed on the code before its fix (see docs/reliability.md for the claims they prove).
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from tests.conftest import fast_env, offline_env, png_bytes
from tests.http_server import HttpServer
from tests.test_hardening import text_of
from tests.test_hardening import timeline as make_timeline

from nemo_mcp.config import load_settings
from nemo_mcp.server import build_server
from nemo_mcp.testing import Emulator

pytestmark = pytest.mark.anyio


def stdio(env: dict[str, str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "nemo_mcp", *args], env={**os.environ, **env})


# -- D6: the client's roots confine uploads, and fail closed ---------------------------------------


@pytest.mark.parametrize("roots", ["raises", "too slow", "empty"])
async def test_roots_that_cannot_be_listed_refuse_the_upload(
    server: Any, emulator: Emulator, media: dict[str, Path], roots: str
) -> None:
    async def list_roots(context: Any) -> types.ListRootsResult:
        if roots == "raises":
            raise RuntimeError("the host's roots handler crashed")
        if roots == "too slow":
            await anyio.sleep(8)  # longer than the 5 s the old code waited before failing open
        return types.ListRootsResult(roots=[])

    async with Client(server(NEMO_ROOTS_TIMEOUT_SECONDS="0.3"), mode="legacy", list_roots_callback=list_roots) as c:
        with anyio.fail_after(4):  # the roots answer is not waited for beyond its 0.3 s
            result = await c.call_tool("upload_media", {"paths": [str(media["city.png"])]})
    uploads = [r for r in emulator.requests if r.path.startswith("/api/upload")]
    if roots == "empty":
        # An empty list: the client shares no folder, so only NEMO_ALLOWED_DIRS (unset here) confines uploads.
        assert not result.is_error and len(uploads) == 1, text_of(result)
        return
    assert result.is_error and "NEMO_ALLOWED_DIRS" in text_of(result), text_of(result)
    assert "no file was uploaded" in text_of(result)
    assert uploads == []


# -- D13: a refused upload on a fresh install asks nothing of anyone --------------------------------


@pytest.mark.parametrize(
    "args",
    [
        {"urls": ["file:///etc/passwd"]},
        {"paths": ["/definitely/missing.png"]},
        {"paths": ["/etc/passwd"]},
        {"urls": ["http://user:pw@example.com/a.png"]},
    ],
)
async def test_refused_uploads_on_a_fresh_install_make_no_request_at_all(
    server: Any, emulator: Emulator, tmp_path: Path, args: dict[str, Any]
) -> None:
    assert not (tmp_path / "state").exists()  # a fresh install: no token, no project yet
    async with Client(server(), mode="legacy") as client:
        refused = await client.call_tool("upload_media", args)
    assert refused.is_error, text_of(refused)
    assert [(r.method, r.path) for r in emulator.requests] == []  # no token, no session, nothing


# -- D5: cancelling one call does not cancel another call's export ---------------------------------


async def test_cancelling_one_of_two_calls_on_an_export_keeps_the_other(
    server: Any, emulator: Emulator, media: dict[str, Path]
) -> None:
    async with Client(server(), mode="legacy") as client:
        await make_timeline(client, media)
        emulator.faults.render_seconds = 1.5
        results: list[Any] = []

        async def export_and_keep() -> None:
            results.append(await client.call_tool("export_video", {}))

        async with anyio.create_task_group() as group:
            group.start_soon(export_and_keep)
            with anyio.fail_after(10):
                while not emulator.renders:
                    await anyio.sleep(0.01)
            with anyio.move_on_after(0.3) as scope:
                await client.call_tool("export_video", {})  # joins the same job, then is cancelled
            assert scope.cancelled_caught
    (kept,) = results
    assert not kept.is_error, text_of(kept)
    assert Path(kept.structured_content["path"]).is_file()
    assert len(emulator.renders) == 1 and not any(r.cancelled for r in emulator.renders.values())


# -- D7: JSON nested deeper than Python's parser goes --------------------------------------------


async def test_a_state_nested_100000_deep_is_a_clear_error(
    server: Any, emulator: Emulator, media: dict[str, Path]
) -> None:
    async with Client(server(), mode="legacy") as client:
        await make_timeline(client, media)
        emulator.faults.nested_state = 100_000
        state = await client.call_tool("get_state", {})
        export = await client.call_tool("export_video", {})
    for result in (state, export):
        assert result.is_error and "not JSON nemo-mcp can read" in text_of(result), text_of(result)
        assert "internal error" not in text_of(result) and "Recursion" not in text_of(result)
    assert not emulator.renders  # nothing was exported from a draft nobody could read


# -- progress: within its total, never the same message twice in a row -----------------------------


async def test_progress_stays_within_its_total_and_never_repeats(
    server: Any, emulator: Emulator, media: dict[str, Path]
) -> None:
    events: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        events.append((value, total, message))

    async with Client(server(), mode="legacy") as client:
        up = await client.call_tool(
            "upload_media", {"paths": [str(p) for p in media.values()]}, progress_callback=on_progress
        )
        said = await client.call_tool(
            "send_instruction", {"instruction": "make a slideshow titled 'Bars'"}, progress_callback=on_progress
        )
        emulator.faults.render_size_bytes = 540_388  # the size of the report's video
        emulator.faults.render_seconds = 0.3
        exported = await client.call_tool("export_video", {}, progress_callback=on_progress)
    assert not up.is_error and not said.is_error and not exported.is_error, text_of(exported)
    assert any(m and m.startswith("Downloading") for _, _, m in events)
    over = [(v, t, m) for v, t, m in events if t is not None and v > t]
    assert over == [], over
    repeated = [a for a, b in itertools.pairwise(events) if a[2] is not None and a[2] == b[2]]
    assert repeated == [], repeated


# -- exported files are the user's, with the usual permissions -------------------------------------


async def test_exported_videos_follow_the_umask(emulator: Emulator, tmp_path: Path, media: dict[str, Path]) -> None:
    env = {**os.environ, **fast_env(emulator.url, tmp_path)}
    params = StdioServerParameters(command="sh", args=["-c", f"umask 022; exec {sys.executable} -m nemo_mcp"], env=env)
    async with Client(params, mode="legacy") as client:
        await make_timeline(client, media)
        exported = await client.call_tool("export_video", {})
    assert not exported.is_error, text_of(exported)
    assert stat.S_IMODE(Path(exported.structured_content["path"]).stat().st_mode) == 0o644


# -- D12: saved state that cannot be used, and the user hears about it once ----------------------


@pytest.mark.parametrize("name", ["state.db", "state.json"])
async def test_a_fifo_in_place_of_the_state_is_refused_without_hanging(
    emulator: Emulator, tmp_path: Path, name: str
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.mkfifo(state / name)
    errlog = tmp_path / "stderr.txt"
    with open(errlog, "w") as err, anyio.fail_after(30):
        params = stdio(fast_env(emulator.url, tmp_path))
        async with Client(stdio_client(params, errlog=err), mode="legacy") as client:
            first = await client.call_tool("get_credits", {})
            second = await client.call_tool("new_session", {})
    assert not first.is_error and not second.is_error, text_of(first)
    assert "Note: " in text_of(first) and "not a regular file" in text_of(first), text_of(first)
    assert first.structured_content["notices"] and "not a regular file" in first.structured_content["notices"][0]
    assert "Note: " not in text_of(second) and not second.structured_content.get("notices")  # said once
    assert stat.S_ISFIFO((state / name).stat().st_mode)  # left alone
    assert "not a regular file" in errlog.read_text()


async def test_a_damaged_state_db_is_moved_aside_and_said_once(server: Any, emulator: Emulator, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "state.db").write_bytes(b"\x00garbage" * 100)
    async with Client(server(), mode="legacy") as client:
        first = await client.call_tool("get_credits", {})
        second = await client.call_tool("get_credits", {})
    (aside,) = state.glob("state.db.corrupt-*")
    assert aside.read_bytes() == b"\x00garbage" * 100  # kept as it was
    assert not first.is_error and f"Note: {state / 'state.db'} could not be read" in text_of(first), text_of(first)
    assert aside.name in text_of(first) and first.structured_content["notices"]
    assert "Note: " not in text_of(second) and second.structured_content["notices"] is None
    with sqlite3.connect(state / "state.db") as db:  # a working database again, with the new token
        assert db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] == 1


async def test_the_old_state_json_is_imported_once_skipping_entries_of_the_wrong_shape(
    server: Any, emulator: Emulator, tmp_path: Path
) -> None:
    import httpx

    token = httpx.post(f"{emulator.url}/api/auth/anonymous-token", headers={"X-Client-Id": "old-client"}).json()
    token = token["data"]["token"]
    headers = {"Authorization": f"Bearer {token}", "X-Skill-Source": "t", "X-Skill-Version": "1"}
    made = httpx.post(
        f"{emulator.url}/api/tasks/me/with-session/nemo_agent", json={"task_name": "project"}, headers=headers
    ).json()["data"]["session_id"]
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    old = {
        "client_id": "old-client",
        "scopes": {
            emulator.url: {
                "token": {"token": token, "user_id": "anon_x", "expires_at": time.time() + 3600},
                "sessions": [
                    {"session_id": made, "task_id": "t", "created_at": 1.0, "language": "en"},
                    "not a session",
                    {"task_id": "no id"},
                ],
                "current_session": made,
            },
            "broken scope": ["not", "an", "object"],
        },
    }
    (state / "state.json").write_text(json.dumps(old))
    async with Client(server(), mode="legacy") as client:
        first = await client.call_tool("get_state", {})
        second = await client.call_tool("get_state", {})
    assert not first.is_error, text_of(first)
    assert first.structured_content["session_id"] == made  # the old current project, kept
    assert emulator.token_requests == 1  # the old token was used: no new one asked for
    assert "Note: " in text_of(first) and "3 entries of the wrong shape were not imported" in text_of(first)
    assert "Note: " not in text_of(second)
    assert not (state / "state.json").exists() and (state / "state.json.migrated").is_file()
    async with Client(server(), mode="legacy") as client:  # imported once: nothing to say the next time
        again = await client.call_tool("get_state", {})
    assert again.structured_content["session_id"] == made and "Note: " not in text_of(again)


async def test_an_invalid_current_project_is_forgotten_with_a_notice(
    server: Any, emulator: Emulator, tmp_path: Path
) -> None:
    async with Client(server(), mode="legacy") as client:
        await client.call_tool("get_state", {})
    with sqlite3.connect(tmp_path / "state" / "state.db") as db:
        db.execute("UPDATE current SET session_id = '../../etc/passwd'")
    async with Client(server(), mode="legacy") as client:
        first = await client.call_tool("get_state", {})
        second = await client.call_tool("get_state", {})
    assert not first.is_error, text_of(first)
    assert "Note: " in text_of(first) and "'../../etc/passwd' was not a valid id and was forgotten" in text_of(first)
    assert first.structured_content["session_id"] == second.structured_content["session_id"]  # the new one
    assert "Note: " not in text_of(second)


# -- D2: a damaged offline state is moved aside, what could be read kept, and the user told ------


def _damaged_local_state(state_dir: Path) -> list[str]:
    """An offline state whose history table's page is garbage; the ids of the projects in it."""
    from nemo_mcp.apiserver import Store

    folder = state_dir / "local"
    folder.mkdir(parents=True)
    store = Store(folder / "state.db")
    kept = [store.create_session("local", f"p{n}", "en", {"t": [], "d": n}).session_id for n in range(3)]
    for sid in kept:
        store.apply_edit(sid, 1, {"t": [], "d": 0}, {"t": [], "d": 10}, reverted=False)
    store.close()
    with sqlite3.connect(folder / "state.db") as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'history'").fetchone()
    with (folder / "state.db").open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    return kept


async def test_a_damaged_offline_state_is_said_in_the_first_result_and_by_doctor(tmp_path: Path) -> None:
    kept = _damaged_local_state(tmp_path / "mcp")
    settings = load_settings({"NEMO_BACKEND": "local", "NEMO_STATE_DIR": str(tmp_path / "mcp")})
    async with Client(build_server(settings), mode="legacy") as client:
        first = await client.call_tool("get_state", {"session_id": kept[1]})
        second = await client.call_tool("get_state", {"session_id": kept[2]})
    assert not first.is_error and not second.is_error, text_of(first)
    assert first.structured_content["duration_ms"] == 10  # the project was kept, with its last edit
    (notice,) = first.structured_content["notices"]
    assert "was damaged" in notice and "moved to state.db.corrupt-" in notice and "3 sessions" in notice
    assert f"Note: {notice}" in text_of(first)
    assert "Note: " not in text_of(second) and second.structured_content["notices"] is None
    assert len(list((tmp_path / "mcp" / "local").glob("state.db.corrupt-*Z"))) == 1

    _damaged_local_state(tmp_path / "cli")
    env = {**os.environ, "NEMO_BACKEND": "local", "NEMO_STATE_DIR": str(tmp_path / "cli")}
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "doctor", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    checks = json.loads(done.stdout)["checks"]
    saved = [c for c in checks if c["name"] == "saved state"]
    assert saved and saved[0]["verdict"] == "warn" and "moved to state.db.corrupt-" in saved[0]["detail"], checks

    kept = _damaged_local_state(tmp_path / "say")  # a CLI command says it too, on stderr
    env["NEMO_STATE_DIR"] = str(tmp_path / "say")
    done = subprocess.run(
        [sys.executable, "-m", "nemo_mcp", "state", "--session", kept[0]], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and "Note: The local state database" in done.stderr, done.stderr


# -- D1: two MCP servers and the CLI on one offline state dir, editing two projects at once --------

# Every process of the test runs nemo-mcp with an editor that appends a numbered note to the draft
# ("note A7"), so that an edit lost to a concurrent one would show as a missing note.
NOTING = """
import copy, sys
from nemo_mcp.apiserver import EditResult
import nemo_mcp.local.backend as backend

class Noting:
    def edit(self, request):
        draft = copy.deepcopy(request.draft)
        tracks = draft.setdefault("t", [])
        text = next((t for t in tracks if t.get("tt") == 7), None)
        if text is None:
            text = {"tt": 7, "sg": []}
            tracks.append(text)
        label = request.instruction.split()[-1]
        start = 100 * len(text["sg"])
        text["sg"].append({"id": label, "st": start, "d": 100, "tx": label})
        draft["d"] = start + 100
        return EditResult(draft, "Noted " + label + ".")

start = backend.LocalBackend.__init__
def with_noting(self, data_dir, *args, **kwargs):
    kwargs.setdefault("editor", Noting())
    start(self, data_dir, *args, **kwargs)
backend.LocalBackend.__init__ = with_noting

from nemo_mcp.cli import main
sys.exit(main())
"""


CLI_PAIRS = 5


@pytest.mark.slow
async def test_two_servers_and_the_cli_edit_two_offline_projects_without_losing_an_edit(tmp_path: Path) -> None:
    env = {**os.environ, "NEMO_BACKEND": "local", "NEMO_STATE_DIR": str(tmp_path / "s"), "NEMO_LOG_LEVEL": "WARNING"}
    params = StdioServerParameters(command=sys.executable, args=["-c", NOTING], env=env)
    sent: dict[str, set[str]] = {}
    cli_runs: list[subprocess.CompletedProcess[str]] = []
    rounds = 0
    async with Client(params, mode="legacy") as a, Client(params, mode="legacy") as b:
        projects = [
            (await a.call_tool("new_session", {})).structured_content["session_id"],
            (await b.call_tool("new_session", {})).structured_content["session_id"],
        ]
        sent = {sid: set() for sid in projects}

        async def say(client: Client, sid: str, label: str) -> None:
            result = await client.call_tool("send_instruction", {"instruction": f"note {label}", "session_id": sid})
            assert not result.is_error and result.structured_content["timeline_changed"], text_of(result)
            sent[sid].add(label)

        async def cli_lane() -> None:
            # CLI commands, each a process with its own backend, one per project at a time, alongside the servers.
            for n in range(CLI_PAIRS):
                async with anyio.create_task_group() as group:
                    for p, sid in enumerate(projects):
                        label = f"cli{p}-{n}"

                        async def run(sid: str = sid, label: str = label) -> None:
                            args = [sys.executable, "-c", NOTING, "say", f"note {label}", "--session", sid]
                            done = await anyio.to_thread.run_sync(
                                lambda: subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
                            )
                            cli_runs.append(done)
                            if done.returncode == 0:
                                sent[sid].add(label)

                        group.start_soon(run)

        async with anyio.create_task_group() as lanes:
            lanes.start_soon(cli_lane)
            while rounds < 50:
                async with anyio.create_task_group() as group:
                    for name, client in (("A", a), ("B", b)):
                        for p, sid in enumerate(projects):
                            group.start_soon(say, client, sid, f"{name}{p}-{rounds}")
                rounds += 1
        drafts = {
            sid: json.loads((await b.read_resource(f"nemo://sessions/{sid}/draft")).contents[0].text)
            for sid in projects
        }
    assert [r.stderr for r in cli_runs if r.returncode != 0] == []
    for sid, draft in drafts.items():
        (notes,) = [t["sg"] for t in draft["t"] if t.get("tt") == 7]
        labels = [s["tx"] for s in notes]
        assert sorted(labels) == sorted(sent[sid])  # every edit, each once
        assert len(labels) == 2 * rounds + CLI_PAIRS


# -- D10: exported file names keep the title's letters and the render id --------------------------

LONG_TITLE = "Ein sehr langer Titel über eine Reise " * 8  # 304 characters, 312 bytes


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("我的旅行", "我的旅行"),
        ("Café Olé", "Café Olé"),
        ("Cafe\u0301 Ole\u0301", "Café Olé"),  # decomposed accents come out composed (NFC)
        ("Ελλάδα 2026", "Ελλάδα 2026"),
        ('a/b\\c:d*e?f"g<h>i|j', "a-b-c-d-e-f-g-h-i-j"),
        ("tabs\tand\u202eflips", "tabs andflips"),  # a tab is a space; a bidi override goes
        ("...hidden. ", "hidden"),
        (LONG_TITLE, None),
    ],
)
async def test_exported_names_keep_the_title_and_the_render_id(
    server: Any, emulator: Emulator, media: dict[str, Path], title: str, expected: str | None
) -> None:
    async with Client(server(), mode="legacy") as client:
        await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
        quoted = title.replace('"', "'")
        said = await client.call_tool("send_instruction", {"instruction": f'make a slideshow titled "{quoted}"'})
        assert not said.is_error, text_of(said)
        if '"' in title:  # the scripted editor takes the first quoted phrase: set this title by its own quotes
            said = await client.call_tool("send_instruction", {"instruction": f"add the title “{title}”"})
        exported = await client.call_tool("export_video", {})
    assert not exported.is_error, text_of(exported)
    (render_id,) = emulator.renders
    name = Path(exported.structured_content["path"]).name
    assert name.endswith(f"-{render_id}.mp4"), name
    assert len(name.encode("utf-8")) <= 255
    stem = name.removesuffix(f"-{render_id}.mp4")
    if expected is not None:
        assert stem == expected
    else:  # cut by bytes before the id was added, never through it
        assert LONG_TITLE.startswith(stem) and len(stem) > 150


def test_placed_names_fit_every_file_system(tmp_path: Path) -> None:
    from nemo_mcp.cloud.transfer import place_file, safe_filename

    assert safe_filename("CON") == "CON_.mp4" and safe_filename("nul.backup") == "nul.backup_.mp4"
    assert safe_filename("Lpt1 ") == "Lpt1_.mp4" and safe_filename("CONSOLE") == "CONSOLE.mp4"
    assert safe_filename("") == safe_filename("/\\:*?") == "nemovideo.mp4"
    long = "週末" * 100  # 600 bytes
    names = []
    for _ in range(3):  # the same long name three times: the copies get " (2)", " (3)" and still fit
        part = tmp_path / ".nemo-x.part"
        part.write_bytes(b"video")
        names.append(place_file(part, tmp_path, safe_filename(long, tail="-render_1")).name)
        part.unlink()
    assert all(len(n.encode("utf-8")) <= 255 for n in names), [len(n.encode()) for n in names]
    assert names[0].endswith("-render_1.mp4") and names[1].endswith("-render_1 (2).mp4")


# -- D3, D8: uploads by URL in offline mode ------------------------------------------------------


class LinkServer:
    """An HTTP server on a loopback address that serves test links and records every request."""

    def __init__(self, host: str = "127.0.0.1", redirect_to: str | None = None) -> None:
        import http.server
        import threading

        self.requests: list[str] = []
        self.closed = threading.Event()  # a trickling answer's reader went away
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append(self.path)
                path = self.path.split("?")[0]
                if path.startswith("/redirect") and redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path.startswith("/trickle"):
                    self.send_response(200)
                    self.send_header("Content-Length", str(10_000_000))
                    self.end_headers()
                    try:
                        self.wfile.write(png_bytes())
                        while True:  # a byte every 50 ms: never quiet long enough for a read time-out
                            time.sleep(0.05)
                            self.wfile.write(b"\x00")
                            self.wfile.flush()
                    except OSError:
                        server.closed.set()
                    return
                body, kind = {
                    "/page.png": (b"<html><body>not a picture</body></html>", "text/html"),
                    "/no-extension": (png_bytes(), "application/octet-stream"),
                }.get(path, (png_bytes(), "image/png"))
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LinkServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def offline(tmp_path: Path, **env: str) -> Any:
    return build_server(load_settings(offline_env(tmp_path, **env)))


@pytest.mark.parametrize(
    "link",
    [
        "{url}/city.png",
        "http://localhost:{port}/city.png",
        "http://127.9.9.9:{port}/city.png",
        "http://0.0.0.0:{port}/city.png",
        "http://[::1]:{port}/city.png",
        "http://[::ffff:127.0.0.1]:{port}/city.png",
        "http://10.1.2.3/city.png",
        "http://192.168.1.1/city.png",
        "http://169.254.169.254/latest/meta-data/city.png",
        "http://224.0.0.1/city.png",
    ],
)
async def test_offline_links_to_this_computer_or_the_local_network_are_refused(tmp_path: Path, link: str) -> None:
    with LinkServer() as links:
        url = link.format(url=links.url, port=links.url.rsplit(":", 1)[1])
        async with Client(offline(tmp_path), mode="legacy") as client:
            result = await client.call_tool("upload_media", {"urls": [url]})
            state = await client.call_tool("get_state", {})
    assert result.is_error, text_of(result)
    assert url in text_of(result) and "NEMO_ALLOW_PRIVATE_URLS=1" in text_of(result), text_of(result)
    assert "public internet" in text_of(result)
    assert links.requests == [] and state.structured_content["uploads"] == 0


async def test_offline_links_are_checked_again_after_every_redirect(tmp_path: Path) -> None:
    """Here 127.0.0.2 counts as public: its link redirects to 127.0.0.1, which must not be reached."""
    import ipaddress

    import httpx
    from tests.http_api import auth, new_session

    from nemo_mcp.apiserver.fetch import LinkPolicy
    from nemo_mcp.local.backend import LocalBackend

    def only_127_0_0_1(ip: Any) -> str | None:
        return "a loopback address (this computer)" if ip == ipaddress.ip_address("127.0.0.1") else None

    async def names(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address({"public.test": "127.0.0.2", "rebound.test": "127.0.0.1"}.get(host, host))]

    policy = LinkPolicy(refused=only_127_0_0_1, resolver=names)
    with (
        LinkServer("127.0.0.1") as private,
        LinkServer("127.0.0.2", redirect_to=f"{private.url}/city.png") as public,
        LinkServer("127.0.0.2", redirect_to=f"http://rebound.test:{private.url.rsplit(':', 1)[1]}/x.png") as named,
        LocalBackend(tmp_path / "local", links=policy) as backend,
        httpx.Client(base_url=backend.url, timeout=30) as http,
    ):
        sid = new_session(http, backend.secret)

        def upload(url: str) -> dict[str, Any]:
            path = f"/api/upload-video/nemo_agent/me/{sid}"
            answer: dict[str, Any] = http.post(path, json={"urls": [url]}, headers=auth(backend.secret)).json()
            return answer

        fine = upload(f"{public.url}/city.png")
        assert fine["code"] == 0, fine  # the "public" server itself is fetched
        for url in (
            f"{public.url}/redirect",
            f"{named.url}/redirect",
            f"http://rebound.test:{public.url.rsplit(':', 1)[1]}/a.png",
        ):
            refused = upload(url)
            assert refused["code"] == 400 and "loopback" in refused["message"], refused
        assert private.requests == []  # never reached, by a redirect or by a name
        assert public.requests == ["/city.png", "/redirect"] and named.requests == ["/redirect"]


async def test_offline_links_may_be_local_when_allowed_and_must_serve_media(tmp_path: Path) -> None:
    with LinkServer() as links:
        async with Client(offline(tmp_path, NEMO_ALLOW_PRIVATE_URLS="1"), mode="legacy") as client:
            fine = await client.call_tool("upload_media", {"urls": [f"{links.url}/city.png"]})
            bare = await client.call_tool("upload_media", {"urls": [f"{links.url}/no-extension"]})
            page = await client.call_tool("upload_media", {"urls": [f"{links.url}/page.png"]})
            state = await client.call_tool("get_state", {})
    assert not fine.is_error and not bare.is_error, text_of(fine) + text_of(bare)
    assert bare.structured_content["uploaded"][0]["name"] == "no-extension.png"
    assert page.is_error and f"{links.url}/page.png" in text_of(page), text_of(page)
    assert "what it served is not an image file" in text_of(page)
    assert state.structured_content["uploads"] == 2  # the page was not stored


async def test_an_offline_link_that_never_finishes_is_given_up_at_the_deadline(tmp_path: Path) -> None:
    with LinkServer() as links:
        url = f"{links.url}/trickle.png"
        async with Client(
            offline(tmp_path, NEMO_ALLOW_PRIVATE_URLS="1", NEMO_URL_FETCH_SECONDS="1"), mode="legacy"
        ) as c:
            with anyio.fail_after(10):  # given up at its 1 s deadline, not at the call's
                result = await c.call_tool("upload_media", {"urls": [url]})
            assert links.closed.wait(5)  # the fetch stopped too, not only the call
            state = await c.call_tool("get_state", {})
    assert result.is_error and url in text_of(result) and "did not finish within 1 s" in text_of(result), text_of(
        result
    )
    assert state.structured_content["uploads"] == 0
    assert not list((tmp_path / "state" / "local" / "media").rglob("*.png"))  # nothing half-stored


# -- D9, D14: media checked by decoding at upload (offline); timelines have a length limit -----------


def lying_wav(claimed_seconds: float, real_bytes: int = 8000, rate: int = 8000) -> bytes:
    """A WAV of ``real_bytes`` of silence whose header claims ``claimed_seconds``."""
    import struct

    claimed = int(claimed_seconds * rate * 2)
    header = b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", claimed)
    return header + b"\x00" * real_bytes


def png_bomb(side: int = 20_000) -> bytes:
    """A 48 KB PNG that decodes to ``side`` x ``side`` pixels."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    packer = zlib.compressobj(9)
    row = b"\x00" * ((side + 7) // 8 + 1)  # 1-bit grey: cheap to write, gigabytes to decode as RGB
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def silent_mp4(path: Path) -> Path:
    """An MP4 that holds sound and no picture."""
    from nemo_mcp.local.probe import ffmpeg_exe

    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=48000:cl=mono",
            "-t",
            "1",
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
    )
    return path


async def test_a_wav_claiming_74_hours_is_measured_by_decoding(tmp_path: Path) -> None:
    liar = tmp_path / "liar.wav"
    liar.write_bytes(lying_wav(74 * 3600))  # 8 KB of sound: half a second
    async with Client(offline(tmp_path), mode="legacy") as client:
        up = await client.call_tool("upload_media", {"paths": [str(liar)]})
        said = await client.call_tool("send_instruction", {"instruction": "add background music"})
        state = await client.call_tool("get_state", {})
    assert not up.is_error and not said.is_error, text_of(up) + text_of(said)
    assert 400 <= state.structured_content["duration_ms"] <= 600, state.structured_content["summary"]


@pytest.mark.parametrize("kind", ["fake.png", "bomb.png", "silent.mp4", "garbage.mp4"])
async def test_media_that_cannot_be_used_is_refused_at_upload_naming_the_file(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    path = folder / kind
    if kind == "fake.png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    elif kind == "bomb.png":
        path.write_bytes(png_bomb())
    elif kind == "silent.mp4":
        silent_mp4(path)
    else:
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    reasons = {
        "fake.png": "not a picture ffmpeg can read",
        "bomb.png": "20000x20000 pixels, too large",
        "silent.mp4": "holds sound but no picture",
        "garbage.mp4": "not a video file ffmpeg can read",
    }
    async with Client(offline(tmp_path), mode="legacy") as client:
        with anyio.fail_after(15):  # a decompression bomb is refused from its header, not decoded
            result = await client.call_tool("upload_media", {"paths": [str(path)]})
        state = await client.call_tool("get_state", {})
    assert result.is_error and f"{kind} cannot be used" in text_of(result), text_of(result)
    assert reasons[kind] in text_of(result) and not text_of(result).endswith(".."), text_of(result)
    assert state.structured_content["uploads"] == 0  # refused before it reached the project


async def test_a_timeline_longer_than_30_minutes_is_refused_at_once(tmp_path: Path) -> None:
    import httpx
    from tests.http_api import data_events, export, new_session, read_sse, state

    from nemo_mcp.apiserver import EditResult
    from nemo_mcp.local.backend import LocalBackend

    class Stretching:
        """Makes the music last two hours."""

        def edit(self, request: Any) -> EditResult:
            seg = {"id": "a1", "st": 0, "d": 2 * 3600 * 1000, "n": "endless.wav", "k": "audio", "src": "x"}
            return EditResult({**request.draft, "t": [{"tt": 1, "sg": [seg]}], "d": seg["d"]}, "Done.")

    long_draft = json.dumps({"t": [{"tt": 1, "sg": [{"id": "a", "st": 0, "d": 74 * 3600_000, "src": "x"}]}]})
    with (
        LocalBackend(tmp_path / "local", editor=Stretching()) as backend,
        httpx.Client(base_url=backend.url, timeout=30) as http,
    ):
        sid = new_session(http, backend.secret)
        before = state(http, backend.secret, sid)["data"]["state"]["draft"]
        lines, _ = read_sse(http, backend.secret, sid, "make the music endless")
        errors = [e for e in data_events(lines) if "errorMessage" in e or "error" in e]
        assert errors and "2 h 0 min long" in json.dumps(errors) and "at most 30 minutes" in json.dumps(errors), lines
        assert state(http, backend.secret, sid)["data"]["state"]["draft"] == before  # nothing changed
        started = time.monotonic()
        refused = export(http, backend.secret, sid, long_draft)
        assert refused.status_code == 400 and "74 h 0 min long" in refused.json()["error"], refused.text
        assert "at most 30 minutes" in refused.json()["error"] and time.monotonic() - started < 5
    assert not list((tmp_path / "local" / "renders").glob("*.mp4"))


# -- D14 in the cloud: a failed render says which input to replace ---------------------------------


@pytest.mark.parametrize(
    ("error", "culprits"),
    [
        ("Decode error rate 1 exceeds maximum 0.666667.", ["city.png", "park.png"]),
        ("Invalid data found when processing input {park}", ["park.png"]),
    ],
)
async def test_a_failed_cloud_render_says_which_input_to_replace(
    server: Any, emulator: Emulator, media: dict[str, Path], error: str, culprits: list[str]
) -> None:
    async with Client(server(), mode="legacy") as client:
        await make_timeline(client, media)
        (session,) = emulator.sessions.values()
        park = next(u["cdn_url"] for u in session.uploads if u["filename"] == "park.png")
        emulator.faults.fail_render = True
        emulator.faults.render_error = error.format(park=park.split("?")[0])
        failed = await client.call_tool("export_video", {})
    text = text_of(failed)
    assert failed.is_error and all(name in text for name in culprits), text
    assert "Replace" in text and not text.endswith("..") and ".." not in text.replace("…", ""), text
    assert "Try exporting again" not in text
    if culprits == ["park.png"]:
        assert "city.png" not in text


# -- streamable HTTP: Host and Origin checked on any address; quiet logs -----------------------------


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


async def test_a_server_on_another_address_still_checks_host_and_origin(emulator: Emulator, tmp_path: Path) -> None:
    """127.0.0.2 is not a loopback *name* to the SDK (so it turned the checks off) but is safe to bind in a test."""
    import httpx

    env = {**fast_env(emulator.url, tmp_path), "NEMO_ALLOWED_HOSTS": "studio.lan:8443"}
    server = HttpServer(tmp_path, "127.0.0.2", "--allowed-host", "media-box.lan", env=env)
    url = server.url
    port = url.split(":")[2].split("/")[0]
    accept = {"Accept": "application/json, text/event-stream"}
    try:
        async with httpx.AsyncClient(timeout=10) as http:

            async def status(**headers: str) -> int:
                return (await http.post(url, json=INITIALIZE, headers={**accept, **headers})).status_code

            assert await status(Host="evil.example") == 421
            assert await status(Host=f"evil.example:{port}") == 421
            assert await status(Host=f"studio.lan:{port}") == 421  # allowed on 8443 only
            assert await status(Origin="http://evil.example") == 403
            assert await status(Origin=f"http://127.0.0.2.evil.example:{port}") == 403
            assert await status() == 200  # by the address it was started on
            assert await status(Host=f"127.0.0.1:{port}") == 200
            assert await status(Host=f"media-box.lan:{port}", Origin=f"http://media-box.lan:{port}") == 200
            assert await status(Host="studio.lan:8443", Origin="https://studio.lan:8443") == 200
    finally:
        server.stop()
    warning = server.log()
    assert "127.0.0.2:" in warning and "no authentication" in warning and "media-box.lan" in warning, warning
    assert "upload any media file" in warning and "NemoVideo account" in warning and str(tmp_path / "out") in warning


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_streamable_http_keeps_the_offline_backends_access_log_for_debugging(
    tmp_path: Path, media: dict[str, Path], level: str
) -> None:
    server = HttpServer(tmp_path, "127.0.0.1", env={"NEMO_BACKEND": "local", "NEMO_LOG_LEVEL": level})
    try:
        async with Client(server.url, mode="legacy") as client:
            await client.call_tool("upload_media", {"paths": [str(media["city.png"])]})
            for n in range(3):
                said = await client.call_tool("send_instruction", {"instruction": f"add the title 'T{n}'"})
                assert not said.is_error, text_of(said)
    finally:
        server.stop()
    logged = server.log()
    backend_lines = [line for line in logged.splitlines() if '"GET /api/state/' in line or '"POST /run_sse' in line]
    if level == "INFO":
        assert backend_lines == [] and "HTTP/1.1" not in logged, logged
        assert "Started server process" not in logged and "Waiting for application startup" not in logged, logged
        assert len(logged.splitlines()) <= 3, logged
    else:
        assert len(backend_lines) >= 6, logged  # each instruction reads the state twice and streams once
        assert server.outlog.read_text() == ""  # on stderr, like every log


def test_a_busy_port_is_a_clear_error_and_port_0_a_known_one(tmp_path: Path) -> None:
    first = HttpServer(tmp_path, "127.0.0.1", env={"NEMO_BACKEND": "local"})
    try:
        port = first.url.split(":")[2].split("/")[0]
        assert port != "0"
        command = [sys.executable, "-m", "nemo_mcp", "--transport", "streamable-http", "--port", port]
        env = {**os.environ, "NEMO_BACKEND": "local", "NEMO_STATE_DIR": str(tmp_path / "state2")}
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    finally:
        first.stop()
    assert second.returncode == 2 and second.stdout == "", second
    assert f"Cannot listen on 127.0.0.1:{port}" in second.stderr and "--port" in second.stderr, second.stderr
    assert "Traceback" not in second.stderr, second.stderr
