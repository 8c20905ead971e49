"""The cloud emulator (nemo_mcp.testing) over real HTTP, with plain httpx: what it adds to the API
server (tokens, credits, the cloud's quirks) and its fault switches."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import anyio
import httpx
import pytest
from tests.http_api import (
    NON_EMPTY_DRAFT,
    auth,
    data_events,
    new_session,
    read_sse,
    render_status,
    state,
    upload_pair,
)
from tests.http_api import export as export_draft
from tests.test_apiserver import GatedRenderer

from nemo_mcp.testing import Emulator, EmulatorServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emu(tmp_path: Path) -> Emulator:
    return Emulator(tmp_path / "data")


@pytest.fixture
def server(emu: Emulator) -> Iterator[EmulatorServer]:
    with EmulatorServer(emu) as running:
        yield running


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def anon_token(http: httpx.Client, client_id: str = "client-1") -> str:
    answer = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["data"]["token"]
    return token


def export(http: httpx.Client, token: str, sid: str, draft_text: str = NON_EMPTY_DRAFT) -> str:
    """Submit an export; the render id the emulator answered."""
    answer = export_draft(http, token, sid, draft_text)
    assert answer.status_code == 200, answer.text
    render_id: str = answer.json()["data"]["id"]
    return render_id


# --- tokens and auth ---------------------------------------------------------------------------


def test_anonymous_token_is_issued_once_per_client_until_it_expires(http: httpx.Client, emu: Emulator) -> None:
    first = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c-1"})
    data = first.json()["data"]
    assert data["token"].startswith("nmv_usr_") and data["user_id"].startswith("anon_")
    assert data["credits"] == 100 and data["expires_at"].endswith("Z")
    assert emu.tokens[data["token"]].client_id == "c-1"

    again = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c-1"})
    assert again.status_code == 429 and again.json()["code"] == 429
    assert emu.token_requests == 1

    emu.expire_tokens()
    renewed = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c-1"}).json()["data"]
    assert renewed["token"] != data["token"] and renewed["user_id"] == data["user_id"]
    assert emu.token_requests == 2


def test_anonymous_token_needs_a_client_id(http: httpx.Client) -> None:
    answer = http.post("/api/auth/anonymous-token")
    assert answer.status_code == 400 and answer.json()["code"] == 400


def test_expires_at_can_be_omitted(http: httpx.Client, emu: Emulator) -> None:
    emu.faults.omit_expires_at = True
    data = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c-2"}).json()["data"]
    assert "expires_at" not in data and data["token"]


def test_unknown_and_expired_tokens_answer_1001(http: httpx.Client, emu: Emulator) -> None:
    assert http.get("/api/credits/balance/simple", headers=auth("nmv_usr_nope")).json()["code"] == 1001
    assert http.get("/api/credits/balance/simple").json()["code"] == 1001
    emu.add_user_token("nmv_usr_mine", "user_7", credits=40)
    balance = http.get("/api/credits/balance/simple", headers=auth("nmv_usr_mine")).json()
    assert balance == {"code": 0, "data": {"available": 40, "frozen": 0, "total": 40}}
    emu.expire_tokens()
    assert http.get("/api/credits/balance/simple", headers=auth("nmv_usr_mine")).json()["code"] == 1001


# --- sessions, credits and the agent ------------------------------------------------------------


def test_sessions_belong_to_their_user(http: httpx.Client, emu: Emulator) -> None:
    mine, other = anon_token(http, "a"), anon_token(http, "b")
    sid = new_session(http, mine, "Trip")
    session = emu.sessions[sid]
    assert session.user_id == emu.tokens[mine].user_id and session.task_name == "Trip"
    assert state(http, other, sid)["code"] == 1002
    assert state(http, mine, sid)["code"] == 0
    emu.lose_session(sid)
    assert state(http, mine, sid)["code"] == 1002 and sid not in emu.sessions


def test_uploads_are_recorded_and_their_urls_resolve(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    image, audio = upload_pair(http, token, sid)
    assert emu.sessions[sid].uploads == [image, audio]
    path = emu.media_path(image["cdn_url"])
    assert path is not None and path.is_relative_to(emu.data_dir) and httpx.get(image["cdn_url"]).status_code == 200
    emu.max_upload_bytes = 10
    files = {"files": ("big.png", b"x" * 11, "image/png")}
    assert http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=auth(token)).json()["code"] == 4002


def test_a_turn_costs_one_credit(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    upload_pair(http, token, sid)
    emu.faults.heartbeats = 2
    lines, _ = read_sse(http, token, sid, 'Make a video titled "Urban Dreams"')
    assert lines[:2] == [": ping", "data:"]
    assert "Urban Dreams" in json.dumps(emu.sessions[sid].draft)
    assert emu.credits(emu.tokens[token].user_id) == 99
    assert http.get("/api/credits/balance/simple", headers=auth(token)).json()["data"]["available"] == 99


def test_typed_form_with_exactly_the_heartbeats_asked_for(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    upload_pair(http, token, sid)
    emu.faults.sse_form = "typed"
    emu.faults.heartbeats = 3
    emu.faults.heartbeat_interval = 0.05
    lines, _ = read_sse(http, token, sid, "add everything")
    assert lines[:3] == [": ping", "data:", 'data: {"type":"heartbeat"}']
    events = data_events(lines)
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["heartbeat", "tool_call", "tool_result"] and set(kinds[3:]) == {"text"}
    assert events[1]["name"] == "edit_multitrack" and "result" in events[2]
    assert "image" in "".join(e["content"] for e in events[3:])


def test_textless_turn_still_edits(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    emu.faults.textless = True
    lines, _ = read_sse(http, token, sid, "title it 'Hello'")
    events = data_events(lines)
    assert len(events) == 2 and not any("text" in p for e in events for p in e["content"]["parts"])
    assert state(http, token, sid)["data"]["state"]["draft"]["t"][0]["sg"][0]["tx"] == "Hello"


def test_run_sse_refuses_without_credits_or_session(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    lines, answer = read_sse(http, token, "999", "hi")
    assert json.loads(lines[0])["code"] == 1002
    emu.set_credits(emu.tokens[token].user_id, 0)
    lines, answer = read_sse(http, token, sid, "hi")
    assert answer.headers["content-type"].startswith("application/json") and json.loads(lines[0])["code"] == 2001


@pytest.mark.parametrize("applies", [True, False])
def test_dropped_stream_is_broken_not_ended(http: httpx.Client, emu: Emulator, applies: bool) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    emu.faults.heartbeats = 2
    emu.faults.drop_stream_after = 2  # the heartbeats only
    emu.faults.drop_applies_edit = applies
    with pytest.raises(httpx.RemoteProtocolError):
        read_sse(http, token, sid, "title 'Gone'")
    titled = state(http, token, sid)["data"]["state"]["draft"]["t"] != []
    assert titled is applies
    assert emu.credits(emu.tokens[token].user_id) == (99 if applies else 100)


# --- renders -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [1, 2, 3])
def test_render_lifecycle_in_each_status_shape(http: httpx.Client, emu: Emulator, shape: Literal[1, 2, 3]) -> None:
    token = anon_token(http)
    emu.faults.export_shape = shape
    emu.faults.render_size_bytes = 3 * 1024 * 1024 + 5
    render_id = export(http, token, "1")
    status = render_status(http, token, render_id)
    if shape == 1:
        data = status["data"]
        assert (data["id"], data["status"], data["progress"]) == (render_id, "completed", 100)
        url = data["outputUrl"]
        assert data["createdAt"].endswith("Z") and data["completedAt"]
    else:
        assert status["status"] == "completed" and status["progress"] == 100
        url = status["output"]["url"]
        if shape == 3:
            assert status["taskId"] == render_id
            assert status["output"]["size"] == 3 * 1024 * 1024 + 5 and status["output"]["duration"] == 3.0
    video = httpx.get(url)
    assert video.headers["content-length"] == str(3 * 1024 * 1024 + 5) and video.content[4:8] == b"ftyp"
    fallback = http.get(f"/api/render/proxy/{render_id}/download", headers=auth(token))
    assert fallback.content == video.content
    assert http.get(f"/api/render/proxy/{render_id}/download", headers=auth("bad")).json()["code"] == 1001


def test_render_keeps_the_draft_bytes_exactly(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    odd = '{ "d" :3000, "t":[{"sg":[{"id":"v1","n":"caf\\u00e9","x":1.50}],"tt":0}] }'
    render_id = export(http, token, "1", odd)
    render = emu.renders[render_id]
    assert render.draft_text == odd and render.draft_bytes == odd.encode()
    assert render.raw_body.startswith(b'{"id": "render_1"')


def test_render_pacing_shows_every_status(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    emu.faults.render_seconds = 0.6
    emu.faults.render_steps = 3
    render_id = export(http, token, "1")
    seen = [render_status(http, token, render_id)["data"]["status"]]
    while seen[-1] != "completed":
        status = render_status(http, token, render_id)["data"]["status"]
        if status != seen[-1]:
            seen.append(status)
    assert seen == ["pending", "processing", "completed"]


def test_failed_render_says_why(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    emu.faults.fail_render = True
    render_id = export(http, token, "1")
    data = render_status(http, token, render_id)["data"]
    assert data["status"] == "failed" and data["error"].startswith("Render failed: ")
    assert data["outputUrl"] is None
    emu.faults.export_shape = 2
    top = render_status(http, token, render_id)
    assert top["status"] == "failed" and top["error"].startswith("Render failed: ") and "output" not in top


def test_export_refusals(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    bare = http.post(
        "/api/render/proxy/lambda",
        json={"id": "r0", "sessionId": "1", "draft": json.loads(NON_EMPTY_DRAFT)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bare.status_code == 402 and bare.json()["code"] == 402
    assert export_draft(http, token, "1", '{"t":[{"tt":0,"sg":[]}],"d":0}').status_code == 400
    emu.faults.plan_limit = True
    assert export_draft(http, token, "1", NON_EMPTY_DRAFT).status_code == 402
    assert emu.renders == {}


def test_duplicate_render_id_fault_refuses_once(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    emu.faults.duplicate_render_id_once = True
    again = export_draft(http, token, "1", NON_EMPTY_DRAFT)
    assert again.status_code == 409 and "duplicate id" in again.json()["error"]
    assert export_draft(http, token, "1", NON_EMPTY_DRAFT).status_code == 200


def test_cancel_stops_a_render(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    emu.faults.render_seconds = 3600
    render_id = export(http, token, "1")
    assert render_status(http, token, render_id)["data"]["status"] == "pending"
    http.post(f"/api/render/proxy/lambda/{render_id}/cancel", headers=auth(token))
    data = render_status(http, token, render_id)["data"]
    assert (data["status"], data["error"]) == ("failed", "cancelled") and emu.renders[render_id].cancelled


def test_cut_download_breaks_the_connection(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    url = render_status(http, token, export(http, token, "1"))["data"]["outputUrl"]
    emu.faults.cut_download_after = 1000
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as answer:
        assert answer.headers["content-length"] == "200000"
        for chunk in answer.iter_bytes():
            received += chunk
    assert len(received) == 1000


def test_a_plugged_renderer_is_reported_as_it_goes(tmp_path: Path) -> None:
    renderer = GatedRenderer()
    emu = Emulator(tmp_path, renderer=renderer)
    with EmulatorServer(emu) as server, httpx.Client(base_url=server.url) as http:
        token = anon_token(http)
        render_id = export(http, token, "1")
        assert renderer.halfway.wait(5)
        assert render_status(http, token, render_id)["data"]["status"] == "processing"  # no waiting for it
        renderer.go.set()
        assert emu.renders[render_id].finished.wait(5)
        assert render_status(http, token, render_id)["data"]["status"] == "completed"


# --- faults and bookkeeping --------------------------------------------------------------------


def test_transport_fault_counters(http: httpx.Client, emu: Emulator) -> None:
    emu.faults.rate_limit = 2
    emu.faults.rate_limit_path = "/api/credits"
    assert http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "z"}).status_code == 200
    codes = [http.get("/api/credits/balance/simple").status_code for _ in range(3)]
    assert codes == [429, 429, 200] and emu.faults.rate_limit == 0

    emu.faults.server_error = 1
    assert http.get("/api/credits/balance/simple").status_code == 503
    emu.faults.reset_connection = 1
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/api/credits/balance/simple")
    assert http.get("/api/credits/balance/simple").status_code == 200


def test_every_request_is_recorded(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    http.get("/api/credits/balance/simple", headers=auth(token))
    last = emu.requests[-1]
    assert (last.method, last.path) == ("GET", "/api/credits/balance/simple")
    assert last.headers["authorization"] == f"Bearer {token}" and last.headers["x-skill-source"] == "nemo-mcp"
    assert [r.path for r in emu.requests] == ["/api/auth/anonymous-token", "/api/credits/balance/simple"]


@pytest.mark.anyio
async def test_stop_does_not_hang_on_an_open_stream(tmp_path: Path) -> None:
    emu = Emulator(tmp_path)
    server = EmulatorServer(emu)
    server.start()
    emu.faults.heartbeats = 1000
    emu.faults.heartbeat_interval = 60
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "s"})
        token = answer.json()["data"]["token"]
        created = await client.post("/api/tasks/me/with-session/nemo_agent", json={}, headers=auth(token))
        sid = created.json()["data"]["session_id"]
        body = {"session_id": sid, "new_message": {"parts": [{"text": "hi"}]}}
        stopped = threading.Event()
        async with client.stream("POST", "/run_sse", json=body, headers=auth(token)) as stream:
            lines = stream.aiter_lines()
            with anyio.fail_after(5):
                await anyio.to_thread.run_sync(lambda: (server.stop(), stopped.set()))
                rest = [line async for line in lines if line.startswith("data: {")]
        assert stopped.is_set() and "shutting down" in rest[-1]
