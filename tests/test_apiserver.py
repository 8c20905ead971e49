"""The API server as the offline backend runs it (one account, the install's secret), over real HTTP."""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from tests.conftest import png_bytes
from tests.http_api import (
    NON_EMPTY_DRAFT,
    auth,
    data_events,
    export,
    instruction,
    new_session,
    read_sse,
    render_status,
    state,
    upload_pair,
    wav_bytes,
)

from nemo_mcp.apiserver import (
    ApiServer,
    EditFailed,
    Editor,
    EditRequest,
    EditResult,
    MediaStore,
    Renderer,
    SecretAccounts,
    ServerThread,
    Store,
    TurnOptions,
)
from nemo_mcp.apiserver.fetch import LinkPolicy
from nemo_mcp.apiserver.renders import ABANDONED
from nemo_mcp.apiserver.store import RenderRecord
from nemo_mcp.local.editor import LocalEditor
from nemo_mcp.testing import FakeRenderer, Faults, ScriptedEditor

SECRET = "s3cret-" + "k" * 40
HEX128 = r"[0-9a-f]{32}"


class _WatchedAccounts(SecretAccounts):
    """The offline policy, telling the test when a turn's edit has landed (it is charged then)."""

    def __init__(self, charged: threading.Event) -> None:
        super().__init__(SECRET)
        self.charged = charged

    def charge(self, account: str) -> None:
        self.charged.set()


def build(
    folder: Path,
    *,
    editor: Editor | None = None,
    renderer: Renderer | None = None,
    options: TurnOptions | None = None,
    history_limit: int = 50,
) -> ApiServer:
    return ApiServer(
        store=Store(folder / "state.db", history_limit=history_limit),
        media_store=MediaStore(folder / "media"),
        renders_dir=folder / "renders",
        editor=editor or ScriptedEditor(),
        renderer=renderer or FakeRenderer(Faults),
        accounts=_WatchedAccounts(threading.Event()),
        signing_key=SECRET,
        turn_options=options or TurnOptions(heartbeat_seconds=3600),
        render_flush_seconds=0.05,
        links=LinkPolicy(allow_private=True),  # the tests' links are on 127.0.0.1
    )


def charged(api: ApiServer) -> threading.Event:
    assert isinstance(api.accounts, _WatchedAccounts)
    return api.accounts.charged


@contextlib.contextmanager
def serving(api: ApiServer) -> Iterator[httpx.Client]:
    with ServerThread(api.app, stopping=api.close) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


@pytest.fixture
def api(tmp_path: Path) -> ApiServer:
    return build(tmp_path / "api")


@pytest.fixture
def http(api: ApiServer) -> Iterator[httpx.Client]:
    with serving(api) as client:
        yield client


