"""The NemoVideo emulator over real HTTP, with plain httpx (not the project's client)."""

from __future__ import annotations

import io
import json
import struct
import threading
import wave
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
import pytest

from nemo_mcp.testing import Emulator, EmulatorServer
from nemo_mcp.emulator.render import Render

ATTRIBUTION = {"X-Skill-Source": "nemo-mcp", "X-Skill-Version": "0.1.0", "X-Skill-Platform": "unknown"}


# --- fixtures and helpers ----------------------------------------------------------------------


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


def png_bytes(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(rate * seconds))
    return buf.getvalue()


def anon_token(http: httpx.Client, client_id: str = "client-1") -> str:
    answer = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["data"]["token"]
    return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **ATTRIBUTION}


def new_session(http: httpx.Client, token: str, name: str = "project") -> str:
    answer = http.post(
        "/api/tasks/me/with-session/nemo_agent",
        json={"task_name": name, "language": "en"},
        headers=auth(token),
    )
    sid: str = answer.json()["data"]["session_id"]
    return sid


def upload_pair(http: httpx.Client, token: str, sid: str) -> list[dict[str, Any]]:
    files = [
        ("files", ("city.png", png_bytes(4, 3), "image/png")),
        ("files", ("lofi.wav", wav_bytes(1.5), "audio/wav")),
    ]
    answer = http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=auth(token))
    body = answer.json()
    assert body["code"] == 0, body
    uploaded: list[dict[str, Any]] = body["data"]["files"]
    return uploaded


def state(http: httpx.Client, token: str, sid: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)).json()
    return body


def read_sse(http: httpx.Client, token: str, sid: str, text: str) -> tuple[list[str], httpx.Response]:
    """The raw non-blank lines of a /run_sse answer."""
    body = {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": sid,
        "new_message": {"parts": [{"text": text}]},
    }
    headers = {**auth(token), "Accept": "text/event-stream"}
    with http.stream("POST", "/run_sse", json=body, headers=headers) as answer:
        lines = [line for line in answer.iter_lines() if line]
    return lines, answer


def data_events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in lines if line.startswith("data:") and line[5:].strip()]


def export(http: httpx.Client, token: str, sid: str, render_id: str, draft_text: str) -> httpx.Response:
    raw = (
        f'{{"id": "{render_id}", "sessionId": "{sid}", "draft": {draft_text}, '
        f'"output": {{"format": "mp4", "quality": "high"}}}}'
    )
    headers = {**auth(token), "Content-Type": "application/json"}
    return http.post("/api/render/proxy/lambda", content=raw.encode(), headers=headers)


NON_EMPTY_DRAFT = '{"t":[{"tt":0,"sg":[{"id":"v1","st":0,"d":3000,"k":"image","src":"x"}]}],"d":3000}'


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


# --- sessions ----------------------------------------------------------------------------------


def test_new_session_state_is_an_empty_draft_answered_byte_stable(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token, "Trip")
    assert sid.isdigit() and len(sid) >= 18
    body = state(http, token, sid)["data"]
    assert body["session_id"] == sid and body["task_name"] == "Trip"
    assert body["state"]["draft"] == {"t": [], "d": 0, "m": {"title": "Trip", "width": 1080, "height": 1920}}
    assert body["state"]["canvas_config"] == {"width": 1080, "height": 1920}
    assert emu.sessions[sid].user_id == emu.tokens[token].user_id
    raw = [http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=auth(token)).content for _ in range(2)]
    assert raw[0] == raw[1]


def test_unknown_foreign_and_lost_sessions_answer_1002(http: httpx.Client, emu: Emulator) -> None:
    mine, other = anon_token(http, "a"), anon_token(http, "b")
    sid = new_session(http, mine)
    assert state(http, mine, "123")["code"] == 1002
    assert state(http, other, sid)["code"] == 1002
    assert state(http, mine, sid)["code"] == 0
    emu.lose_session(sid)
    assert state(http, mine, sid)["code"] == 1002


# --- uploads -----------------------------------------------------------------------------------


