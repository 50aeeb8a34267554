r"""Chapter 3's two classifiers on points of the plane (figure 3.1): a hyperplane and a hypersphere.

- ``hyperplane``: :math:`P(y = 1) = \sigma(w_0 + w_1 x_1 + w_2 x_2)`, on two blobs (``blobs``) that a
  line separates; its boundary :math:`w_0 + w_1 x_1 + w_2 x_2 = 0` is a line.
- ``hypersphere``: :math:`P(y = 1) = \sigma(4 (r^2 - (x_1 - c_1)^2 - (x_2 - c_2)^2))`, on one class
  inside a ring of the other (``ring``), which no line separates; its boundary is the circle of
  centre :math:`(c_1, c_2)` and radius :math:`|r|`.

Both are :class:`~losslab.objectives.data.DataObjective` s with the binary cross-entropy, so every tool
(descent, races, curvature) works on them; :func:`boundary_frames` gives the model's
:math:`P(y = 1)` over the input plane at each step of a run, which the explorer draws as the boundary moving.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_int, not_one_of
from losslab.objectives.data import DataObjective, data_objective
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

# name -> (model formula in the parameters and x1, x2; the data set it is trained on; what a person calls it)
CLASSIFIERS: dict[str, tuple[str, str, str]] = {
    "hyperplane": ("sigmoid(w0 + w1*x1 + w2*x2)", "blobs", "hyperplane classifier  P(y=1) = σ(w0 + w1·x1 + w2·x2)"),
    "hypersphere": ("sigmoid(4*(r**2 - (x1 - c1)**2 - (x2 - c2)**2))", "ring",
                    "hypersphere classifier  P(y=1) = σ(4(r² − |x − c|²))"),
}  # fmt: skip
PLANE_DATA = ("blobs", "ring")
MAX_POINTS = 500
PLANE_POINTS = 240  # above MAX_SYMBOLIC_SAMPLES: a sum of 240 logs is no formula to print or solve


def plane_points(name: str, n: int = 40, seed: int = 0) -> dict[str, Tensor]:
    """Labelled points of the plane: ``blobs`` (class 0 around (−1, −1), class 1 around (1, 1), σ = 0.7) or
    ``ring`` (class 1 in the disc of radius 0.9 around (0.4, 0.2), class 0 in the ring 1.6–2.4 around it).

    >>> data = plane_points("ring", n=6)
    >>> sorted(data), data["y"].tolist()
    (['x1', 'x2', 'y'], [1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    """
    check_int("points", n, least=2, most=MAX_POINTS)
    gen = torch.Generator().manual_seed(seed)
    half = n // 2
    labels = torch.cat([torch.ones(half), torch.zeros(n - half)]).double()
    if name == "blobs":
        centres = torch.where(labels[:, None] > 0, torch.tensor([1.0, 1.0]), torch.tensor([-1.0, -1.0])).double()
        points = centres + 0.7 * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    elif name == "ring":
        angle = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
        inner, outer = 0.9 * torch.rand(n, generator=gen).sqrt(), 1.6 + 0.8 * torch.rand(n, generator=gen)
        radius = torch.where(labels > 0, inner.double(), outer.double())
        points = torch.stack([0.4 + radius * angle.cos(), 0.2 + radius * angle.sin()], dim=-1)
    else:
        raise not_one_of("data set of the plane", name, PLANE_DATA)
    return {"x1": points[:, 0], "x2": points[:, 1], "y": labels}


def classifier_objective(model: str, data: str | None = None, n: int = PLANE_POINTS, seed: int = 0) -> DataObjective:
    """The binary cross-entropy of one of :data:`CLASSIFIERS` on :func:`plane_points` (its own data set by default).

    >>> L = classifier_objective("hyperplane")
    >>> L.names, L.inputs, round(float(L.value([0.0, 0.0, 0.0])), 6)
    (('w0', 'w1', 'w2'), ('x1', 'x2'), 0.693147)
    """
    if model not in CLASSIFIERS:
        raise not_one_of("classifier", model, CLASSIFIERS)
    formula, own_data, title = CLASSIFIERS[model]
    name = own_data if data is None else data
    objective = data_objective(plane_points(name, n, seed), formula, loss="bce")
    objective.title = f"{title}, bce over {n} points ({name})"
    return objective


@dataclass(frozen=True)
class BoundaryFrames(Readable):
    """A classifier's P(y = 1) over its input plane at each step of a run.

    Attributes:
        names: the two inputs.
        axes: the grid of each input: the data's range and 15 % more on each side.
        probability: ``(K, G, G)``: ``probability[k, i, j]`` at ``(axes[0][i], axes[1][j])`` for θ_k.
    """

    names: tuple[str, str]
    axes: tuple[Tensor, Tensor]
    probability: Tensor

    def __str__(self) -> str:
        return f"{len(self.probability)} boundaries on a {len(self.axes[0])}×{len(self.axes[1])} grid of {self.names}"


def boundary_frames(
    objective: Objective, params: Sequence[Sequence[float]] | Tensor, points: int = 41
) -> BoundaryFrames:
    """P(y = 1) of ``objective``'s model (two inputs) on a ``points × points`` grid, for each θ_k of ``params``.

    >>> L = classifier_objective("hyperplane")
    >>> frames = boundary_frames(L, [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]], points=5)
    >>> str(frames), frames.probability[1].unique().tolist()  # θ = 0: P = ½ everywhere
    ("2 boundaries on a 5×5 grid of ('x1', 'x2')", [0.5])
    """
    if not isinstance(objective, DataObjective) or len(objective.inputs) != 2 or objective.loss != "bce":
        raise LosslabError("a decision boundary is drawn for a classifier (bce) of two inputs; this loss is not one")
    check_int("points", points, least=2)
    wanted = f"params must be one or more vectors of {objective.dim} numbers ({', '.join(objective.names)})"
    if not isinstance(params, Tensor) and any(len(row) != objective.dim for row in params):
        raise LosslabError(f"{wanted}; got rows of {sorted({len(row) for row in params})} numbers")
    thetas = torch.as_tensor(params, dtype=torch.float64)
    if thetas.dim() != 2 or len(thetas) == 0 or thetas.shape[1] != objective.dim:
        raise LosslabError(wanted)
    first, second = objective.inputs
    axes = tuple(_axis(objective.data[name], points) for name in (first, second))
    grid_1, grid_2 = torch.meshgrid(*axes, indexing="ij")
    plane = {first: grid_1.reshape(-1), second: grid_2.reshape(-1)}
    finite = torch.isfinite(thetas).all(dim=-1)
    out = torch.full((len(thetas), points * points), math.nan, dtype=torch.float64)
    for k in torch.nonzero(finite).flatten().tolist():  # a diverged step has no boundary
        out[k] = objective.predict(thetas[k], plane)
    return BoundaryFrames((first, second), (axes[0], axes[1]), out.reshape(len(thetas), points, points))


def _axis(column: Tensor, points: int) -> Tensor:
    low, high = float(column.min()), float(column.max())
    pad = (high - low) * 0.15 or 1.0
    return torch.linspace(low - pad, high + pad, points, dtype=torch.float64)
