"""The NemoVideo API client: one ``httpx.AsyncClient``, every endpoint, one policy.

The policy, for every request:
- a refused anonymous token (1001) is renewed and the request sent once more;
  a refused ``NEMO_TOKEN`` is an :class:`InvalidUserToken`;
- a 429 waits ``NEMO_RATE_LIMIT_WAIT_SECONDS`` and retries exactly once;
- connection failures and 5xx answers are retried with back-off on reads only
  (a POST that may have taken effect is never repeated blindly); a failure to
  connect at all is safe to retry for any request, since nothing was sent.

Paths and answer shapes live in :mod:`nemo_mcp.cloud.api`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from nemo_mcp import __version__, errors
from nemo_mcp.cloud import api, sse, transfer
from nemo_mcp.cloud.auth import TokenProvider
from nemo_mcp.cloud.store import StateStore
from nemo_mcp.cloud.transfer import BytesProgress
from nemo_mcp.config import Settings
from nemo_mcp.draft.media import mime_type

log = logging.getLogger(__name__)

# A render status, each poll.
RenderProgress = Callable[[api.RenderStatus], None]

# A download whose connection stays silent this long is broken.
DOWNLOAD_TIMEOUT_SECONDS = 120.0


class NemoClient:
    def __init__(
        self,
        settings: Settings,
        *,
        store: StateStore | None = None,
        platform: str = "unknown",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._owns_store = store is None
        self.store = store or StateStore(settings.state_dir, scope_of(settings))
        self.tokens = TokenProvider(settings, self.store)
        self.platform = platform
        self._pool = _Pool(settings.api_base, transport)

    def __repr__(self) -> str:
        return f"NemoClient(api_base={self.settings.api_base!r}, platform={self.platform!r})"

    def for_platform(self, platform: str) -> NemoClient:
        """This client, sending ``platform`` as X-Skill-Platform (the same connections and token)."""
        if platform == self.platform:
            return self
        other = copy.copy(self)
        other.platform = platform
        return other

    async def __aenter__(self) -> NemoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._pool.client()

    async def aclose(self) -> None:
        await self._pool.aclose()
        if self._owns_store:
            self.store.close()

    # -- the request policy ----------------------------------------------------------------------

    def _skill_headers(self) -> dict[str, str]:
        return {
            "X-Skill-Source": self.settings.skill_source,
            "X-Skill-Version": __version__,
            "X-Skill-Platform": self.platform,
        }

    async def _request_token(self, client_id: str) -> api.AnonymousToken:
        answer = await self._call(
            "POST", api.ANONYMOUS_TOKEN, idempotent=False, auth=False, headers={"X-Client-Id": client_id}
        )
        return api.parse_token(api.data_of(answer.body))

    async def _auth_headers(self) -> tuple[str, dict[str, str]]:
        token = await self.tokens.token(self._request_token)
        return token, {"Authorization": f"Bearer {token}", **self._skill_headers()}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        body: Callable[[], dict[str, Any]] | None = None,
        http_timeout: httpx.Timeout | None = None,
    ) -> _Answer:
        """One API call under the policy: the parsed answer and its text."""
        policy = _Policy(self, idempotent)
        while True:
            token, auth_headers = await self._auth_headers() if auth else ("", self._skill_headers())
            try:
                response = await self._http.request(
                    method,
                    path,
                    headers={**auth_headers, **(headers or {})},
                    timeout=http_timeout or httpx.USE_CLIENT_DEFAULT,
                    **(body() if body else {}),
                )
            except httpx.TransportError as exc:
                await policy.transport_failed(exc)
                continue
            parsed, error = _read_answer(response.status_code, response.text)
            if error is None:
                return _Answer(parsed, response.text)
            await policy.answered(error, token)

    async def _renew(self, refused: str) -> None:
        await self.tokens.renew(refused, self._request_token)

    def register_url(self) -> str | None:
        user_id = self.tokens.user_id
        if user_id and user_id.startswith("anon_"):
            return f"{self.settings.web_url}/register?bind={user_id}"
        return None

    def account(self) -> tuple[Literal["anonymous", "registered", "offline"], str | None]:
        """Whose account the calls use, and where an anonymous user registers to keep the project."""
        kind = self.tokens.kind
        if kind == "local":
            return "offline", None
        url = None if kind == "user" else self.register_url()
        return ("anonymous" if url else "registered"), url

    # -- endpoints ---------------------------------------------------------------------------------

    async def ensure_token(self) -> None:
        await self._auth_headers()

    async def credits(self) -> api.Credits:
        return api.parse_credits(api.data_of((await self._call("GET", api.CREDITS, idempotent=True)).body))

    async def create_session(self, language: str | None = None) -> api.SessionInfo:
        payload = api.session_body(language or self.settings.language)
        answer = await self._call("POST", api.CREATE_SESSION, idempotent=False, body=lambda: {"json": payload})
        return api.parse_session(api.data_of(answer.body))

    async def state(self, session_id: str) -> api.SessionState:
        parsed, text = await self._call("GET", api.state_path(session_id), idempotent=True)
        data = api.data_of(parsed)
        state = data.get("state") if isinstance(data.get("state"), dict) else data
        assert isinstance(state, dict)
        canvas = state.get("canvas_config")
        uploads = state.get("video_infos")
        return api.SessionState(
            session_id=session_id,
            draft=state.get("draft"),
            canvas=canvas if isinstance(canvas, dict) else {},
            uploads=[u for u in uploads if isinstance(u, dict)] if isinstance(uploads, list) else [],
            task_name=data.get("task_name") if isinstance(data.get("task_name"), str) else None,
            raw=data,
            text=text,
        )

    async def upload_files(
        self, session_id: str, files: list[transfer.UploadFile], on_bytes: BytesProgress | None = None
    ) -> list[api.UploadedFile]:
        """Stream local files as multipart ``files``; memory stays flat whatever their size."""
        counter = transfer.ByteCounter(sum(f.size for f in files), on_bytes)
        timeout = httpx.Timeout(60.0, connect=10.0, write=300.0, read=300.0)
        with transfer.open_readers(counter) as reader:

            def body() -> dict[str, Any]:
                counter.reset()
                return {"files": [("files", (f.name, reader(f.path), mime_type(f.name))) for f in files]}

            answer = await self._call(
                "POST", api.upload_path(session_id), idempotent=False, body=body, http_timeout=timeout
            )
        return api.parse_upload(api.data_of(answer.body))

    async def upload_urls(self, session_id: str, urls: list[str]) -> list[api.UploadedFile]:
        payload = {"urls": urls, "source_type": "url"}
        answer = await self._call(
            "POST",
            api.upload_path(session_id),
            idempotent=False,
            body=lambda: {"json": payload},
            http_timeout=httpx.Timeout(60.0, connect=10.0, read=300.0),
        )
        return api.parse_upload(api.data_of(answer.body))

    @contextlib.asynccontextmanager
    async def instruction_stream(self, session_id: str, text: str) -> AsyncIterator[AsyncIterator[sse.Event]]:
        """Open ``/run_sse``; yields the events. A broken stream raises :class:`StreamDropped`."""
        payload = api.instruction_body(session_id, text)
        policy = _Policy(self, idempotent=False)
        while True:
            token, headers = await self._auth_headers()
            request = self._http.build_request(
                "POST",
                api.RUN_SSE,
                json=payload,
                headers={**headers, "Accept": "text/event-stream"},
                timeout=httpx.Timeout(30.0, connect=10.0, read=None),
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                await policy.transport_failed(exc)
                continue
            try:
                if response.status_code == 200 and "text/event-stream" in response.headers.get("content-type", ""):
                    yield _events(response)
                    return
                await response.aread()
            finally:
                await response.aclose()
            _, error = _read_answer(response.status_code, response.text)
            if error is None:
                raise errors.ProtocolError("NemoVideo answered the instruction without an event stream.")
            await policy.answered(error, token)

    async def start_render(self, session_id: str, raw_draft: str, quality: str) -> str:
        """Submit an export with the draft spliced in unchanged; a duplicate id gets one new id."""
        for attempt in range(2):
            render_id = api.new_render_id()
            content = api.render_body(render_id, session_id, raw_draft, quality)
            try:
                answer = await self._call(
                    "POST",
                    api.RENDER,
                    idempotent=False,
                    headers={"Content-Type": "application/json"},
                    body=functools.partial(dict, content=content),
                )
            except errors.ApiError as exc:
                if attempt == 0 and api.is_duplicate_id(exc):
                    continue
                raise
            data = api.data_of(answer.body)
            given = data.get("id") or data.get("taskId") or render_id
            return api.check_render_id(str(given))
        raise errors.ProtocolError("NemoVideo refused two render ids in a row as duplicates.")

    async def stills(self, session_id: str, times_s: list[float], long_side: int) -> list[api.Still]:
        """Frames of the project's draft as the export would show them (the local backend only)."""
        payload = {"times_s": times_s, "long_side": long_side}
        answer = await self._call(
            "POST",
            api.stills_path(session_id),
            idempotent=True,  # shows, changes nothing
            body=lambda: {"json": payload},
            http_timeout=httpx.Timeout(60.0, connect=10.0),
        )
        return api.parse_stills(api.data_of(answer.body))

    async def render_status(self, render_id: str) -> api.RenderStatus:
        answer = await self._call("GET", api.render_status_path(render_id), idempotent=True)
        return api.parse_render_status(answer.body, render_id)

    async def wait_render(self, render_id: str, on_status: RenderProgress | None = None) -> api.RenderStatus:
        """Poll until completed or failed, at most ``NEMO_RENDER_TIMEOUT_SECONDS``.

        Cancelling the caller asks the API to cancel the render (best effort).
        """
        try:
            with anyio.fail_after(self.settings.render_timeout_seconds):
                while True:
                    status = await self.render_status(render_id)
                    if on_status:
                        on_status(status)
                    if status.status == "completed":
                        return status
                    if status.status == "failed":
                        reason = f": {status.error.rstrip('. ')}" if status.error else ""
                        raise errors.RenderFailed(
                            f"The export failed on NemoVideo's side (render {render_id}){reason}. "
                            "Try exporting again; if it keeps failing, simplify the timeline.",
                            render_id=render_id,
                            reason=status.error,
                        )
                    await anyio.sleep(self.settings.render_poll_seconds)
        except TimeoutError:
            await self.cancel_render(render_id)
            raise errors.RenderTimeout(
                f"The export (render {render_id}) did not finish within "
                f"{self.settings.render_timeout_seconds:.0f} s; it looks stuck. Try exporting again later.",
                render_id=render_id,
            ) from None
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self.cancel_render(render_id)
            raise

    async def cancel_render(self, render_id: str) -> None:
        with contextlib.suppress(errors.NemoError, httpx.HTTPError), anyio.move_on_after(5):
            _, headers = await self._auth_headers()
            await self._http.post(api.render_cancel_path(render_id), headers=headers)

    async def download(
        self,
        render: api.RenderStatus,
        output_dir: Path,
        filename: str,
        on_bytes: BytesProgress | None = None,
    ) -> tuple[Path, int]:
        """Stream the export into ``output_dir`` under a new name; returns (path, size).

        The bytes go to a hidden part file that is linked to the final name only when
        complete, so an interrupted download never leaves a partial file under a real name,
        and no existing file is ever overwritten.
        """
        url, headers = self._download_request(render)
        part = output_dir / f"{transfer.PART_PREFIX}{secrets.token_hex(8)}{transfer.PART_SUFFIX}"
        try:
            # Local metadata calls: too quick to be worth a worker thread.
            output_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
            transfer.sweep_stale_parts(output_dir)
            # 0o666 and the umask, like any download: the video is the user's to share, not a secret.
            fd = os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except OSError as exc:
            raise errors.DownloadFailed(
                f"Cannot write to the output folder {output_dir} ({exc.strerror or exc}). "
                "Set NEMO_OUTPUT_DIR to a writable folder, then export again."
            ) from None
        try:
            with os.fdopen(fd, "wb") as out:
                size = await self._stream_to(url, headers, out, on_bytes)
            try:
                return transfer.place_file(part, output_dir, filename), size
            except transfer.PlaceError as exc:
                raise errors.DownloadFailed(str(exc)) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()

    def _download_request(self, render: api.RenderStatus) -> tuple[str, dict[str, str] | None]:
        base = self.settings.api_base + "/"
        if render.url:
            url = urljoin(base, render.url)
            if urlsplit(url).scheme not in ("http", "https"):
                raise errors.ProtocolError("NemoVideo gave a download link nemo-mcp will not follow.")
            # Our token goes only to the API's own origin, never to a CDN or other host.
            same_origin = urlsplit(url)[:2] == urlsplit(base)[:2]
            return url, ({} if same_origin else None)
        return urljoin(base, api.render_download_path(render.render_id).lstrip("/")), {}

    async def _stream_to(
        self, url: str, headers: dict[str, str] | None, out: BinaryIO, on_bytes: BytesProgress | None
    ) -> int:
        send_auth = headers is not None
        for attempt in range(2):
            request_headers = {"User-Agent": f"nemo-mcp/{__version__}"}
            if send_auth:
                request_headers |= (await self._auth_headers())[1]
            try:
                done, total = await transfer.fetch_in_thread(
                    url, request_headers, out, on_bytes, DOWNLOAD_TIMEOUT_SECONDS
                )
            except transfer.StatusError as exc:
                _, error = _read_answer(exc.status, exc.body)
                if isinstance(error, errors.TokenExpired) and send_auth and attempt == 0:
                    await self._renew(request_headers.get("Authorization", "")[7:])
                    continue
                raise errors.DownloadFailed(
                    f"Downloading the exported video failed (HTTP {exc.status}); no file was kept. "
                    "Export again to retry."
                ) from None
            except transfer.NetworkError:
                raise errors.DownloadFailed(
                    "The connection broke while downloading the exported video; no file was kept. "
                    "Export again to retry."
                ) from None
            except transfer.WriteError as exc:
                raise errors.DownloadFailed(
                    f"Could not write the video to disk ({exc}); no file was kept. "
                    "Free some space or set NEMO_OUTPUT_DIR, then export again."
                ) from None
            if total is not None and done != total:
                raise errors.DownloadFailed(
                    f"The download stopped after {done} of {total} bytes; no file was kept. Export again to retry."
                )
            return done
        raise errors.DownloadFailed()


