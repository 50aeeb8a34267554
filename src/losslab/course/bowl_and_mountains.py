r"""The explorer's "bowl vs mountains" pair: a linear-regression bowl beside a small network's plane.

The network side is the 2-D slice :math:`f(a, b) = L(\theta^* + a\,d_1 + b\,d_2)` through the
trained weights θ* of the ``moons-mlp`` demo (2-16-16-2 on two-moons generated on the spot),
along two Gaussian directions that are *filter-normalized* (Li et al., *Visualizing the Loss
Landscape of Neural Nets*, NeurIPS 2018): every row of a weight (one output neuron) is
rescaled to the norm of the same row of θ*, and biases are zero in the direction. The
directions and the grid come from :mod:`losslab.landscape`; this module only pairs the
plane with the bowl and reports progress.
"""

from __future__ import annotations

from collections.abc import Callable

from losslab.errors import LosslabError, check_int
from losslab.landscape import random_directions, survey
from losslab.networks.build import network_objective
from losslab.objectives.data_models import model_objective, synthetic_points
from losslab.objectives.grid import Grid, evaluate_grid
from losslab.objectives.network import NetworkObjective

Progress = Callable[[float, str], None]


def network_plane(
    objective: NetworkObjective,
    points: int = 41,
    span: float = 1.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> Grid:
    """L on the ``points × points`` grid ``a, b ∈ [−span, span]`` of the plane θ* + a·d1 + b·d2.

    The directions are :func:`losslab.landscape.random_directions` (filter-normalized, biases
    zero, from ``seed``) and the grid is a :func:`losslab.landscape.survey`, whose chunks
    report progress. ``values["loss"][i, j]`` is the loss at ``(a_i, b_j)``; ``values["accuracy"]``
    holds the accuracy for classifiers.

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    >>> L = NetworkObjective(net, (torch.ones(4, 2).double(), torch.tensor([0, 1, 1, 0])))
    >>> plane = network_plane(L, points=3)
    >>> loss = plane.values["loss"]
    >>> loss.shape, abs(float(loss[1, 1]) - float(L.value(L.center))) < 1e-12
    (torch.Size([3, 3]), True)
    """
    check_int("points per axis", points, least=2)
    if not span > 0:
        raise LosslabError(f"span must be a number > 0, got {span}")

    def chunk(done: int, total: int) -> None:
        if progress is not None:
            progress(done / total, f"chunk {done} of {total} of the {points}×{points} grid")

    return survey(
        objective, random_directions(objective, seed=seed), grid=points, ranges=(-span, span), on_chunk=chunk
    )


def bowl_and_mountains(
    points: int = 41, span: float = 1.0, seed: int = 0, progress: Progress | None = None
) -> tuple[Grid, Grid]:
    """The linear-regression bowl (listing 3.1's synthetic line, mse) and the moons-mlp plane.

    Progress goes from 0 to 0.15 while the network trains, then row by row to 1.
    """

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    x, y = synthetic_points("linear", n=50, seed=seed)
    bowl = evaluate_grid(model_objective(x, y, "line"), resolution=points)
    report(0.05, "training the 2-16-16-2 network on two moons")
    objective = network_objective(demo_name="moons-mlp", seed=seed).objective
    report(0.15, "surveying the plane through the trained weights")
    plane = network_plane(objective, points, span, seed, lambda f, m: report(0.15 + 0.85 * f, m))
    return bowl, plane
