"""Dependencies of the routes, as ``Annotated`` aliases (override them in tests).

``app.dependency_overrides[get_workspace] = lambda: my_workspace`` injects another workspace.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tsexplain.server.config import Settings
from tsexplain.server.jobs import JobManager
from tsexplain.server.workspace import Workspace


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_workspace(request: Request) -> Workspace:
    return request.app.state.workspace  # type: ignore[no-any-return]


def get_jobs(request: Request) -> JobManager:
    return request.app.state.jobs  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
