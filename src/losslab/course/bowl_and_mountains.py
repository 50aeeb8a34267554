r"""The explorer's "bowl vs mountains" pair: a linear-regression bowl beside a deep network's plane.

The network side is the 2-D slice :math:`f(a, b) = L(\theta^* + a\,d_1 + b\,d_2)` through the
trained weights θ* of a deep ReLU MLP *without skip connections* (2, twelve hidden layers of 16, 2;
3 074 weights) trained on two moons generated on the spot — Li et al. (2018) found the slices of
no-skip networks chaotic, and this one is: several basins, saddles and ridges where the bowl has one
valley. :func:`~losslab.course.nonconvexity.nonconvexity` measures both (the fraction of the grid with
a negative eigenvalue of the slice's Hessian, the grid-local minima: 0 % and 1 for the bowl). The plane is
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
from losslab.networks.demos import mlp, moons, train
from losslab.objectives.data_models import model_objective, synthetic_points
from losslab.objectives.grid import Grid, evaluate_grid
from losslab.objectives.network import NetworkObjective

Progress = Callable[[float, str], None]
DEEP_WIDTHS = (2, *(16,) * 12, 2)  # no skip connections: Li et al.'s chaotic case
TRAINING_STEPS = 300
BOWL_TITLE = "linear regression (mse), 50 points"
MOUNTAINS_TITLE = "deep no-skip MLP, two moons"  # the page says the rest (12 × 16, 3 074 weights)


def deep_network(seed: int = 0) -> NetworkObjective:
    """The deep no-skip MLP (:data:`DEEP_WIDTHS`), trained full-batch with Adam on two moons, as an objective."""
    import torch

    inputs, targets = moons(dtype=torch.float32)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = mlp(DEEP_WIDTHS)
    train(model, inputs, targets, steps=TRAINING_STEPS, lr=0.01)
    return NetworkObjective(model, (inputs, targets))


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

    return survey(objective, random_directions(objective, seed=seed), grid=points, ranges=(-span, span), on_chunk=chunk)


def bowl_and_mountains(
    points: int = 41, span: float = 1.0, seed: int = 0, progress: Progress | None = None
) -> tuple[Grid, Grid]:
    """The linear-regression bowl (listing 3.1's synthetic line, mse) and the deep network's plane.

    Progress goes from 0 to 0.15 while the network trains, then row by row to 1.
    """

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    x, y = synthetic_points("linear", n=50, seed=seed)
    bowl = evaluate_grid(model_objective(x, y, "line"), resolution=points)
    report(0.05, "training the deep network (12 hidden layers, no skip connections) on two moons")
    objective = deep_network(seed)
    report(0.15, "surveying the plane through the trained weights")
    plane = network_plane(objective, points, span, seed, lambda f, m: report(0.15 + 0.85 * f, m))
    return bowl, plane


def pair_description(bowl: Grid, plane: Grid) -> dict[str, object]:
    """What the page shows beside the two surfaces: their titles and non-convexity figures (None for a grid
    too small to measure)."""
    from losslab.course.nonconvexity import nonconvexity

    def measured(grid: Grid) -> dict[str, object] | None:
        try:
            figures = nonconvexity(grid)
        except LosslabError:
            return None
        text = str(figures)
        return {"negative_fraction": figures.negative_fraction, "local_minima": figures.local_minima, "text": text}

    return {
        "bowl_title": BOWL_TITLE,
        "network_title": MOUNTAINS_TITLE,
        "bowl_nonconvexity": measured(bowl),
        "network_nonconvexity": measured(plane),
    }
