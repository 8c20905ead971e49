"""Serving an ASGI app with uvicorn: in a background thread (``ServerThread``) or blocking (``serve``).

uvicorn stays off stdout: ``log_config=None`` leaves the process's logging alone (stdout is the MCP
channel when the server runs inside nemo-mcp), so its lines, access log included, go wherever the
process sends the ``uvicorn`` loggers, at their level (nemo-mcp: stderr, only at DEBUG).
``access_log=False`` would instead cut every uvicorn's access log in the process for good.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

_STARTUP_TIMEOUT = 10.0
# Open event streams would otherwise keep a stopping server alive for as long as they last.
_GRACEFUL_SHUTDOWN_SECONDS = 1  # uvicorn takes whole seconds
_JOIN_SECONDS = 5.0


def bind(host: str, port: int) -> socket.socket:
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


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Uvicorn(uvicorn.Server):
    """uvicorn that says when it is ready and ends open work at once when asked to stop."""

    def __init__(self, app: ASGIApp, port: int, stopping: Callable[[], None]) -> None:
        super().__init__(
            uvicorn.Config(
                app,
                port=port,
                log_config=None,
                lifespan="on",
                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
            )
        )
        self.ready = threading.Event()
        self._stopping = stopping

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Ctrl-C: an open stream's heartbeats would otherwise hold shutdown for the grace period.
        self._stopping()
        super().handle_exit(sig, frame)


class StartStop:
    """``start()`` and ``stop()`` as a ``with`` block."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class ServerThread(StartStop):
    """uvicorn serving ``app`` on ``host`` in a daemon thread; ``url`` once started.

    ``stopping`` is called first on stop, from the stopping thread, to end long-running work
    (open event streams, renders) so that shutdown does not wait for it.
    """

    def __init__(
        self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, stopping: Callable[[], None] = lambda: None
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._stopping = stopping
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` without a trailing slash."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return url_of(self.host, self.port)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        sock = bind(self.host, self.port)
        port = sock.getsockname()[1]
        server = _Uvicorn(self.app, port, self._stopping)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"nemo-api-{port}", daemon=True)
        thread.start()
        # Wait for startup, but notice a thread that died on the way instead of waiting forever.
        waited = 0.0
        while not server.ready.wait(0.05):
            waited += 0.05
            if not thread.is_alive() or waited >= _STARTUP_TIMEOUT:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the server failed to start")
        self._server, self._thread, self.port = server, thread, port

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping()
        server.should_exit = True
        thread.join(_JOIN_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_JOIN_SECONDS)
        self._server = self._thread = None


def serve(
    app: ASGIApp, host: str, port: int, stopping: Callable[[], None] = lambda: None, name: str = "server"
) -> None:
    """Serve ``app`` in this thread until Ctrl-C."""
    with bind(host, port) as sock:
        log.info("%s listening on %s; Ctrl-C to stop", name, url_of(host, sock.getsockname()[1]))
        server = _Uvicorn(app, sock.getsockname()[1], stopping)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
