"""Background jobs with progress: the "bowl vs mountains" landscapes take seconds, not milliseconds.

A job runs on its own single-thread executor (so it never starves the request workers);
the page polls ``GET /api/landscape/jobs/{id}`` for ``progress`` and ``message`` until the
status is ``done`` or ``failed``. A finished job with the same parameters is reused.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from losslab.course.bowl_and_mountains import bowl_and_mountains, pair_description
from losslab.errors import LosslabError
from losslab.objectives.grid import Grid
from losslab.serialize import jsonable
from losslab.web.service import BoundError, grid_json
from losslab.web.shape import basins_json


@dataclass
class Job:
    """One landscape computation and how far it has got."""

    id: str
    key: tuple[Any, ...]
    status: str = "queued"
    progress: float = 0.0
    message: str = "waiting for a free worker"
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "message": self.message,
            "result": self.result,
        }


@dataclass
class JobStore:
    """At most ``capacity`` jobs kept; the oldest finished one makes room for a new one."""

    capacity: int
    work: Callable[..., tuple[Grid, Grid]] | None = None  # default: bowl_and_mountains
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "losslab-job"))
    jobs: dict[str, Job] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def submit(self, points: int, span: float, seed: int) -> Job:
        key = (points, span, seed)
        with self.lock:
            for job in self.jobs.values():
                if job.key == key and job.status != "failed":
                    return job
            self._make_room()
            job = Job(uuid.uuid4().hex, key)
            self.jobs[job.id] = job
        self.executor.submit(self._run, job)
        return job

    def _make_room(self) -> None:
        while len(self.jobs) >= self.capacity:
            finished = [j for j in self.jobs.values() if j.status in ("done", "failed")]
            if not finished:
                raise BoundError("jobs", self.capacity, f"{self.capacity} landscape jobs are running; try later", 429)
            del self.jobs[finished[0].id]

    def get(self, job_id: str) -> Job:
        with self.lock:
            if job_id not in self.jobs:
                raise LookupError(job_id)
            return self.jobs[job_id]

    def _run(self, job: Job) -> None:
        def progress(fraction: float, message: str) -> None:
            job.progress, job.message = round(fraction, 4), message

        job.status, job.message = "running", "making the regression bowl"
        try:
            points, span, seed = job.key
            bowl, plane = (self.work or bowl_and_mountains)(points, span, seed, progress)
        except LosslabError as error:
            job.status, job.message = "failed", str(error)
            return
        except Exception as error:  # a job must end, whatever happens, or the page polls forever
            job.status, job.message = "failed", f"internal error: {type(error).__name__}: {error}"
            return
        job.result = jsonable(
            {
                "bowl": grid_json(bowl),
                "network": grid_json(plane),
                **pair_description(bowl, plane),  # titles and non-convexity figures
                "bowl_basins": basins_json(bowl),  # the basins and merge tree of each surface
                "network_basins": basins_json(plane),
            }
        )
        job.status, job.progress, job.message = "done", 1.0, "done"

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.closed = True

    def reopen(self) -> None:
        """A fresh worker after :meth:`close` (an app's lifespan can run more than once)."""
        if self.closed:
            self.executor, self.closed = ThreadPoolExecutor(1, "losslab-job"), False
