"""The explorer's named data models and data sets: a model of one input ``x`` on points ``(x_i, y_i)``.

- :data:`MODELS` — line through the origin, line, quadratic, logistic classifier, each a model
  formula in the parameters and ``x`` with its loss;
- :func:`parse_points` (pasted ``x, y`` lines), :func:`synthetic_points` (data made on the spot);
- :func:`model_objective` — the loss of a named model on points;
- :func:`model_fits` — the model's predictions at every step of a run, for drawing the fit;
- :data:`MODEL_DATA`, :func:`suitable_data` — which data sets fit which model.

The default start and learning rates for any loss are :func:`losslab.analysis.defaults.suggest_defaults`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_choice, check_int, not_one_of
from losslab.objectives.columns import case_study_1_points, synthetic_linear, synthetic_quadratic
from losslab.objectives.data import DataObjective, least_squares
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

# name -> (model formula in w's and x, loss, what a person calls it)
MODELS: dict[str, tuple[str, str, str]] = {
    "line_origin": ("w*x", "mse", "line through the origin  y = w·x"),
    "line": ("w0 + w1*x", "mse", "line  y = w0 + w1·x"),
    "quadratic": ("w0 + w1*x + w2*x**2", "mse", "quadratic  y = w0 + w1·x + w2·x²"),
    "logistic": ("sigmoid(w0 + w1*x)", "bce", "logistic classifier  P(y=1) = σ(w0 + w1·x)"),
}
SYNTHETIC = ("case_study_1", "linear", "quadratic", "labels")
# the data set each model starts on: a classifier needs 0/1 labels, a regression needs y values that are not classes
MODEL_DATA: dict[str, str] = {
    "line_origin": "case_study_1",
    "line": "case_study_1",
    "quadratic": "quadratic",
    "logistic": "labels",
}
LABELLED = ("labels",)  # the synthetic sets whose y are the classes 0 and 1


def suitable_data(model: str) -> tuple[str, ...]:
    """The synthetic data sets that fit ``model``: 0/1 labels for a classifier, the others for a regression.

    >>> suitable_data("logistic"), suitable_data("line")
    (('labels',), ('case_study_1', 'linear', 'quadratic'))
    """
    check_choice("model", model, MODELS)
    classifier = MODELS[model][1] == "bce"
    return tuple(name for name in SYNTHETIC if (name in LABELLED) == classifier)


def check_fits(model: str, y: Sequence[float]) -> None:
    """Raise when the targets ``y`` cannot be fitted by ``model``: a classifier needs labels 0 or 1.

    >>> try:
    ...     check_fits("logistic", [2.1, 3.9])
    ... except LosslabError as error:
    ...     print(error)  # doctest: +ELLIPSIS
    the logistic classifier fits labels y = 0 or 1 (the class of each point), but y = 2.1 here: choose the ...
    """
    check_choice("model", model, MODELS)
    if MODELS[model][1] != "bce":
        return
    other = next((v for v in y if v not in (0.0, 1.0)), None)
    if other is not None:
        raise LosslabError(
            f"the logistic classifier fits labels y = 0 or 1 (the class of each point), but y = {other:g} here: "
            f"choose the data set {' or '.join(repr(n) for n in suitable_data(model))}, paste points whose y is "
            f"0 or 1, or pick a regression model ({', '.join(n for n, m in MODELS.items() if m[1] != 'bce')})"
        )


def parse_points(text: str, max_points: int = 1000) -> tuple[list[float], list[float]]:
    """Read pasted ``x,y`` lines (commas, spaces or tabs; an optional header line).

    >>> parse_points("x,y\\n1, 2.5\\n2 3.9")
    ([1.0, 2.0], [2.5, 3.9])
    """
    xs: list[float] = []
    ys: list[float] = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        cells = [c for c in re.split(r"[,;\s]+", line.strip()) if c]
        if not cells or (number == 1 and not _numeric(cells[0])):
            continue
        if len(cells) != 2 or not all(_numeric(c) for c in cells):
            raise LosslabError(f"line {number} ('{line.strip()[:40]}') is not two numbers 'x, y'")
        xs.append(float(cells[0]))
        ys.append(float(cells[1]))
    if len(xs) < 2:
        raise LosslabError(f"give at least 2 points as 'x, y' lines; found {len(xs)}")
    if len(xs) > max_points:
        raise LosslabError(f"{len(xs)} points given; at most {max_points} are accepted")
    return xs, ys


def _numeric(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def synthetic_points(name: str, n: int = 20, seed: int = 0) -> tuple[list[float], list[float]]:
    """A data set made on the spot: ``case_study_1`` (the seed's five points), ``linear``
    (listing 3.1), ``quadratic`` (listing 3.3) or ``labels`` (0/1 labels that overlap around x = 1).

    >>> synthetic_points("case_study_1")[1]
    [2.1, 3.9, 6.1, 8.0, 9.9]
    """
    gen = torch.Generator().manual_seed(seed)
    if name == "case_study_1":
        return case_study_1_points()
    elif name == "linear":
        data = synthetic_linear(n, generator=gen)
        return (data["x"] / 5).tolist(), (data["y"] / 5).tolist()  # scaled so the bowl is not a knife edge
    elif name == "quadratic":
        data = synthetic_quadratic(n, generator=gen)
        return (data["x"] / 5).tolist(), (data["y"] / 10).tolist()
    elif name == "labels":
        x = 4 * torch.rand(n, generator=gen, dtype=torch.float64) - 1
        noisy = x + 0.8 * torch.randn(n, generator=gen, dtype=torch.float64)
        return x.tolist(), (noisy > 1).to(torch.float64).tolist()
    else:
        raise not_one_of("synthetic data set", name, SYNTHETIC)


def model_objective(x: Sequence[float], y: Sequence[float], model: str) -> DataObjective:
    """The loss of one of :data:`MODELS` on points ``(x_i, y_i)``.

    >>> L = model_objective([1, 2, 3, 4, 5], [2.1, 3.9, 6.1, 8.0, 9.9], "line_origin")
    >>> L.names, round(float(L.value([2.0])), 6)
    (('w',), 0.008)
    """
    check_fits(model, list(y))
    text, loss, title = MODELS[model]
    objective = least_squares(list(x), list(y), model=text, loss=loss)
    objective.title = f"{title}, {loss} over {len(x)} points"
    return objective


FIT_POINTS = 121


@dataclass(frozen=True)
class ModelFits(Readable):
    """A data model's predictions f(θ_k; x) at every θ_k of a run, on a grid of its one input.

    Attributes:
        x: ``(G,)`` the input grid: the data's range and 8 % more on each side.
        y: ``(K, G)`` row k is f(θ_k; x) (for a logistic model, P(y = 1)).
    """

    x: Tensor
    y: Tensor

    def __str__(self) -> str:
        return f"{len(self.y)} fits on {len(self.x)} points of x ∈ [{float(self.x[0]):.4g}, {float(self.x[-1]):.4g}]"


def model_fits(objective: Objective, params: Sequence[Sequence[float]] | Tensor, points: int = FIT_POINTS) -> ModelFits:
    """The model of a data objective at each parameter vector, through :meth:`DataObjective.predict`.

    >>> L = model_objective([1, 2, 3], [2, 4, 6], "line_origin")
    >>> fits = model_fits(L, [[0.0], [2.0]], points=3)
    >>> [round(v, 2) for v in fits.x.tolist()], [[round(v, 2) for v in row] for row in fits.y.tolist()]
    ([0.84, 2.0, 3.16], [[0.0, 0.0, 0.0], [1.68, 4.0, 6.32]])
    """
    if not isinstance(objective, DataObjective) or len(objective.inputs) != 1:
        raise LosslabError(f"a model fit is drawn for a data objective with one input; '{objective.title}' is not one")
    check_int("points", points, least=2)
    try:  # a diverged step's non-finite θ is drawn as what it is, so no as_point check here
        thetas = torch.as_tensor(params, dtype=objective.dtype)
    except (ValueError, TypeError):
        raise LosslabError(f"params must be a list of lists of {objective.dim} numbers") from None
    if thetas.dim() != 2 or len(thetas) == 0 or thetas.shape[1] != objective.dim:
        raise LosslabError(
            f"params must be one or more vectors of {objective.dim} numbers ({', '.join(objective.names)}); "
            f"got shape {tuple(thetas.shape)}"
        )
    name = objective.inputs[0]
    column = objective.data[name]
    low, high = float(column.min()), float(column.max())
    pad = (high - low) * 0.08 or 1.0
    x = torch.linspace(low - pad, high + pad, points, dtype=torch.float64)
    return ModelFits(x, torch.stack([objective.predict(theta, {name: x}) for theta in thetas]))
