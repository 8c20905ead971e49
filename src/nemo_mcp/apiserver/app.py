"""The HTTP surface: every documented NemoVideo endpoint, plus media and render files.

Every request passes two checks before it reaches a route:

* its ``Host`` must name this server by a loopback name or its own address, with its port, so
  that a web page cannot reach it through DNS rebinding;
* it must carry a bearer token the ``Accounts`` policy accepts, except a GET of a media or render
  file whose URL carries a valid signature (``?sig=``, see :mod:`capabilities`).

Routes: create session, credits, session state, upload (multipart or by URL), ``/run_sse``,
render submit/status/cancel/download, ``/media/<session>/<name>`` and ``/renders/<id>.mp4``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import mimetypes
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams, UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from nemo_mcp.apiserver import fetch, media
from nemo_mcp.apiserver.accounts import Accounts
from nemo_mcp.apiserver.answers import (
    Refused,
    business_error,
    http_error,
    json_response,
    ok,
    render_error,
    session_not_found,
)
from nemo_mcp.apiserver.capabilities import Signer
from nemo_mcp.apiserver.editor import Editor
from nemo_mcp.apiserver.renders import FLUSH_SECONDS, MAX_STILLS, Renderer, Renders, RenderView, StillRenderer
from nemo_mcp.apiserver.store import SessionRecord, Store
from nemo_mcp.apiserver.tasks import Background
from nemo_mcp.apiserver.turns import EventStream, SessionLocks, Turn, TurnOptions
from nemo_mcp.draft.edit import has_segments, new_draft
from nemo_mcp.draft.media import (
    FORMATS,
    MAX_UPLOAD_BYTES,
    SNIFFED_EXTENSIONS,
    MediaKind,
    content_matches,
    extension,
    kind_of,
    sniff,
)
from nemo_mcp.draft.model import too_long

ACCOUNT_KEY = "nemo.account"  # where the guard leaves the caller's account in the ASGI scope
_URL_READ_TIMEOUT = 30.0  # per read; the whole fetch has the link policy's deadline
_FILE_PATHS = ("/media/", "/renders/")
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class _File(FileResponse):
    chunk_size = media.CHUNK  # 1 MiB reads: downloads keep up with the disk, not with 64 KiB steps


class ApiServer:
    """The API as an ASGI app (``app``) over a store, an editor, a renderer and an accounts policy."""

    def __init__(
        self,
        *,
        store: Store,
        media_store: media.MediaStore,
        renders_dir: Path,
        editor: Editor,
        renderer: Renderer,
        accounts: Accounts,
        signing_key: str,
        turn_options: TurnOptions | None = None,
        render_flush_seconds: float = FLUSH_SECONDS,
        links: fetch.LinkPolicy | None = None,
        inspect: media.Inspector = media.describe,
    ) -> None:
        """``links``: what uploads by URL may reach (public addresses only, by default); ``inspect``: what
        is read from an upload once stored (headers only by default; the offline backend decodes it)."""
        self.store = store
        self.media = media_store
        self.editor = editor
        self.accounts = accounts
        self.signer = Signer(signing_key)
        self.turn_options = turn_options or TurnOptions()  # read at the start of each turn
        self.max_upload_bytes = MAX_UPLOAD_BYTES  # the 4002 limit
        self.links = links or fetch.LinkPolicy()
        self.inspect = inspect
        self.background = Background()
        self._editing = SessionLocks()
        self.renders = Renders(store, renderer, renders_dir, self.background, flush_seconds=render_flush_seconds)
        self.app: ASGIApp = _Guard(self._routes(), self)

    def close(self) -> None:
        """End open turns and running renders now (the server is stopping); safe from any thread."""
        self.background.cancel_soon()

    def _routes(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with self.background.running():
                yield

        routes = [
            Route("/api/tasks/me/with-session/nemo_agent", self.create_session, methods=["POST"]),
            Route("/api/credits/balance/simple", self.credits, methods=["GET"]),
            Route("/api/state/nemo_agent/me/{sid}/latest", self.state, methods=["GET"]),
            Route("/api/upload-video/nemo_agent/me/{sid}", self.upload, methods=["POST"]),
            Route("/run_sse", self.run_sse, methods=["POST"]),
            Route("/api/render/proxy/lambda", self.submit_render, methods=["POST"]),
            Route("/api/stills/{sid}", self.stills, methods=["POST"]),
            Route("/api/render/proxy/lambda/{rid}", self.render_status, methods=["GET"]),
            Route("/api/render/proxy/lambda/{rid}/cancel", self.cancel_render, methods=["POST"]),
            Route("/api/render/proxy/{rid}/download", self.download, methods=["GET"]),
            Route("/media/{sid}/{name}", self.media_file, methods=["GET", "HEAD"]),
            Route("/renders/{rid}.mp4", self.render_file, methods=["GET", "HEAD"]),
        ]

        async def refused(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, Refused)
            return exc.response()

        return Starlette(routes=routes, lifespan=lifespan, exception_handlers={Refused: refused})

    # -- sessions and credits --------------------------------------------------------------------

    async def create_session(self, request: Request) -> Response:
        body = await _json_body(request) or {}
        task_name = str(body.get("task_name") or "project")[:200]
        language = str(body.get("language") or "en")[:32]
        draft = new_draft(task_name)
        account = _account(request)
        session = await anyio.to_thread.run_sync(self.store.create_session, account, task_name, language, draft)
        return ok({"task_id": session.task_id, "session_id": session.session_id, "user_id": account})

    async def credits(self, request: Request) -> Response:
        return ok(self.accounts.credits(_account(request)))

    async def _session(self, request: Request, session_id: object) -> SessionRecord | None:
        """The caller's session, or None (see _mine)."""
        if not isinstance(session_id, str):
            return None
        session = await anyio.to_thread.run_sync(self.store.session, session_id)
        return session if _mine(request, session) else None

    async def state(self, request: Request) -> Response:
        found = await anyio.to_thread.run_sync(self.store.session_and_uploads, request.path_params["sid"])
        if found is None or not _mine(request, found[0]):
            return session_not_found()
        session, uploads = found
        meta = session.draft.get("m")
        if not isinstance(meta, dict):
            meta = {}
        return ok(
            {
                "session_id": session.session_id,
                "task_id": session.task_id,
                "task_name": session.task_name,
                "state": {
                    "draft": session.draft,
                    "video_infos": uploads,
                    "canvas_config": {"width": meta.get("width", 1080), "height": meta.get("height", 1920)},
                    "video_analyses": {},
                    "generated_media": [],
                },
            }
        )

    # -- uploads ---------------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        session = await self._session(request, request.path_params["sid"])
        if session is None:
            return session_not_found()
        stored: list[Path] = []
        try:
            if request.headers.get("content-type", "").startswith("multipart/form-data"):
                outcome = await self._store_multipart(request, session.session_id, stored)
            else:
                outcome = await self._store_urls(request, session.session_id, stored)
            if not isinstance(outcome, Response):
                added = await anyio.to_thread.run_sync(self.store.add_uploads, session.session_id, outcome)
                if added:
                    return ok({"files": outcome, "session_state_applied": True})
                outcome = session_not_found()  # the session was deleted meanwhile
        except BaseException:
            await _unlink_all(stored)
            raise
        await _unlink_all(stored)  # all or nothing: a refused batch leaves no files behind
        return outcome

    async def _record(
        self, request: Request, path: Path, filename: str, kind: MediaKind, digest: str
    ) -> dict[str, Any] | Response:
        """The upload's record, or a refusal naming the file when it is not media that can be used."""
        try:
            info = await anyio.to_thread.run_sync(self.inspect, path, kind)
        except media.BadMedia as bad:
            return business_error(4001, f"{filename} cannot be used: {bad}")
        url = self.signed_url(str(request.base_url), self.media.url_path(path))
        return {"filename": filename, "file_type": kind, "cdn_url": url, **info, "hash": digest}

    async def _store_multipart(
        self, request: Request, session_id: str, stored: list[Path]
    ) -> list[dict[str, Any]] | Response:
        # Starlette spools each part to a temporary file past 1 MB: big uploads never sit in memory.
        async with request.form(max_files=1000) as form:
            uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not uploads:
                return http_error(400, "No files in the 'files' field")
            names = [media.client_basename(f.filename or "file") for f in uploads]
            kinds = [kind_of(n) for n in names]
            if None in kinds:
                return business_error(4001, "Unsupported file type")
            records = []
            for upload, name, kind in zip(uploads, names, kinds, strict=True):
                assert kind is not None
                dest = await anyio.to_thread.run_sync(self.media.new_path, session_id, name)
                stored.append(dest)
                try:
                    digest = await anyio.to_thread.run_sync(
                        media.copy_limited, upload.file, dest, self.max_upload_bytes
                    )
                except media.TooLarge:
                    return business_error(4002, "File too large (limit 200 MB)")
                record = await self._record(request, dest, name, kind, digest)
                if isinstance(record, Response):
                    return record
                records.append(record)
            return records

    async def _store_urls(
        self, request: Request, session_id: str, stored: list[Path]
    ) -> list[dict[str, Any]] | Response:
        body = await _json_body(request)
        urls = body.get("urls") if body else None
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            return http_error(400, "Expected multipart 'files' or JSON {\"urls\": [...]}")
        records = []
        current = urls[0]
        # Straight to the link's host, never through a proxy: the address checks are about that host.
        async with httpx.AsyncClient(timeout=_URL_READ_TIMEOUT, trust_env=False) as client:
            with anyio.move_on_after(self.links.deadline_seconds) as deadline:
                for current in urls:
                    try:
                        record = await self._fetch(request, client, current, session_id, stored)
                    except fetch.LinkRefused as exc:
                        return http_error(400, f"Refused to fetch {current}: {exc}")
                    except httpx.HTTPError as exc:
                        return http_error(400, f"Could not fetch {current}: {exc or type(exc).__name__}")
                    if isinstance(record, Response):
                        return record
                    records.append(record)
        if deadline.cancelled_caught:
            return http_error(
                400,
                f"Fetching {current} did not finish within {self.links.deadline_seconds:g} s, so nothing was "
                "uploaded. Check that the link serves the file itself, or download it and upload the file",
            )
        return records

    async def _fetch(
        self, request: Request, client: httpx.AsyncClient, url: str, session_id: str, stored: list[Path]
    ) -> dict[str, Any] | Response:
        name = media.client_basename(unquote(urlsplit(url).path))
        async with fetch.open_link(client, url, self.links) as answer:
            if answer.status_code != 200:
                return http_error(400, f"Could not fetch {url}: HTTP {answer.status_code}")
            chunks = answer.aiter_bytes(media.CHUNK)
            head = await anext(chunks, b"")
            ext = extension(name)
            if ext not in FORMATS:  # no usable extension in the link: go by what it serves
                mime = answer.headers.get("content-type", "").split(";")[0].strip()
                served = (mimetypes.guess_extension(mime) or "").lstrip(".")
                ext = served if content_matches(served, head) else SNIFFED_EXTENSIONS.get(sniff(head) or "", "")
                if not ext:
                    return business_error(4001, f"{url} did not serve an image, video or audio file")
                name = f"{name}.{ext}"
            kind = FORMATS[ext][0]
            if not content_matches(ext, head):
                # Like a local file: what is stored must be the media its name says, not a page or a key.
                return business_error(
                    4001, f"{url} is named .{ext} but what it served is not {media.ARTICLES[kind]} {kind} file"
                )
            dest = await anyio.to_thread.run_sync(self.media.new_path, session_id, name)
            stored.append(dest)
            try:
                digest = await media.save_limited(_prepended(head, chunks), dest, self.max_upload_bytes)
            except media.TooLarge:
                return business_error(4002, "File too large (limit 200 MB)")
        return await self._record(request, dest, name, kind, digest)

    async def media_file(self, request: Request) -> Response:
        path = await anyio.to_thread.run_sync(self.media.path_for, request.url.path)
        return http_error(404, "Not found") if path is None else _File(path)

    # -- the agent -------------------------------------------------------------------------------

    async def run_sse(self, request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return http_error(400, "Expected a JSON body")
        session = await self._session(request, body.get("session_id"))
        if session is None:
            return session_not_found()
        self.accounts.check_edit(session.account)
        message = body.get("new_message")
        parts = message.get("parts") if isinstance(message, dict) else None
        texts = [p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
        turn = Turn(
            self.store,
            self.editor,
            self.accounts,
            self._editing,
            session_id=session.session_id,
            account=session.account,
            instruction="".join(texts),
            options=self.turn_options,
        )
        events = turn.open_stream()
        self.background.start(turn.run)
        return EventStream(events)

    # -- renders ---------------------------------------------------------------------------------

    def signed_url(self, base_url: str, path: str) -> str:
        """An absolute URL of a media or render file that works without the bearer token."""
        return f"{base_url.rstrip('/')}{self.signer.signed(path)}"

    async def submit_render(self, request: Request) -> Response:
        body = await _json_body(request)
        if body is None:
            return render_error(400, "Invalid JSON body")
        draft = body.get("draft")
        if not isinstance(draft, dict) or not has_segments(draft):
            return render_error(400, "Draft has no segments")
        if (why := too_long(draft)) is not None:
            # Refused at once: rendering it would run until the render time-out and look stuck.
            return render_error(400, f"The export was refused: {why}. Shorten or remove that item, then export again")
        # The client's own "id" is not used: ids are ours, random, so that none can be guessed.
        render = await self.renders.submit(_account(request), str(body.get("sessionId", "")), draft)
        return json_response({"success": True, "data": {"id": render.id, "status": "pending", "progress": 0}})

    async def stills(self, request: Request) -> Response:
        """Frames of a session's draft without an export: ours, not the cloud's (offline only)."""
        renderer = self.renders.renderer
        if not isinstance(renderer, StillRenderer):
            return http_error(404, "This server cannot show frames without an export")
        session = await self._session(request, request.path_params["sid"])
        if session is None:
            return session_not_found()
        try:
            body = json.loads(await request.body())
            times = [float(t) for t in body["times_s"]][:MAX_STILLS]
            long_side = int(body.get("long_side", 360))
        except (ValueError, TypeError, KeyError):
            return http_error(400, 'Expected JSON {"times_s": [seconds, ...], "long_side": pixels}')
        if not has_segments(session.draft):
            return http_error(400, "The timeline is empty")
        try:
            stills = await renderer.stills(session.draft, times, long_side)
        except Exception as exc:  # the renderer's own words: a missing file, an unreadable one
            return http_error(400, str(exc))
        frames = [
            {"time_s": s.time_s, "width": s.width, "height": s.height, "jpeg": base64.b64encode(s.jpeg).decode()}
            for s in stills
        ]
        return ok({"frames": frames})

    async def render_status(self, request: Request) -> Response:
        view = await self.renders.view(request.path_params["rid"], _account(request))
        if view is None:
            return render_error(404, "Render not found")
        completed = view.status == "completed"
        path = f"/renders/{view.render_id}.mp4"
        data: dict[str, Any] = {
            "id": view.render_id,
            "status": view.status,
            "progress": view.progress,
            "outputUrl": self.signed_url(str(request.base_url), path) if completed else None,
            "createdAt": _iso(view.created_at),
            "completedAt": _iso(view.completed_at) if completed else None,
        }
        if view.error:
            data["error"] = view.error
        return json_response({"success": True, "data": data})

    async def cancel_render(self, request: Request) -> Response:
        view = await self.renders.cancel(request.path_params["rid"], _account(request))
        if view is None:
            return render_error(404, "Render not found")
        return json_response(
            {"success": True, "data": {"id": view.render_id, "status": view.status, "error": view.error}}
        )

    async def download(self, request: Request) -> Response:
        view = await self.renders.view(request.path_params["rid"], _account(request))
        return self._render_output(view)

    async def render_file(self, request: Request) -> Response:
        account = request.scope.get(ACCOUNT_KEY)  # None: fetched by a signed URL, which names the file
        view = await self.renders.view(request.path_params["rid"], account)
        return self._render_output(view)

    def _render_output(self, view: RenderView | None) -> Response:
        if view is None:
            return render_error(404, "Render not found")
        if view.status != "completed":
            return render_error(409, "Render is not completed")
        return _File(self.renders.output_path(view.render_id), media_type="video/mp4")


class _Guard:
    """Refuses foreign ``Host`` headers and callers without a bearer token or a signed file URL."""

    def __init__(self, app: ASGIApp, api: ApiServer) -> None:
        self._app = app
        self._api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _host_allowed(headers.get("host"), scope.get("server")):
            await http_error(421, "This server answers only to its own loopback address")(scope, receive, send)
            return
        path: str = scope["path"]
        file = scope["method"] in ("GET", "HEAD") and path.startswith(_FILE_PATHS)
        sig = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("sig")
        if file and self._api.signer.valid(path, sig):
            scope[ACCOUNT_KEY] = None
        else:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
            try:
                scope[ACCOUNT_KEY] = self._api.accounts.caller(bearer)
            except Refused as refused:
                # A file is fetched by players and downloaders that read only the HTTP status.
                answer = http_error(401, refused.message) if file else refused.response()
                await answer(scope, receive, send)
                return
        await self._app(scope, receive, send)


def _account(request: Request) -> str:
    account = request.scope.get(ACCOUNT_KEY)
    if not isinstance(account, str):
        raise Refused(401, 401, "This needs a bearer token")  # a signed URL names one file, nothing more
    return account


def _mine(request: Request, session: SessionRecord | None) -> bool:
    """Another account's session is as unknown as a missing one."""
    return session is not None and session.account == _account(request)


def _host_allowed(host: str | None, server: Any) -> bool:
    if not host or not isinstance(server, tuple | list) or len(server) < 2:
        return False
    address, port = str(server[0]), server[1]
    own = f"[{address}]" if ":" in address else address
    names = {*_LOOPBACK_NAMES, own}
    return host.lower() in {f"{name}:{port}" for name in names} | (names if port == 80 else set())


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def _prepended(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk


async def _unlink_all(paths: list[Path]) -> None:
    with anyio.CancelScope(shield=True):
        for path in paths:
            await anyio.Path(path).unlink(missing_ok=True)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
