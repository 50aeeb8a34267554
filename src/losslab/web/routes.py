"""The JSON API under ``/api``: each handler checks bounds, offloads the work, and answers JSON (or a GIF).

CPU-heavy work never runs on the event loop: it runs in the app's worker processes
(:mod:`losslab.web.workers`, light requests in a lane of their own) under the wall-time bound. Past
it the request is answered 422 naming ``wall_time_s`` and its process is killed; a client that
leaves gets its work killed too. Before the app's start-up has run (a TestClient used without
``with``) or with ``ServerConfig(isolate=False)``, work runs on a thread pool instead, where only a
race and a GIF can stop early (they ask between optimizers and frames).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from losslab.serialize import json_bytes
from losslab.web import schemas, service
from losslab.web.config import ServerConfig
from losslab.web.service import BoundError
from losslab.web.workers import STOPPABLE, ClientGone

router = APIRouter(prefix="/api", responses={code: {"model": schemas.ErrorResponse} for code in (400, 413, 422)})
T = TypeVar("T")
DISCONNECT_POLL_S = 0.05


class Clock:
    """The wall-time clock of one request: it starts when a worker picks the work up, not in the queue.

    It also learns when the client has gone (:func:`offload` polls for the disconnect), so
    work that asks :meth:`should_stop` between its pieces ends early for a page that moved on.
    """

    def __init__(self, limit: float) -> None:
        self.limit, self.started, self.gone = limit, threading.Event(), threading.Event()
        self.start_time = math.inf

    def start(self) -> None:
        self.start_time = time.monotonic()
        self.started.set()

    def passed(self) -> bool:
        return time.monotonic() - self.start_time > self.limit

    def should_stop(self) -> bool:
        """Out of time, or nobody is waiting for the answer any more."""
        return self.gone.is_set() or self.passed()


async def offload(request: Request, work: Callable[..., T], *args: Any, clock: Clock | None = None) -> T:
    """Run ``work(*args)`` on the request pool; BoundError once it has computed past the wall-time bound.

    Time waiting in the queue (a classroom of 50 on one worker) does not count against the bound.
    While it waits, it polls the connection every ``DISCONNECT_POLL_S``: a request whose client
    has gone is not started at all, and ``clock.gone`` tells running work to stop.
    """
    config: ServerConfig = request.app.state.config
    clock = clock or Clock(config.bounds.wall_time_s)
    loop = asyncio.get_running_loop()

    def timed() -> T:
        if clock.gone.is_set():
            raise ClientGone("the client went away before the work started")
        clock.start()
        return work(*args)

    future = loop.run_in_executor(request.app.state.executor, timed)
    while True:
        timeout = DISCONNECT_POLL_S
        if clock.started.is_set():  # queued: no time limit; computing: at most until the bound
            timeout = min(timeout, max(clock.limit - (time.monotonic() - clock.start_time), 0.0))
        await asyncio.wait({future}, timeout=timeout)
        if future.done():
            if future.exception() is not None and clock.passed():  # the work stopped itself at the bound
                raise _past_bound(clock)
            return future.result()
        if clock.started.is_set() and clock.passed():
            _abandon(future, clock)
            raise _past_bound(clock)
        if await request.is_disconnected():
            _abandon(future, clock)
            raise ClientGone("the client closed the connection; the work was stopped")


def _past_bound(clock: Clock) -> BoundError:
    message = f"the request took longer than the bound wall_time_s = {clock.limit:g} s"
    return BoundError("wall_time_s", clock.limit, message)


def _abandon(future: asyncio.Future[Any], clock: Clock) -> None:
    """Nobody will read the answer: tell the work to stop at its next check, and drop its outcome."""
    clock.gone.set()
    future.add_done_callback(lambda done: done.cancelled() or done.exception())


def _answer(payload: Any, status: int = 200) -> Response:
    return _json(json_bytes(payload), status)


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


async def answered(request: Request, name: str, *args: Any) -> Response:
    """:func:`computed`, answered as JSON."""
    return _json(await computed(request, name, *args))


async def computed(request: Request, name: str, *args: Any) -> bytes:
    """``service.<name>(*args)`` rendered (JSON, or a GIF's bytes) off the event loop, under the wall-time bound.

    In the app's worker processes (:class:`losslab.web.workers.WorkerPool`: killed past the bound or when
    the client leaves, light work in a lane of its own) once the app has started; else on the request
    thread pool (:func:`offload`), where a race or GIF stops itself at the bound and other work cannot.
    Rendering happens on the worker too: encoding a 201×201 surface walks every list in Python (~4 ms),
    which on the event loop would hold up every other client's request.
    """
    bounds = request.app.state.config.bounds
    pool = getattr(request.app.state, "pool", None)
    if pool is not None:
        return bytes(await pool.run(name, args, bounds.wall_time_s, request.is_disconnected))
    clock = Clock(bounds.wall_time_s)
    stop = (clock.should_stop,) if name in STOPPABLE else ()
    return await offload(request, _rendered, getattr(service, name), *args, *stop, clock=clock)


def _rendered(work: Callable[..., Any], *args: Any) -> bytes:
    result = work(*args)
    return result if isinstance(result, bytes) else json_bytes(result)


@router.get("/gallery", response_model=list[schemas.GalleryItem])
async def gallery() -> Response:
    """The named surfaces, the seeds' examples first."""
    return _answer(service.gallery())