class _Pool:
    """The connections to the API, shared by every view of a client (``for_platform``).

    Made on the first request, not before: building httpx's client (its TLS context) is a good
    part of a cold start, and a host waits for ``initialize`` before it shows anything.
    """

    def __init__(self, api_base: str, transport: httpx.AsyncBaseTransport | None) -> None:
        self._api_base = api_base
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self._api_base,
                timeout=httpx.Timeout(30.0, connect=10.0, read=60.0),
                headers={"User-Agent": f"nemo-mcp/{__version__}"},
                # One API host: a small pool is enough, and cheaper to keep than httpx's 100.
                limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
                transport=self._transport,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class _Answer(NamedTuple):
    body: Any  # the parsed JSON
    text: str  # as received, for the draft that must go back byte for byte


class _Policy:
    """The retry state of one request: what may still be retried, and how."""

    def __init__(self, client: NemoClient, idempotent: bool) -> None:
        self.client = client
        self.idempotent = idempotent
        self.renewed = False
        self.rate_limited = False
        self.failures = 0

    async def answered(self, error: errors.NemoError, token: str) -> None:
        """Return to retry, or raise the error the caller should see."""
        settings = self.client.settings
        if isinstance(error, errors.TokenExpired) and token:
            if self.client.tokens.user_token:
                raise errors.InvalidUserToken() from None
            if not self.renewed:
                self.renewed = True
                await self.client._renew(token)
                return
        if isinstance(error, errors.RateLimited) and not self.rate_limited:
            self.rate_limited = True
            log.info("NemoVideo rate limited the request; retrying in %.0f s", settings.rate_limit_wait_seconds)
            await anyio.sleep(settings.rate_limit_wait_seconds)
            return
        if isinstance(error, errors.ServiceUnavailable) and self.idempotent:
            await self._backoff(error)
            return
        if isinstance(error, errors.OutOfCredits) and not error.register_url:
            raise errors.OutOfCredits(register_url=self.client.account()[1]) from None
        raise error

    async def transport_failed(self, exc: httpx.TransportError) -> None:
        # Nothing reached the server when the connection could not even be made.
        if self.idempotent or isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            await self._backoff(
                errors.ServiceUnavailable(
                    f"Could not reach NemoVideo at {self.client.settings.api_base} ({type(exc).__name__}). "
                    "Check the network (or NEMO_API_BASE) and try again."
                )
            )
            return
        raise errors.ServiceUnavailable(
            "The connection to NemoVideo broke before it answered. The request may or may not have been "
            "applied: check the project with get_state before sending it again."
        ) from None

    async def _backoff(self, error: errors.NemoError) -> None:
        settings = self.client.settings
        if self.failures >= settings.read_retries:
            raise error
        delay = settings.retry_backoff_seconds * (2**self.failures)
        self.failures += 1
        log.info("%s; retry %d in %.1f s", error.message, self.failures, delay)
        await anyio.sleep(delay)


def _read_answer(status: int, text: str) -> tuple[Any, errors.NemoError | None]:
    if status >= 500:
        return None, errors.ServiceUnavailable(f"NemoVideo had a server error (HTTP {status}); try again in a minute.")
    try:
        parsed = api.parse_json(text)
    except errors.ProtocolError as exc:
        if 200 <= status < 300:
            return None, exc
        parsed = {}
    return parsed, api.error_for(status, parsed)


async def _events(response: httpx.Response) -> AsyncIterator[sse.Event]:
    try:
        async for event in sse.iter_events(sse.sse_lines(response.aiter_text())):
            yield event
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise errors.StreamDropped() from exc


def scope_of(settings: Settings) -> str:
    """Which backend cached tokens and sessions belong to."""
    return "local" if settings.backend == "local" else settings.api_base
