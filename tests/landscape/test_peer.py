"""Against the peer ``loss-landscapes`` (PyPI) on the same directions: equal where it is right.

What the peer gets wrong, each pinned by a test below:

1. Its random directions are uniform on [0, 1) (``rand_u_like``), not Gaussian: every
   entry is positive, so the "random" direction leans along the all-ones vector.
2. Its grid walk (in-place ``add_``/``sub_`` along alternate columns) evaluates even rows at
   b-offsets 1 … S and odd rows at 0 … S − 1: neighbouring rows of its matrix are shifted by
   one step, so the matrix is not a grid, and its centre is not θ* for every S.
3. Its "filter" normalization of 1-D parameters (biases, BatchNorm) rescales each *element*
   to the magnitude of θ's element, after first normalizing the vector: the direction's
   bias entries are ±|θ_i| (with a uniform draw: +|θ_i|), neither zero (Li et al.) nor a normalized draw.
4. ``linear_interpolation`` never evaluates the start: its values are at α = 1/S, …, 1.
5. ``distance`` divides: each step is ‖θ*‖ / (distance · S), so the plane spans
   ±‖θ*‖ / (2 · distance) — a larger "distance" draws a smaller plane.

It also evaluates the model in whatever mode it is in (train mode uses batch statistics)
and moves the model's own parameters unless ``deepcopy_model=True``.
"""

from __future__ import annotations

import copy

import pytest
import torch
from landscape_helpers import seeded, small_mlp
from torch import nn

from losslab.landscape import Directions, interpolation, normalize_direction, random_directions, survey
from losslab.objectives.network import NetworkObjective

peer = pytest.importorskip("loss_landscapes")
from loss_landscapes import main as peer_main  # noqa: E402
from loss_landscapes.metrics import Loss  # noqa: E402
from loss_landscapes.model_interface.model_parameters import ModelParameters, rand_u_like  # noqa: E402

STEPS = 6


@pytest.fixture
def setting(data64):
    model = seeded(small_mlp).double().eval()
    objective = NetworkObjective(model, data64)
    return model, objective, Loss(nn.functional.cross_entropy, *data64)


def _as_peer(objective: NetworkObjective, flat: torch.Tensor) -> ModelParameters:
    return ModelParameters([p.clone() for p in objective.unflatten(flat.clone()).values()])


def test_random_plane_equals_losslab_at_the_points_it_really_visits(setting, monkeypatch) -> None:
    model, objective, metric = setting
    ours = random_directions(objective, seed=1)
    queue = [_as_peer(objective, v) for v in ours.vectors]
    monkeypatch.setattr(peer_main, "rand_u_like", lambda _: queue.pop(0))
    monkeypatch.setattr(peer_main, "orthogonal_to", lambda _: queue.pop(0))
    theirs = torch.as_tensor(peer_main.random_plane(model, metric, distance=2, steps=STEPS, normalization=None,
                                                    deepcopy_model=True))  # fmt: skip
    # the peer's step along each direction: d · (‖θ*‖ / distance / steps) / ‖d‖
    step = objective.center.norm() / 2 / STEPS
    scaled = Directions(ours.vectors * (step / ours.vectors.norm(dim=1, keepdim=True)), ours.center, "random")
    half = STEPS / 2
    grid = survey(objective, scaled, grid=(STEPS, STEPS + 1), ranges=((-half, half - 1), (-half, half)))
    values = grid.values["loss"]
    for i in range(STEPS):
        visited = values[i, 1:] if i % 2 == 0 else values[i, :-1]  # even rows: b = 1-S/2 … S/2; odd: -S/2 … S/2-1
        torch.testing.assert_close(theirs[i], visited, rtol=1e-10, atol=0)
    # …so its rows are not one grid: row 0 and row 1 are offset by one step along b
    assert not torch.allclose(theirs[0], values[0, :-1], rtol=1e-6)


def test_peer_random_directions_are_uniform_not_gaussian(setting) -> None:
    _, objective, _ = setting
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        draw = torch.cat([p.reshape(-1) for p in rand_u_like(_as_peer(objective, objective.center))])
    assert float(draw.min()) >= 0.0  # every entry positive: mean 0.5, not 0
    gaussian = random_directions(objective, normalization="none").vectors[0]
    assert float(gaussian.min()) < 0.0 < float(gaussian.max())


def test_peer_filter_normalization_of_weights_agrees_and_of_biases_does_not(setting, generator) -> None:
    _, objective, _ = setting
    raw = torch.randn(objective.dim, generator=generator, dtype=torch.float64)
    theirs = _as_peer(objective, raw)
    theirs.filter_normalize_(_as_peer(objective, objective.center))
    ours = objective.unflatten(normalize_direction(objective, raw, "filter", "zero"))
    theta = objective.unflatten(objective.center)
    for (name, mine), their in zip(ours.items(), theirs.parameters, strict=True):
        if mine.dim() > 1:
            torch.testing.assert_close(their, mine, rtol=1e-12, atol=0)
        else:  # the peer: each element to ±|θ_i|; Li et al. and losslab: zero
            torch.testing.assert_close(their.abs(), theta[name].abs(), rtol=1e-12, atol=0)
            assert torch.count_nonzero(mine) == 0


def test_linear_interpolation_equals_losslab_at_alpha_1_over_s_to_1(setting) -> None:
    model, objective, metric = setting
    end_model = seeded(small_mlp, seed=5).double().eval()
    theirs = torch.as_tensor(peer_main.linear_interpolation(copy.deepcopy(model), end_model, metric, steps=STEPS))
    end = nn.utils.parameters_to_vector(end_model.parameters()).detach()
    line = survey(objective, interpolation(objective, end), grid=STEPS + 1, ranges=(0.0, 1.0))
    torch.testing.assert_close(theirs, line.values["loss"][1:], rtol=1e-10, atol=0)  # α = 0 is never evaluated
