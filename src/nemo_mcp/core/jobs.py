"""Long work as jobs that outlive the tool call that started them.

Desktop hosts drop a tool call after about a minute, but an instruction may stream for 15 and a
render takes one or two. So the work runs as a job in the server's task group (owned by its
lifespan: shutting the server down cancels every job, and their cleanup runs); a call waits a
bounded time, forwarding the job's progress as it happens, and hands back the job id if the job
is not done. ``check_job`` waits again the same way. Several calls may wait on one job (a second
export of the same project joins the first): the job is cancelled only when every call waiting
on it has been cancelled; a call that merely runs out of waiting time cancels nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup

from nemo_mcp.errors import InvalidInput, NemoError
from nemo_mcp.results import JobKind

log = logging.getLogger(__name__)

# How many finished jobs are kept for check_job before the oldest are forgotten.
KEEP_FINISHED = 100
# Added to the last progress value when an update carries no number of its own.
_STEP = 1.0
_NUDGE = 1e-6


@dataclass(frozen=True)
class Update:
    """One progress notification: values strictly increase within a job, never past their total."""

    progress: float
    total: float | None
    message: str | None


@dataclass(eq=False)
class Job:
    id: str
    kind: JobKind
    session_id: str | None
    started: float = field(default_factory=time.monotonic)
    updates: list[Update] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None
    # What is known while running: the reply so far, the render id.
    partial: dict[str, Any] = field(default_factory=dict)
    _done: anyio.Event = field(default_factory=anyio.Event)
    _changed: anyio.Event = field(default_factory=anyio.Event)
    _scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    _waiting: int = 0
    _total: float | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def latest_message(self) -> str | None:
        return next((u.message for u in reversed(self.updates) if u.message), None)

    def report(self, message: str | None = None, progress: float | None = None, total: float | None = None) -> None:
        """Record progress; safe to call from the job's own code at any rate."""
        last = self.updates[-1] if self.updates else None
        if message is not None and message == self.latest_message:
            message = None  # the bar may move; the words shown already say it
        if progress is not None:
            self._total = total
            value = float(progress)
            if last is not None and value <= last.progress:
                if message is None:
                    return  # nothing new to say
                value = last.progress + _NUDGE
        else:
            if message is None:
                return
            value = (last.progress if last else 0.0) + (_STEP if self._total is None else _NUDGE)
        shown_total = self._total
        if shown_total is not None and value > shown_total:
            shown_total = None  # past the end of a bar: a message of its own, not 100.000001 %
        self.updates.append(Update(value, shown_total, message))
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def cancel(self) -> None:
        self._scope.cancel()

    async def wait(self, seconds: float, since: int, send: Callable[[Update], Awaitable[None]]) -> int:
        """Forward updates from index ``since`` until done or ``seconds`` pass; the next index.

        A cancelled call cancels the job only when no other call is still waiting on it.
        """
        self._waiting += 1
        try:
            deadline = time.monotonic() + seconds
            while True:
                changed = self._changed
                while since < len(self.updates):
                    await send(self.updates[since])
                    since += 1
                if self.done:
                    return since
                left = deadline - time.monotonic()
                if left <= 0:
                    return since
                with anyio.move_on_after(left):
                    await changed.wait()
        except anyio.get_cancelled_exc_class():
            if self._waiting == 1:
                self.cancel()
            raise
        finally:
            self._waiting -= 1


class Jobs:
    """Starts jobs in the server's task group and finds them again by id."""

    def __init__(self, task_group: TaskGroup) -> None:
        self._group = task_group
        self._jobs: dict[str, Job] = {}

    def start(self, kind: JobKind, session_id: str | None, work: Callable[[Job], Awaitable[Any]]) -> Job:
        # Unguessable ids: a job id from one client is no handle for another client's work.
        job = Job(id=f"{kind[:3]}-{secrets.token_hex(8)}", kind=kind, session_id=session_id)
        self._jobs[job.id] = job
        self._group.start_soon(self._run, job, work, name=f"nemo-job-{job.id}")
        self._forget_old()
        return job

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[Any]]) -> None:
        # A finished job has a result or an error, whatever stopped it: a call still waiting on it
        # may hear that it is done before its own cancellation arrives.
        try:
            with job._scope:
                job.result = await work(job)
            if job._scope.cancelled_caught:
                job.error = NemoError("The job was cancelled; nothing more was done.")
        except anyio.get_cancelled_exc_class():
            job.error = NemoError("nemo-mcp is shutting down: the job was stopped; nothing more was done.")
            raise
        except NemoError as exc:
            job.error = exc
        except Exception as exc:
            log.exception("Job %s failed unexpectedly", job.id)
            job.error = NemoError(f"nemo-mcp hit an internal error ({type(exc).__name__}); please report it.")
        finally:
            job._done.set()
            job._wake()

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise InvalidInput(
                f"Unknown job id {job_id[:80]!r}. Job ids come from send_instruction, export_video or "
                "upload_media; jobs are forgotten when the server restarts."
            )
        return job

    def running(self, kind: JobKind, session_id: str) -> Job | None:
        for job in self._jobs.values():
            if job.kind == kind and job.session_id == session_id and not job.done:
                return job
        return None

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.done]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]
