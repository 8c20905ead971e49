"""The emulator's outermost ASGI layer: the cloud's own quirks, fault injection, and the request log.

In front of the API server it

* records every request (method, path, headers) for tests to inspect;
* serves what only the cloud has: the anonymous-token endpoint, the 402 for exports without
  attribution headers or beyond the plan, the alternative export-status shapes;
* injects the faults of :mod:`faults` that live on the wire: resets, 503s, 429s, delays, cut and
  slow downloads, dropped event streams (the agent's own faults are :class:`FaultyEditor`'s);
* keeps each export's request body byte for byte, so tests can check the draft was sent back
  exactly as the state answered it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_mcp.apiserver import ApiServer, Render
from nemo_mcp.apiserver.answers import http_error, json_response, ok, render_error
from nemo_mcp.apiserver.turns import TurnOptions
from nemo_mcp.draft.rawjson import member_text
from nemo_mcp.testing.accounts import TokenAccounts
from nemo_mcp.testing.faults import FaultSwitches
from nemo_mcp.testing.wire import CURRENT_TURN, TurnWire, drop_connection, scope_headers

ANONYMOUS_TOKEN = "/api/auth/anonymous-token"
RUN_SSE = "/run_sse"
RENDER = "/api/render/proxy/lambda"
ATTRIBUTION_HEADERS = ("x-skill-source", "x-skill-version", "x-skill-platform")
# "completed at the first status read": how long a status read waits for the fake renderer.
_STATUS_WAIT_SECONDS = 5.0
_SLOW_CHUNK = 64 * 1024
# A scripted agent without heartbeats answers at once; one with them beats this often by default.
_DEFAULT_HEARTBEAT_SECONDS = 0.01
_NO_HEARTBEAT_SECONDS = 3600.0


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    time: float  # time.time()


@dataclass(eq=False)
class RecordedRender:
    """An export as the emulator saw it: the request body byte for byte, and the server's render."""

    id: str
    raw_body: bytes
    render: Render

    @property
    def draft_text(self) -> str:
        """The ``draft`` value's text exactly as it appeared in the request body."""
        return member_text(self.raw_body.decode("utf-8"), ("draft",)) or ""

    @property
    def draft_bytes(self) -> bytes:
        return self.draft_text.encode("utf-8")

    @property
    def draft(self) -> dict[str, Any]:
        return self.render.draft

    @property
    def session_id(self) -> str:
        return self.render.session_id

    @property
    def status(self) -> str:
        return self.render.view().status

    @property
    def progress(self) -> int:
        return self.render.view().progress

    @property
    def error(self) -> str | None:
        return self.render.error

    @property
    def cancelled(self) -> bool:
        return self.render.cancelled

    @property
    def finished(self) -> threading.Event:
        return self.render.finished


