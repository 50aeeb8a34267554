"""The explorer's settings: where it listens and the bounds every request must stay within."""

from __future__ import annotations

from dataclasses import dataclass, field

from losslab.errors import LosslabError


@dataclass(frozen=True)
class Bounds:
    """The most a single request may ask for; past one, the API answers 4xx naming the bound.

    Attributes:
        formula_length: characters in a typed formula.
        grid_points: points per axis of a surface or curve (401 → 401×401).
        steps: optimizer steps per run.
        optimizers: optimizers in one race.
        data_points: pasted or generated data points.
        body_bytes: bytes in a request body.
        wall_time_s: seconds a request may compute before it is answered with an error.
        network_points: points per axis of the network plane (a background job).
        frames: frames in a GIF of a race (a longer race shows evenly spaced steps).
    """

    formula_length: int = 1000
    grid_points: int = 401
    steps: int = 10_000
    optimizers: int = 10
    data_points: int = 1000
    body_bytes: int = 128 * 1024
    wall_time_s: float = 20.0
    network_points: int = 61
    frames: int = 200

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise LosslabError(f"bound {name} = {value!r}; accepted: a number > 0")


@dataclass(frozen=True)
class ServerConfig:
    """What ``losslab serve`` builds from its options and hands to :func:`losslab.web.create_app`.

    Attributes:
        host: the interface to bind (127.0.0.1: this machine only).
        port: the TCP port.
        bounds: the request bounds.
        workers: worker processes for the heavy work (races, GIFs, analyses, suggestions, fits).
        light_workers: worker processes for the light work (surfaces, the objective's description,
            the curvature under the mouse), so that it never queues behind heavy work.
        isolate: run request work in those processes, which are killed past the bound or when the
            client leaves (False: on one thread of this process, as tests that patch the service
            need; a thread cannot be stopped). One thread, not more: torch's forward-mode AD
            levels (``torch.func.hessian``) are process-global, and two threads computing Hessians
            at once fail with "Trying to access a forward AD level with an invalid index".
        torch_threads: intra-op threads for torch in each worker (1 suits many small concurrent
            requests; None leaves torch's setting alone).
        jobs: background jobs (network landscapes) kept at once.
        lessons: folders of lesson files the Lessons tab offers beside the built-in ones
            (``losslab serve --lessons DIR``; see :mod:`losslab.course.lessons`).
        warm_up: at start-up, run a small surface and a short race of every optimizer
            (:func:`losslab.web.service.warm_up`), so the first visitor's request does not pay
            what torch and SymPy load on first use (the first ``torch.optim`` optimizer imports
            ``torch._dynamo``: a first race took 0.99 s instead of 0.06 s). With ``isolate``, the
            workers' fork server always warms up once (every worker is forked from it warm).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    bounds: Bounds = field(default_factory=Bounds)
    workers: int = 2
    light_workers: int = 1
    isolate: bool = True
    torch_threads: int | None = 1
    jobs: int = 8
    warm_up: bool = True
    lessons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise LosslabError(f"port {self.port} is not in 0..65535")
        if min(self.workers, self.light_workers, self.jobs) < 1:
            message = f"workers = {self.workers}, light_workers = {self.light_workers} and jobs = {self.jobs}"
            raise LosslabError(f"{message}; each must be ≥ 1")
