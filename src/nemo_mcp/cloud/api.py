"""Every path and answer shape of the NemoVideo API, in one place.

The vendor's surface moves (its own CLI already uses other paths), so when the
real API differs from what we know, this is the one file that changes. It
holds no I/O: builders of paths and bodies, and readers of answers that
accept every documented variant and keep what they don't know.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from nemo_mcp import errors
from nemo_mcp.draft.rawjson import member_text
from nemo_mcp.errors import NemoError, ProtocolError
from nemo_mcp.lenient import ident, int_code

APP = "nemo_agent"

ANONYMOUS_TOKEN = "/api/auth/anonymous-token"
CREATE_SESSION = f"/api/tasks/me/with-session/{APP}"
RUN_SSE = "/run_sse"
CREDITS = "/api/credits/balance/simple"
RENDER = "/api/render/proxy/lambda"

# Session ids go into URL paths: anything but a plain token is refused before
# a request is made (a model may pass "../../x" or "a%2fb").
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_RENDER_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def check_session_id(session_id: str) -> str:
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        shown = session_id[:40] + "…" if isinstance(session_id, str) and len(session_id) > 40 else session_id
        raise errors.InvalidInput(
            f"Invalid session id {shown!r}: a session id is 1-128 letters, digits, '-' or '_'. "
            "Omit session_id to use the current project."
        )
    return session_id


def check_render_id(render_id: str) -> str:
    if not isinstance(render_id, str) or not _RENDER_ID.fullmatch(render_id):
        raise ProtocolError("NemoVideo answered with a render id nemo-mcp cannot use.")
    return render_id


def upload_path(session_id: str) -> str:
    return f"/api/upload-video/{APP}/me/{quote(check_session_id(session_id))}"


def state_path(session_id: str) -> str:
    return f"/api/state/{APP}/me/{quote(check_session_id(session_id))}/latest"


def render_status_path(render_id: str) -> str:
    return f"{RENDER}/{quote(check_render_id(render_id))}"


def render_cancel_path(render_id: str) -> str:
    return f"{RENDER}/{quote(check_render_id(render_id))}/cancel"


def render_download_path(render_id: str) -> str:
    return f"/api/render/proxy/{quote(check_render_id(render_id))}/download"


def stills_path(session_id: str) -> str:
    """Frames of a project's draft without an export: the local backend's own endpoint."""
    return f"/api/stills/{quote(check_session_id(session_id))}"


def new_render_id() -> str:
    # The documented form is render_<unix ts>; the milliseconds keep two exports
    # started in the same second (or a resubmit after "duplicate id") apart.
    return f"render_{int(time.time())}{int(time.time() * 1000) % 1000:03d}"


def session_body(language: str, task_name: str = "project") -> dict[str, Any]:
    return {"task_name": task_name, "language": language}


def instruction_body(session_id: str, text: str) -> dict[str, Any]:
    return {
        "app_name": APP,
        "user_id": "me",
        "session_id": check_session_id(session_id),
        "new_message": {"parts": [{"text": text}]},
    }


def render_body(render_id: str, session_id: str, raw_draft: str, quality: str) -> bytes:
    """The export request, with the draft spliced in as the exact text the API sent us."""
    head = json.dumps({"id": render_id, "sessionId": session_id}, separators=(",", ":"))[:-1]
    tail = json.dumps({"format": "mp4", "quality": quality}, separators=(",", ":"))
    return f'{head},"draft":{raw_draft},"output":{tail}}}'.encode()


# --- answers -------------------------------------------------------------------------------------

_ERROR_BY_CODE: dict[int, type[NemoError]] = {
    1001: errors.TokenExpired,
    1002: errors.SessionNotFound,
    2001: errors.OutOfCredits,
    4001: errors.UnsupportedFile,
    4002: errors.FileTooLarge,
    400: errors.MissingClientId,
    402: errors.PlanLimit,
    429: errors.RateLimited,
}


def _api_message(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("message", "msg", "error", "errorMessage", "error_message", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:500]
    return None


def error_for(http_status: int, body: Any) -> NemoError | None:
    """The error an answer stands for, or None when it is a success."""
    code = int_code(body.get("code")) if isinstance(body, dict) else None
    message = _api_message(body)
    if code in (None, 0, 200) and 200 <= http_status < 300:
        if isinstance(body, dict) and body.get("success") is False:
            return errors.ApiError(f"NemoVideo refused the request: {_sentence(message)}")
        return None
    if 400 in (code, http_status) and "client" not in (message or "client").lower():
        # Only the token endpoint's 400 means a missing client id; others carry their reason.
        return errors.ApiError(f"NemoVideo refused the request: {_sentence(message)}", code=code)
    if code in _ERROR_BY_CODE:
        chosen = code
    elif http_status in _ERROR_BY_CODE:
        chosen = http_status
    elif http_status >= 500:
        return errors.ServiceUnavailable(f"NemoVideo had a server error (HTTP {http_status}); try again in a minute.")
    else:
        detail = f" (code {code})" if code not in (None, 0) else f" (HTTP {http_status})"
        return errors.ApiError(f"NemoVideo refused the request{detail}: {_sentence(message)}", code=code)
    cls = _ERROR_BY_CODE[chosen]
    if cls is errors.OutOfCredits:
        url = _find_url(body)
        return errors.OutOfCredits(register_url=url)
    if cls in (errors.UnsupportedFile, errors.FileTooLarge) and message and not _generic(message):
        # The file's own reason ("city.png cannot be used: its picture data cannot be decoded").
        return cls(f"NemoVideo refused the upload: {_sentence(message)}")
    return cls()


def _sentence(message: str | None) -> str:
    """The API's message as the end of a sentence: one full stop, never two."""
    return (message or "no reason given").rstrip(". ") + "."


