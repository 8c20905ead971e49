"""The switches a test flips to make the emulator misbehave like the real service might.

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
                            count as events. The break reaches the client once the turn has
                            ended server-side.
``drop_applies_edit``       with a drop before the tool call: whether the agent's edit still
                            lands (and is charged)
``stream_event_delay``      seconds between streamed events
``heartbeats``              the scripted agent works until the server has sent this many
                            heartbeats (``: ping``, empty ``data:``, in typed form
                            ``{"type": "heartbeat"}``), ``heartbeat_interval`` seconds apart
``fail_render``             renders end ``failed`` with ``"Render failed: ..."``
``render_seconds``          how long the fake renderer works, in ``render_steps`` phases: the
                            first reports nothing (``pending``), the others rising progress;
                            0 = the render is done by the first status read
``duplicate_render_id_once`` the next export is refused as a duplicate id (HTTP 409)
``plan_limit``              export answers HTTP 402
``render_size_bytes``       size of the fake renderer's output file
``cut_download_after``      downloads of render output break after this many bytes
``slow_download``           seconds of pause after each 64 KiB of a download (cancel tests)
``upload_delay``            seconds an upload waits before it is answered (cancel tests)
``refuse_client_id_once``   the next anonymous-token request is refused as missing its X-Client-Id
``token_expires_in``        lifetime of newly issued anonymous tokens, seconds
``omit_expires_at``         anonymous-token answers leave ``expires_at`` out
``nested_state``            state answers carry a draft of this many nested arrays (``[[[…]]]``)
``render_error``            with ``fail_render``: the failed render's error text
==========================  ==================================================================

Counters (``rate_limit``, ``server_error``, ``reset_connection``, ``duplicate_render_id_once``,
``refuse_client_id_once``) are consumed atomically; the other switches are read once per request
(per turn, per render).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Literal

TransportFault = Literal["reset", "server_error", "rate_limit"]


@dataclass
class Faults:
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
    nested_state: int = 0
    render_error: str | None = None


class FaultSwitches:
    """The emulator's ``Faults`` with the lock that makes consuming a counter atomic."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.lock = threading.RLock()

    def reset(self) -> None:
        """Back to defaults, in place, so references to the ``Faults`` stay live."""
        with self.lock:
            for f in dataclasses.fields(Faults):
                setattr(self.faults, f.name, getattr(Faults(), f.name))

    def snapshot(self) -> Faults:
        with self.lock:
            return dataclasses.replace(self.faults)

    def take_transport_fault(self, path: str) -> TransportFault | None:
        """Consume one connection-reset / 503 / 429 fault matching ``path``."""
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

    def take(self, name: Literal["refuse_client_id_once", "duplicate_render_id_once"]) -> bool:
        """Consume a one-shot switch: whether it was on."""
        with self.lock:
            on = bool(getattr(self.faults, name))
            setattr(self.faults, name, False)
            return on
