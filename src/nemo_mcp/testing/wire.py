"""What the emulator does on the wire: break connections, and watch a turn's events go out.

Both need the server's own ``send``, so they work in the outermost ASGI layer (the fault
injector), where uvicorn's ``send`` is still at hand.
"""

from __future__ import annotations

import contextvars
import threading

import anyio
from starlette.types import Message, Receive, Scope, Send

from nemo_mcp.apiserver.sse import HEARTBEATS
from nemo_mcp.testing.faults import Faults


class ConnectionDropped(Exception):
    """Raised to break a connection when the server offers no way to close it quietly."""


async def drop_connection(send: Send, receive: Receive) -> None:
    """Close the client connection at once: no answer, or no end to the answer already begun.

    Uses the transport behind uvicorn's ``send`` (h11 and httptools both keep it there), then
    waits until uvicorn has seen the disconnect so it neither logs nor sends a 500 for us.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped
    transport.close()
    while (await receive())["type"] != "http.disconnect":
        pass


class TurnWire:
    """One ``/run_sse`` answer on its way out: counts its events and breaks it off on request.

    The scripted agent works until the server has sent ``faults.heartbeats`` heartbeats
    (:meth:`wait_heartbeats`, from the editor's thread), which makes the heartbeat count exact
    however slow the machine is.
    """

    def __init__(self, faults: Faults, send: Send, receive: Receive) -> None:
        self.faults = faults
        self._send = send
        self._receive = receive
        self._seen = 0  # events the turn produced, forwarded or not
        self._heartbeats = 0
        self._closed = False
        self._streaming = False
        self._changed = threading.Condition()

    def _count(self, body: bytes) -> None:
        with self._changed:
            self._seen += 1
            self._heartbeats += body in HEARTBEATS
            self._changed.notify_all()

    def close(self) -> None:
        """The answer is over (or its client gone): nobody waits for more heartbeats."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait_heartbeats(self, n: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._heartbeats >= n)

    def next_event_dropped(self) -> bool:
        """Whether the stream breaks before the next event reaches the client."""
        limit = self.faults.drop_stream_after
        with self._changed:
            return limit is not None and self._seen >= limit

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            # A refusal (1002, 2001) is a plain JSON answer: the stream faults leave it alone.
            self._streaming = any(
                k == b"content-type" and v.startswith(b"text/event-stream") for k, v in message["headers"]
            )
        if message["type"] != "http.response.body" or not self._streaming:
            await self._send(message)
            return
        body: bytes = message.get("body", b"")
        if body:
            dropped = self.next_event_dropped()
            self._count(body)
            if not dropped:
                if self.faults.stream_event_delay > 0 and self._seen > 1:
                    await anyio.sleep(self.faults.stream_event_delay)
                await self._send({"type": "http.response.body", "body": body, "more_body": True})
        if not message.get("more_body", False):
            if self.faults.drop_stream_after is not None:
                # "Never a clean end", also for turns shorter than the limit.
                await drop_connection(self._send, self._receive)
            else:
                await self._send({"type": "http.response.body", "body": b"", "more_body": False})


CURRENT_TURN: contextvars.ContextVar[TurnWire | None] = contextvars.ContextVar("nemo_emulator_turn", default=None)


def scope_headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
