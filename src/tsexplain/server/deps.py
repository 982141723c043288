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
    settings: Settings = request.app.state.settings  # set by create_app
    return settings


def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace  # set by create_app
    return workspace


def get_jobs(request: Request) -> JobManager:
    jobs: JobManager = request.app.state.jobs  # set by create_app
    return jobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
