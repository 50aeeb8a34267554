"""The FastAPI application: the JSON API, the page, and Plotly.js from the installed plotly package.

Everything the page needs is served from here — no CDN, no network. Errors are JSON:
``{"error": ..., "bound": ..., "limit": ..., "column": ...}`` with 422 for bad input and
past-a-bound requests, 413 for a body over ``body_bytes``, 404 for unknown paths.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from losslab import __version__
from losslab.errors import LosslabError
from losslab.web.assets import VENDOR_CACHE, asset, page_file
from losslab.web.config import ServerConfig
from losslab.web.jobs import JobStore
from losslab.web.lessons import lessons_router
from losslab.web.routes import router
from losslab.web.service import BoundError, warm_up
from losslab.web.workers import WorkerPool

STATIC = Path(str(resources.files("losslab.web") / "static"))


def plotly_js() -> Path:
    """The plotly.min.js that ships inside the installed ``plotly`` Python package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise LosslabError(f"plotly.min.js is missing from the plotly package at {path}; reinstall plotly")
    return path


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The explorer app for ``config`` (defaults: 127.0.0.1:8000, the default bounds).

    >>> paths = create_app().openapi()["paths"]
    >>> sorted(paths)[:4]
    ['/api/analyze', '/api/animation', '/api/boundary', '/api/catalog']
    """
    config = config or ServerConfig()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.torch_threads is not None:
            torch.set_num_threads(config.torch_threads)
        app.state.executor = ThreadPoolExecutor(1, "losslab-request")  # fresh for every start-up
        app.state.jobs.reopen()
        if config.isolate:
            app.state.pool = WorkerPool(config.light_workers, config.workers, config.torch_threads)
            app.state.pool.start()
        if config.warm_up and not config.isolate:  # the workers' fork server warms itself up
            warm_up()
        # The imports (torch, SymPy, FastAPI) leave millions of long-lived objects; frozen, a full
        # collection no longer walks them (one took 190 ms in the middle of a race's answer).
        gc.collect()
        gc.freeze()
        yield
        app.state.executor.shutdown(wait=False, cancel_futures=True)
        app.state.jobs.close()
        if app.state.pool is not None:
            app.state.pool.close()
            app.state.pool = None

    app = FastAPI(
        title="losslab explorer",
        version=__version__,
        description="Loss landscapes and racing optimizers. Non-finite numbers are the strings"
        ' "Infinity", "-Infinity", "NaN".',
        lifespan=lifespan,
        docs_url=None,  # FastAPI's docs pages load Swagger/ReDoc from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )
    app.state.config = config
    app.state.executor = ThreadPoolExecutor(1, "losslab-request")
    app.state.pool = None  # the worker processes, from start-up on (isolate=True)
    app.state.jobs = JobStore(config.jobs)
    app.include_router(router)
    app.include_router(lessons_router)
    _add_error_handlers(app)
    _add_pages(app)
    app.add_middleware(BodyLimit, limit=config.bounds.body_bytes)
    return app


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **{k: v for k, v in extra.items() if v is not None}}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LosslabError)
    async def bad_input(request: Request, error: LosslabError) -> JSONResponse:
        if isinstance(error, BoundError):
            return _error(error.status, str(error), bound=error.bound, limit=error.limit)
        return _error(422, str(error), column=error.column)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in error.errors()]
        return _error(422, "; ".join(parts[:5]) or "invalid request")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        response = _error(error.status_code, str(error.detail))
        response.headers.update(error.headers or {})  # e.g. Allow on 405
        return response


def _add_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> Response:
        return asset(STATIC / "index.html").response(request)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    async def plotly(request: Request) -> Response:
        return asset(plotly_js(), VENDOR_CACHE).response(request)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str, request: Request) -> Response:
        path = page_file(STATIC, name)
        if path is None:
            raise HTTPException(404, f"no page file {name!r}")
        return asset(path).response(request)


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413, counting what arrives (chunked bodies too)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._refuse(scope, receive, send, declared.decode("latin-1"))
            return
        received, refused = 0, False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit and not refused:
                refused = True
                await self._refuse(scope, receive, send, f"more than {self.limit}")
                return {"type": "http.disconnect"}  # the app stops reading; its answer is dropped
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        message = f"request body is {size} bytes; the bound body_bytes allows at most {self.limit}"
        await _error(413, message, bound="body_bytes", limit=self.limit)(scope, receive, send)