def _generic(message: str) -> bool:
    """Whether a 4001/4002 message says no more than its code (then ours, with the accepted formats, is better)."""
    return message.lower().startswith(("unsupported file", "file too large", "file type"))


def _find_url(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for source in (body, body.get("data")):
        if isinstance(source, dict):
            for key in ("register_url", "registerUrl", "url", "link"):
                value = source.get(key)
                if isinstance(value, str) and value.startswith("https://"):
                    return value
    return None


def parse_json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        # RecursionError: JSON nested deeper than Python's parser goes is no answer we can use.
        raise ProtocolError("NemoVideo sent an answer that is not JSON nemo-mcp can read.") from None


def data_of(body: Any) -> dict[str, Any]:
    """The payload of any envelope form: {code, data}, {success, data}, or a bare object."""
    if isinstance(body, dict):
        inner = body.get("data")
        if isinstance(inner, dict):
            return inner
        return body
    raise ProtocolError("NemoVideo sent an answer of an unexpected shape.")


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class AnonymousToken:
    token: str = field(repr=False)
    user_id: str | None
    expires_at: str | None
    credits: float | None


def parse_token(data: dict[str, Any]) -> AnonymousToken:
    token = ident(data.get("token") or data.get("access_token"))
    if not token:
        raise ProtocolError("NemoVideo's anonymous-token answer held no token.")
    return AnonymousToken(
        token=token,
        user_id=ident(data.get("user_id") or data.get("userId")),
        expires_at=ident(data.get("expires_at") or data.get("expiresAt")),
        credits=_num(data.get("credits")),
    )


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    task_id: str | None
    user_id: str | None


def parse_session(data: dict[str, Any]) -> SessionInfo:
    session_id = ident(data.get("session_id") or data.get("sessionId"))
    if not session_id:
        raise ProtocolError("NemoVideo created a session but did not say its id.")
    return SessionInfo(
        session_id=check_session_id(session_id),
        task_id=ident(data.get("task_id") or data.get("taskId")),
        user_id=ident(data.get("user_id") or data.get("userId")),
    )


@dataclass(frozen=True)
class Credits:
    available: float
    frozen: float
    total: float


def parse_credits(data: dict[str, Any]) -> Credits:
    available = _num(data.get("available")) or 0.0
    frozen = _num(data.get("frozen")) or 0.0
    total = _num(data.get("total"))
    return Credits(available=available, frozen=frozen, total=available + frozen if total is None else total)


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    kind: str
    url: str | None
    duration: float | None
    width: int | None
    height: int | None
    raw: dict[str, Any]


def parse_upload(data: dict[str, Any]) -> list[UploadedFile]:
    files = data.get("files")
    if not isinstance(files, list):
        raise ProtocolError("NemoVideo's upload answer did not list the uploaded files.")
    out = []
    for item in files:
        if not isinstance(item, dict):
            continue
        width, height = _num(item.get("width")), _num(item.get("height"))
        out.append(
            UploadedFile(
                filename=ident(item.get("filename") or item.get("name")) or "file",
                kind=ident(item.get("file_type") or item.get("type")) or "unknown",
                url=ident(item.get("cdn_url") or item.get("url")),
                duration=_num(item.get("duration")),
                width=int(width) if width is not None else None,
                height=int(height) if height is not None else None,
                raw=item,
            )
        )
    return out


@dataclass(frozen=True)
class RenderStatus:
    render_id: str
    status: str  # pending / processing / completed / failed (lower-cased; unknown values kept)
    progress: float | None
    url: str | None
    error: str | None
    size_bytes: int | None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


_STATUS_ALIASES = {
    "done": "completed",
    "success": "completed",
    "succeeded": "completed",
    "complete": "completed",
    "error": "failed",
    "cancelled": "failed",
    "canceled": "failed",
    "running": "processing",
    "rendering": "processing",
    "queued": "pending",
}


def parse_render_status(body: Any, render_id: str) -> RenderStatus:
    """All three documented shapes: {success,data{…,outputUrl}}, {status,output{url}}, {taskId,status,output{…}}."""
    if not isinstance(body, dict):
        raise ProtocolError("NemoVideo sent a render status of an unexpected shape.")
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    assert isinstance(data, dict)
    raw_status = ident(data.get("status")) or ident(body.get("status")) or "pending"
    status = _STATUS_ALIASES.get(raw_status.lower(), raw_status.lower())
    output = data.get("output") if isinstance(data.get("output"), dict) else {}
    assert isinstance(output, dict)
    url = (
        ident(data.get("outputUrl"))
        or ident(data.get("output_url"))
        or ident(output.get("url"))
        or ident(data.get("url"))
    )
    progress = _num(data.get("progress"))
    if progress is not None and 0 < progress <= 1 and status != "completed":
        progress *= 100  # some answers give a fraction
    size = _num(output.get("size")) or _num(data.get("size"))
    error = _api_message(data) or _api_message(body) if status == "failed" else None
    return RenderStatus(
        render_id=ident(data.get("id")) or ident(data.get("taskId")) or render_id,
        status=status,
        progress=progress,
        url=url,
        error=error,
        size_bytes=int(size) if size is not None else None,
    )


@dataclass(frozen=True)
class Still:
    """One JPEG frame, as the export would show it at ``time_s``."""

    time_s: float  # the time it shows (the asked time, moved inside the timeline)
    jpeg: bytes = field(repr=False)
    width: int
    height: int


def parse_stills(data: dict[str, Any]) -> list[Still]:
    frames = data.get("frames")
    if not isinstance(frames, list):
        raise ProtocolError("The local backend's frames answer held no frames.")
    out = []
    for item in frames:
        try:
            out.append(
                Still(float(item["time_s"]), base64.b64decode(item["jpeg"]), int(item["width"]), int(item["height"]))
            )
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise ProtocolError("The local backend sent a frame nemo-mcp could not read.") from None
    return out


def is_duplicate_id(error: NemoError) -> bool:
    return "duplicate" in error.message.lower()


# --- the draft, byte for byte -------------------------------------------------------------------

_DRAFT_PATHS = (("data", "state", "draft"), ("state", "draft"), ("data", "draft"), ("draft",))


@dataclass
class SessionState:
    """A state answer: the draft exactly as received, and parsed views of it."""

    session_id: str
    draft: Any
    canvas: dict[str, Any]
    uploads: list[dict[str, Any]]
    task_name: str | None
    raw: dict[str, Any] = field(repr=False)
    text: str = field(default="", repr=False)  # the whole answer, as received

    @functools.cached_property
    def raw_draft(self) -> str | None:
        """The draft's JSON text, byte for byte; found in the answer when first asked for (reading
        the timeline never needs it, exports and change checks do)."""
        return raw_draft(self.text)


def raw_draft(text: str) -> str | None:
    """The draft's exact JSON text inside a state answer, or None when there is none."""
    for path in _DRAFT_PATHS:
        span = member_text(text, path)
        if span is not None:
            return span
    return None
