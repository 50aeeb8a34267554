"""A classifier's decision boundary over its two input features, with the data coloured by class.

Two kinds of classifier are drawn:

- a :class:`~losslab.objectives.data.DataObjective` whose model reads two input columns (e.g.
  ``sigmoid(w0 + w1*x1 + w2*x2)`` with loss ``bce``): the background is the predicted
  probability of class 1 from :meth:`DataObjective.predict` on a grid of inputs, and the
  boundary is the level p = 0.5;
- a :class:`~losslab.objectives.network.NetworkObjective` on 2-D inputs (the moons demo): the
  background is the softmax probability of class 1 (two classes) or the predicted class
  (more), and the boundaries are where the predicted class changes.

The input frame is the data's range widened by 10 % on each side.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from losslab.errors import LosslabError, check_int
from losslab.objectives.data import DataObjective
from losslab.objectives.domain import PointLike
from losslab.objectives.network import NetworkObjective
from losslab.objectives.objective import Objective
from losslab.plot._style import figure_of, legend_below, new_axes, parameter_label

Predict = Callable[[Tensor], Tensor]
# shapes and greyscale-distinct fills, so the classes read in print too
CLASS_STYLE = (("o", "#ffffff"), ("s", "#222222"), ("^", "#e4572e"), ("D", "#33bbee"), ("v", "#ff66cc"))
BOUNDARY_CMAP = "cividis"


def decision_boundary(
    objective: Objective,
    theta: PointLike | Tensor | None = None,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    title: str | None = None,
) -> Figure:
    """The classifier at ``theta`` over its 2-D input plane, with the data points by class.

    Args:
        objective: a ``DataObjective`` with two input columns, or a ``NetworkObjective``
            whose inputs have two features.
        theta: the parameters (default: the known minimum of a data objective, or the
            network's trained parameters ``center``).
        ax: draw into these axes (default: a new figure).
        resolution: grid points per input axis (one batched prediction).
        title: the title (default: says which classifier).

    >>> from losslab.objectives.data import data_objective
    >>> L = data_objective({"x1": [0, 1, 2, 3], "x2": [1, 0, 1, 0], "y": [0, 0, 1, 1]},
    ...                    "sigmoid(w0 + w1*x1 + w2*x2)", loss="bce")
    >>> fig = decision_boundary(L, "w0=-3,w1=2,w2=0", resolution=30)
    >>> [line.get_gid() for line in fig.axes[0].lines]
    ['class:0', 'class:1']
    """
    check_int("resolution", resolution, least=2)
    if isinstance(objective, DataObjective):
        inputs, labels, names, predict = _data_classifier(objective, theta)
    elif isinstance(objective, NetworkObjective):
        inputs, labels, names, predict = _network_classifier(objective, theta)
    else:
        raise LosslabError(
            "a decision boundary needs a DataObjective or a NetworkObjective classifier, "
            f"got {type(objective).__name__}"
        )
    ax = new_axes(ax)
    low, high = inputs.min(dim=0).values, inputs.max(dim=0).values
    pad = 0.1 * (high - low).clamp_min(1e-12)
    axes = [
        torch.linspace(float(a), float(b), resolution, dtype=torch.float64)
        for a, b in zip(low - pad, high + pad, strict=True)
    ]
    g0, g1 = torch.meshgrid(*axes, indexing="xy")
    with torch.no_grad():
        probability = predict(torch.stack([g0.reshape(-1), g1.reshape(-1)], dim=-1)).reshape(g0.shape)
    mesh = ax.contourf(g0.numpy(), g1.numpy(), probability.numpy(), levels=np.linspace(0, 1, 11), cmap=BOUNDARY_CMAP,
                       alpha=0.55)  # fmt: skip
    line = ax.contour(g0.numpy(), g1.numpy(), probability.numpy(), levels=[0.5], colors="black", linewidths=2)
    line.set_gid("boundary")
    for index, label in enumerate(sorted(set(labels.tolist()))):
        marker, color = CLASS_STYLE[index % len(CLASS_STYLE)]
        chosen = inputs[labels == label]
        ax.plot(chosen[:, 0].numpy(), chosen[:, 1].numpy(), linestyle="none", marker=marker, color=color,
                markeredgecolor="#888888", markersize=5, label=f"class {label:g}", gid=f"class:{label:g}")  # fmt: skip
    ax.set_xlabel(parameter_label(names[0]))
    ax.set_ylabel(parameter_label(names[1]))
    ax.set_title(title or "decision boundary (black line: p = 0.5)", fontsize=10)
    figure_of(ax).colorbar(mesh, ax=ax, label="predicted probability of class 1")
    legend_below(ax)
    return figure_of(ax)


def _data_classifier(
    objective: DataObjective, theta: PointLike | Tensor | None
) -> tuple[Tensor, Tensor, tuple[str, str], Predict]:
    if len(objective.inputs) != 2:
        raise LosslabError(
            f"a decision boundary needs a model of two inputs; this one reads {', '.join(objective.inputs) or 'none'}"
        )
    point = _theta_of(objective, theta)
    data = objective.data
    first, second = objective.inputs
    inputs = torch.stack([data[first], data[second]], dim=-1).to(torch.float64)

    def predict(grid: Tensor) -> Tensor:
        return objective.predict(point, {first: grid[:, 0], second: grid[:, 1]}).to(torch.float64)

    return inputs, data[objective.target], (first, second), predict


def _network_classifier(
    objective: NetworkObjective, theta: PointLike | Tensor | None
) -> tuple[Tensor, Tensor, tuple[str, str], Predict]:
    data = objective.data
    if not (isinstance(data, tuple) and isinstance(data[0], Tensor) and data[1] is not None) or data[0].dim() != 2 \
            or data[0].shape[1] != 2:  # fmt: skip
        raise LosslabError("a network's decision boundary needs in-memory inputs with two features, shape (N, 2)")
    point = objective.center if theta is None else objective._theta(theta)
    inputs, labels = data[0], data[1]

    def predict(grid: Tensor) -> Tensor:
        logits = objective.outputs(point, grid.to(objective.device, objective.dtype))
        if logits.dim() == 1 or logits.shape[-1] == 1:
            return torch.sigmoid(logits.reshape(-1)).to(torch.float64).cpu()
        probabilities = torch.softmax(logits, dim=-1)
        return (
            (probabilities[:, 1] if logits.shape[-1] == 2 else probabilities.argmax(-1) / (logits.shape[-1] - 1))
            .to(torch.float64)
            .cpu()
        )

    return inputs.to(torch.float64).cpu(), labels.to(torch.float64).cpu(), ("input 1", "input 2"), predict


def _theta_of(objective: DataObjective, theta: PointLike | Tensor | None) -> Tensor:
    if theta is not None:
        return objective.point(theta)
    if objective.known_points:
        return torch.tensor(objective.known_points[0].point, dtype=objective.dtype)
    raise LosslabError("give theta: this classifier has no known minimum (fit it with losslab.descend first)")
