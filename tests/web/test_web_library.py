"""The library functions behind the explorer (data models, grids, point curvature, races, bowl vs mountains)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from losslab.analysis.point_curvature import curvature_at
from losslab.course.bowl_and_mountains import network_plane
from losslab.descent.race import Runner, race
from losslab.errors import LosslabError
from losslab.objectives.data_models import model_objective, parse_points, synthetic_points
from losslab.objectives.from_text import check_formula
from losslab.objectives.grid import evaluate_grid
from losslab.objectives.network import NetworkObjective
from losslab.objectives.objective import formula


@pytest.fixture
def small_net(generator: torch.Generator) -> NetworkObjective:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    x = torch.randn(40, 2, generator=generator, dtype=torch.float64)
    y = torch.randint(0, 3, (40,), generator=generator)
    return NetworkObjective(net, (x, y), "cross_entropy")


def test_network_plane_equals_point_by_point_evaluation(small_net: NetworkObjective) -> None:
    from losslab.landscape import random_directions

    plane = network_plane(small_net, points=5, span=0.5, seed=2)
    d1, d2 = random_directions(small_net, seed=2).vectors
    x, y = small_net.data
    for i, j in [(0, 0), (2, 2), (4, 1), (3, 4)]:
        a, b = float(plane.coordinates[0][i]), float(plane.coordinates[1][j])
        theta = small_net.center + a * d1 + b * d2
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            model = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3)).double()
            nn.utils.vector_to_parameters(theta, model.parameters())  # the network rebuilt by hand at θ
            expected = nn.functional.cross_entropy(model(x), y)
            accuracy = (model(x).argmax(-1) == y).double().mean()
        assert float(plane.values["loss"][i, j]) == pytest.approx(float(expected), rel=1e-12)  # [i, j] at (a_i, b_j)
        assert float(plane.values["accuracy"][i, j]) == pytest.approx(float(accuracy), abs=1e-15)
    assert float(plane.values["loss"][2, 2]) == pytest.approx(float(small_net.value(small_net.center)), rel=1e-12)


def test_network_plane_reports_progress_until_done(small_net: NetworkObjective) -> None:
    seen: list[float] = []
    network_plane(small_net, points=4, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0


@pytest.mark.parametrize(
    ("text", "column"), [("w0 +* 2", 5), ("(w + 2", 1), ("w.real", 1), ("sin(w) + foo(w)", 10)], ids=str
)
def test_check_formula_points_at_the_column(text: str, column: int) -> None:
    check = check_formula(text)
    assert not check.ok and check.column == column and f"column {column}" in check.message


def test_parse_points_reads_pasted_text_and_refuses_bad_lines() -> None:
    assert parse_points("x\ty\n1\t2\n3 4\n5;6") == ([1.0, 3.0, 5.0], [2.0, 4.0, 6.0])
    with pytest.raises(LosslabError, match="at least 2 points"):
        parse_points("1,2")
    with pytest.raises(LosslabError, match="at most 3"):
        parse_points("1,2\n2,3\n3,4\n4,5", max_points=3)


@pytest.mark.parametrize("name", ["case_study_1", "linear", "quadratic", "labels"])
def test_synthetic_points_are_seeded(name: str) -> None:
    assert synthetic_points(name, 12, seed=4) == synthetic_points(name, 12, seed=4)


def test_logistic_model_is_bce_on_labels() -> None:
    x, y = synthetic_points("labels", 30, seed=0)
    assert set(y) == {0.0, 1.0}
    loss = model_objective(x, y, "logistic")
    assert float(loss.value([0.0, 0.0])) == pytest.approx(math.log(2), rel=1e-12)  # σ(0) = ½ for every sample


def test_grid_values_layout_is_rows_of_the_second_parameter() -> None:
    g = evaluate_grid(formula("x + 10*y"), resolution=3)  # the page's (Plotly's) layout: rows follow y
    np.testing.assert_allclose(g.plotly_z().numpy(), [[-55, -50, -45], [-5, 0, 5], [45, 50, 55]])
    with pytest.raises(LosslabError, match="1 or 2 parameters"):
        evaluate_grid(formula("x + y + z"))


def test_curvature_of_a_cubic_and_its_taylor_parabola() -> None:
    c = curvature_at(formula("w**3"), "w=1", radius=0.5, points=3)
    assert c.value == 1 and c.gradient.tolist() == [3.0] and c.hessian.tolist() == [[6.0]]
    w = np.array([0.5, 1.0, 1.5])
    np.testing.assert_allclose(c.taylor.values["loss"].numpy(), 1 + 3 * (w - 1) + 3 * (w - 1) ** 2, atol=1e-14)


def test_race_stops_when_asked() -> None:
    calls: list[int] = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(LosslabError, match="stopped after 1 of 2 optimizers"):  # between separate runs
        race(formula("w**2"), [1.0], [Runner("lbfgs"), Runner("lbfgs")], steps=3, should_stop=stop)
    calls.clear()
    with pytest.raises(LosslabError, match="stopped at step 127 of 500"):  # inside the lock-step runs
        race(formula("w**2"), [1.0], [Runner("gd"), Runner("adam")], steps=500, should_stop=stop)