class FaultInjector:
    def __init__(
        self,
        app: ASGIApp,
        switches: FaultSwitches,
        accounts: TokenAccounts,
        api_server: ApiServer,
        *,
        fake_renderer: bool,
    ) -> None:
        self._app = app
        self._switches = switches
        self._accounts = accounts
        self._api = api_server
        self._fake_renderer = fake_renderer
        self.requests: list[RequestRecord] = []
        self.renders: dict[str, RecordedRender] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        with self._switches.lock:
            self.requests.append(RequestRecord(method, path, scope_headers(scope), time.time()))
        fault = self._switches.take_transport_fault(path)
        if fault == "reset":
            await drop_connection(send, receive)
        elif fault == "server_error":
            await http_error(503, "Service temporarily unavailable")(scope, receive, send)
        elif fault == "rate_limit":
            await http_error(429, "Too many requests")(scope, receive, send)
        elif path.startswith("/api/state/") and (depth := self._switches.faults.nested_state):
            body = '{"code":0,"data":{"state":{"draft":' + "[" * depth + "]" * depth + "}}}"
            await Response(body, media_type="application/json")(scope, receive, send)
        elif path == ANONYMOUS_TOKEN and method == "POST":
            await self._anonymous_token(Request(scope, receive))(scope, receive, send)
        elif path == RUN_SSE:
            await self._turn(scope, receive, send)
        elif path == RENDER and method == "POST":
            await self._submit_render(scope, receive, send)
        elif path.startswith(f"{RENDER}/") and method == "GET":
            await self._render_status(scope, receive, send)
        elif path.startswith("/renders/") or (path.startswith("/api/render/proxy/") and path.endswith("/download")):
            await self._download(scope, receive, send)
        else:
            if path.startswith("/api/upload-video/") and (delay := self._switches.faults.upload_delay):
                await anyio.sleep(delay)
            await self._app(scope, receive, send)

    # -- the cloud's own endpoints and refusals ----------------------------------------------------

    def _anonymous_token(self, request: Request) -> Any:
        client_id = request.headers.get("x-client-id", "").strip()
        if not client_id or self._switches.take("refuse_client_id_once"):
            return http_error(400, "Missing X-Client-Id header")
        if len(client_id) > 64:
            return http_error(400, "X-Client-Id must be at most 64 characters")
        faults = self._switches.snapshot()
        issued = self._accounts.issue_anonymous_token(client_id, faults.token_expires_in)
        if issued is None:
            return http_error(429, "Too many requests: this client already has a valid token")
        token, info = issued
        data: dict[str, Any] = {
            "token": token,
            "user_id": info.user_id,
            "credits": self._accounts.balance(info.user_id),
        }
        if not faults.omit_expires_at and info.expires_at is not None:
            data["expires_at"] = info.expires_at.isoformat(timespec="seconds").replace("+00:00", "Z")
        return ok(data)

    async def _submit_render(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope_headers(scope)
        if any(not headers.get(h) for h in ATTRIBUTION_HEADERS):
            refusal = http_error(
                402, "Export requires the X-Skill-Source, X-Skill-Version and X-Skill-Platform headers"
            )
        elif self._switches.faults.plan_limit:
            refusal = http_error(402, "Export is not available on your current plan")
        elif self._switches.take("duplicate_render_id_once"):
            refusal = render_error(409, "Render id already exists (duplicate id)")
        else:
            await self._recording_render(scope, receive, send)
            return
        await refusal(scope, receive, send)

    async def _recording_render(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_body: list[bytes] = []
        answer: list[bytes] = []

        async def tee_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.append(message.get("body", b""))
            return message

        async def tee_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._remember_render(b"".join(request_body), b"".join(answer))
            await send(message)

        await self._app(scope, tee_receive, tee_send)

    def _remember_render(self, raw_body: bytes, answer: bytes) -> None:
        try:
            render_id = json.loads(answer)["data"]["id"]
        except (ValueError, KeyError, TypeError):
            return  # a refusal: nothing was started
        render = self._api.renders.live(render_id)
        if render is not None:
            with self._switches.lock:
                self.renders[render_id] = RecordedRender(render_id, raw_body, render)

    async def _render_status(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self._switches.snapshot()
        render = self._api.renders.live(scope["path"].rsplit("/", 1)[-1])
        if self._fake_renderer and render is not None and faults.render_seconds <= 0:
            # Without a schedule the fake render is done "at the first status read": let it finish.
            await anyio.to_thread.run_sync(render.finished.wait, _STATUS_WAIT_SECONDS)
        if faults.export_shape == 1:
            await self._app(scope, receive, send)
            return
        status, body = await _capture(self._app, scope, receive)
        answer = json.loads(body)
        data = answer.get("data") if isinstance(answer, dict) else None
        if status == 200 and isinstance(data, dict):
            answer = self._other_shape(data, faults.export_shape)
        await json_response(answer, status)(scope, receive, send)

    def _other_shape(self, data: dict[str, Any], shape: int) -> dict[str, Any]:
        """Status shape 2 ``{status, output: {url}}`` or 3 ``{taskId, status, output: {url, duration, size}}``."""
        body: dict[str, Any] = {"status": data["status"], "progress": data["progress"]}
        if shape == 3:
            body = {"taskId": data["id"], **body}
        if data["status"] == "completed":
            output: dict[str, Any] = {"url": data["outputUrl"]}
            if shape == 3:
                recorded = self.renders.get(data["id"])
                duration = recorded.draft.get("d") if recorded else None
                path = self._api.renders.output_path(data["id"])
                output["duration"] = duration / 1000 if isinstance(duration, int | float) else None
                output["size"] = path.stat().st_size if path.exists() else None
            body["output"] = output
        if data.get("error"):
            body["error"] = data["error"]
        return body

    # -- faults on the wire ------------------------------------------------------------------------

    async def _turn(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self._switches.snapshot()
        beat = (faults.heartbeat_interval or _DEFAULT_HEARTBEAT_SECONDS) if faults.heartbeats else _NO_HEARTBEAT_SECONDS
        self._api.turn_options = TurnOptions(sse_form=faults.sse_form, heartbeat_seconds=beat)
        wire = TurnWire(faults, send, receive)
        token = CURRENT_TURN.set(wire)  # the turn's task and its editor's thread inherit it
        try:
            await self._app(scope, receive, wire.send)
        finally:
            CURRENT_TURN.reset(token)
            wire.close()

    async def _download(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self._switches.snapshot()
        cut_after, pause = faults.cut_download_after, faults.slow_download
        if cut_after is None and not pause:
            await self._app(scope, receive, send)
            return
        budget = cut_after
        cut = False

        async def faulty_send(message: Message) -> None:
            nonlocal budget, cut
            if message["type"] != "http.response.body":
                await send(message)
                return
            if cut:
                return
            body: bytes = message.get("body", b"")
            if budget is not None and len(body) >= budget:
                body, cut = body[:budget], True
            if budget is not None:
                budget -= len(body)
            step = _SLOW_CHUNK if pause else max(1, len(body))
            for start in range(0, len(body), step):
                await send({"type": "http.response.body", "body": body[start : start + step], "more_body": True})
                if pause:
                    await anyio.sleep(pause)
            if not cut and not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self._app(scope, receive, faulty_send)
        if cut:
            await drop_connection(send, receive)


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, bytes]:
    """Run ``app`` and keep its answer (status and body) instead of sending it."""
    status = 500
    body: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, keep)
    return status, b"".join(body)
