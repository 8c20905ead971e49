"""Serving the emulator: in a background thread for tests (EmulatorServer) or blocking (serve)."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType, TracebackType

import uvicorn

from nemo_mcp.emulator.state import Emulator

log = logging.getLogger(__name__)

_STARTUP_TIMEOUT = 10.0
# Open event streams would otherwise keep a stopping server alive for as long as they last.
_GRACEFUL_SHUTDOWN_SECONDS = 1  # uvicorn takes whole seconds
_JOIN_SECONDS = 5.0


def _bind(host: str, port: int) -> socket.socket:
    """Bind ourselves, so the port is known before uvicorn starts and port 0 can be used."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only disables Nagle on accepted sockets whose proto says TCP,
    # and without that every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _config(emulator: Emulator, host: str, port: int) -> uvicorn.Config:
    # log_config=None: leave the process's logging alone, and never let the access log reach
    # stdout, which is the MCP stdio channel when the emulator runs inside the MCP server.
    return uvicorn.Config(
        emulator.app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
    )


class _Server(uvicorn.Server):
    """uvicorn that says when it is ready and ends open agent streams when asked to stop."""

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        super().__init__(_config(emulator, host, port))
        self.emulator = emulator
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Ctrl-C: an open stream's heartbeats would otherwise hold shutdown for the grace period.
        self.emulator.end_open_streams()
        super().handle_exit(sig, frame)


class EmulatorServer:
    """uvicorn serving ``emulator.app`` on ``host`` in a daemon thread; ``url`` once started."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` without a trailing slash."""
        if self._url is None:
            raise RuntimeError("the emulator server is not running")
        return self._url

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        sock = _bind(self.host, self.port)
        port = sock.getsockname()[1]
        server = _Server(self.emulator, self.host, port)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"nemo-emulator-{port}", daemon=True
        )
        thread.start()
        # Wait for startup, but notice a thread that died on the way instead of waiting forever.
        waited = 0.0
        while not server.ready.wait(0.05):
            waited += 0.05
            if not thread.is_alive() or waited >= _STARTUP_TIMEOUT:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the emulator server failed to start")
        self._server, self._thread, self.port = server, thread, port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"http://{host}:{port}"

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.emulator.end_open_streams()
        server.should_exit = True
        thread.join(_JOIN_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_JOIN_SECONDS)
        self._server = self._thread = None
        self._url = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(port: int, data_dir: Path | None, host: str = "127.0.0.1") -> None:
    """Serve an emulator until Ctrl-C (``nemo-mcp emulator``); a temporary data dir when none given."""
    if not logging.getLogger().handlers:
        # Run as a command: say where we listen, on stderr.
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nemo-emulator-")))
        emulator = Emulator(data_dir)
        sock = stack.enter_context(_bind(host, port))
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        log.info(
            "NemoVideo emulator listening on http://%s:%d (data in %s); Ctrl-C to stop",
            shown,
            bound,
            data_dir,
        )
        server = _Server(emulator, host, bound)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
