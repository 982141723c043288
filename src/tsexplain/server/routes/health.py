"""``/health`` and ``/methods``."""

from __future__ import annotations

from fastapi import APIRouter

from tsexplain.server import explore
from tsexplain.server import schemas as s
from tsexplain.server.deps import JobsDep, WorkspaceDep
from tsexplain.server.errors import error_responses

router = APIRouter(tags=["health"])


@router.get("/health", response_model=s.HealthResponse, responses=error_responses(400))
async def health(ws: WorkspaceDep, jobs: JobsDep) -> s.HealthResponse:
    """Liveness plus what the workspace holds (answered on the event loop: never waits for a model)."""
    from tsexplain import __version__

    return s.HealthResponse(status="ok", version=__version__, workspace=ws.root.name,
                            n_models=len(ws.model_names()), n_datasets=len(ws.dataset_names()),
                            jobs_active=jobs.active(), cache_entries=len(ws.cache))


@router.get("/methods", response_model=list[s.MethodInfo], tags=["explain"],
            responses=error_responses(400))
def list_methods() -> list[s.MethodInfo]:
    """The registered attribution methods with their parameters and defaults."""
    return explore.method_infos()
