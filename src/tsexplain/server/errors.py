"""Map errors to HTTP answers: our ValueError/TypeError subclasses become 422 with their message.

A malformed request never gets a 500: the library validates its inputs and raises
:class:`~tsexplain.exceptions.ParameterError`, ``ShapeError``, ``TargetError``, ... whose text
already says what was expected and what arrived; the handler passes that text on as ``detail``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger("tsexplain.server")


class NotFoundError(LookupError):
    """A model, data set, layer or job that does not exist (404)."""


class TooManyJobsError(RuntimeError):
    """The job queue is full (429)."""


class WorkspaceError(ValueError):
    """A workspace file is unreadable or a name is not allowed (422)."""


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc.args[0] if exc.args else exc)})

    @app.exception_handler(TooManyJobsError)
    async def _too_many(request: Request, exc: TooManyJobsError) -> JSONResponse:
        return JSONResponse(status_code=429, content={"detail": str(exc)})

    @app.exception_handler(ValueError)
    async def _value(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(TypeError)
    async def _type(request: Request, exc: TypeError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(MemoryError)
    async def _memory(request: Request, exc: MemoryError) -> JSONResponse:
        return JSONResponse(status_code=413, content={"detail": "the request needs more memory than "
                                                      "the server has; ask for fewer samples"})
