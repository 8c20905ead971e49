"""The NemoVideo API served locally over HTTP: the production core of the offline backend.

An :class:`ApiServer` answers every documented endpoint from a SQLite :class:`Store` shared by all
processes serving the same state dir, runs an :class:`Editor` for ``/run_sse`` and a
:class:`Renderer` for exports, and asks an :class:`Accounts` policy who is calling::

    api = ApiServer(store=Store(dir / "state.db"), media_store=MediaStore(dir / "media"),
                    renders_dir=dir / "renders", editor=..., renderer=..., accounts=..., signing_key=...)
    with ServerThread(api.app, stopping=api.close) as server:
        ...  # server.url

The offline backend (``nemo_mcp.local``) and the test emulator (``nemo_mcp.testing``) are both
built from these parts; nothing here exists only for tests.
"""

from __future__ import annotations

from nemo_mcp.apiserver.accounts import Accounts, SecretAccounts
from nemo_mcp.apiserver.answers import Refused
from nemo_mcp.apiserver.app import ApiServer
from nemo_mcp.apiserver.capabilities import Signer
from nemo_mcp.apiserver.editor import EditFailed, Editor, EditRequest, EditResult
from nemo_mcp.apiserver.media import MediaStore
from nemo_mcp.apiserver.renders import Render, Renderer, RenderView
from nemo_mcp.apiserver.server import ServerThread, StartStop, serve
from nemo_mcp.apiserver.sse import SseForm
from nemo_mcp.apiserver.store import SessionRecord, Store, StoreError
from nemo_mcp.apiserver.turns import TurnOptions

__all__ = [
    "Accounts",
    "ApiServer",
    "EditFailed",
    "EditRequest",
    "EditResult",
    "Editor",
    "MediaStore",
    "Refused",
    "Render",
    "RenderView",
    "Renderer",
    "SecretAccounts",
    "ServerThread",
    "SessionRecord",
    "Signer",
    "SseForm",
    "StartStop",
    "Store",
    "StoreError",
    "TurnOptions",
    "serve",
]
