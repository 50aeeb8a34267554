"""A plane through a network is an Objective: values, derivatives and core tools work on it."""

from __future__ import annotations

import pytest
import torch
from landscape_helpers import seeded, small_cnn

from losslab.descent.run import descend
from losslab.errors import LosslabError
from losslab.landscape import LineObjective, PlaneObjective, random_directions
from losslab.objectives.network import NetworkObjective
from network_oracles import direct_loss, with_statistics


@pytest.fixture
def plane(data64) -> PlaneObjective:
    x, y = data64
    network = NetworkObjective(with_statistics(seeded(small_cnn).double(), x), (x, y))
    return PlaneObjective(network, random_directions(network, seed=8))


def test_fast_values_equal_value_and_direct_evaluation(plane: PlaneObjective, generator) -> None:
    coords = torch.rand(7, 2, generator=generator, dtype=torch.float64) * 2 - 1
    fast = plane.values(coords, chunk_size=3)
    x, y = plane.network.data
    for point, value in zip(coords, fast, strict=True):
        assert float(value) == pytest.approx(float(plane.value(point)), rel=1e-12)
        assert float(value) == pytest.approx(direct_loss(plane.network.model, plane.theta(point), x, y)[0], rel=1e-10)


def test_gradient_is_the_network_gradient_along_the_directions(plane: PlaneObjective) -> None:
    point = torch.tensor([0.2, -0.3], dtype=torch.float64)
    expected = plane.directions.vectors @ plane.network.grad(plane.theta(point))
    torch.testing.assert_close(plane.grad(point), expected, rtol=1e-10, atol=1e-12)


def test_core_descent_runs_on_the_plane(plane: PlaneObjective) -> None:
    trajectory = descend(plane, "a=0.8,b=0.8", "gd", lr=0.05, steps=5)
    assert trajectory.losses[-1] < trajectory.losses[0]


def test_line_and_plane_need_matching_directions(plane: PlaneObjective) -> None:
    with pytest.raises(LosslabError, match="a line needs 1 direction"):
        LineObjective(plane.network, plane.directions)
    with pytest.raises(LosslabError, match="last dimension 3"):
        plane.values(torch.zeros(2, 3))


def test_the_plots_draw_a_plane_and_a_saved_surface(plane: PlaneObjective) -> None:
    from losslab import plot
    from losslab.landscape import survey

    figure = plot.contour(plane, resolution=6, stationary=False)
    assert figure.axes[0].get_xlabel().strip("$") == "a"
    surface = survey(plane.network, plane.directions, grid=4)
    assert plot.surface(surface).axes[0].name == "3d"