def test_multipart_upload_stores_files_and_reads_their_headers(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    image, audio = upload_pair(http, token, sid)
    assert (image["filename"], image["file_type"], image["width"], image["height"]) == (
        "city.png",
        "image",
        4,
        3,
    )
    assert (audio["file_type"], audio["duration"], audio["width"]) == ("audio", 1.5, None)
    served = httpx.get(image["cdn_url"])  # no auth on media
    assert served.content == png_bytes(4, 3)
    path = emu.media_path(image["cdn_url"])
    assert path is not None and path.is_relative_to(emu.data_dir) and path.read_bytes() == png_bytes(4, 3)
    import hashlib

    assert image["hash"] == hashlib.sha256(png_bytes(4, 3)).hexdigest()
    assert state(http, token, sid)["data"]["state"]["video_infos"] == [image, audio]


def test_upload_names_never_become_paths(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    files = {"files": ("../../../escape.png", png_bytes(1, 1), "image/png")}
    uploaded = http.post(f"/api/upload-video/nemo_agent/me/{sid}", files=files, headers=auth(token)).json()
    path = emu.media_path(uploaded["data"]["files"][0]["cdn_url"])
    assert path is not None and path.parent == (emu.data_dir / "media" / sid).resolve()
    assert not (emu.data_dir.parent / "escape.png").exists()
    assert emu.media_path(f"http://x/media/{sid}/..%2F..%2Fescape.png") is None
    assert emu.media_path("http://elsewhere/files/a.png") is None


def test_upload_refuses_unknown_types_and_large_files(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    url = f"/api/upload-video/nemo_agent/me/{sid}"
    doc = http.post(url, files={"files": ("notes.txt", b"hello", "text/plain")}, headers=auth(token))
    assert doc.json()["code"] == 4001
    emu.max_upload_bytes = 1000
    files = [
        ("files", ("small.png", png_bytes(1, 1), "image/png")),
        ("files", ("big.wav", wav_bytes(1), "audio/wav")),
    ]
    big = http.post(url, files=files, headers=auth(token))
    assert big.json()["code"] == 4002
    assert list((emu.data_dir / "media" / sid).iterdir()) == []  # the refused batch left nothing
    assert emu.sessions[sid].uploads == []


def test_upload_by_url_fetches_the_file(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    source, target = new_session(http, token), new_session(http, token)
    image, _ = upload_pair(http, token, source)  # the emulator's own media URL is a real 127.0.0.1 URL
    answer = http.post(
        f"/api/upload-video/nemo_agent/me/{target}",
        json={"urls": [image["cdn_url"]], "source_type": "url"},
        headers=auth(token),
    ).json()
    fetched = answer["data"]["files"][0]
    assert answer["data"]["session_state_applied"] is True
    assert (fetched["file_type"], fetched["width"], fetched["hash"]) == ("image", 4, image["hash"])
    assert fetched["cdn_url"] != image["cdn_url"] and emu.media_path(fetched["cdn_url"]) is not None
    assert emu.sessions[target].uploads == [fetched]


# --- the agent stream --------------------------------------------------------------------------


def test_run_sse_adk_form_edits_the_draft(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    image, audio = upload_pair(http, token, sid)
    emu.faults.heartbeats = 2
    lines, answer = read_sse(http, token, sid, 'Make a video titled "Urban Dreams"')
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert lines[:2] == [": ping", "data:"]
    events = data_events(lines)
    call, response, *texts = events
    assert call["content"]["parts"][0]["functionCall"]["name"] == "edit_multitrack"
    assert (
        response["content"]["parts"][0]["functionResponse"]["id"] == call["content"]["parts"][0]["functionCall"]["id"]
    )
    *chunks, final = texts
    assert 2 <= len(chunks) <= 4 and all(c["partial"] is True for c in chunks)
    whole = "".join(c["content"]["parts"][0]["text"] for c in chunks)
    assert final["partial"] is False and final["content"]["parts"][0]["text"] == whole
    assert "Export" in whole and all(e["author"] == "nemo_agent" for e in events)

    draft = state(http, token, sid)["data"]["state"]["draft"]
    by_type = {t["tt"]: t["sg"] for t in draft["t"]}
    assert [s["src"] for s in by_type[0]] == [image["cdn_url"]] and by_type[0][0]["d"] == 3000
    assert by_type[1][0]["src"] == audio["cdn_url"] and by_type[1][0]["v"] == 0.5 and by_type[1][0]["d"] == 3000
    assert by_type[7] == [{"id": "x1", "st": 0, "d": 3000, "tx": "Urban Dreams"}]
    assert draft["d"] == 3000
    assert emu.credits(emu.tokens[token].user_id) == 99


def test_run_sse_typed_form(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    sid = new_session(http, token)
    upload_pair(http, token, sid)
    emu.faults.sse_form = "typed"
    emu.faults.heartbeats = 3
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
    sid = new_session(http, token)
    emu.faults.export_shape = shape
    emu.faults.render_size_bytes = 3 * 1024 * 1024 + 5
    submitted = export(http, token, sid, "render_1", NON_EMPTY_DRAFT)
    assert submitted.json() == {
        "success": True,
        "data": {"id": "render_1", "status": "pending", "progress": 0},
    }
    status = http.get("/api/render/proxy/lambda/render_1", headers=auth(token)).json()
    if shape == 1:
        data = status["data"]
        assert (data["id"], data["status"], data["progress"]) == ("render_1", "completed", 100)
        url = data["outputUrl"]
        assert data["createdAt"].endswith("Z") and data["completedAt"]
    else:
        assert status["status"] == "completed" and status["progress"] == 100
        url = status["output"]["url"]
        if shape == 3:
            assert status["taskId"] == "render_1"
            assert status["output"]["size"] == 3 * 1024 * 1024 + 5 and status["output"]["duration"] == 3.0
    video = httpx.get(url)
    assert video.headers["content-length"] == str(3 * 1024 * 1024 + 5) and video.content[4:8] == b"ftyp"
    fallback = http.get("/api/render/proxy/render_1/download", headers=auth(token))
    assert fallback.content == video.content
    assert http.get("/api/render/proxy/render_1/download", headers=auth("bad")).json()["code"] == 1001


def test_render_keeps_the_draft_bytes_exactly(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    odd = '{ "d" :3000, "t":[{"sg":[{"id":"v1","n":"caf\\u00e9","x":1.50}],"tt":0}] }'
    export(http, token, "1", "render_raw", odd)
    render = emu.renders["render_raw"]
    assert render.draft_text == odd and render.draft_bytes == odd.encode()
    assert render.raw_body.startswith(b'{"id": "render_raw"')


def test_render_status_advances_with_time_not_polls(emu: Emulator, tmp_path: Path) -> None:
    render = Render("r", "s", "u", b"{}", {}, tmp_path / "r.mp4", render_seconds=3.0, render_steps=3)
    render.work_done = True
    start = render.started
    seen = [render.view(start + t) for t in (0.0, 0.5, 1.1, 2.2, 3.0)]
    assert [v.status for v in seen] == ["pending", "pending", "processing", "processing", "completed"]
    assert [v.progress for v in seen] == [0, 0, 33, 67, 100]


def test_failed_render_says_why(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    emu.faults.fail_render = True
    export(http, token, "1", "render_f", NON_EMPTY_DRAFT)
    data = http.get("/api/render/proxy/lambda/render_f", headers=auth(token)).json()["data"]
    assert data["status"] == "failed" and data["error"].startswith("Render failed: ")
    assert data["outputUrl"] is None
    emu.faults.export_shape = 2
    top = http.get("/api/render/proxy/lambda/render_f", headers=auth(token)).json()
    assert top["status"] == "failed" and top["error"].startswith("Render failed: ") and "output" not in top


def test_export_refusals(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    bare = http.post(
        "/api/render/proxy/lambda",
        json={"id": "r0", "sessionId": "1", "draft": json.loads(NON_EMPTY_DRAFT)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bare.status_code == 402 and bare.json()["code"] == 402
    assert export(http, token, "1", "r_empty", '{"t":[{"tt":0,"sg":[]}],"d":0}').status_code == 400
    emu.faults.plan_limit = True
    assert export(http, token, "1", "r1", NON_EMPTY_DRAFT).status_code == 402
    assert "r1" not in emu.renders


def test_duplicate_render_ids(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    assert export(http, token, "1", "r_a", NON_EMPTY_DRAFT).status_code == 200
    again = export(http, token, "1", "r_a", NON_EMPTY_DRAFT)
    assert again.status_code == 409 and "duplicate id" in again.json()["error"]
    emu.faults.duplicate_render_id_once = True
    assert export(http, token, "1", "r_b", NON_EMPTY_DRAFT).status_code == 409
    assert export(http, token, "1", "r_b", NON_EMPTY_DRAFT).status_code == 200


def test_cancel_stops_a_render(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    emu.faults.render_seconds = 3600
    export(http, token, "1", "r_slow", NON_EMPTY_DRAFT)
    assert http.get("/api/render/proxy/lambda/r_slow", headers=auth(token)).json()["data"]["status"] == "pending"
    http.post("/api/render/proxy/lambda/r_slow/cancel", headers=auth(token))
    data = http.get("/api/render/proxy/lambda/r_slow", headers=auth(token)).json()["data"]
    assert (data["status"], data["error"]) == ("failed", "cancelled") and emu.renders["r_slow"].cancelled


def test_cut_download_breaks_the_connection(http: httpx.Client, emu: Emulator) -> None:
    token = anon_token(http)
    export(http, token, "1", "r_cut", NON_EMPTY_DRAFT)
    url = http.get("/api/render/proxy/lambda/r_cut", headers=auth(token)).json()["data"]["outputUrl"]
    emu.faults.cut_download_after = 1000
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as answer:
        assert answer.headers["content-length"] == "200000"
        for chunk in answer.iter_bytes():
            received += chunk
    assert len(received) == 1000


class _GatedRenderer:
    """A plugged renderer that reports progress, then waits for the test to let it finish or fail."""

    def __init__(self) -> None:
        self.halfway = threading.Event()
        self.go = threading.Event()
        self.fail = False

    async def render(self, draft: dict[str, Any], out_path: Path, on_progress: Callable[[float], None]) -> None:
        on_progress(0.5)
        self.halfway.set()
        await anyio.to_thread.run_sync(self.go.wait)
        if self.fail:
            raise RuntimeError("encoder exploded")
        await anyio.Path(out_path.parent).mkdir(parents=True, exist_ok=True)
        await anyio.Path(out_path).write_bytes(b"real video")


@pytest.mark.parametrize("fail", [False, True])
def test_plugged_renderer_drives_the_status(tmp_path: Path, fail: bool) -> None:
    renderer = _GatedRenderer()
    renderer.fail = fail
    emu = Emulator(tmp_path, renderer=renderer)
    with EmulatorServer(emu) as server, httpx.Client(base_url=server.url) as http:
        token = anon_token(http)
        export(http, token, "1", "r_p", NON_EMPTY_DRAFT)
        assert renderer.halfway.wait(5)
        data = http.get("/api/render/proxy/lambda/r_p", headers=auth(token)).json()["data"]
        assert (data["status"], data["progress"]) == ("processing", 50)
        renderer.go.set()
        assert emu.renders["r_p"].finished.wait(5)
        data = http.get("/api/render/proxy/lambda/r_p", headers=auth(token)).json()["data"]
        if fail:
            assert (data["status"], data["error"]) == ("failed", "Render failed: encoder exploded")
        else:
            assert data["status"] == "completed" and httpx.get(data["outputUrl"]).content == b"real video"


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
        async with client.stream("POST", "/run_sse", json=body, headers=auth(token)) as stream:
            lines = stream.aiter_lines()
            assert await lines.__anext__() == ": ping"
            await anyio.to_thread.run_sync(server.stop)
            with pytest.raises(httpx.RemoteProtocolError):
                async for _ in lines:
                    pass
