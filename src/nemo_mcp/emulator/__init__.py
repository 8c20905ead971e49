"""A local stand-in for the NemoVideo cloud API, served over real HTTP.

It behaves as /work/shared/nemovideo-api.md documents (every documented variant can be
selected), keeps its state inspectable, and misbehaves on request, so the client and the MCP
server are tested against real HTTP; the offline local backend plugs a real ``Editor`` and
``Renderer`` into it::

    emu = Emulator(tmp_path)                    # editor=ScriptedEditor(), fake renderer
    with EmulatorServer(emu) as server:         # uvicorn on 127.0.0.1:<free port>, in a thread
        httpx.post(f"{server.url}/api/auth/anonymous-token", headers={"X-Client-Id": "c1"})

Error answers: business errors (1001, 1002, 2001, 4001, 4002) are HTTP 200 with
``{"code": N, "message": ...}``; transport-level ones (400, 402, 429, 503) carry that HTTP status
and the same body; render endpoints refuse with ``{"success": false, "error": ...}``.

State (read it freely; change it through the methods): ``emu.tokens`` (token -> TokenInfo),
``emu.token_requests``, ``emu.sessions`` (id -> Session), ``emu.credits_available``
(user id -> credits) and ``emu.credits(user_id)``, ``emu.renders`` (id -> Render, with
``raw_body``, ``draft_bytes``/``draft_text`` exactly as sent, ``cancelled``, ``finished`` event),
``emu.requests`` (RequestRecord per request), ``emu.add_user_token``, ``emu.expire_tokens()``,
``emu.lose_session(sid)``, ``emu.set_credits(user, n)``, ``emu.media_path(cdn_url)``,
``emu.max_upload_bytes`` (the 4002 limit, 200 MB).

Fault switches, ``emu.faults`` (a ``Faults``; set fields per test, ``emu.reset_faults()``):

==========================  ==================================================================
``sse_form``                ``"adk"`` (ADK events) or ``"typed"`` (``{"type": ...}`` events)
``export_shape``            1, 2 or 3: which documented export-status shape is answered
``rate_limit``              the next N requests get HTTP 429 (only under ``rate_limit_path``
                            when set)
``server_error``            the next N requests get HTTP 503 (only under ``server_error_path``)
``reset_connection``        the next N requests (under ``server_error_path``) get their
                            connection closed without an answer
``textless``                the agent edits but sends no text at all
``drop_stream_after``       ``/run_sse`` breaks off (no clean end) after N events; heartbeats
                            count as events
``drop_applies_edit``       with a drop: whether the agent's edit still lands (and is charged)
``stream_event_delay``      seconds between streamed events
``heartbeats``              heartbeats before the agent's work (``: ping``, empty ``data:``,
                            and in typed form ``{"type": "heartbeat"}``), ``heartbeat_interval``
                            seconds apart
``fail_render``             renders end ``failed`` with ``"Render failed: ..."``
``render_seconds``          wall time from submit to completed, in ``render_steps`` phases
                            (pending, processing with rising progress); 0 = completed at the
                            first status read
``duplicate_render_id_once`` the next export is refused as a duplicate id (HTTP 409)
``plan_limit``              export answers HTTP 402
``render_size_bytes``       size of the fake renderer's output file
``cut_download_after``      downloads of render output break after this many bytes
``slow_download``           seconds of pause after each 64 KiB of a download (cancel tests)
``upload_delay``            seconds an upload waits before it is answered (cancel tests)
``refuse_client_id_once``   the next anonymous-token request is refused as missing its X-Client-Id
``token_expires_in``        lifetime of newly issued anonymous tokens, seconds
``omit_expires_at``         anonymous-token answers leave ``expires_at`` out
==========================  ==================================================================

Counters (``rate_limit``, ``server_error``, ``reset_connection``, ``duplicate_render_id_once``)
are consumed atomically; the other switches are read once per request (per turn, per render).
"""

from __future__ import annotations

from nemo_mcp.emulator.agent import Editor, EditResult, ScriptedEditor
from nemo_mcp.emulator.render import FakeRenderer, Render, Renderer, RenderView
from nemo_mcp.emulator.server import EmulatorServer, serve
from nemo_mcp.emulator.state import Emulator, Faults, RequestRecord, Session, TokenInfo

__all__ = [
    "EditResult",
    "Editor",
    "Emulator",
    "EmulatorServer",
    "FakeRenderer",
    "Faults",
    "Render",
    "RenderView",
    "Renderer",
    "RequestRecord",
    "ScriptedEditor",
    "Session",
    "TokenInfo",
    "serve",
]
