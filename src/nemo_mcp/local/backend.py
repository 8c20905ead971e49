"""The offline backend: the API server with the rule-based editor, the ffmpeg renderer and SQLite.

It serves the cloud's API on 127.0.0.1 and a free port, so the client talks to it exactly as to
the cloud, with the install's secret as its bearer token. Projects, uploads, undo history and
renders live under ``NEMO_STATE_DIR/local/`` and are shared, live, by every process serving that
folder (MCP hosts, CLI commands); editing is free::

    with LocalBackend(state_dir / "local") as backend:
        ...  # backend.url, backend.secret, backend.warnings

Stopping it cancels running renders, which kills their ffmpeg.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nemo_mcp.apiserver import (
    ApiServer,
    Editor,
    MediaStore,
    SecretAccounts,
    ServerThread,
    StartStop,
    Store,
    TurnOptions,
)
from nemo_mcp.apiserver.fetch import LinkPolicy
from nemo_mcp.apiserver.media import inspect_decoding
from nemo_mcp.errors import ConfigError
from nemo_mcp.local.legacy import import_legacy
from nemo_mcp.local.secret import install_secret

log = logging.getLogger(__name__)

DATABASE = "state.db"
INSTALL_HINT = "The local backend needs ffmpeg: install it with  pip install 'nemo-mcp[local]'  (or set NEMO_FFMPEG)."
# The client shows "still working" on heartbeats; the rule-based editor rarely takes this long.
HEARTBEAT_SECONDS = 5.0


class LocalBackend(StartStop):
    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        editor: Editor | None = None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        links: LinkPolicy | None = None,
    ) -> None:
        """``editor``: another editor than the rule-based one (the offline editor is being rewritten);
        ``links``: what uploads by URL may reach (public addresses only, by default)."""
        try:
            from nemo_mcp.local.probe import ffmpeg_exe

            ffmpeg_exe()
        except Exception as exc:
            raise ConfigError(f"{INSTALL_HINT} ({exc})") from None
        from nemo_mcp.local.editor import LocalEditor
        from nemo_mcp.local.render import FfmpegRenderer

        self.data_dir = Path(data_dir)
        self.warnings: list[str] = []  # damage found and set aside at start, for the user to hear about
        self.secret = install_secret(self.data_dir, self.warnings)
        self.store = Store(self.data_dir / DATABASE)
        self.warnings += self.store.warnings
        self.warnings += import_legacy(self.data_dir, self.store)
        media_store = MediaStore(self.data_dir / "media")
        self.api = ApiServer(
            store=self.store,
            media_store=media_store,
            renders_dir=self.data_dir / "renders",
            editor=editor or LocalEditor(media_store.path_for),
            # The Renderer protocol reports progress as a fraction.
            renderer=FfmpegRenderer(media_store.path_for, progress_scale=1.0),
            accounts=SecretAccounts(self.secret),
            signing_key=self.secret,
            turn_options=TurnOptions(heartbeat_seconds=heartbeat_seconds),
            links=links,
            # Headers lie (an 8 KB WAV may claim 74 hours): uploads are decoded once, here.
            inspect=inspect_decoding,
        )
        self.server = ServerThread(self.api.app, host, port, stopping=self.api.close)

    @property
    def url(self) -> str:
        return self.server.url

    def signed_url(self, path: str) -> str:
        """A URL of a media or render file (``/renders/<id>.mp4``) that a player can fetch without the secret."""
        return self.api.signed_url(self.url, path)

    def start(self) -> None:
        self.server.start()
        log.info("Local backend at %s, data in %s", self.server.url, self.data_dir)

    def stop(self) -> None:
        self.server.stop()
        self.store.close()
