"""Routers of the REST API, all mounted under ``/api/v1``."""

from tsexplain.server.routes import datasets, explain, health, jobs, models

ROUTERS = (health.router, models.router, datasets.router, explain.router, jobs.router)

__all__ = ["ROUTERS"]
