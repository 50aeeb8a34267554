"""Every bound answers 4xx JSON naming the bound; jobs report progress and finish."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from losslab.web.config import Bounds

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BOWL = {"source": "gallery", "name": "case_study_2"}
DEFAULT = Bounds()
GD = {"name": "gd"}
# bound -> (path, body, status); each body is one past the default bound and otherwise valid
PAST_A_BOUND: dict[str, tuple[str, dict[str, Any], int]] = {
    "formula_length": (
        "/api/objective",
        {"objective": {"source": "formula", "text": "w" + " + w" * (DEFAULT.formula_length // 4)}},
        422,
    ),
    "grid_points": ("/api/surface", {"objective": BOWL, "points": DEFAULT.grid_points + 1}, 422),
    "steps": ("/api/race", {"objective": BOWL, "start": [0, 0], "optimizers": [GD], "steps": DEFAULT.steps + 1}, 422),
    "optimizers": (
        "/api/race",
        {"objective": BOWL, "start": [0, 0], "optimizers": [GD] * (DEFAULT.optimizers + 1)},
        422,
    ),
    "data_points": (
        "/api/objective",
        {"objective": {"source": "data", "model": "line", "synthetic": "linear", "n": DEFAULT.data_points + 1}},
        422,
    ),
    "body_bytes": ("/api/objective", {"objective": {"source": "formula", "text": "w" * (DEFAULT.body_bytes + 1)}}, 413),
    "network_points": ("/api/landscape/jobs", {"points": DEFAULT.network_points + 1}, 422),
    "frames": (
        "/api/animation",
        {"objective": BOWL, "start": [0, 0], "optimizers": [GD], "frames": DEFAULT.frames + 1},
        422,
    ),
}


@pytest.mark.parametrize("bound", PAST_A_BOUND, ids=PAST_A_BOUND)
def test_past_a_bound_is_4xx_naming_it(client: TestClient, bound: str) -> None:
    path, body, status = PAST_A_BOUND[bound]
    response = client.post(path, json=body)
    assert response.status_code == status
    answer = response.json()
    assert answer["bound"] == bound and answer["limit"] == getattr(DEFAULT, bound)
    assert bound in answer["error"]


def test_at_the_bound_is_accepted(client: TestClient) -> None:
    at = {"objective": BOWL, "points": DEFAULT.grid_points}
    assert client.post("/api/surface", json=at).status_code == 200


def test_wall_time_bound(make_client: Callable[..., TestClient]) -> None:
    with make_client(wall_time_s=0.05) as slow:
        # 10 000 steps of two optimizers: ~1 s of work, far past 50 ms on any machine
        body = {"objective": BOWL, "start": [0, 0], "optimizers": [GD, {"name": "adam"}], "steps": 10_000}
        response = slow.post("/api/race", json=body)
    assert response.status_code == 422
    assert response.json()["bound"] == "wall_time_s" and "0.05 s" in response.json()["error"]


def test_chunked_body_over_the_bound_is_refused(make_client: Callable[..., TestClient]) -> None:
    with make_client(body_bytes=100) as small:
        chunks = iter([b'{"objective": {"source": "formula", "text": "', b"w" * 200, b'"}}'])
        response = small.post("/api/objective", content=chunks, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["bound"] == "body_bytes"


def test_unknown_fields_and_non_finite_numbers_are_refused(client: TestClient) -> None:
    extra = client.post("/api/surface", json={"objective": BOWL, "points": 5, "shell": "rm -rf /"})
    assert extra.status_code == 422 and "shell" in extra.json()["error"]
    body = '{"objective": {"source": "gallery", "name": "case_study_2"}, "point": [NaN, 0]}'
    nan = client.post("/api/hessian", content=body, headers={"Content-Type": "application/json"})
    assert nan.status_code == 422


def test_landscape_job_reports_progress_then_the_grids(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from losslab.objectives.grid import Grid, evaluate_grid
    from losslab.objectives.objective import formula
    from losslab.web import jobs

    seen: list[float] = []

    def quick(points: int, span: float, seed: int, progress: Any) -> tuple[Grid, Grid]:
        for step in range(1, 4):
            progress(step / 4, f"row {step}")
            seen.append(step / 4)
            time.sleep(0.05)
        bowl = evaluate_grid(formula("x**2 + y**2"), resolution=points)
        return bowl, bowl

    monkeypatch.setattr(jobs, "bowl_and_mountains", quick)
    started = client.post("/api/landscape/jobs", json={"points": 5, "seed": 7})
    assert started.status_code == 202
    job_id = started.json()["id"]
    progress = []
    for _ in range(200):
        job = client.get(f"/api/landscape/jobs/{job_id}").json()
        progress.append(job["progress"])
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.01)
    assert job["status"] == "done" and job["progress"] == 1.0
    assert progress == sorted(progress) and seen == [0.25, 0.5, 0.75]
    assert job["result"]["bowl"]["values"][2][2] == 0.0  # x² + y² at the center of the 5×5 grid
    again = client.post("/api/landscape/jobs", json={"points": 5, "seed": 7}).json()
    assert again["id"] == job_id and again["status"] == "done"  # reused, not recomputed
    assert client.get("/api/landscape/jobs/nope").status_code == 404
