"""Defaults that suit the loss (issue 15): /api/suggest's start and learning rates, data that fits the model,
titles, and the one marker language of the pictures and the page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import torch

from losslab import plot
from losslab.descent.race import Runner, race
from losslab.objectives.data_models import MODEL_DATA, MODELS, model_objective, synthetic_points
from losslab.objectives.gallery import ENTRIES, gallery
from losslab.objectives.grid import view_domain
from losslab.objectives.objective import Objective
from losslab.plot._style import MARKERS

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

# the losses the explorer offers: every gallery surface, and every model on the data set it starts on
GALLERY = [{"source": "gallery", "name": e.name} for e in ENTRIES]
DATA = [{"source": "data", "model": m, "synthetic": MODEL_DATA[m], "n": 30} for m in MODELS]


def spec_id(spec: dict[str, Any]) -> str:
    return str(spec.get("name") or spec["model"])


def build(spec: dict[str, Any]) -> Objective:
    if spec["source"] == "gallery":
        return gallery(spec["name"])
    x, y = synthetic_points(spec["synthetic"], spec["n"])
    return model_objective(x, y, spec["model"])


def central_gradient(objective: Objective, theta: list[float], h: float = 1e-6) -> np.ndarray:
    """∇L by central differences of L itself (the oracle: no autodiff)."""
    base = np.array(theta, dtype=np.float64)
    out = []
    for i in range(len(base)):
        step = np.zeros_like(base)
        step[i] = h
        up, down = (float(objective.value(torch.tensor(base + s))) for s in (step, -step))
        out.append((up - down) / (2 * h))
    return np.array(out)


@pytest.mark.parametrize("spec", GALLERY + DATA, ids=spec_id)
def test_the_suggested_start_moves_and_keeps_off_every_marked_point(client: TestClient, spec: dict[str, Any]) -> None:
    found = client.post("/api/suggest", json={"objective": spec}).json()
    objective = build(spec)
    box = view_domain(objective).bounds
    start = found["start"]
    assert all(lo <= v <= hi for v, (lo, hi) in zip(start, box, strict=True)), "the start lies in the view box"
    gradient = central_gradient(objective, start)
    assert np.isfinite(gradient).all() and np.linalg.norm(gradient) > 1e-6, "not a stationary point, not a kink"
    widths = np.array([hi - lo for lo, hi in box])
    for known in objective.known_points:  # the gallery's stationary points and kinks, a fit's minimum
        gap = np.max(np.abs(np.array(start) - np.array(known.point)) / widths)
        assert gap >= 0.1 - 1e-12, f"start {start} sits on {known.kind} {known.point}"


@pytest.mark.parametrize("spec", GALLERY + DATA, ids=spec_id)
def test_the_suggested_rates_keep_gd_stable_and_nothing_diverges(client: TestClient, spec: dict[str, Any]) -> None:
    found = client.post("/api/suggest", json={"objective": spec}).json()
    objective = build(spec)
    if found["max_stable_lr"] is not None:
        assert found["lrs"]["gd"] <= found["max_stable_lr"] / 2 + 1e-15  # at most half of 2/λmax
    runners = [Runner("gd", {"lr": found["lrs"]["gd"]}), Runner("momentum", {"lr": found["lrs"]["momentum"]}),
               Runner("adam", {"lr": found["lrs"]["adam"]})]  # fmt: skip
    runs = race(objective, found["start"], runners, 100).runs
    unbounded = spec.get("name") in ("saddle", "monkey_saddle")  # L → −∞: running away is all a descent can do
    for run in runs:
        assert run.diagnosis.status != "diverged", f"{run.optimizer}: {run.diagnosis.reason}"
        assert unbounded or float(run.losses[-1]) <= float(run.losses[0]), f"{run.optimizer} ends above its start"


def test_data_and_models_default_no_longer_diverges(client: TestClient) -> None:
    """Line on Case Study 1: 2/λmax = 0.0845 (λmax of 2·XᵀX/n), so the old gd lr 0.1 diverged (at step 23)."""
    spec = {"source": "data", "model": "line", "synthetic": "case_study_1", "n": 30}
    found = client.post("/api/suggest", json={"objective": spec}).json()
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    design = np.stack([np.ones_like(x), x], axis=1)
    top = np.linalg.eigvalsh(2 * design.T @ design / len(x)).max()
    assert found["max_stable_lr"] == pytest.approx(2 / top, rel=1e-12)
    assert found["start"] == [0.0, 0.0] and found["lrs"]["gd"] == 0.04
    objective = build(spec)
    assert race(objective, [0, 0], [Runner("gd", {"lr": 0.1})], 100).runs[0].diagnosis.status == "diverged"
    assert race(objective, [0, 0], [Runner("gd", {"lr": 0.04})], 100).runs[0].diagnosis.status != "diverged"


def test_the_cone_starts_off_its_kink_and_himmelblau_gets_its_own_rate(client: TestClient) -> None:
    cone = client.post("/api/suggest", json={"objective": {"source": "gallery", "name": "cone"}}).json()
    assert np.hypot(*cone["start"]) > 0.4  # the tip (0, 0) has no gradient: both optimizers "diverged at step 0"
    runs = race(gallery("cone"), cone["start"], [Runner("gd", {"lr": cone["lrs"]["gd"]}),
                Runner("momentum", {"lr": cone["lrs"]["momentum"]})], 100).runs  # fmt: skip
    assert all(run.diagnosis.step > 0 and run.diagnosis.status != "diverged" for run in runs)
    himmelblau = client.post("/api/suggest", json={"objective": {"source": "gallery", "name": "himmelblau"}}).json()
    assert himmelblau["lrs"]["gd"] < 0.1 < himmelblau["max_stable_lr"] * 5  # lr 0.1 (case study 2's) would diverge
    start = himmelblau["start"]
    assert race(gallery("himmelblau"), start, [Runner("gd", {"lr": 0.1})], 100).runs[0].diagnosis.status == "diverged"


def test_a_formula_suggestion_uses_its_analysis(client: TestClient) -> None:
    spec = {"source": "formula", "text": "x**2 + 10*y**2"}  # minimum at the origin: the start must leave it
    found = client.post("/api/suggest", json={"objective": spec}).json()
    assert found["start"] != [0.0, 0.0] and found["max_stable_lr"] == pytest.approx(0.1)
    assert found["lrs"]["gd"] == 0.05 and found["lrs"]["newton"] == 1.0
    flat = client.post("/api/suggest", json={"objective": {"source": "formula", "text": "0*w"}})
    assert flat.status_code == 422 and "no start" in flat.json()["error"]  # a 4xx that says why, never a 5xx


@pytest.mark.parametrize("text", ["x*log(x)", "sqrt(w0^2 + w1^2)", "log(1 + x^2) - 0.1*x"])
def test_every_suggested_rate_runs_without_diverging(client: TestClient, text: str) -> None:
    # momentum at its rule's rate overshoots out of x·log(x)'s domain; the cone's tip has no curvature to go by
    spec = {"source": "formula", "text": text}
    found = client.post("/api/suggest", json={"objective": spec}).json()
    runners = [{"name": name, "hyperparameters": {"lr": lr}} for name, lr in found["lrs"].items()]
    body = {"objective": spec, "start": found["start"], "optimizers": runners, "steps": 100}
    runs = client.post("/api/race", json=body).json()["runs"]
    assert len(runs) == len(found["lrs"]) == 10
    diverged = [run["diagnosis"]["reason"] for run in runs if run["diagnosis"]["status"] == "diverged"]
    if "sqrt" in text:  # Newton's step is unbounded where H is singular along ∇L, at every rate: it says so
        assert found["lrs"]["newton"] == 1.0 and len(diverged) == 1 and "exceeded" in diverged[0]
    else:
        assert diverged == []


def test_each_model_starts_on_data_that_fits_it(client: TestClient) -> None:
    models = {m["name"]: m for m in client.get("/api/catalog").json()["models"]}
    assert models["logistic"]["data"] == "labels" and models["logistic"]["suitable"] == ["labels"]
    for name in ("line_origin", "line", "quadratic"):
        assert models[name]["data"] in models[name]["suitable"] and "labels" not in models[name]["suitable"]
    bad = {"source": "data", "model": "logistic", "synthetic": "case_study_1", "n": 30}
    answer = client.post("/api/objective", json={"objective": bad})
    assert answer.status_code == 422
    message = answer.json()["error"]
    assert "labels y = 0 or 1" in message and "'labels'" in message and "y = 2.1" in message
    pasted = {"source": "data", "model": "logistic", "points": "0, 0\n1, 1\n2, 3"}
    assert "y = 3" in client.post("/api/objective", json={"objective": pasted}).json()["error"]
    good = client.post("/api/objective", json={"objective": {**bad, "synthetic": "labels"}}).json()
    assert good["title"].startswith("logistic classifier")


def test_titles_do_not_repeat_the_dimension(client: TestClient) -> None:
    for item in client.get("/api/gallery").json():
        assert "-D)" not in item["title"], item["title"]  # the page adds "(2-D)" itself
    assert next(i for i in client.get("/api/gallery").json() if i["name"] == "rosenbrock")["start"] == [-1.2, 1.0]


def test_one_marker_language_for_the_page_and_the_pictures(client: TestClient) -> None:
    markers = client.get("/api/catalog").json()["markers"]
    assert {k: m["symbol"] for k, m in markers.items()} == {
        "start": "circle", "minimum": "star", "maximum": "triangle-up", "saddle": "x", "degenerate": "diamond",
        "kink": "hexagon"}  # fmt: skip
    assert {k: m.plotly for k, m in MARKERS.items()} == {k: m["symbol"] for k, m in markers.items()}
    # the CLI's pictures: the minimum is a star there too, the cone's tip is a kink, the start a circle
    himmelblau = plot.contour(gallery("himmelblau"), resolution=30)
    stars = [line for line in himmelblau.axes[0].lines if line.get_gid() == "stationary:minimum"]
    assert stars and stars[0].get_marker() == MARKERS["minimum"].matplotlib == "*"
    cone = plot.contour(gallery("cone"), resolution=30)
    [kink] = [line for line in cone.axes[0].lines if line.get_gid() == "stationary:kink"]
    assert kink.get_marker() == "h" and kink.get_xydata().tolist() == [[0.0, 0.0]]
    run = race(gallery("cone"), [1.0, 1.0], [Runner("gd", {"lr": 0.1})], 3).runs
    starts = [line for line in plot.contour(gallery("cone"), run, resolution=30).axes[0].lines
              if (line.get_gid() or "").startswith("start:")]  # fmt: skip
    assert starts and starts[0].get_marker() == MARKERS["start"].matplotlib == "o"


def test_analysis_marks_the_cones_tip_as_a_point_without_gradient(client: TestClient) -> None:
    found = client.post("/api/analyze", json={"objective": {"source": "gallery", "name": "cone"}}).json()
    tips = [p for p in found["stationary_points"] if p.get("differentiable") is False]
    assert [p["point"] for p in tips] == [{"w0": 0.0, "w1": 0.0}]


def test_the_formula_as_read_comes_with_the_objective(client: TestClient) -> None:
    info = client.post("/api/objective", json={"objective": {"source": "formula", "text": "x^2 - 4x + 5"}}).json()
    assert info["understood"] == "x**2 - 4*x + 5"


def test_a_curve_of_stationary_points_comes_traced(client: TestClient) -> None:
    """The page draws a ring of minima along itself: the analysis sends the traced circle (each point on
    x² + y² = 1 to 1e-9, closed), and no curve for an isolated point."""
    body = {"source": "formula", "text": "(x^2 + y^2 - 1)^2"}
    found = client.post("/api/analyze", json={"objective": body}).json()["stationary_points"]
    ring, centre = sorted(found, key=lambda p: p["dimension"], reverse=True)
    (piece,) = ring["curve"]
    assert all(abs(x * x + y * y - 1) < 1e-9 for x, y in piece) and piece[0] == piece[-1] and len(piece) >= 20
    assert centre["curve"] == [] and centre["kind"] == "maximum"


def test_a_set_of_stationary_points_comes_with_its_equations(client: TestClient) -> None:
    body = {"source": "formula", "text": "w0**2 + w1**2", "variables": ["w0", "w1", "w2"]}
    found = client.post("/api/analyze", json={"objective": body}).json()["stationary_points"]
    assert len(found) == 1
    assert found[0]["dimension"] == 1 and found[0]["equations"] == ["w0 = 0", "w1 = 0", "w2 free"]
    assert found[0]["kind"] == "minimum" and "line of minima" in found[0]["note"]
