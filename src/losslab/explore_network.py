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

import torch

from losslab.demos import demo
from losslab.errors import LosslabError
from losslab.explore import GridValues, grid_values, model_objective, synthetic_points
from losslab.network import NetworkObjective

Progress = Callable[[float, str], None]


def network_plane(
    objective: NetworkObjective,
    points: int = 41,
    span: float = 1.0,
    seed: int = 0,
    progress: Progress | None = None,
) -> GridValues:
    """L on the ``points × points`` grid ``a, b ∈ [−span, span]`` of the plane θ* + a·d1 + b·d2.

    The directions are :func:`losslab.landscape.random_directions` (filter-normalized, biases
    zero, from ``seed``) and the grid is a :func:`losslab.landscape.survey`, whose chunks
    report progress. ``values[j, i]`` is the loss at ``(a_i, b_j)`` (rows follow b, as Plotly
    draws them); ``extras["accuracy"]`` holds the accuracy for classifiers.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    >>> L = NetworkObjective(net, (torch.ones(4, 2).double(), torch.tensor([0, 1, 1, 0])))
    >>> plane = network_plane(L, points=3)
    >>> plane.values.shape, abs(float(plane.values[1, 1]) - float(L.value(L.center))) < 1e-12
    (torch.Size([3, 3]), True)
    """
    from losslab.landscape import random_directions, survey

    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise LosslabError(f"points per axis must be a whole number ≥ 2, got {points!r}")
    if not span > 0:
        raise LosslabError(f"span must be a number > 0, got {span}")

    def chunk(done: int, total: int) -> None:
        if progress is not None:
            progress(done / total, f"chunk {done} of {total} of the {points}×{points} grid")

    surface = survey(
        objective, random_directions(objective, seed=seed), grid=points, ranges=(-span, span), on_chunk=chunk
    )
    axes = tuple(c.to(torch.float64) for c in surface.coordinates)
    values = {k: v.to(torch.float64).T.contiguous() for k, v in surface.values.items()}  # survey: [i, j] at (a_i, b_j)
    extras = {k: v for k, v in values.items() if k != "loss"}
    return GridValues(("a", "b"), axes, values["loss"], extras)


def bowl_and_mountains(
    points: int = 41, span: float = 1.0, seed: int = 0, progress: Progress | None = None
) -> tuple[GridValues, GridValues]:
    """The linear-regression bowl (listing 3.1's synthetic line, mse) and the moons-mlp plane.

    Progress goes from 0 to 0.15 while the network trains, then row by row to 1.
    """

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    x, y = synthetic_points("linear", n=50, seed=seed)
    bowl = grid_values(model_objective(x, y, "line"), points=points)
    report(0.05, "training the 2-16-16-2 network on two moons")
    net = demo("moons-mlp", seed=seed)
    objective = NetworkObjective(net.model, (net.inputs, net.targets), net.loss, title="moons-mlp")
    report(0.15, "surveying the plane through the trained weights")
    plane = network_plane(objective, points, span, seed, lambda f, m: report(0.15 + 0.85 * f, m))
    return bowl, plane
