"""Long work as jobs that outlive the tool call that started them.

Desktop hosts drop a tool call after about a minute, but an instruction may
stream for 15 and a render takes one or two. So the work runs as a job owned
by the server process; a call waits a bounded time, forwarding the job's
progress as it happens, and hands back the job id if the job is not done.
``check_job`` waits again the same way. A call that is *cancelled* by the
client cancels its job; a call that merely runs out of waiting time does not.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from nemo_mcp.errors import InvalidInput, NemoError

log = logging.getLogger(__name__)

JobKind = Literal["instruction", "export", "upload"]
# How many finished jobs are kept for check_job before the oldest are forgotten.
KEEP_FINISHED = 100


@dataclass(frozen=True)
class Update:
    """One progress notification: values strictly increase within a job."""

    progress: float
    total: float | None
    message: str | None


@dataclass
class Job:
    id: str
    kind: JobKind
    session_id: str | None
    started: float = field(default_factory=time.monotonic)
    updates: list[Update] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None
    # What is known while running: the reply so far, the render id and percentage.
    partial: dict[str, Any] = field(default_factory=dict)
    _done: anyio.Event = field(default_factory=anyio.Event)
    _changed: anyio.Event = field(default_factory=anyio.Event)
    _task: asyncio.Task[None] | None = None
    _total: float | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def last(self) -> float:
        return self.updates[-1].progress if self.updates else 0.0

    def report(self, message: str | None = None, progress: float | None = None, total: float | None = None) -> None:
        """Record progress; safe to call from the job's own code at any rate."""
        if progress is not None:
            self._total = total
            value = max(float(progress), self.last + 1e-6) if self.updates else float(progress)
        else:
            # A message without a number still needs a strictly larger value.
            value = self.last + (1.0 if self._total is None else 1e-6)
        self.updates.append(Update(value, self._total, message))
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait(self, seconds: float, since: int, send: Callable[[Update], Awaitable[None]]) -> int:
        """Forward updates from index ``since`` until done or ``seconds`` pass; returns the next index."""
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


class JobManager:
    """Starts jobs as tasks of the server process and finds them again by id."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._counter = itertools.count(1)

    def start(self, kind: JobKind, session_id: str | None, work: Callable[[Job], Awaitable[Any]]) -> Job:
        # Unguessable ids: a job id from one client is no handle for another client's work.
        job = Job(id=f"{kind[:3]}-{next(self._counter)}-{secrets.token_hex(4)}", kind=kind, session_id=session_id)
        self._jobs[job.id] = job
        job._task = asyncio.get_running_loop().create_task(self._run(job, work), name=f"nemo-job-{job.id}")
        self._forget_old()
        return job

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[Any]]) -> None:
        try:
            job.result = await work(job)
        except asyncio.CancelledError:
            job.error = NemoError("The job was cancelled; nothing more was done.")
        except NemoError as exc:
            job.error = exc
        except Exception as exc:
            log.exception("Job %s failed unexpectedly", job.id)
            job.error = NemoError(f"nemo-mcp hit an internal error ({type(exc).__name__}); please report it.")
        finally:
            job._done.set()
            job._wake()

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None:
            raise InvalidInput(
                f"Unknown job id {job_id[:80]!r}. Job ids come from send_instruction or export_video; "
                "jobs are forgotten when the server restarts."
                if isinstance(job_id, str)
                else "A job id is a string."
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

    async def aclose(self) -> None:
        tasks = [j._task for j in self._jobs.values() if j._task is not None and not j._task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
