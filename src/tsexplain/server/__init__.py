"""The explorer: a FastAPI server over the library, and the browser app it serves.

``create_app(settings)`` builds the application; ``tsexplain serve`` runs it with uvicorn. The REST
API lives under ``/api/v1`` (OpenAPI schema at ``/api/v1/openapi.json``), the browser app under
``/``. FastAPI is an optional dependency (``pip install tsexplain[server]``): importing
``tsexplain`` never imports this package.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from tsexplain.server.app import create_app

        return create_app
    if name == "Settings":
        from tsexplain.server.config import Settings

        return Settings
    raise AttributeError(f"module 'tsexplain.server' has no attribute {name!r}")
