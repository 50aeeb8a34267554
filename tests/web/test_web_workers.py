"""The worker processes (issue 16): work past its bound is killed, and light requests do not queue behind it."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from losslab.web import Bounds, ServerConfig, create_app
from losslab.web.schemas import ObjectiveRequest
from losslab.web.workers import ClientGone, WorkerPool

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

# Every test here times requests against the bound and its 0.5 s grace: `make test` runs them alone (serial),
# not beside another test process that would slow a frame of a GIF past the grace.
pytestmark = pytest.mark.serial

BOUND_S = 1.5
SLOW = {"objective": {"source": "formula", "text": "(x + y + z)**100"}}  # SymPy works on it for over 20 s
SURFACE = {"objective": {"source": "gallery", "name": "rosenbrock"}, "points": 201}
RACE = {
    "objective": {"source": "gallery", "name": "himmelblau"},
    "start": [0.5, 0.5],
    "steps": 50,
    "optimizers": [{"name": "gd", "hyperparameters": {"lr": 0.01}}],
}


@pytest.fixture(scope="module")
def isolated() -> Iterator[TestClient]:
    config = ServerConfig(bounds=Bounds(wall_time_s=BOUND_S), torch_threads=None, workers=1, light_workers=1)
    with TestClient(create_app(config)) as client:
        yield client


def timed(client: TestClient, path: str, body: dict[str, Any]) -> tuple[float, Any]:
    began = time.monotonic()
    answer = client.post(path, json=body)
    return time.monotonic() - began, answer


def test_work_past_its_bound_is_killed_and_light_work_goes_on_meanwhile(isolated: TestClient) -> None:
    pool = isolated.app.state.pool  # type: ignore[attr-defined]
    kills = pool.kills
    slow: list[tuple[float, Any]] = []
    heavy = threading.Thread(target=lambda: slow.append(timed(isolated, "/api/analyze", SLOW)))
    heavy.start()
    time.sleep(0.2)
    meanwhile = [timed(isolated, "/api/surface", SURFACE) for _ in range(5)]  # while the heavy lane is stuck
    heavy.join(30)
    took, answer = slow[0]
    assert answer.status_code == 422 and answer.json()["bound"] == "wall_time_s"
    assert BOUND_S <= took < BOUND_S + 2.0  # answered at its bound, not when SymPy would have finished
    assert pool.kills == kills + 1  # its process was killed: nothing keeps computing it
    assert all(a.status_code == 200 for _, a in meanwhile)
    assert max(t for t, _ in meanwhile) < 1.0  # a 201×201 surface: milliseconds, not the heavy lane's wait
    after, raced = timed(isolated, "/api/race", RACE)  # the heavy lane's fresh worker serves at normal speed
    assert raced.status_code == 200 and after < 1.0


def test_errors_from_a_worker_are_the_same_4xx(isolated: TestClient) -> None:
    refused = isolated.post("/api/analyze", json={"objective": {"source": "formula", "text": "x**2 +"}})
    assert refused.status_code == 422 and refused.json()["column"] == 6
    too_many = isolated.post("/api/race", json={**RACE, "steps": 10**6})
    assert too_many.status_code == 422 and too_many.json()["bound"] == "steps"


def test_a_gif_past_its_bound_ends_itself_and_keeps_its_worker(isolated: TestClient) -> None:
    pool = isolated.app.state.pool  # type: ignore[attr-defined]
    kills = pool.kills
    took, answer = timed(isolated, "/api/animation", {**RACE, "steps": 400, "frames": 200})  # 200 frames: seconds
    assert answer.status_code == 422 and answer.json()["bound"] == "wall_time_s" and took < BOUND_S + 1.0
    assert pool.kills == kills  # it asked should_stop between frames and stopped: no kill needed


def test_work_whose_client_left_is_killed() -> None:
    async def scenario() -> tuple[int, float]:
        pool = WorkerPool(light=1, heavy=1, torch_threads=None)
        pool.start()
        began = time.monotonic()

        async def gone() -> bool:
            return time.monotonic() - began > 0.3

        try:
            request = ObjectiveRequest.model_validate(SLOW)
            with pytest.raises(ClientGone):
                await pool.run("analysis", (request.objective, Bounds()), 60.0, gone)
            return pool.kills, time.monotonic() - began
        finally:
            pool.close()

    # in a thread of its own: the browser tests' Playwright keeps an event loop running on the main thread
    with ThreadPoolExecutor(1) as thread:
        kills, took = thread.submit(asyncio.run, scenario()).result()
    assert kills == 1 and took < 2.0
