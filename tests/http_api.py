"""The NemoVideo API spoken with plain httpx (not the project's client), for the server-side tests."""

from __future__ import annotations

import io
import json
import wave
from typing import Any

import httpx
from tests.conftest import png_bytes

ATTRIBUTION = {"X-Skill-Source": "nemo-mcp", "X-Skill-Version": "0.1.0", "X-Skill-Platform": "unknown"}
NON_EMPTY_DRAFT = '{"t":[{"tt":0,"sg":[{"id":"v1","st":0,"d":3000,"k":"image","src":"x"}]}],"d":3000}'


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **ATTRIBUTION}


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(rate * seconds))
    return buf.getvalue()


def new_session(http: httpx.Client, token: str, name: str = "project") -> str:
    answer = http.post(
        "/api/tasks/me/with-session/nemo_agent", json={"task_name": name, "language": "en"}, headers=auth(token)
    )
    sid: str = answer.json()["data"]["session_id"]
    return sid


def upload_pair(http: httpx.Client, token: str, sid: str) -> list[dict[str, Any]]:
    """A 4x3 PNG and 1.5 s of WAV."""
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


def instruction(sid: str, text: str) -> dict[str, Any]:
    return {"app_name": "nemo_agent", "user_id": "me", "session_id": sid, "new_message": {"parts": [{"text": text}]}}


def read_sse(http: httpx.Client, token: str, sid: str, text: str) -> tuple[list[str], httpx.Response]:
    """The raw non-blank lines of a /run_sse answer."""
    headers = {**auth(token), "Accept": "text/event-stream"}
    with http.stream("POST", "/run_sse", json=instruction(sid, text), headers=headers) as answer:
        lines = [line for line in answer.iter_lines() if line]
    return lines, answer


def data_events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in lines if line.startswith("data:") and line[5:].strip()]


def export(http: httpx.Client, token: str, sid: str, draft_text: str, render_id: str = "render_1") -> httpx.Response:
    raw = (
        f'{{"id": "{render_id}", "sessionId": "{sid}", "draft": {draft_text}, '
        f'"output": {{"format": "mp4", "quality": "high"}}}}'
    )
    headers = {**auth(token), "Content-Type": "application/json"}
    return http.post("/api/render/proxy/lambda", content=raw.encode(), headers=headers)


def render_status(http: httpx.Client, token: str, render_id: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/api/render/proxy/lambda/{render_id}", headers=auth(token)).json()
    return body
