"""Map errors to HTTP answers: user errors become 4xx with their one-line message, bugs 500.

Only :mod:`tsexplain.exceptions` errors (and the server's own request errors below) are user
errors: their text already says what was expected and what arrived, and the handler passes it on
as ``detail``. Anything else is a bug: it is logged with its traceback and answered 500 with a
message that names no file or path. Every error body has one shape, :class:`ErrorBody`.

========================  ======  ===========================================================
error                     status  meaning
========================  ======  ===========================================================
``NotFoundError``         404     no such model, data set, layer, sample or job
``BadRequestError``       400     malformed request outside the body's schema (header, length)
``PayloadTooLargeError``  413     body or upload above the server's limits
``TsExplainError``        422     the library refused the request (shape, target, parameter)
``WorkspaceError``        422     a workspace file is unreadable or a name is not allowed
request validation        422     the body, path or query does not match the schema
``TooManyJobsError``      429     the job queue is full
``ServerBusyError``       503     no model replica free within the wait bound (``Retry-After``)
out of memory             503     the computation needed more memory than the server has
anything else             500     a bug: logged with its traceback
========================  ======  ===========================================================
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("tsexplain.server")


class ErrorItem(BaseModel):
    """One problem of a request that does not match the schema."""

    loc: list[str | int] = Field(description="where: e.g. ['body', 'indices', 0]")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of every error answer (4xx and 5xx)."""

    detail: str = Field(description="what went wrong and what is expected, in one line")
    errors: list[ErrorItem] | None = Field(
        None, description="request validation (422 from the schema): one item per problem")


class NotFoundError(LookupError):
    """A model, data set, layer or job that does not exist (404)."""


class BadRequestError(ValueError):
    """A request malformed outside its body's schema, e.g. a bad header (400)."""


class PayloadTooLargeError(ValueError):
    """A body or an upload above the server's limits (413)."""


class TooManyJobsError(RuntimeError):
    """The job queue is full (429)."""


class ServerBusyError(RuntimeError):
    """No model replica (or forward-mode section) became free within the wait bound (503)."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WorkspaceError(ValueError):
    """A workspace file is unreadable or a name is not allowed (422)."""


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting ``codes`` with :class:`ErrorBody`."""
    text = {400: "Malformed request", 404: "Not found", 413: "Too large",
            422: "Invalid request (schema, shape, target or parameter)", 429: "Too many jobs",
            500: "Internal error (logged on the server)",
            503: "Busy or out of memory: retry after the Retry-After seconds"}
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorBody, "description": text[code]}
        if code == 503:
            entry["headers"] = {"Retry-After": {"description": "seconds to wait",
                                                "schema": {"type": "integer"}}}
        out[code] = entry
    return out


def _body(status: int, detail: str, headers: dict[str, str] | None = None,
          errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    content: dict[str, Any] = {"detail": detail}
    if errors is not None:
        content["errors"] = errors
    return JSONResponse(status_code=status, content=content, headers=headers)


_ABS_PATH = re.compile(r"(?<![\w.])(?:/[\w.@+-]+){2,}/?")


def without_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part (answers never show the server's
    folders)."""
    return _ABS_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if len(exc.args) == 1 else str(exc)
    return without_paths(text.splitlines()[0]) if text else type(exc).__name__


def _validation_items(exc: RequestValidationError) -> list[dict[str, Any]]:
    items = []
    for e in jsonable_encoder(exc.errors()):
        loc = [p if isinstance(p, int) else str(p) for p in e.get("loc", [])]
        msg = str(e.get("msg", ""))
        if e.get("type") == "string_pattern_mismatch" and "A-Za-z0-9_.-" in str(
                (e.get("ctx") or {}).get("pattern", "")):
            msg = ("name not allowed: use 1-64 letters, digits, '_', '.' or '-', starting with a "
                   "letter or digit")
        items.append({"loc": loc, "msg": msg, "type": str(e.get("type", ""))})
    return items


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of the user errors on ``app`` (bugs: :func:`bug_response`)."""
    from tsexplain.exceptions import TsExplainError

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return _body(404, _message(exc))

    @app.exception_handler(BadRequestError)
    async def _bad(request: Request, exc: BadRequestError) -> JSONResponse:
        return _body(400, _message(exc))

    @app.exception_handler(PayloadTooLargeError)
    async def _large(request: Request, exc: PayloadTooLargeError) -> JSONResponse:
        return _body(413, _message(exc))

    @app.exception_handler(TooManyJobsError)
    async def _too_many(request: Request, exc: TooManyJobsError) -> JSONResponse:
        return _body(429, _message(exc))

    @app.exception_handler(ServerBusyError)
    async def _busy(request: Request, exc: ServerBusyError) -> JSONResponse:
        return _body(503, _message(exc), headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(TsExplainError)
    async def _user(request: Request, exc: TsExplainError) -> JSONResponse:
        return _body(422, _message(exc))

    @app.exception_handler(WorkspaceError)
    async def _workspace(request: Request, exc: WorkspaceError) -> JSONResponse:
        return _body(422, _message(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        items = _validation_items(exc)
        detail = "; ".join(f"{'.'.join(str(p) for p in i['loc'])}: {i['msg']}" for i in items[:5])
        if len(items) > 5:
            detail += f"; and {len(items) - 5} more"
        return _body(422, detail or "invalid request", errors=items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _body(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


def bug_response(method: str, path: str, exc: Exception) -> JSONResponse:
    """The answer to an error no user-error handler claims, logged here (its one log entry).

    Out of memory is 503 (a warning, no traceback); anything else is a bug: logged with its
    traceback and answered 500. :class:`tsexplain.server.app.UnhandledErrorMiddleware` calls
    it and does not raise the error again, so the ASGI server does not log it a second time
    (Starlette's handler for ``Exception`` always re-raises after answering).
    """
    from tsexplain.exceptions import is_out_of_memory

    if is_out_of_memory(exc):
        log.warning("out of memory on %s %s", method, path)
        return _body(503, "out of memory: the request needs more memory than the server "
                     "has free; ask for fewer samples or cheaper parameters",
                     headers={"Retry-After": "30"})
    log.error("internal error on %s %s", method, path, exc_info=exc)
    return _body(500, f"internal error ({type(exc).__name__}); the server log has the traceback")
