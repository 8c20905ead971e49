"""The NemoVideo cloud for tests and benchmarks: the API server with a scripted agent, a fake
renderer, NemoVideo-style tokens and credits, and switches that make it misbehave.

    emu = Emulator(tmp_path)                    # ScriptedEditor, FakeRenderer
    with EmulatorServer(emu) as server:         # uvicorn on 127.0.0.1:<free port>, in a thread
        httpx.post(f"{emu.url}/api/auth/anonymous-token", headers={"X-Client-Id": "c1"})

State (read it freely; change it through the methods): ``emu.tokens`` (token -> TokenInfo),
``emu.token_requests``, ``emu.sessions`` (id -> Session), ``emu.credits(user_id)``,
``emu.renders`` (id -> RecordedRender, with ``raw_body``, ``draft_bytes``/``draft_text`` exactly
as sent, ``cancelled``, ``finished``), ``emu.requests`` (RequestRecord per request),
``emu.add_user_token``, ``emu.expire_tokens()``, ``emu.lose_session(sid)``,
``emu.set_credits(user, n)``, ``emu.media_path(cdn_url)``, ``emu.max_upload_bytes`` (the 4002
limit, 200 MB), ``emu.faults`` (see :mod:`nemo_mcp.testing.faults`) and ``emu.reset_faults()``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from nemo_mcp.apiserver import ApiServer, Editor, MediaStore, Renderer, ServerThread, StartStop, Store
from nemo_mcp.apiserver import serve as serve_app
from nemo_mcp.apiserver.fetch import LinkPolicy
from nemo_mcp.testing.accounts import TokenAccounts, TokenInfo
from nemo_mcp.testing.editor import FaultyEditor, ScriptedEditor
from nemo_mcp.testing.faults import Faults, FaultSwitches
from nemo_mcp.testing.injector import FaultInjector, RecordedRender, RequestRecord
from nemo_mcp.testing.renderer import FakeRenderer

# Renders here are short: their rows are refreshed often, so other readers see them move.
_RENDER_FLUSH_SECONDS = 0.1


@dataclass(frozen=True)
class Session:
    """A session as stored, read when asked for."""

    session_id: str
    task_id: str
    user_id: str
    draft: dict[str, Any]
    uploads: list[dict[str, Any]]
    language: str
    task_name: str


class Emulator:
    def __init__(self, data_dir: Path, *, editor: Editor | None = None, renderer: Renderer | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._switches = FaultSwitches()
        self.faults: Faults = self._switches.faults
        self.lock: threading.RLock = self._switches.lock
        self._accounts = TokenAccounts()
        self.store = Store(self.data_dir / "state.db")
        self.api = ApiServer(
            store=self.store,
            media_store=MediaStore(self.data_dir / "media"),
            renders_dir=self.data_dir / "renders",
            editor=FaultyEditor(editor or ScriptedEditor()),
            renderer=renderer or FakeRenderer(self._switches.snapshot),
            accounts=self._accounts,
            signing_key=secrets.token_urlsafe(32),
            render_flush_seconds=_RENDER_FLUSH_SECONDS,
            # Tests serve their links on 127.0.0.1: the cloud stand-in may fetch them.
            links=LinkPolicy(allow_private=True),
        )
        self._injector = FaultInjector(
            self.api.app, self._switches, self._accounts, self.api, fake_renderer=renderer is None
        )
        self.app: ASGIApp = self._injector
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL while an :class:`EmulatorServer` serves this emulator."""
        if self._url is None:
            raise RuntimeError("the emulator is not being served")
        return self._url

    # -- faults and bookkeeping --------------------------------------------------------------------

    def reset_faults(self) -> None:
        self._switches.reset()

    @property
    def requests(self) -> list[RequestRecord]:
        with self.lock:
            return list(self._injector.requests)

    @property
    def renders(self) -> dict[str, RecordedRender]:
        with self.lock:
            return dict(self._injector.renders)

    @property
    def max_upload_bytes(self) -> int:
        return self.api.max_upload_bytes

    @max_upload_bytes.setter
    def max_upload_bytes(self, value: int) -> None:
        self.api.max_upload_bytes = value

    # -- tokens and credits ------------------------------------------------------------------------

    @property
    def tokens(self) -> dict[str, TokenInfo]:
        with self._accounts.lock:
            return dict(self._accounts.tokens)

    @property
    def token_requests(self) -> int:
        return self._accounts.token_requests

    def add_user_token(self, token: str, user_id: str = "user_1", credits: int = 100) -> None:
        """A registered user's token (like NEMO_TOKEN): never expires unless ``expire_tokens``."""
        self._accounts.add_user_token(token, user_id, credits)

    def expire_tokens(self) -> None:
        self._accounts.expire_tokens()

    def credits(self, user_id: str) -> int:
        return self._accounts.balance(user_id)

    def set_credits(self, user_id: str, n: int) -> None:
        self._accounts.set_balance(user_id, n)

    # -- sessions and media ------------------------------------------------------------------------

    @property
    def sessions(self) -> dict[str, Session]:
        found = {}
        for record in self.store.sessions():
            snapshot = self.store.snapshot(record.session_id)
            if snapshot is not None:
                s = snapshot.session
                found[s.session_id] = Session(
                    s.session_id, s.task_id, s.account, s.draft, snapshot.uploads, s.language, s.task_name
                )
        return found

    def lose_session(self, session_id: str) -> None:
        self.store.delete_session(session_id)

    def set_draft(self, session_id: str, draft: dict[str, Any]) -> None:
        """Replace a session's draft, as if an edit had landed (tests of large or odd drafts)."""
        snapshot = self.store.snapshot(session_id)
        if snapshot is None:
            raise KeyError(session_id)
        outcome = self.store.apply_edit(
            session_id, snapshot.session.version, snapshot.session.draft, draft, reverted=False
        )
        if outcome != "applied":
            raise RuntimeError(f"could not set the draft of {session_id}: {outcome}")

    def media_path(self, url: str) -> Path | None:
        """The stored file behind a ``cdn_url`` this emulator issued."""
        return self.api.media.path_for(url)


class EmulatorServer(StartStop):
    """Serves an emulator (or ``app``, a wrapper around ``emulator.app``) on ``host`` in a thread."""

    def __init__(
        self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *, app: ASGIApp | None = None
    ) -> None:
        self.emulator = emulator
        self._server = ServerThread(app or emulator.app, host, port, stopping=emulator.api.close)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        self._server.start()
        self.emulator._url = self._server.url

    def stop(self) -> None:
        self._server.stop()
        self.emulator._url = None


def serve(port: int, data_dir: Path | None, host: str = "127.0.0.1") -> None:
    """Serve an emulator until Ctrl-C (``nemo-mcp emulator``); a temporary data dir when none given."""
    if not logging.getLogger().handlers:
        # Run as a command: say where we listen, on stderr.
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nemo-emulator-")))
        emulator = Emulator(data_dir)
        serve_app(
            emulator.app, host, port, stopping=emulator.api.close, name=f"NemoVideo emulator (data in {data_dir})"
        )