class GatedEditor:
    """Holds the editor's work until the test opens the gate; then edits like the scripted one."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def edit(self, request: EditRequest) -> EditResult:
        assert self.gate.wait(10), "the test never opened the gate"
        return ScriptedEditor().edit(request)


class GatedRenderer:
    """Reports 50 %, then waits for the test to let it finish or fail; notices cancellation."""

    def __init__(self, fail: bool = False) -> None:
        self.halfway = threading.Event()
        self.go = threading.Event()
        self.cancelled = threading.Event()
        self.fail = fail

    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        try:
            on_progress(0.5)
            self.halfway.set()
            while not self.go.is_set():
                await anyio.sleep(0.01)
        except anyio.get_cancelled_exc_class():
            self.cancelled.set()
            raise
        if self.fail:
            raise RuntimeError("encoder exploded")
        await anyio.Path(out_path.parent).mkdir(parents=True, exist_ok=True)
        await anyio.Path(out_path).write_bytes(b"real video")


# --- access ------------------------------------------------------------------------------------

ROUTES = [
    ("POST", "/api/tasks/me/with-session/nemo_agent"),
    ("GET", "/api/credits/balance/simple"),
    ("GET", "/api/state/nemo_agent/me/1/latest"),
    ("POST", "/api/upload-video/nemo_agent/me/1"),
    ("POST", "/run_sse"),
    ("POST", "/api/render/proxy/lambda"),
    ("GET", "/api/render/proxy/lambda/render_x"),
    ("POST", "/api/render/proxy/lambda/render_x/cancel"),
    ("GET", "/api/render/proxy/render_x/download"),
    ("GET", "/media/1/a.png"),
    ("GET", "/renders/render_x.mp4"),
    ("POST", "/api/auth/anonymous-token"),
    ("GET", "/anything/else"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_the_secret(http: httpx.Client, method: str, path: str) -> None:
    for headers in ({}, auth("wrong"), {"Authorization": SECRET}):
        answer = http.request(method, path, headers=headers)
        assert answer.status_code == 401 and answer.json()["code"] == 401, (headers, answer.text)
    assert http.request(method, path, headers=auth(SECRET)).status_code != 401


def test_no_anonymous_tokens_and_free_credits_offline(http: httpx.Client) -> None:
    refused = http.post("/api/auth/anonymous-token", headers={**auth(SECRET), "X-Client-Id": "c"})
    assert refused.status_code == 404
    credits = http.get("/api/credits/balance/simple", headers=auth(SECRET)).json()["data"]
    assert credits["free"] is True and credits["available"] > 0 and credits["total"] == credits["available"]


def test_foreign_host_names_are_refused(http: httpx.Client) -> None:
    port = httpx.URL(str(http.base_url)).port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1", f"localhost.evil:{port}"):
        answer = http.get("/api/credits/balance/simple", headers={**auth(SECRET), "Host": host})
        assert answer.status_code == 421, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
        assert http.get("/api/credits/balance/simple", headers={**auth(SECRET), "Host": host}).status_code == 200


# --- sessions and uploads ------------------------------------------------------------------------


def test_new_session_is_empty_unguessable_and_answered_byte_stable(http: httpx.Client) -> None:
    sid = new_session(http, SECRET, "Trip")
    assert re.fullmatch(r"[1-9]\d{38}", sid)  # a decimal id like the cloud's, of 128 random bits
    body = state(http, SECRET, sid)["data"]
    assert body["session_id"] == sid and body["task_name"] == "Trip"
    assert body["state"]["draft"] == {"t": [], "d": 0, "m": {"title": "Trip", "width": 1080, "height": 1920}}
    assert body["state"]["canvas_config"] == {"width": 1080, "height": 1920}
    raw = [http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth(SECRET)).content for _ in range(2)]
    assert raw[0] == raw[1]


def test_unknown_sessions_answer_1002(http: httpx.Client) -> None:
    assert state(http, SECRET, "123")["code"] == 1002
    lines, _ = read_sse(http, SECRET, "123", "hi")
    assert '"code":1002' in lines[0]
    files = {"files": ("a.png", png_bytes(1, 1), "image/png")}
    assert http.post("/api/upload-video/nemo_agent/me/123", files=files, headers=auth(SECRET)).json()["code"] == 1002


def test_upload_stores_files_under_unguessable_names_and_reads_their_headers(
    http: httpx.Client, api: ApiServer
) -> None:
    sid = new_session(http, SECRET)
    image, audio = upload_pair(http, SECRET, sid)
    assert (image["filename"], image["file_type"], image["width"], image["height"]) == ("city.png", "image", 4, 3)
    assert (audio["file_type"], audio["duration"], audio["width"]) == ("audio", 1.5, None)
    assert image["hash"] == hashlib.sha256(png_bytes(4, 3)).hexdigest()
    path = api.media.path_for(image["cdn_url"])
    assert path is not None and path.parent == api.media.root / sid and path.read_bytes() == png_bytes(4, 3)
    assert re.fullmatch(rf"{HEX128}-city\.png", path.name)
    assert httpx.get(image["cdn_url"]).content == png_bytes(4, 3)  # the signed URL needs no secret
    assert state(http, SECRET, sid)["data"]["state"]["video_infos"] == [image, audio]


def test_files_need_the_secret_or_their_own_signature(http: httpx.Client) -> None:
    sid = new_session(http, SECRET)
    image, audio = upload_pair(http, SECRET, sid)
    bare, _, sig = image["cdn_url"].partition("?sig=")
    assert httpx.get(bare).status_code == 401
    assert httpx.get(f"{bare}?sig={'0' * 64}").status_code == 401
    assert httpx.get(f"{audio['cdn_url'].partition('?')[0]}?sig={sig}").status_code == 401  # another file's
    assert httpx.get(bare, headers=auth(SECRET)).content == png_bytes(4, 3)


def test_upload_names_never_become_paths(http: httpx.Client, api: ApiServer) -> None:
    sid = new_session(http, SECRET)
    files = {"files": ("../../../escape.png", png_bytes(1, 1), "image/png")}
    uploaded = http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=auth(SECRET)).json()
    path = api.media.path_for(uploaded["data"]["files"][0]["cdn_url"])
    assert path is not None and path.parent == api.media.root / sid
    assert not list(api.media.root.parent.parent.glob("escape.png"))
    assert api.media.path_for(f"http://x/media/{sid}/..%2F..%2Fescape.png") is None
    assert api.media.path_for("http://elsewhere/files/a.png") is None


def test_upload_refuses_unknown_types_and_large_files_leaving_nothing(http: httpx.Client, api: ApiServer) -> None:
    sid = new_session(http, SECRET)
    url = f"/api/upload-video/nemo_agent/me/{sid}"
    doc = http.post(url, files={"files": ("notes.txt", b"hello", "text/plain")}, headers=auth(SECRET))
    assert doc.json()["code"] == 4001
    api.max_upload_bytes = 1000
    files = [
        ("files", ("small.png", png_bytes(1, 1), "image/png")),
        ("files", ("big.wav", wav_bytes(1), "audio/wav")),
    ]
    assert http.post(url, files=files, headers=auth(SECRET)).json()["code"] == 4002
    assert list((api.media.root / sid).iterdir()) == []  # the refused batch left nothing
    assert state(http, SECRET, sid)["data"]["state"]["video_infos"] == []


def test_upload_by_url_fetches_the_file(http: httpx.Client, api: ApiServer) -> None:
    source, target = new_session(http, SECRET), new_session(http, SECRET)
    image, _ = upload_pair(http, SECRET, source)  # its own signed media URL is a real 127.0.0.1 URL
    answer = http.post(
        f"/api/upload-video/nemo_agent/me/{target}",
        json={"urls": [image["cdn_url"]], "source_type": "url"},
        headers=auth(SECRET),
    ).json()
    fetched = answer["data"]["files"][0]
    assert answer["data"]["session_state_applied"] is True
    assert (fetched["file_type"], fetched["width"], fetched["hash"]) == ("image", 4, image["hash"])
    assert fetched["cdn_url"] != image["cdn_url"] and api.media.path_for(fetched["cdn_url"]) is not None
    assert state(http, SECRET, target)["data"]["state"]["video_infos"] == [fetched]


# --- turns -------------------------------------------------------------------------------------


def test_run_sse_adk_form_edits_the_draft(http: httpx.Client) -> None:
    sid = new_session(http, SECRET)
    image, audio = upload_pair(http, SECRET, sid)
    lines, answer = read_sse(http, SECRET, sid, 'Make a video titled "Urban Dreams"')
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = data_events(lines)
    call, response, *texts = events
    assert call["content"]["parts"][0]["functionCall"]["name"] == "edit_multitrack"
    call_id = call["content"]["parts"][0]["functionCall"]["id"]
    assert response["content"]["parts"][0]["functionResponse"]["id"] == call_id
    *chunks, final = texts
    assert 2 <= len(chunks) <= 4 and all(c["partial"] is True for c in chunks)
    whole = "".join(c["content"]["parts"][0]["text"] for c in chunks)
    assert final["partial"] is False and final["content"]["parts"][0]["text"] == whole
    assert "Export" in whole and all(e["author"] == "nemo_agent" for e in events)

    draft = state(http, SECRET, sid)["data"]["state"]["draft"]
    by_type = {t["tt"]: t["sg"] for t in draft["t"]}
    assert [s["src"] for s in by_type[0]] == [image["cdn_url"]] and by_type[0][0]["d"] == 3000
    assert by_type[1][0]["src"] == audio["cdn_url"] and by_type[1][0]["v"] == 0.5 and by_type[1][0]["d"] == 3000
    assert by_type[7] == [{"id": "x1", "st": 0, "d": 3000, "tx": "Urban Dreams"}]
    assert draft["d"] == 3000


def test_heartbeats_flow_while_the_editor_works_in_the_typed_form(tmp_path: Path) -> None:
    editor = GatedEditor()
    api = build(tmp_path, editor=editor, options=TurnOptions(sse_form="typed", heartbeat_seconds=0.01))
    with serving(api) as http:
        sid = new_session(http, SECRET)
        upload_pair(http, SECRET, sid)
        with http.stream("POST", "/run_sse", json=instruction(sid, "add everything"), headers=auth(SECRET)) as answer:
            lines = answer.iter_lines()
            beats = [next(line for line in lines if line) for _ in range(3)]
            editor.gate.set()
            rest = [line for line in lines if line]
    assert beats == [": ping", "data:", 'data: {"type":"heartbeat"}']
    kinds = [e["type"] for e in data_events(rest)]
    assert kinds[kinds.index("tool_call") :][:2] == ["tool_call", "tool_result"] and kinds[-1] == "text"
    assert set(kinds) <= {"heartbeat", "tool_call", "tool_result", "text"}


def test_an_edit_lands_after_its_client_has_left(tmp_path: Path) -> None:
    editor = GatedEditor()
    api = build(tmp_path, editor=editor, options=TurnOptions(heartbeat_seconds=0.01))
    with serving(api) as http:
        sid = new_session(http, SECRET)
        with http.stream("POST", "/run_sse", json=instruction(sid, "title 'Kept'"), headers=auth(SECRET)) as answer:
            assert next(line for line in answer.iter_lines() if line) == ": ping"
        editor.gate.set()  # the client is gone; the agent finishes anyway
        assert charged(api).wait(10)
        assert state(http, SECRET, sid)["data"]["state"]["draft"]["t"][0]["sg"][0]["tx"] == "Kept"


def test_the_server_keeps_the_undo_history(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    api = build(tmp_path, editor=LocalEditor(media.path_for), history_limit=2)
    with serving(api) as http:
        sid = new_session(http, SECRET)
        for title in ("A", "B", "C"):
            read_sse(http, SECRET, sid, f"add the title '{title}'")

        def title() -> str | None:
            tracks = state(http, SECRET, sid)["data"]["state"]["draft"]["t"]
            return next((t["sg"][0]["tx"] for t in tracks if t["tt"] == 7), None)

        snapshot = api.store.snapshot(sid)
        assert snapshot is not None and len(snapshot.history) == 2  # bounded
        read_sse(http, SECRET, sid, "undo")
        assert title() == "B"
        read_sse(http, SECRET, sid, "undo")
        assert title() == "A"
        lines, _ = read_sse(http, SECRET, sid, "undo")
        assert title() == "A" and "nothing to undo" in " ".join(lines)


class _RacedEditor:
    """Appends the instruction to ``draft["log"]``; during each of its first ``races`` calls another
    process (another Store on the same file) tries to change the draft too."""

    def __init__(self, other: Store, races: int) -> None:
        self.other = other
        self.races = races
        self.calls = 0
        self.theirs: list[str] = []  # how each of the other process's writes went

    def edit(self, request: EditRequest) -> EditResult:
        self.calls += 1
        if self.calls <= self.races:
            current = self.other.snapshot(request.session_id)
            assert current is not None
            draft = current.session.draft
            theirs = {**draft, "log": [*draft.get("log", []), f"other{self.calls}"]}
            self.theirs.append(
                self.other.apply_edit(request.session_id, current.session.version, draft, theirs, reverted=False)
            )
        mine = {**request.draft, "log": [*request.draft.get("log", []), request.instruction]}
        return EditResult(mine, "logged")


@pytest.mark.parametrize(("races", "theirs"), [(1, ["applied"]), (99, ["applied", "conflict"])])
def test_a_change_made_elsewhere_during_an_edit_is_kept(tmp_path: Path, races: int, theirs: list[str]) -> None:
    """The edit is made again on the new draft; having lost a race, it then has the project to
    itself: the other process is refused until it has landed."""
    editor = _RacedEditor(Store(tmp_path / "state.db"), races=races)
    with serving(build(tmp_path, editor=editor)) as http:
        sid = new_session(http, SECRET)
        read_sse(http, SECRET, sid, "mine")
        assert state(http, SECRET, sid)["data"]["state"]["draft"]["log"] == ["other1", "mine"]
    assert editor.theirs == theirs and editor.calls == 2


class _FailingEditor:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def edit(self, request: EditRequest) -> EditResult:
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [(EditFailed("I can't do that."), "I can't do that."), (ValueError("boom"), "The editor failed: boom")],
)
def test_a_failed_edit_is_an_error_event_and_no_change(tmp_path: Path, error: Exception, message: str) -> None:
    with serving(build(tmp_path, editor=_FailingEditor(error))) as http:
        sid = new_session(http, SECRET)
        before = state(http, SECRET, sid)["data"]["state"]["draft"]
        lines, _ = read_sse(http, SECRET, sid, "anything")
        assert [e.get("errorMessage") for e in data_events(lines)] == [message]
        assert state(http, SECRET, sid)["data"]["state"]["draft"] == before


def test_stopping_ends_an_open_turn_at_once(tmp_path: Path) -> None:
    editor = GatedEditor()
    api = build(tmp_path, editor=editor, options=TurnOptions(heartbeat_seconds=0.01))
    server = ServerThread(api.app, stopping=api.close)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            sid = new_session(http, SECRET)
            with http.stream("POST", "/run_sse", json=instruction(sid, "hi"), headers=auth(SECRET)) as answer:
                lines = answer.iter_lines()
                assert next(line for line in lines if line) == ": ping"
                started = time.monotonic()
                threading.Thread(target=server.stop).start()
                rest = [line for line in lines if line.startswith("data: {")]
            assert time.monotonic() - started < 3
            assert "shutting down" in data_events(rest)[-1]["errorMessage"]
    finally:
        editor.gate.set()
        server.stop()


# --- renders -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fail", [False, True])
def test_render_lifecycle_is_driven_by_the_renderer(tmp_path: Path, fail: bool) -> None:
    renderer = GatedRenderer(fail=fail)
    api = build(tmp_path, renderer=renderer)
    with serving(api) as http:
        submitted = export(http, SECRET, "1", NON_EMPTY_DRAFT, render_id="render_1").json()["data"]
        render_id = submitted["id"]
        assert submitted["status"] == "pending" and re.fullmatch(rf"render_{HEX128}", render_id)  # ours, not theirs
        assert renderer.halfway.wait(5)
        data = render_status(http, SECRET, render_id)["data"]
        assert (data["status"], data["progress"], data["outputUrl"]) == ("processing", 50, None)
        assert http.get(f"/api/render/proxy/{render_id}/download", headers=auth(SECRET)).status_code == 409
        renderer.go.set()
        live = api.renders.live(render_id)
        assert live is not None and live.finished.wait(5)
        data = render_status(http, SECRET, render_id)["data"]
        if fail:
            assert (data["status"], data["error"], data["outputUrl"]) == (
                "failed",
                "Render failed: encoder exploded",
                None,
            )
            return
        assert data["status"] == "completed" and data["progress"] == 100 and data["completedAt"].endswith("Z")
        url = data["outputUrl"]
        assert httpx.get(url).content == b"real video"  # signed: no secret needed
        # Byte ranges, so that a browser's player can seek in the preview.
        part = httpx.get(url, headers={"Range": "bytes=2-5"})
        assert (part.status_code, part.content, part.headers["content-range"]) == (206, b"al v", "bytes 2-5/10")
        assert httpx.head(url).headers["accept-ranges"] == "bytes"
        assert httpx.get(url.replace("?sig=", "?sig=0")).status_code == 401
        assert httpx.get(url.partition("?")[0]).status_code == 401
        fallback = http.get(f"/api/render/proxy/{render_id}/download", headers=auth(SECRET))
        assert fallback.content == b"real video"


def test_cancel_stops_a_render(tmp_path: Path) -> None:
    renderer = GatedRenderer()
    with serving(build(tmp_path, renderer=renderer)) as http:
        render_id = export(http, SECRET, "1", NON_EMPTY_DRAFT).json()["data"]["id"]
        assert renderer.halfway.wait(5)
        cancelled = http.post(f"/api/render/proxy/lambda/{render_id}/cancel", headers=auth(SECRET)).json()["data"]
        assert (cancelled["status"], cancelled["error"]) == ("failed", "cancelled") and renderer.cancelled.is_set()
        data = render_status(http, SECRET, render_id)["data"]
        assert (data["status"], data["error"]) == ("failed", "cancelled")


def test_another_process_reads_and_cancels_a_render(tmp_path: Path) -> None:
    renderer = GatedRenderer()
    runner, reader = build(tmp_path, renderer=renderer), build(tmp_path)  # two servers, one state dir
    with serving(runner) as http_a, serving(reader) as http_b:
        render_id = export(http_a, SECRET, "1", NON_EMPTY_DRAFT).json()["data"]["id"]
        assert renderer.halfway.wait(5)
        assert render_status(http_b, SECRET, render_id)["data"]["status"] in ("pending", "processing")
        http_b.post(f"/api/render/proxy/lambda/{render_id}/cancel", headers=auth(SECRET))
        live = runner.renders.live(render_id)
        assert live is not None and live.finished.wait(5) and renderer.cancelled.is_set()
        data = render_status(http_b, SECRET, render_id)["data"]
        assert (data["status"], data["error"]) == ("failed", "cancelled")


def test_a_render_whose_process_died_reads_as_failed(http: httpx.Client, api: ApiServer) -> None:
    long_ago = time.time() - 3600
    api.store.add_render(RenderRecord("render_gone", "1", "local", "processing", 0.4, None, long_ago, long_ago))
    data = render_status(http, SECRET, "render_gone")["data"]
    assert (data["status"], data["error"]) == ("failed", ABANDONED)
    assert render_status(http, SECRET, "render_unknown") == {"success": False, "error": "Render not found"}
