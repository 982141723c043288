"""Background jobs: long computations run in worker threads with progress, cancel and result.

A bounded number of jobs may be queued or running (:class:`~tsexplain.server.errors.TooManyJobsError`
beyond that, 429); finished jobs are kept for their results up to a bound, oldest dropped first.
Jobs work on a private copy of the model, so they never hold a replica that requests wait for.

Cancelling sets a flag the job checks between its steps (:meth:`JobContext.progress`). A step that
does not come back within :data:`CANCEL_GRACE` seconds (one long library call, e.g. ensemble
training) is interrupted: the worker thread receives ``KeyboardInterrupt`` at its next Python
instruction, the library's own interruption protocol (training stops and returns), and the job
ends as cancelled. A job that fails is logged with its traceback unless it failed on a user
error (:mod:`tsexplain.exceptions`, a missing model or data set), whose message is its ``error``.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tsexplain.server.concurrency import release_memory
from tsexplain.server.errors import NotFoundError, TooManyJobsError, WorkspaceError

ACTIVE = ("queued", "running")
#: Seconds a cancelled job may take to reach its next check before its thread is interrupted.
CANCEL_GRACE = 0.3

log = logging.getLogger("tsexplain.server")


class JobCancelled(Exception):
    """Raised inside a job when it was cancelled."""


@dataclass
class Job:
    id: str
    kind: str
    request: dict[str, Any]
    status: str = "queued"
    progress: float = 0.0
    message: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    future: Future[Any] | None = None
    thread_id: int | None = None
    done_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_dict(self, with_result: bool = True) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "status": self.status,
            "progress": float(min(max(self.progress, 0.0), 1.0)), "message": self.message,
            "created": self.created, "started": self.started, "finished": self.finished,
            "error": self.error, "request": self.request,
            "result": self.result if with_result else None,
        }


class JobContext:
    """What a running job sees: report progress, check for cancellation."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def progress(self, fraction: float, message: str = "") -> None:
        self.check_cancelled()
        self._job.progress = float(min(max(fraction, 0.0), 1.0))
        if message:
            self._job.message = message

    def check_cancelled(self) -> None:
        if self._job.cancel_event.is_set():
            raise JobCancelled()

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_event.is_set()


def _interrupt_thread(thread_id: int) -> bool:
    """Raise ``KeyboardInterrupt`` in thread ``thread_id`` at its next Python instruction."""
    n = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                                   ctypes.py_object(KeyboardInterrupt))
    if n > 1:  # never happens with a valid id; undo as the C API asks
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)
        return False
    return bool(n == 1)


def _checkpoint() -> None:
    """A Python call: a pending asynchronous exception of this thread is raised on entry."""


class JobManager:
    """Runs jobs on ``workers`` threads; at most ``max_active`` queued or running."""

    def __init__(self, workers: int = 1, max_active: int = 4, max_kept: int = 32) -> None:
        self.max_active = max_active
        self.max_kept = max_kept
        self.workers = workers
        self._executor: ThreadPoolExecutor | None = None
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, kind: str, request: dict[str, Any], fn: Callable[[JobContext], dict[str, Any]]) -> Job:
        """Queue ``fn(ctx)``; its returned dict becomes the job's result."""
        with self._lock:
            active = sum(j.status in ACTIVE for j in self._jobs.values())
            if active >= self.max_active:
                raise TooManyJobsError(f"{active} jobs are queued or running (the limit is "
                                       f"{self.max_active}); wait for one to finish or cancel one")
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, request=request)
            self._jobs[job.id] = job
            self._evict()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.workers,
                                                    thread_name_prefix="tsexplain-job")
            job.future = self._executor.submit(self._run, job, fn)
        return job

    def _evict(self) -> None:
        done = [j for j in self._jobs.values() if j.status not in ACTIVE]
        while len(self._jobs) > self.max_kept and done:
            self._jobs.pop(done.pop(0).id, None)

    def _run(self, job: Job, fn: Callable[[JobContext], dict[str, Any]]) -> None:
        from tsexplain.exceptions import TsExplainError

        try:
            if job.cancel_event.is_set():
                job.status, job.finished, job.message = "cancelled", time.time(), "cancelled before start"
                return
            with job.lock:
                job.thread_id = threading.get_ident()
                job.status, job.started, job.message = "running", time.time(), "running"
            try:
                result = fn(JobContext(job))
            except (JobCancelled, KeyboardInterrupt):
                if not job.cancel_event.is_set():
                    raise
                job.status, job.message = "cancelled", "cancelled"
            except (TsExplainError, NotFoundError, WorkspaceError) as err:  # the user's input
                job.status, job.error, job.message = "failed", str(err), "failed"
                log.info("job %s (%s) failed: %s", job.id, job.kind, err)
            except Exception as err:  # a bug: logged, and the server keeps serving
                job.status, job.message = "failed", "failed"
                job.error = f"internal error ({type(err).__name__}); the server log has the traceback"
                log.error("job %s (%s) failed", job.id, job.kind, exc_info=err)
            else:
                if job.cancel_event.is_set():
                    job.status, job.message = "cancelled", "cancelled"
                else:
                    job.status, job.result, job.progress, job.message = "done", result, 1.0, "done"
            finally:
                with job.lock:  # no interrupt is sent after this
                    job.thread_id = None
                _checkpoint()  # an interrupt sent before is delivered here, inside this try
                job.finished = time.time()
                release_memory()
        except KeyboardInterrupt:  # an interrupt that arrived after the job's own handlers
            job.status, job.message, job.finished = "cancelled", "cancelled", time.time()
        finally:
            job.done_event.set()

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} (finished jobs are kept up to {self.max_kept})")
        return job

    def list(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> Job:
        """Stop job ``job_id``: at its next step, or by interrupting its thread after a grace."""
        job = self.get(job_id)
        if job.status in ACTIVE:
            job.cancel_event.set()
            if job.future is not None and job.future.cancel():
                job.status, job.finished, job.message = "cancelled", time.time(), "cancelled before start"
                job.done_event.set()
            else:
                threading.Thread(target=self._enforce_cancel, args=(job,), daemon=True,
                                 name=f"tsexplain-cancel-{job.id}").start()
        return job

    def _enforce_cancel(self, job: Job) -> None:
        deadline = time.monotonic() + 5.0
        while not job.done_event.wait(CANCEL_GRACE) and time.monotonic() < deadline:
            with job.lock:
                if job.thread_id is not None and job.status == "running":
                    _interrupt_thread(job.thread_id)

    def active(self) -> int:
        with self._lock:
            return sum(j.status in ACTIVE for j in self._jobs.values())

    def shutdown(self) -> None:
        """Cancel every queued or running job (the app's lifespan ends); a later submit starts
        new worker threads."""
        for job in self.list():
            if job.status in ACTIVE:
                self.cancel(job.id)
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
