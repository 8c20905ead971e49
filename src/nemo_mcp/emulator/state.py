"""The emulated service's state: tokens, credits, sessions, renders, recorded requests, faults.

Handlers run in the server's event-loop thread while tests read and change this state from
theirs, so every mutation that more than one thread can race on goes through ``Emulator.lock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from nemo_mcp.draft.media import MAX_UPLOAD_BYTES
from nemo_mcp.emulator.agent import Editor, ScriptedEditor
from nemo_mcp.emulator.render import FakeRenderer, Render, Renderer

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger(__name__)

ANONYMOUS_CREDITS = 100
TransportFault = Literal["reset", "server_error", "rate_limit"]


@dataclass
class Faults:
    """Switches a test flips to make the emulator misbehave; see the package docstring."""

    sse_form: Literal["adk", "typed"] = "adk"
    export_shape: Literal[1, 2, 3] = 1
    rate_limit: int = 0
    rate_limit_path: str | None = None
    server_error: int = 0
    server_error_path: str | None = None
    reset_connection: int = 0
    textless: bool = False
    drop_stream_after: int | None = None
    drop_applies_edit: bool = True
    stream_event_delay: float = 0.0
    heartbeats: int = 0
    heartbeat_interval: float = 0.0
    fail_render: bool = False
    render_steps: int = 3
    render_seconds: float = 0.0
    duplicate_render_id_once: bool = False
    plan_limit: bool = False
    render_size_bytes: int = 200_000
    cut_download_after: int | None = None
    slow_download: float = 0.0
    refuse_client_id_once: bool = False
    upload_delay: float = 0.0
    token_expires_in: float = 7 * 24 * 3600
    omit_expires_at: bool = False


@dataclass
class TokenInfo:
    user_id: str
    client_id: str | None  # None for registered users' tokens
    expires_at: datetime | None  # None: never (registered users' tokens)
    expired: bool = False

    def valid(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return not self.expired and (self.expires_at is None or now < self.expires_at)


@dataclass
class Session:
    session_id: str
    task_id: str
    user_id: str
    draft: dict[str, Any]
    uploads: list[dict[str, Any]] = field(default_factory=list)
    language: str = "en"
    task_name: str = "project"


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    time: float  # time.time()


class Emulator:
    """The NemoVideo cloud as a Starlette app (``app``) plus inspectable, fault-injectable state."""

    def __init__(self, data_dir: Path, *, editor: Editor | None = None, renderer: Renderer | None = None) -> None:
        from nemo_mcp.emulator.app import build_app  # the app module needs this class's state

        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.editor: Editor = editor or ScriptedEditor()
        # The fake renderer is the one the time schedule was designed around; a plugged one
        # (real ffmpeg) is reported as it actually progresses.
        self.uses_fake_renderer = renderer is None
        self.renderer: Renderer = renderer or FakeRenderer(lambda: self.faults.render_size_bytes)
        self.faults = Faults()
        self.max_upload_bytes = MAX_UPLOAD_BYTES  # tests lower it to check 4002 cheaply
        self.charge_credits = True  # the local backend edits for free
        self.lock = threading.RLock()

        self.tokens: dict[str, TokenInfo] = {}
        self.token_requests = 0
        self.sessions: dict[str, Session] = {}
        self.credits_available: dict[str, int] = {}
        self.renders: dict[str, Render] = {}
        self.requests: list[RequestRecord] = []
        self._client_users: dict[str, str] = {}
        self._open_streams: dict[int, tuple[asyncio.AbstractEventLoop, Callable[[], object]]] = {}
        self._stream_ids = itertools.count()

        self.app: Starlette = build_app(self)

    # --- faults -------------------------------------------------------------------------------

    def reset_faults(self) -> None:
        """Back to defaults, in place, so references to ``emu.faults`` stay live."""
        with self.lock:
            for f in dataclasses.fields(Faults):
                setattr(self.faults, f.name, getattr(Faults(), f.name))

    def snapshot_faults(self) -> Faults:
        with self.lock:
            return dataclasses.replace(self.faults)

    def take_transport_fault(self, path: str) -> TransportFault | None:
        """Consume one connection-reset / 503 / 429 fault matching ``path``, atomically."""
        f = self.faults
        with self.lock:
            error_path_ok = f.server_error_path is None or path.startswith(f.server_error_path)
            if f.reset_connection > 0 and error_path_ok:
                f.reset_connection -= 1
                return "reset"
            if f.server_error > 0 and error_path_ok:
                f.server_error -= 1
                return "server_error"
            if f.rate_limit > 0 and (f.rate_limit_path is None or path.startswith(f.rate_limit_path)):
                f.rate_limit -= 1
                return "rate_limit"
        return None

    def take_client_id_refusal(self) -> bool:
        with self.lock:
            refused, self.faults.refuse_client_id_once = self.faults.refuse_client_id_once, False
            return refused

    def take_duplicate_render_fault(self) -> bool:
        with self.lock:
            if self.faults.duplicate_render_id_once:
                self.faults.duplicate_render_id_once = False
                return True
            return False

    def record_request(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.requests.append(RequestRecord(method, path, headers, time.time()))

    # --- tokens and credits -------------------------------------------------------------------

    def issue_anonymous_token(self, client_id: str) -> tuple[str, TokenInfo] | None:
        """A new token for ``client_id``, or None while its previous token is still valid (429)."""
        now = datetime.now(UTC)
        with self.lock:
            if any(t.client_id == client_id and t.valid(now) for t in self.tokens.values()):
                return None
            user_id = self._client_users.get(client_id)
            if user_id is None:
                user_id = f"anon_{secrets.token_hex(8)}"
                self._client_users[client_id] = user_id
                self.credits_available[user_id] = ANONYMOUS_CREDITS
            token = f"nmv_usr_{secrets.token_urlsafe(24)}"
            info = TokenInfo(user_id, client_id, now + timedelta(seconds=self.faults.token_expires_in))
            self.tokens[token] = info
            self.token_requests += 1
            return token, info

    def add_user_token(self, token: str, user_id: str = "user_1", credits: int = 100) -> None:
        """A registered user's token (like NEMO_TOKEN): never expires unless ``expire_tokens``."""
        with self.lock:
            self.tokens[token] = TokenInfo(user_id, None, None)
            self.credits_available[user_id] = credits

    def expire_tokens(self) -> None:
        with self.lock:
            for info in self.tokens.values():
                info.expired = True

    def user_for_token(self, token: str | None) -> str | None:
        with self.lock:
            info = self.tokens.get(token) if token else None
            return info.user_id if info is not None and info.valid() else None

    def credits(self, user_id: str) -> int:
        with self.lock:
            return self.credits_available.get(user_id, 0)

    def set_credits(self, user_id: str, n: int) -> None:
        with self.lock:
            self.credits_available[user_id] = n

    def spend_credit(self, user_id: str) -> None:
        if not self.charge_credits:
            return
        with self.lock:
            self.credits_available[user_id] = max(0, self.credits_available.get(user_id, 0) - 1)

    # --- sessions -----------------------------------------------------------------------------

    def create_session(self, user_id: str, task_name: str, language: str) -> Session:
        with self.lock:
            while True:
                # Real session ids are long decimal strings such as "5529798706024415232".
                session_id = str(secrets.randbelow(9 * 10**18) + 10**18)
                if session_id not in self.sessions:
                    break
            draft = {"t": [], "d": 0, "m": {"title": task_name, "width": 1080, "height": 1920}}
            session = Session(session_id, f"task_{secrets.token_hex(8)}", user_id, draft, [], language, task_name)
            self.sessions[session_id] = session
            return session

    def session_for(self, user_id: str, session_id: object) -> Session | None:
        """The user's own session; another user's session is as unknown as a missing one."""
        with self.lock:
            session = self.sessions.get(session_id) if isinstance(session_id, str) else None
            return session if session is not None and session.user_id == user_id else None

    def lose_session(self, session_id: str) -> None:
        with self.lock:
            self.sessions.pop(session_id, None)

    def set_draft(self, session: Session, draft: dict[str, Any]) -> None:
        with self.lock:
            session.draft = draft

    def add_uploads(self, session: Session, files: list[dict[str, Any]]) -> None:
        with self.lock:
            session.uploads.extend(files)

    # --- media and renders --------------------------------------------------------------------

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def renders_dir(self) -> Path:
        return self.data_dir / "renders"

    def media_path(self, url: str) -> Path | None:
        """The stored file behind a ``cdn_url`` this emulator issued (``.../media/<sid>/<name>``)."""
        parts = unquote(urlsplit(url).path).split("/")
        if len(parts) != 4 or parts[:2] != ["", "media"]:
            return None
        sid, name = parts[2], parts[3]
        if not _SAFE_COMPONENT.fullmatch(sid) or not _SAFE_COMPONENT.fullmatch(name):
            return None
        path = (self.media_dir / sid / name).resolve()
        if not path.is_relative_to(self.media_dir.resolve()) or not path.is_file():
            return None
        return path

    def render_output_path(self, render_id: str) -> Path:
        # Render ids come from the client: only a safe id becomes a file name as is.
        name = render_id if _SAFE_COMPONENT.fullmatch(render_id) else secrets.token_hex(16)
        return self.renders_dir / f"{name}.mp4"

    def add_render(self, render: Render) -> bool:
        """Register a render; False when the id is taken."""
        with self.lock:
            if render.id in self.renders:
                return False
            self.renders[render.id] = render
            return True

    def stream_opened(self, loop: asyncio.AbstractEventLoop, stop: Callable[[], object]) -> int:
        """Register an open /run_sse turn; ``stop`` ends it (called in ``loop``)."""
        with self.lock:
            handle = next(self._stream_ids)
            self._open_streams[handle] = (loop, stop)
            return handle

    def stream_closed(self, handle: int) -> None:
        with self.lock:
            self._open_streams.pop(handle, None)

    def end_open_streams(self) -> None:
        """Break off every open /run_sse turn (server stopping); safe from any thread."""
        with self.lock:
            streams = list(self._open_streams.values())
        for loop, stop in streams:
            with contextlib.suppress(RuntimeError):  # that loop has already closed
                loop.call_soon_threadsafe(stop)

    async def cancel_render_tasks(self) -> None:
        """Cancel and await this event loop's running renders (server shutdown)."""
        loop = asyncio.get_running_loop()
        with self.lock:
            tasks = [r.task for r in self.renders.values() if r.task is not None and not r.task.done()]
        mine = [t for t in tasks if t.get_loop() is loop]
        for task in mine:
            task.cancel()
        if mine:
            await asyncio.gather(*mine, return_exceptions=True)

    # --- persistence (the local backend keeps its projects across restarts) ---------------------

    def save(self, path: Path) -> None:
        """Tokens, credits and sessions as JSON, written atomically (renders are not kept)."""
        with self.lock:
            data = {
                "tokens": {
                    token: {
                        "user_id": t.user_id,
                        "client_id": t.client_id,
                        "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                        "expired": t.expired,
                    }
                    for token, t in self.tokens.items()
                },
                "client_users": self._client_users,
                "credits": self.credits_available,
                "sessions": [dataclasses.asdict(s) for s in self.sessions.values()],
            }
            text = json.dumps(data, ensure_ascii=False)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        """What :meth:`save` wrote; a missing or unreadable file leaves the state empty."""
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            with self.lock:
                for token, t in data["tokens"].items():
                    expires = datetime.fromisoformat(t["expires_at"]) if t["expires_at"] else None
                    self.tokens[token] = TokenInfo(t["user_id"], t["client_id"], expires, t["expired"])
                self._client_users.update(data["client_users"])
                self.credits_available.update(data["credits"])
                for raw in data["sessions"]:
                    self.sessions[raw["session_id"]] = Session(**raw)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("Could not load the local backend's state from %s (%s); starting empty.", path, exc)


_SAFE_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
