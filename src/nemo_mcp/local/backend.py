"""The local backend: the emulator with the rule-based editor and the ffmpeg renderer plugged in.

It serves the cloud's API on 127.0.0.1 and a free port, so the client talks to
it exactly as to the cloud. Its projects, tokens and uploads live under
``NEMO_STATE_DIR/local/`` and survive restarts; editing is free.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nemo_mcp.errors import ConfigError

if TYPE_CHECKING:
    from nemo_mcp.emulator import EditResult as AgentResult
    from nemo_mcp.local.editor import LocalEditor

log = logging.getLogger(__name__)

STATE_FILE = "backend.json"
HISTORY_FILE = "undo.json"
LOCAL_CREDITS = 1000
HISTORY_LIMIT = 50

INSTALL_HINT = "The local backend needs ffmpeg: install it with  pip install 'nemo-mcp[local]'  (or set NEMO_FFMPEG)."


class LocalBackend:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            from nemo_mcp.local.probe import ffmpeg_exe

            ffmpeg_exe()
        except Exception as exc:
            raise ConfigError(f"{INSTALL_HINT} ({exc})") from None
        from nemo_mcp.emulator import Emulator, EmulatorServer
        from nemo_mcp.local.editor import LocalEditor
        from nemo_mcp.local.render import FfmpegRenderer

        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state_file = data_dir / STATE_FILE

        def resolve(url: str) -> Path | None:
            return emulator.media_path(url)

        def language_of(session_id: str) -> str:
            with emulator.lock:
                session = emulator.sessions.get(session_id)
                return session.language if session is not None else "en"

        # The emulator's Renderer protocol reports progress as a fraction.
        renderer = FfmpegRenderer(resolve, progress_scale=1.0)
        self.editor = _ServerSide(LocalEditor(resolve), language_of)
        emulator = Emulator(data_dir, editor=self.editor, renderer=renderer)
        emulator.charge_credits = False
        emulator.load(self.state_file)
        self.history_file = data_dir / HISTORY_FILE
        self._load_history()
        emulator.app = _SavingApp(emulator.app, lambda: self._save())  # type: ignore[assignment]
        self.emulator = emulator
        self.server = EmulatorServer(emulator, host=host, port=port)

    def _save(self) -> None:
        try:
            self.emulator.save(self.state_file)
            # "undo" must work after a restart too (a CLI command is a process of its own).
            tmp = self.history_file.with_name(self.history_file.name + ".tmp")
            tmp.write_text(json.dumps(self.editor.history()), encoding="utf-8")
            os.replace(tmp, self.history_file)
        except OSError as exc:
            log.warning("Could not save the local backend's state (%s)", exc)

    def _load_history(self) -> None:
        if not self.history_file.exists():
            return
        try:
            history = json.loads(self.history_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Could not read the local undo history (%s); starting without it.", exc)
            return
        if isinstance(history, dict):
            self.editor.restore_history(history)

    # Until the apiserver split lands: no key of its own yet, and nothing to warn about.
    secret: str | None = None
    warnings: list[str] = []  # noqa: RUF012

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> LocalBackend:
        self.server.start()
        log.info("Local backend at %s, data in %s", self.server.url, self.state_file.parent)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.stop()
        self._save()


class _SavingApp:
    """Saves the backend's state after every request that may have changed it."""

    def __init__(self, app: Any, save: Any) -> None:
        self.app = app
        self.save = save

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope.get("type") == "http" and scope.get("method") != "GET":
                self.save()


class _ServerSide:
    """The server's half of an edit, until the apiserver split lands (the lead drops this at merge).

    The emulator still calls ``edit(session_id, draft, instruction, uploads)`` and keeps no undo
    history; the editor now takes an ``EditRequest`` and leaves the history to the server. This
    keeps each session's history (the drafts before its last changes), passes the session's
    language, and pops the history when the editor undid a change.
    """

    def __init__(self, editor: LocalEditor, language_of: Callable[[str], str]) -> None:
        self.editor = editor
        self._language_of = language_of
        self._history: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def edit(
        self, session_id: str, draft: dict[str, Any], instruction: str, uploads: list[dict[str, Any]]
    ) -> AgentResult:
        from nemo_mcp.emulator import EditResult as AgentResult
        from nemo_mcp.local.editor import EditRequest

        with self._lock:
            history = copy.deepcopy(self._history.get(session_id, []))
        request = EditRequest(session_id, draft, instruction, uploads, self._language_of(session_id), history)
        result = self.editor.edit(request)
        with self._lock:
            kept = self._history.setdefault(session_id, [])
            if result.reverted:
                if kept:
                    kept.pop()
            elif result.draft != draft:
                kept.append(copy.deepcopy(draft))
                del kept[: max(0, len(kept) - HISTORY_LIMIT)]
        return AgentResult(result.draft, result.reply, result.tool_name, result.tool_args)

    def history(self) -> dict[str, list[dict[str, Any]]]:
        """Every session's undo history, as plain JSON (saved with the backend's state)."""
        with self._lock:
            return copy.deepcopy(self._history)

    def restore_history(self, history: dict[str, list[dict[str, Any]]]) -> None:
        with self._lock:
            self._history = {
                sid: [d for d in drafts if isinstance(d, dict)][-HISTORY_LIMIT:]
                for sid, drafts in history.items()
                if isinstance(sid, str) and isinstance(drafts, list)
            }
