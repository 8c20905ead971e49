"""The emulator's HTTP surface: every documented NemoVideo endpoint, plus media and render downloads.

Error answers (a choice, since the vendor documents codes but not how they travel):

* business errors (1001 token, 1002 session, 2001 credits, 4001 file type, 4002 file size) come
  as HTTP 200 with ``{"code": N, "message": "..."}``;
* transport-level ones (400, 402, 429, 5xx) come with that HTTP status and the same body shape;
* render endpoints answer ``{"success": false, "error": "..."}`` with an HTTP status for their
  own refusals (400 empty draft, 404 unknown render, 409 duplicate id).

JSON answers are serialised compactly and deterministically, so a client that passes the state's
draft back byte for byte can be checked against ``Render.draft_bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import anyio
import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from nemo_mcp.emulator import media
from nemo_mcp.emulator.agent import EditResult, EventWriter, heartbeat, split_reply
from nemo_mcp.emulator.render import Render

if TYPE_CHECKING:
    from nemo_mcp.emulator.state import Emulator, Faults, Session

log = logging.getLogger(__name__)

_RAW_SEND = "nemo_emulator.raw_send"
_RAW_RECEIVE = "nemo_emulator.raw_receive"
ATTRIBUTION_HEADERS = ("x-skill-source", "x-skill-version", "x-skill-platform")
_URL_FETCH_TIMEOUT = 30.0
_STATUS_WAIT_SECONDS = 5.0
_CHUNK = 1024 * 1024
_SLOW_CHUNK = 64 * 1024


# --- answers -----------------------------------------------------------------------------------


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(data: Any, status: int = 200) -> Response:
    return Response(dumps(data), status_code=status, media_type="application/json")


def ok(data: Any) -> Response:
    return json_response({"code": 0, "data": data})


def business_error(code: int, message: str) -> Response:
    return json_response({"code": code, "message": message})


def http_error(status: int, message: str) -> Response:
    return json_response({"code": status, "message": message}, status)


def render_error(status: int, message: str) -> Response:
    return json_response({"success": False, "error": message}, status)


def invalid_token() -> Response:
    return business_error(1001, "Token expired or invalid")


def session_not_found() -> Response:
    return business_error(1002, "Session not found")


# --- connection tricks -------------------------------------------------------------------------


class ConnectionDropped(Exception):
    """Raised to break a connection when the server gives no way to close it quietly."""


async def drop_connection(scope: Scope) -> None:
    """Close the client connection at once: no answer, or no end to the answer already begun.

    Uses the transport behind uvicorn's ``send`` (h11 and httptools both keep it there), then
    waits until uvicorn has seen the disconnect so it neither logs nor sends a 500 for us.
    """
    send, receive = scope.get(_RAW_SEND), scope.get(_RAW_RECEIVE)
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or receive is None:
        raise ConnectionDropped
    transport.close()
    while (await receive())["type"] != "http.disconnect":
        pass


class EmulatorApp(Starlette):
    """Starlette plus the per-request bookkeeping that must see the server's raw ``send``."""

    def __init__(self, emulator: Emulator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        emu = self.emulator
        scope[_RAW_SEND], scope[_RAW_RECEIVE] = send, receive
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        emu.record_request(scope["method"], path, headers)
        fault = emu.take_transport_fault(path)
        if fault == "reset":
            await drop_connection(scope)
            return
        if fault == "server_error":
            await http_error(503, "Service temporarily unavailable")(scope, receive, send)
            return
        if fault == "rate_limit":
            await http_error(429, "Too many requests")(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def build_app(emu: Emulator) -> Starlette:
    handlers = _Handlers(emu)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await emu.cancel_render_tasks()

    routes = [
        Route("/api/auth/anonymous-token", handlers.anonymous_token, methods=["POST"]),
        Route("/api/tasks/me/with-session/nemo_agent", handlers.create_session, methods=["POST"]),
        Route("/api/credits/balance/simple", handlers.credits, methods=["GET"]),
        Route("/api/state/nemo_agent/me/{sid}/latest", handlers.state, methods=["GET"]),
        Route("/api/upload-video/nemo_agent/me/{sid}", handlers.upload, methods=["POST"]),
        Route("/run_sse", handlers.run_sse, methods=["POST"]),
        Route("/api/render/proxy/lambda", handlers.submit_render, methods=["POST"]),
        Route("/api/render/proxy/lambda/{rid}", handlers.render_status, methods=["GET"]),
        Route("/api/render/proxy/lambda/{rid}/cancel", handlers.cancel_render, methods=["POST"]),
        Route("/api/render/proxy/{rid}/download", handlers.download_authenticated, methods=["GET"]),
        Route("/media/{sid}/{name}", handlers.media_file, methods=["GET"]),
        Route("/renders/{rid}.mp4", handlers.render_file, methods=["GET"]),
    ]
    return EmulatorApp(emu, routes=routes, lifespan=lifespan)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


class _Handlers:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def _user(self, request: Request) -> str | None:
        return self.emu.user_for_token(_bearer(request))

    # --- auth, sessions, credits ------------------------------------------------------------

    async def anonymous_token(self, request: Request) -> Response:
        client_id = request.headers.get("x-client-id", "").strip()
        if not client_id or self.emu.take_client_id_refusal():
            return http_error(400, "Missing X-Client-Id header")
        if len(client_id) > 64:
            return http_error(400, "X-Client-Id must be at most 64 characters")
        issued = self.emu.issue_anonymous_token(client_id)
        if issued is None:
            return http_error(429, "Too many requests: this client already has a valid token")
        token, info = issued
        data: dict[str, Any] = {
            "token": token,
            "user_id": info.user_id,
            "credits": self.emu.credits(info.user_id),
        }
        if not self.emu.faults.omit_expires_at and info.expires_at is not None:
            data["expires_at"] = info.expires_at.isoformat(timespec="seconds").replace("+00:00", "Z")
        return ok(data)

    async def create_session(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return invalid_token()
        body = await _json_body(request) or {}
        task_name = str(body.get("task_name") or "project")
        language = str(body.get("language") or "en")
        session = self.emu.create_session(user, task_name, language)
        return ok({"task_id": session.task_id, "session_id": session.session_id, "user_id": user})

    async def credits(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return invalid_token()
        available = self.emu.credits(user)
        return ok({"available": available, "frozen": 0, "total": available})

    async def state(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return invalid_token()
        with self.emu.lock:
            session = self.emu.session_for(user, request.path_params["sid"])
            if session is None:
                return session_not_found()
            meta = session.draft.get("m")
            if not isinstance(meta, dict):
                meta = {}
            data = {
                "session_id": session.session_id,
                "task_id": session.task_id,
                "task_name": session.task_name,
                "state": {
                    "draft": session.draft,
                    "video_infos": list(session.uploads),
                    "canvas_config": {"width": meta.get("width", 1080), "height": meta.get("height", 1920)},
                    "video_analyses": {},
                    "generated_media": [],
                },
            }
            return ok(data)  # serialised under the lock: the draft may change right after

    # --- uploads ----------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return invalid_token()
        session = self.emu.session_for(user, request.path_params["sid"])
        if session is None:
            return session_not_found()
        if delay := self.emu.faults.upload_delay:
            await anyio.sleep(delay)
        folder = self.emu.media_dir / session.session_id
        folder.mkdir(parents=True, exist_ok=True)
        content_type = request.headers.get("content-type", "")
        stored: list[Path] = []
        try:
            if content_type.startswith("multipart/form-data"):
                outcome = await self._store_multipart(request, session, folder, stored)
            else:
                outcome = await self._store_urls(request, session, folder, stored)
        except BaseException:
            for path in stored:
                path.unlink(missing_ok=True)
            raise
        if isinstance(outcome, Response):
            for path in stored:  # all or nothing: a refused batch leaves no files behind
                path.unlink(missing_ok=True)
            return outcome
        self.emu.add_uploads(session, outcome)
        return ok({"files": outcome, "session_state_applied": True})

    def _file_record(
        self,
        request: Request,
        session: Session,
        path: Path,
        filename: str,
        kind: media.MediaKind,
        digest: str,
    ) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        url = f"{base}/media/{session.session_id}/{quote(path.name)}"
        return {
            "filename": filename,
            "file_type": kind,
            "cdn_url": url,
            **media.describe(path, kind),
            "hash": digest,
        }

    async def _store_multipart(
        self, request: Request, session: Session, folder: Path, stored: list[Path]
    ) -> list[dict[str, Any]] | Response:
        # Starlette spools each part to a temporary file past 1 MB: big uploads never sit in memory.
        async with request.form(max_files=1000) as form:
            uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not uploads:
                return http_error(400, "No files in the 'files' field")
            names = [media.client_basename(f.filename or "file") for f in uploads]
            if any(media.kind_of(n) is None for n in names):
                return business_error(4001, "Unsupported file type")
            records = []
            for upload, name in zip(uploads, names, strict=True):
                kind = media.kind_of(name)
                assert kind is not None
                dest = folder / media.safe_stored_name(name)
                try:
                    _, digest = await anyio.to_thread.run_sync(
                        media.copy_limited, upload.file, dest, self.emu.max_upload_bytes
                    )
                except media.TooLarge:
                    return business_error(4002, "File too large (limit 200 MB)")
                stored.append(dest)
                records.append(self._file_record(request, session, dest, name, kind, digest))
            return records

    async def _store_urls(
        self, request: Request, session: Session, folder: Path, stored: list[Path]
    ) -> list[dict[str, Any]] | Response:
        body = await _json_body(request)
        urls = body.get("urls") if body else None
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            return http_error(400, "Expected multipart 'files' or JSON {\"urls\": [...]}")
        records = []
        async with httpx.AsyncClient(timeout=_URL_FETCH_TIMEOUT, follow_redirects=True) as client:
            for url in urls:
                name = media.client_basename(unquote(urlsplit(url).path))
                dest = folder / media.safe_stored_name(name)
                try:
                    fetched = await self._fetch(client, url, name, dest)
                except httpx.HTTPError as exc:
                    return http_error(400, f"Could not fetch {url}: {exc}")
                if isinstance(fetched, Response):
                    return fetched
                kind, digest, dest = fetched
                stored.append(dest)
                records.append(self._file_record(request, session, dest, name, kind, digest))
        return records

    async def _fetch(
        self, client: httpx.AsyncClient, url: str, name: str, dest: Path
    ) -> tuple[media.MediaKind, str, Path] | Response:
        import hashlib

        async with client.stream("GET", url) as answer:
            if answer.status_code != 200:
                return http_error(400, f"Could not fetch {url}: HTTP {answer.status_code}")
            kind = media.kind_of(name)
            if kind is None:  # no usable extension in the URL: go by the served type
                mime = answer.headers.get("content-type", "").split(";")[0].strip()
                ext = (mimetypes.guess_extension(mime) or "").lstrip(".")
                kind = media.kind_of(f"x.{ext}") if ext else None
                if kind is None:
                    return business_error(4001, "Unsupported file type")
                dest = dest.with_name(f"{dest.name}.{ext}")
            digest = hashlib.sha256()
            size = 0
            try:
                async with await anyio.open_file(dest, "wb") as out:
                    async for chunk in answer.aiter_bytes(_CHUNK):
                        size += len(chunk)
                        if size > self.emu.max_upload_bytes:
                            raise media.TooLarge
                        digest.update(chunk)
                        await out.write(chunk)
            except media.TooLarge:
                dest.unlink(missing_ok=True)
                return business_error(4002, "File too large (limit 200 MB)")
            except BaseException:
                dest.unlink(missing_ok=True)
                raise
        return kind, digest.hexdigest(), dest

    async def media_file(self, request: Request) -> Response:
        path = self.emu.media_path(f"/media/{request.path_params['sid']}/{request.path_params['name']}")
        if path is None:
            return http_error(404, "Not found")
        return FileResponse(path)

    # --- the agent --------------------------------------------------------------------------

    async def run_sse(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return invalid_token()
        body = await _json_body(request)
        if body is None:
            return http_error(400, "Expected a JSON body")
        session = self.emu.session_for(user, body.get("session_id"))
        if session is None:
            return session_not_found()
        if self.emu.credits(user) <= 0:
            return business_error(2001, "Insufficient credits")
        message = body.get("new_message")
        parts = message.get("parts") if isinstance(message, dict) else None
        if not isinstance(parts, list):
            parts = []
        instruction = "".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
        return _AgentTurn(self.emu, session, instruction, self.emu.snapshot_faults())

    # --- renders ----------------------------------------------------------------------------

    async def submit_render(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return invalid_token()
        if any(not request.headers.get(h) for h in ATTRIBUTION_HEADERS):
            return http_error(402, "Export requires the X-Skill-Source, X-Skill-Version and X-Skill-Platform headers")
        faults = self.emu.snapshot_faults()
        if faults.plan_limit:
            return http_error(402, "Export is not available on your current plan")
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return render_error(400, "Invalid JSON body")
        if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
            return render_error(400, "Missing render id")
        render_id: str = body["id"]
        if self.emu.take_duplicate_render_fault() or render_id in self.emu.renders:
            return render_error(409, "Render id already exists (duplicate id)")
        draft = body.get("draft")
        if not isinstance(draft, dict) or not _has_segments(draft):
            return render_error(400, "Draft has no segments")
        output = body.get("output")
        if not isinstance(output, dict):
            output = {}
        render = Render(
            id=render_id,
            session_id=str(body.get("sessionId", "")),
            user_id=user,
            raw_body=raw,
            draft=draft,
            output_path=self.emu.render_output_path(render_id),
            output_format=str(output.get("format", "mp4")),
            render_seconds=faults.render_seconds,
            render_steps=faults.render_steps,
            forced_error="Render failed: the render worker crashed (emulated)" if faults.fail_render else None,
        )
        if not self.emu.add_render(render):
            return render_error(409, "Render id already exists (duplicate id)")
        render.task = asyncio.get_running_loop().create_task(render.run(self.emu.renderer))
        return json_response({"success": True, "data": {"id": render_id, "status": "pending", "progress": 0}})

    def _own_render(self, request: Request) -> Render | Response:
        """The caller's render named in the path, or the error answer (1001, or 404 for another's)."""
        user = self._user(request)
        if user is None:
            return invalid_token()
        render = self.emu.renders.get(request.path_params["rid"])
        if render is None or render.user_id != user:
            return render_error(404, "Render not found")
        return render

    async def render_status(self, request: Request) -> Response:
        render = self._own_render(request)
        if isinstance(render, Response):
            return render
        if (
            self.emu.uses_fake_renderer
            and render.schedule_done()
            and render.task is not None
            and not render.task.done()
        ):
            # The schedule promises "completed" now; give the fake file writer a moment to catch up.
            await asyncio.wait({render.task}, timeout=_STATUS_WAIT_SECONDS)
        return json_response(self._status_body(request, render))

    def _status_body(self, request: Request, render: Render) -> dict[str, Any]:
        view = render.view()
        completed = view.status == "completed"
        url = f"{str(request.base_url).rstrip('/')}/renders/{quote(render.id, safe='')}.mp4" if completed else None
        shape = self.emu.faults.export_shape
        if shape == 1:
            data: dict[str, Any] = {
                "id": render.id,
                "status": view.status,
                "progress": view.progress,
                "outputUrl": url,
                "createdAt": _iso(render.created_at),
                "completedAt": _iso(render.completed_at) if completed and render.completed_at else None,
            }
            if view.error:
                data["error"] = view.error
            return {"success": True, "data": data}
        body: dict[str, Any] = {"status": view.status, "progress": view.progress}
        if shape == 3:
            body = {"taskId": render.id, **body}
        if completed:
            output: dict[str, Any] = {"url": url}
            if shape == 3:
                duration = render.draft.get("d")
                output["duration"] = duration / 1000 if isinstance(duration, int | float) else None
                output["size"] = render.output_path.stat().st_size if render.output_path.exists() else None
            body["output"] = output
        if view.error:
            body["error"] = view.error
        return body

    async def cancel_render(self, request: Request) -> Response:
        render = self._own_render(request)
        if isinstance(render, Response):
            return render
        render.cancel()
        return json_response({"success": True, "data": {"id": render.id, "status": "failed", "error": "cancelled"}})

    async def download_authenticated(self, request: Request) -> Response:
        render = self._own_render(request)
        return render if isinstance(render, Response) else self._download(render)

    async def render_file(self, request: Request) -> Response:
        return self._download(self.emu.renders.get(request.path_params["rid"]))

    def _download(self, render: Render | None) -> Response:
        if render is None:
            return render_error(404, "Render not found")
        if render.view().status != "completed" or not render.output_path.is_file():
            return render_error(409, "Render is not completed")
        faults = self.emu.snapshot_faults()
        return _FileDownload(render.output_path, faults.cut_download_after, faults.slow_download)


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def _has_segments(draft: dict[str, Any]) -> bool:
    tracks = draft.get("t")
    return isinstance(tracks, list) and any(isinstance(t, dict) and t.get("sg") for t in tracks)


# --- streamed answers --------------------------------------------------------------------------


class _FileDownload(Response):
    """A file streamed with its full Content-Length, optionally broken off after ``cut_after`` bytes."""

    def __init__(self, path: Path, cut_after: int | None, pause: float = 0.0) -> None:
        super().__init__(media_type="video/mp4")
        self.path = path
        self.cut_after = cut_after
        self.pause = pause

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        size = self.path.stat().st_size
        self.headers["content-length"] = str(size)
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        budget = size if self.cut_after is None else min(size, max(0, self.cut_after))
        async with await anyio.open_file(self.path, "rb") as f:
            while budget > 0:
                chunk = await f.read(min(_SLOW_CHUNK if self.pause else _CHUNK, budget))
                if not chunk:
                    break
                budget -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if self.pause:
                    await anyio.sleep(self.pause)
        if self.cut_after is not None and self.cut_after < size:
            await drop_connection(scope)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _StreamDropped(Exception):
    """The drop_stream_after fault fired."""


class _AgentTurn(Response):
    """One ``/run_sse`` turn as a text/event-stream, driven by the emulator's editor.

    Order: heartbeats, tool call, tool result (the edit lands in the draft at that moment),
    text chunks, and in ADK form a final non-partial event with the whole text. A credit is
    spent at the end of a turn whose edit landed (also when the stream was dropped but the
    agent "kept working" server-side).
    """

    def __init__(self, emu: Emulator, session: Session, instruction: str, faults: Faults) -> None:
        super().__init__(media_type="text/event-stream")
        del self.headers["content-length"]  # Response set 0 for its empty body; this one streams
        self.emu = emu
        self.session = session
        self.instruction = instruction
        self.faults = faults
        self.writer = EventWriter(faults.sse_form)
        self.sent = 0
        self.result: EditResult | None = None
        self.applied = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.headers["cache-control"] = "no-cache"
        self.headers["x-accel-buffering"] = "no"
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        # A stopping server ends open turns at once instead of waiting out their heartbeats.
        stopping = anyio.CancelScope()
        handle = self.emu.stream_opened(asyncio.get_running_loop(), stopping.cancel)
        try:
            with stopping:
                dropped = await self._play(send)
        finally:
            self.emu.stream_closed(handle)
        if stopping.cancel_called:
            self._charge()
            await drop_connection(scope)
            return
        if dropped:
            if self.faults.drop_applies_edit and not self.applied:
                await self._finish_server_side()
            self._charge()
            await drop_connection(scope)
            return
        self._charge()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _play(self, send: Send) -> bool:
        """Stream the turn; True when the drop_stream_after fault broke it off."""
        try:
            await self._turn(send)
        except _StreamDropped:
            return True
        # The fault means "never a clean end", even for turns shorter than the limit.
        return self.faults.drop_stream_after is not None

    async def _emit(self, send: Send, chunk: bytes, delay: float) -> None:
        limit = self.faults.drop_stream_after
        if limit is not None and self.sent >= limit:
            raise _StreamDropped
        if delay > 0 and self.sent > 0:
            await anyio.sleep(delay)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        self.sent += 1

    async def _turn(self, send: Send) -> None:
        f = self.faults
        for n in range(f.heartbeats):
            await self._emit(send, heartbeat(f.sse_form, n), max(f.heartbeat_interval, f.stream_event_delay))
        try:
            result = await self._edit()
        except Exception as exc:
            log.exception("the emulated editor failed")
            await self._emit(send, self.writer.error(f"The editor failed: {exc}"), f.stream_event_delay)
            return
        await self._emit(send, self.writer.tool_call(result.tool_name, result.tool_args), f.stream_event_delay)
        self._apply()
        summary = {"status": "success", "duration_ms": result.draft.get("d", 0)}
        await self._emit(send, self.writer.tool_result(result.tool_name, summary), f.stream_event_delay)
        if f.textless or not result.reply:
            return
        for chunk in split_reply(result.reply):
            await self._emit(send, self.writer.text_chunk(chunk), f.stream_event_delay)
        final = self.writer.final_text(result.reply)
        if final is not None:
            await self._emit(send, final, f.stream_event_delay)

    async def _edit(self) -> EditResult:
        if self.result is None:
            with self.emu.lock:
                draft = json.loads(dumps(self.session.draft))  # a private copy for the worker thread
                uploads = json.loads(dumps(self.session.uploads))
            self.result = await anyio.to_thread.run_sync(
                self.emu.editor.edit, self.session.session_id, draft, self.instruction, uploads
            )
        return self.result

    def _apply(self) -> None:
        if self.result is not None and not self.applied:
            self.emu.set_draft(self.session, self.result.draft)
            self.applied = True

    def _charge(self) -> None:
        # One credit per turn whose edit landed, charged when the turn ends.
        if self.applied:
            self.emu.spend_credit(self.session.user_id)

    async def _finish_server_side(self) -> None:
        """The client is gone but the agent keeps working, as the real one does."""
        try:
            await self._edit()
        except Exception:
            log.exception("the emulated editor failed")
            return
        self._apply()
