"""Background jobs: inverse optimisation, adversarial search, pruning curve, faithfulness table,
AGRA, benchmark."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from tsexplain.server import schemas as s
from tsexplain.server import tasks
from tsexplain.server.deps import JobsDep, SettingsDep, WorkspaceDep
from tsexplain.server.errors import error_responses

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=error_responses(400, 404, 422))

JobId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@router.post("", response_model=s.JobStatus, status_code=202,
             responses=error_responses(413, 429, 503))
def submit_job(ws: WorkspaceDep, settings: SettingsDep, jobs: JobsDep,
               body: Annotated[s.JobRequest, Body()]) -> dict[str, Any]:
    """Start a job; poll ``GET /jobs/{id}`` for progress and result, ``DELETE`` to cancel.

    The request is checked completely first (model, data set, index, layer, target against the
    model's task): a bad job is answered 404/422 and never started."""
    tasks.validate_job(ws, settings, body)
    runner = tasks.RUNNERS[body.kind]
    job = jobs.submit(body.kind, body.model_dump(), lambda ctx: runner(ctx, ws, body))
    return job.as_dict()


@router.get("", response_model=list[s.JobStatus])
async def list_jobs(jobs: JobsDep) -> list[dict[str, Any]]:
    """All kept jobs, without their results."""
    return [j.as_dict(with_result=False) for j in jobs.list()]


@router.get("/{job_id}", response_model=s.JobStatus)
async def get_job(jobs: JobsDep, job_id: JobId) -> dict[str, Any]:
    return jobs.get(job_id).as_dict()


@router.delete("/{job_id}", response_model=s.JobStatus)
async def cancel_job(jobs: JobsDep, job_id: JobId) -> dict[str, Any]:
    """Cancel a queued or running job: it stops within a second."""
    return jobs.cancel(job_id).as_dict()
