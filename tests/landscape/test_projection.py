"""Projecting checkpoints onto a slice: exact on the plane, honest distance off it."""

from __future__ import annotations

import pytest
import torch
from landscape_helpers import seeded, small_mlp

from losslab.errors import LosslabError
from losslab.landscape import Directions, project, random_directions
from losslab.objectives.network import NetworkObjective


def test_a_path_in_the_plane_has_distance_zero_and_its_coordinates(data64) -> None:
    objective = NetworkObjective(seeded(small_mlp).double(), data64)
    plane = random_directions(objective, seed=6)
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    coords = torch.stack([torch.cos(3 * t), t**2 - 0.5], dim=1)
    path = plane.center + coords @ plane.vectors
    result = project(path, plane)
    torch.testing.assert_close(result.coordinates, coords, rtol=0, atol=1e-12)
    assert float(result.distance.max()) < 1e-12 * float(plane.center.norm())


def test_distance_off_the_plane_is_the_orthogonal_component(generator) -> None:
    basis, _ = torch.linalg.qr(torch.randn(20, 3, generator=generator, dtype=torch.float64))
    plane = Directions(basis[:, :2].T.contiguous() * 2.0, torch.zeros(20, dtype=torch.float64), "plane")
    point = 0.5 * basis[:, 0] - 1.5 * basis[:, 1] + 0.25 * basis[:, 2]
    result = project([point, torch.zeros(20, dtype=torch.float64)], plane)
    torch.testing.assert_close(result.coordinates[0], torch.tensor([0.25, -0.75], dtype=torch.float64))
    assert float(result.distance[0]) == pytest.approx(0.25, rel=1e-12)
    assert float(result.relative_distance[0]) == pytest.approx(0.25 / (0.5**2 + 1.5**2 + 0.25**2) ** 0.5, rel=1e-12)
    assert float(result.distance[1]) == 0.0 and float(result.relative_distance[1]) == 0.0
    assert "largest relative distance" in str(result)


def test_wrong_shapes_are_refused() -> None:
    plane = Directions(torch.eye(3)[:2], torch.zeros(3), "plane")
    with pytest.raises(LosslabError, match=r"expected \(n, 3\)"):
        project(torch.zeros(2, 4), plane)