@router.get("/optimizers", response_model=list[schemas.OptimizerInfo])
async def optimizers() -> Response:
    """Every optimizer with its hyper-parameter controls (lr on a log scale)."""
    return _answer(service.optimizers())


@router.get("/catalog", response_model=schemas.Catalog)
async def catalog(request: Request) -> Response:
    """Data models, synthetic data sets, and the server's bounds."""
    return _answer(service.catalog(request.app.state.config.bounds))


@router.post("/objective", response_model=schemas.ObjectiveInfo)
async def objective(body: schemas.ObjectiveRequest, request: Request) -> Response:
    """Parse an objective: its parameters, view box and MathML (422 with the parser's message and column)."""
    return await answered(request, "describe", body.objective, request.app.state.config.bounds)


@router.post("/analyze", response_model=schemas.AnalysisResponse)
async def analyze(body: schemas.ObjectiveRequest, request: Request) -> Response:
    """Gradient, Hessian, stationary points by kind, convexity, condition number, 2/λmax."""
    return await answered(request, "analysis", body.objective, request.app.state.config.bounds)


@router.post("/suggest", response_model=schemas.SuggestionResponse)
async def suggest(body: schemas.ObjectiveRequest, request: Request) -> Response:
    """A start and learning rates that suit the loss: off its stationary points and kinks, lr below 2/λmax."""
    return await answered(request, "suggestion", body.objective, request.app.state.config.bounds)


@router.post("/surface", response_model=schemas.GridOut)
async def surface(body: schemas.SurfaceRequest, request: Request) -> Response:
    """L on a grid: a curve for one parameter, a surface (rows = second parameter) for two."""
    return await answered(request, "surface", body, request.app.state.config.bounds)


@router.post("/race", response_model=schemas.RaceResponse)
async def race(body: schemas.RaceRequest, request: Request) -> Response:
    """Every optimizer from the same start: θ, L, ∇L, |∇L| and lr per step, and a diagnosis."""
    return await answered(request, "run_race", body, request.app.state.config.bounds)


@router.post(
    "/animation",
    response_class=Response,
    responses={200: {"content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def animation(body: schemas.AnimationRequest, request: Request) -> Response:
    """The race as a GIF (``losslab.plot.animate``): at most ``frames`` frames, evenly spaced steps."""
    gif = await computed(request, "animation", body, request.app.state.config.bounds)
    disposition = 'attachment; filename="losslab-race.gif"'
    return Response(gif, media_type="image/gif", headers={"Content-Disposition": disposition})


@router.post("/fit", response_model=schemas.FitResponse)
async def fit(body: schemas.FitRequest, request: Request) -> Response:
    """A data model's prediction f(θ_k; x) at each θ_k of a run, on a grid over the data's x range."""
    return await answered(request, "fits", body, request.app.state.config.bounds)


@router.post("/hessian", response_model=schemas.HessianResponse)
async def hessian(body: schemas.HessianRequest, request: Request) -> Response:
    """The Hessian at a point, its eigenvalues and kind, and the second-order Taylor model nearby."""
    return await answered(request, "hessian", body, request.app.state.config.bounds)


@router.post("/levels")
async def levels(body: schemas.LevelsRequest, request: Request) -> Response:
    """Nested level surfaces of a 3-parameter loss with ∇L arrows, as a Plotly figure ``{"data", "layout"}``."""
    return await answered(request, "levels", body, request.app.state.config.bounds)


@router.post("/boundary", response_model=schemas.BoundaryResponse)
async def boundary(body: schemas.BoundaryRequest, request: Request) -> Response:
    """A classifier's P(y = 1) over its two inputs at each θ_k of a run: its decision boundary moving."""
    return await answered(request, "boundary", body, request.app.state.config.bounds)


@router.post("/path", response_model=schemas.PathResponse)
async def path(body: schemas.PathRequest, request: Request) -> Response:
    """The minimum-energy path between two minima (a nudged elastic band whose top climbs to the saddle), its
    barrier and its saddle."""
    return await answered(request, "energy_path", body, request.app.state.config.bounds)


@router.post(
    "/landscape/jobs",
    response_model=schemas.JobResponse,
    status_code=202,
    responses={429: {"model": schemas.ErrorResponse}},
)
async def start_landscape(body: schemas.LandscapeJobRequest, request: Request) -> Response:
    """Start (or reuse) the bowl-vs-mountains computation; poll the job for progress."""
    bounds = request.app.state.config.bounds
    service.check("network_points", body.points, bounds.network_points, "points per axis of the network plane")
    if body.points < 2:
        raise BoundError("network_points", bounds.network_points, f"points = {body.points}: at least 2 are needed")
    job = request.app.state.jobs.submit(body.points, body.span, body.seed)
    return _answer(job.to_dict(), 202)


@router.get(
    "/landscape/jobs/{job_id}", response_model=schemas.JobResponse, responses={404: {"model": schemas.ErrorResponse}}
)
async def landscape_job(job_id: str, request: Request) -> Response:
    """A landscape job: status, progress in [0, 1], a message, and the two grids once done."""
    try:
        job = request.app.state.jobs.get(job_id)
    except LookupError:
        return _answer({"error": f"no landscape job {job_id!r} (jobs are kept while the server runs)"}, 404)
    return _answer(job.to_dict())
