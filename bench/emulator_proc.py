"""The emulator in its own process, with what the benchmarks need to see inside it.

    python -m bench.emulator_proc DATA_DIR TOKEN

Prints one JSON line ``{"url": ..., "pid": ...}`` once serving, then serves until its stdin
closes. ``TOKEN`` is registered as a user token (like ``NEMO_TOKEN``) with plenty of credits.

A small ASGI wrapper around ``emu.app``, served in its place:

* records ``time.time()`` just before each body chunk of a ``/run_sse`` answer is handed to
  the server, i.e. when the emulator emits the event;
* ``POST /__bench/faults`` with a JSON object sets fields of ``emu.faults``;
* ``GET /__bench/sse-log`` answers the recorded ``[[time, chunk], ...]`` and clears it;
* ``POST /__bench/draft`` with ``{"session_id": ..., "segments": N}`` gives that session the
  draft ``bench.drafts.long_draft(N)``.

A separate process keeps the emulator's work (multipart parsing, hashing, file serving) off
the benchmark client's interpreter and GIL, as a remote API would be.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench.drafts import long_draft
from nemo_mcp.testing import Emulator, EmulatorServer

CONTROL = "/__bench/"


class Recorder:
    """Wraps the emulator's ASGI app: times ``/run_sse`` chunks and serves the control routes."""

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu
        self.sent: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL):
            await self._control(path[len(CONTROL) :], scope, receive, send)
            return
        if path != "/run_sse":
            # Other answers keep uvicorn's own send (the emulator's connection tricks need it).
            await self.app(scope, receive, send)
            return

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                stamp = time.time()
                with self.lock:
                    self.sent.append((stamp, message["body"].decode("utf-8", "replace")))
            await send(message)

        await self.app(scope, receive, timed_send)

    async def _control(self, what: str, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        answer: Any
        if what == "faults" and request.method == "POST":
            changes = await request.json()
            with self.emu.lock:
                for name, value in changes.items():
                    if not hasattr(self.emu.faults, name):
                        await JSONResponse({"error": f"no fault {name}"}, 400)(scope, receive, send)
                        return
                    setattr(self.emu.faults, name, value)
            answer = {"ok": True}
        elif what == "draft" and request.method == "POST":
            # A long draft made here, in the emulator's own process, for bench/long_timeline.py.
            wanted = await request.json()
            self.emu.set_draft(wanted["session_id"], long_draft(int(wanted["segments"])))
            answer = {"ok": True}
        elif what == "sse-log":
            with self.lock:
                answer, self.sent = list(self.sent), []
        else:
            answer = {"error": "unknown"}
        await JSONResponse(answer)(scope, receive, send)


def main() -> int:
    data_dir, token = Path(sys.argv[1]), sys.argv[2]
    emu = Emulator(data_dir)
    emu.add_user_token(token, "bench_user", credits=1_000_000)
    with EmulatorServer(emu, host="127.0.0.1", app=Recorder(emu.app, emu)) as server:
        print(json.dumps({"url": server.url, "pid": os.getpid()}), flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin (or dies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
