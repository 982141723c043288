"""Background jobs: inverse optimisation, adversarial search, pruning curve, AGRA, benchmark."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from tsexplain.server import explore, tasks
from tsexplain.server import schemas as s
from tsexplain.server.deps import JobsDep, WorkspaceDep

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobId = Annotated[str, Path(max_length=64)]


@router.post("", response_model=s.JobStatus, status_code=202)
def submit_job(ws: WorkspaceDep, jobs: JobsDep, body: Annotated[s.JobRequest, Body()]) -> dict[str, Any]:
    """Start a job; poll ``GET /jobs/{id}`` for progress and result, ``DELETE`` to cancel."""
    explore.model_summary(ws, body.model)  # unknown model: 404 now, not a failed job later
    dataset = getattr(body, "dataset", None)
    if dataset is not None:
        explore.check_compatible(explore.model_summary(ws, body.model), ws.dataset(dataset))
    runner = tasks.RUNNERS[body.kind]
    job = jobs.submit(body.kind, body.model_dump(), lambda ctx: runner(ctx, ws, body))
    return job.as_dict()


@router.get("", response_model=list[s.JobStatus])
def list_jobs(jobs: JobsDep) -> list[dict[str, Any]]:
    """All kept jobs, without their results."""
    return [j.as_dict(with_result=False) for j in jobs.list()]


@router.get("/{job_id}", response_model=s.JobStatus)
def get_job(jobs: JobsDep, job_id: JobId) -> dict[str, Any]:
    return jobs.get(job_id).as_dict()


@router.delete("/{job_id}", response_model=s.JobStatus)
def cancel_job(jobs: JobsDep, job_id: JobId) -> dict[str, Any]:
    """Cancel a queued or running job (it stops at its next step)."""
    return jobs.cancel(job_id).as_dict()
