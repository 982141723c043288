"""Background jobs: long computations run in worker threads with progress, cancel and result.

A bounded number of jobs may be queued or running (:class:`~tsexplain.server.errors.TooManyJobsError`
beyond that, 429); finished jobs are kept for their results up to a bound, oldest dropped first.
Jobs work on a private copy of the model, so they never hold a lock that requests wait for.
Cancelling sets a flag the job checks between its steps (it stops at the next check).
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tsexplain.server.errors import NotFoundError, TooManyJobsError

ACTIVE = ("queued", "running")


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


class JobManager:
    """Runs jobs on ``workers`` threads; at most ``max_active`` queued or running."""

    def __init__(self, workers: int = 1, max_active: int = 4, max_kept: int = 32) -> None:
        self.max_active = max_active
        self.max_kept = max_kept
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tsexplain-job")
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
            job.future = self._executor.submit(self._run, job, fn)
        return job

    def _evict(self) -> None:
        done = [j for j in self._jobs.values() if j.status not in ACTIVE]
        while len(self._jobs) > self.max_kept and done:
            self._jobs.pop(done.pop(0).id, None)

    def _run(self, job: Job, fn: Callable[[JobContext], dict[str, Any]]) -> None:
        if job.cancel_event.is_set():
            job.status, job.finished, job.message = "cancelled", time.time(), "cancelled before start"
            return
        job.status, job.started, job.message = "running", time.time(), "running"
        try:
            result = fn(JobContext(job))
        except JobCancelled:
            job.status, job.message = "cancelled", "cancelled"
        except (ValueError, TypeError, LookupError) as err:  # bad parameters: the user's message
            job.status, job.error, job.message = "failed", str(err), "failed"
        except Exception as err:  # noqa: BLE001 - a job must never take the server down
            job.status, job.message = "failed", "failed"
            job.error = f"{type(err).__name__}: {err}"
            traceback.print_exc()
        else:
            if job.cancel_event.is_set():
                job.status, job.message = "cancelled", "cancelled"
            else:
                job.status, job.result, job.progress, job.message = "done", result, 1.0, "done"
        finally:
            job.finished = time.time()

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
        job = self.get(job_id)
        if job.status in ACTIVE:
            job.cancel_event.set()
            if job.future is not None and job.future.cancel():
                job.status, job.finished, job.message = "cancelled", time.time(), "cancelled before start"
        return job

    def active(self) -> int:
        with self._lock:
            return sum(j.status in ACTIVE for j in self._jobs.values())

    def shutdown(self) -> None:
        for job in self.list():
            job.cancel_event.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
