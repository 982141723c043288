"""``create_app``: the FastAPI application (REST API under ``/api/v1`` plus the browser app)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from tsexplain.server.concurrency import disable_allocator_tuning
from tsexplain.server.config import Settings
from tsexplain.server.errors import bug_response, install_error_handlers
from tsexplain.server.jobs import JobManager
from tsexplain.server.routes import ROUTERS
from tsexplain.server.workspace import Workspace

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).parent / "static"
# Plotly.js compiles some functions at run time, hence unsafe-eval (no inline scripts though).
_CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'")


def plotly_js_path() -> Path | None:
    """The Plotly.js bundle shipped inside the installed ``plotly`` package (no CDN)."""
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


class _BodyTooLarge(Exception):
    pass


class _ResponseWatch:
    """``send`` wrapped to note whether the answer has started (its headers are on the way)."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class UnhandledErrorMiddleware:
    """Answer an error no handler claims (a bug: 500; out of memory: 503) with the one-line
    body of :func:`~tsexplain.server.errors.bug_response`, which logs it, and stop it there.

    Starlette's handler for ``Exception`` answers and then raises the error again, and the ASGI
    server logs that second copy with its own traceback; this middleware does not raise it
    again, so each bug is logged once. It sits inside the security headers (they apply to its
    answers) and lets :class:`BodyLimitMiddleware`'s signal pass to that middleware.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watch = _ResponseWatch(send)
        try:
            await self.app(scope, receive, watch)
        except _BodyTooLarge:
            raise
        except Exception as exc:  # noqa: BLE001 - every unclaimed error is answered here
            response = bug_response(scope.get("method", ""), scope.get("path", ""), exc)
            if not watch.started:  # else the answer is under way: the log entry is all there is
                await response(scope, receive, send)


class BodyLimitMiddleware:
    """Answer 413 to request bodies larger than ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await JSONResponse({"detail": "invalid Content-Length header: give the body's "
                                    "size in bytes"}, 400)(scope, receive, send)
                return
            if too_large:
                await self._reject(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        watch = _ResponseWatch(send)
        try:
            await self.app(scope, limited_receive, watch)
        except _BodyTooLarge:
            if not watch.started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Any, receive: Any, send: Any) -> None:
        await JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"},
                           413)(scope, receive, send)


#: Host names answered without being listed: this machine's loopback names.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def host_name(header: str) -> str:
    """The host of a ``Host`` header, without port or IPv6 brackets, lower case."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class HostAllowlistMiddleware:
    """Answer 400 unless the ``Host`` header names this server: a web page elsewhere that
    rebinds its DNS name to 127.0.0.1 sends its own name and is refused (DNS rebinding)."""

    def __init__(self, app: Any, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in (*LOOPBACK_HOSTS, *allowed)}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        name = host_name(raw)
        if name not in self.allowed:
            shown = name[:64] if name.isascii() and name.isprintable() else "?"
            await JSONResponse(
                {"detail": f"host {shown!r} is not served: this explorer answers "
                 f"{', '.join(sorted(self.allowed))} (start it with --allow-host NAME to add one)"},
                400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """No sniffing, no framing, and a same-origin content policy for the pages."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer")]
                headers.append((b"content-security-policy", _CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, workspace: Workspace | None = None) -> FastAPI:
    """The explorer application.

    Parameters
    ----------
    settings : Settings, optional
        Default: :meth:`Settings.from_env` (``TSEXPLAIN_*`` variables).
    workspace : Workspace, optional
        Default: ``Workspace(settings.workspace)``; the folder must exist (the CLI creates the
        demo workspace first).
    """
    from tsexplain import __version__

    settings = settings or Settings.from_env()
    disable_allocator_tuning()
    ws = workspace or Workspace(settings.workspace, model_replicas=settings.model_replicas,
                                cache_entries=settings.cache_entries)
    jobs = JobManager(settings.job_workers, settings.max_active_jobs, settings.max_kept_jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()

    app = FastAPI(
        title="tsexplain explorer",
        version=__version__,
        description="Explore deep-learning models on time series (shapes (N, C, T)): network "
        "overview, filters (TSViz), attributions by any method, data-set aggregates, and long "
        "jobs (inverse optimisation, adversarial search, pruning, AGRA) in the background.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.workspace = ws
    app.state.jobs = jobs
    install_error_handlers(app)
    for router in ROUTERS:
        for route in router.routes:  # operationId = the function's name (the browser client uses it)
            if isinstance(route, APIRoute):
                route.operation_id = route.name
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """The icon (the pages link it; browsers also ask for this path by themselves)."""
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Any:
        path = plotly_js_path()
        if path is None:
            return JSONResponse({"detail": "plotly is not installed (pip install tsexplain[server])"}, 404)
        return FileResponse(path, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        """The API reference, drawn in the browser from openapi.json by a local script."""
        return FileResponse(STATIC_DIR / "docs.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api", include_in_schema=False)
    def api_root() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/docs")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(UnhandledErrorMiddleware)  # the first added is the innermost
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(HostAllowlistMiddleware, allowed=list(settings.allowed_hosts))
    _document_errors(app)
    return app


def _document_errors(app: FastAPI) -> None:
    """The schema states the one error body (``ErrorBody``) instead of FastAPI's default 422."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        comps = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            comps.pop(name, None)
        app.openapi_schema = schema
        return schema

    # FastAPI's documented way to customise the schema; its stub declares a method
    app.openapi = openapi  # type: ignore[method-assign]


def write_openapi(path: str | Path) -> Path:
    """Write the OpenAPI schema (for client generation) without starting a server."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings.model_validate({"workspace": Path(tmp)}))
        out = Path(path)
        out.write_text(json.dumps(app.openapi(), indent=2))
    return out
