"""One ``/run_sse`` turn: the editor works, the edit lands, the client hears about it.

Order of events: heartbeats every ``heartbeat_seconds`` while the editor works, then (when a
tool ran) a tool call and its result, then the reply as text chunks. There is no "done" event:
the stream ending ends the turn.

The turn runs in the server's background, not in the request: a client that disconnects stops
hearing the events but not the work, and the edit still lands, as the real agent keeps working
server-side. Landing is a compare-and-swap on the session's version: when another process
changed the draft while the editor worked, the editor runs again on the fresh draft (up to
``edit_attempts`` times) rather than write over that change.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nemo_mcp.apiserver.accounts import Accounts
from nemo_mcp.apiserver.editor import EditFailed, Editor, EditRequest, EditResult
from nemo_mcp.apiserver.sse import EventWriter, SseForm
from nemo_mcp.apiserver.store import Store
from nemo_mcp.draft.model import too_long

log = logging.getLogger(__name__)

# How long an edit that lost a race has the project to itself (renewed at each attempt; a process
# that dies holding it blocks the project's other edits this long at most), and how often the
# others look whether it is done.
LEASE_SECONDS = 60.0
LEASE_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class TurnOptions:
    sse_form: SseForm = "adk"
    heartbeat_seconds: float = 10.0
    edit_attempts: int = 10


class SessionLocks:
    """One lock per session, so that this process's turns on a project take turns.

    Then only another process can change a draft under a running editor, and a retry races
    that one process alone rather than every turn here too.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[anyio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def held(self, session_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(session_id, (anyio.Lock(), 0))
        self._locks[session_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[session_id]
            if users == 1:
                del self._locks[session_id]  # forget idle sessions
            else:
                self._locks[session_id] = (lock, users - 1)


class Turn:
    def __init__(
        self,
        store: Store,
        editor: Editor,
        accounts: Accounts,
        locks: SessionLocks,
        *,
        session_id: str,
        account: str,
        instruction: str,
        options: TurnOptions,
    ) -> None:
        self._store = store
        self._editor = editor
        self._accounts = accounts
        self._locks = locks
        self._session_id = session_id
        self._account = account
        self._instruction = instruction
        self._options = options
        self._writer = EventWriter(options.sse_form)
        self._events: MemoryObjectSendStream[bytes] | None = None

    def open_stream(self) -> MemoryObjectReceiveStream[bytes]:
        """The receiving end of this turn's events (few and small, so never a reason to wait)."""
        send, receive = anyio.create_memory_object_stream[bytes](max_buffer_size=math.inf)
        self._events = send
        return receive

    async def run(self) -> None:
        events = self._events
        assert events is not None, "open_stream() first"
        with events:
            try:
                async with self._locks.held(self._session_id):
                    result = await self._edit()
            except EditFailed as exc:
                log.info("session %s: the edit did not land: %s", self._session_id, exc)
                self._emit(self._writer.error(str(exc)))
                return
            except anyio.get_cancelled_exc_class():
                self._emit(self._writer.error("The editor stopped before it finished: the backend is shutting down."))
                raise
            except Exception as exc:
                log.exception("the editor failed on session %s", self._session_id)
                self._emit(self._writer.error(f"The editor failed: {exc}"))
                return
            if result.tool_name:
                self._emit(self._writer.tool_call(result.tool_name, result.tool_args))
                summary = {"status": "success", "duration_ms": result.draft.get("d", 0)}
                self._emit(self._writer.tool_result(result.tool_name, summary))
            for chunk in self._writer.text(result.reply):
                self._emit(chunk)

    def _emit(self, chunk: bytes) -> None:
        if self._events is None:
            return
        try:
            self._events.send_nowait(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._events = None  # the client left; the work goes on without an audience

    async def _edit(self) -> EditResult:
        """Run the editor until its result lands on the draft it was computed from; charge for it."""
        me = f"turn_{secrets.token_hex(8)}"
        leased = False
        try:
            attempts = 0
            while attempts < self._options.edit_attempts:
                snapshot = await anyio.to_thread.run_sync(self._store.snapshot, self._session_id)
                if snapshot is None:
                    raise EditFailed("This project no longer exists.")
                if snapshot.lease not in (None, me):
                    await anyio.sleep(LEASE_POLL_SECONDS)  # another process's edit goes first
                    continue
                attempts += 1
                session = snapshot.session
                request = EditRequest(
                    session_id=self._session_id,
                    draft=copy.deepcopy(session.draft),
                    instruction=self._instruction,
                    uploads=snapshot.uploads,
                    language=session.language,
                    history=snapshot.history,
                )
                result = await self._run_editor(request)
                if not result.reverted and (why := too_long(result.draft)) is not None:
                    raise EditFailed(f"That edit was not made: {why}. Shorten or remove that item, then try again.")
                if result.reverted or result.draft != session.draft:
                    apply = functools.partial(self._store.apply_edit, reverted=result.reverted, editor=me)
                    outcome = await anyio.to_thread.run_sync(
                        apply, self._session_id, session.version, session.draft, result.draft
                    )
                    if outcome == "gone":
                        raise EditFailed("This project was deleted while the editor worked on it.")
                    if outcome == "conflict":
                        log.info(
                            "session %s changed elsewhere during the edit; editing the new draft", self._session_id
                        )
                        leased = await anyio.to_thread.run_sync(self._store.lease, self._session_id, me, LEASE_SECONDS)
                        continue
                self._accounts.charge(self._account)
                return result
        finally:
            if leased:  # landing released it; giving up or a failure must too
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._store.release, self._session_id, me)
        raise EditFailed("The project kept changing while the editor worked on it, so nothing was changed; try again.")

    async def _run_editor(self, request: EditRequest) -> EditResult:
        failure: Exception | None = None
        async with anyio.create_task_group() as beating:
            beating.start_soon(self._heartbeats)
            try:
                # Abandoned, not awaited, when the server stops: an editor cannot be interrupted.
                result = await anyio.to_thread.run_sync(self._editor.edit, request, abandon_on_cancel=True)
            except Exception as exc:
                failure = exc
            finally:
                beating.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return result

    async def _heartbeats(self) -> None:
        n = 0
        while True:
            await anyio.sleep(self._options.heartbeat_seconds)
            self._emit(self._writer.heartbeat(n))
            n += 1


class EventStream(Response):
    """A turn's events as ``text/event-stream``; ends when the turn does, or when the client leaves."""

    def __init__(self, events: MemoryObjectReceiveStream[bytes]) -> None:
        super().__init__(media_type="text/event-stream")
        del self.headers["content-length"]  # Response set 0 for its empty body; this one streams
        self.headers["cache-control"] = "no-cache"
        self.headers["x-accel-buffering"] = "no"
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(watch_disconnect)
            try:
                with self._events:
                    async for chunk in self._events:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                pass  # the client went away mid-write (uvicorn's ClientDisconnected)
            finally:
                group.cancel_scope.cancel()
