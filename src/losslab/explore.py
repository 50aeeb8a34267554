r"""What the web explorer asks of the library, as plain functions with results that serialize.

The explorer's page only draws; everything it shows is computed here or in the modules
this one calls:

- :func:`check_formula` — parse a typed formula and say where it goes wrong (the column);
- :func:`formula_mathml` — the loss, its partial derivatives and its Hessian as
  presentation MathML printed by SymPy;
- :func:`model_objective`, :func:`parse_points`, :func:`synthetic_points` — data + model
  objectives (line through the origin, line, quadratic, logistic classifier);
- :func:`view_domain` and :func:`grid_values` — the box to look at and L on a regular grid
  (a curve for one parameter, a surface for two), in one vectorized ``values`` call;
- :func:`curvature_at` — L, ∇L, the Hessian, its eigenvalues and the kind of curvature at a
  point, with the second-order Taylor model :math:`q(\theta + \delta) = L + g^\top\delta +
  \tfrac12 \delta^\top H \delta` on a small grid around it;
- :func:`race` — several optimizers from the same start, each a :func:`losslab.descend`.

The network plane of the "bowl vs mountains" view lives in :mod:`losslab.explore_network`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy
import torch
from torch import Tensor

from losslab.data import DataObjective, least_squares
from losslab.datasets import synthetic_linear, synthetic_quadratic
from losslab.derivatives import symbolic_gradient, symbolic_hessian
from losslab.descent import descend
from losslab.display import Readable
from losslab.domain import Domain, PointLike
from losslab.errors import LosslabError
from losslab.lockstep import lockstep, shares_steps
from losslab.objective import Objective, formula
from losslab.stationary import classify
from losslab.trajectory import Trajectory, plain_hyperparameters

# name -> (model formula in w's and x, loss, what a person calls it)
MODELS: dict[str, tuple[str, str, str]] = {
    "line_origin": ("w*x", "mse", "line through the origin  y = w·x"),
    "line": ("w0 + w1*x", "mse", "line  y = w0 + w1·x"),
    "quadratic": ("w0 + w1*x + w2*x**2", "mse", "quadratic  y = w0 + w1·x + w2·x²"),
    "logistic": ("sigmoid(w0 + w1*x)", "bce", "logistic classifier  P(y=1) = σ(w0 + w1·x)"),
}
SYNTHETIC = ("case_study_1", "linear", "quadratic", "labels")
_COLUMN = re.compile(r"at column (\d+)")


@dataclass(frozen=True)
class FormulaCheck(Readable):
    """The verdict on typed formula text: its variables, or the parser's message and column."""

    text: str
    ok: bool
    names: tuple[str, ...] = ()
    message: str = ""
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "ok": self.ok,
            "names": list(self.names),
            "message": self.message,
            "column": self.column,
        }

    def __str__(self) -> str:
        return f"ok: variables {', '.join(self.names)}" if self.ok else f"error: {self.message}"


def check_formula(text: str, variables: Sequence[str] | None = None) -> FormulaCheck:
    """Parse ``text`` through the whitelist parser; on failure keep the message and its column.

    >>> check_formula("w0 +* 2").column, check_formula("(w - 3)**2").names
    (5, ('w',))
    """
    try:
        objective = formula(text, variables)
    except LosslabError as error:
        found = _COLUMN.search(str(error))
        return FormulaCheck(text, False, message=str(error), column=int(found[1]) if found else None)
    return FormulaCheck(text, True, names=tuple(objective.names))


def formula_mathml(objective: Objective) -> dict[str, Any] | None:
    """The loss, each ∂L/∂θ_i and the Hessian as presentation MathML (SymPy's printer); None without a formula.

    >>> m = formula_mathml(formula("w**2"))
    >>> m["partials"][0]["name"], "<mn>2</mn>" in m["partials"][0]["mathml"]
    ('w', True)
    """
    if objective.expr is None:
        return None
    gradient, hessian = symbolic_gradient(objective), symbolic_hessian(objective)

    def ml(expr: Any) -> str:
        return str(sympy.mathml(expr, printer="presentation"))

    return {
        "loss": ml(objective.expr),
        "partials": [{"name": n, "mathml": ml(g)} for n, g in zip(objective.names, gradient or (), strict=True)],
        "hessian": None if hessian is None else ml(hessian),
    }


# -- data + model ----------------------------------------------------------------------------
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
        return [1.0, 2.0, 3.0, 4.0, 5.0], [2.1, 3.9, 6.1, 8.0, 9.9]
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
        raise LosslabError(f"synthetic data set {name!r} is not one of {', '.join(SYNTHETIC)}")


def model_objective(x: Sequence[float], y: Sequence[float], model: str) -> DataObjective:
    """The loss of one of :data:`MODELS` on points ``(x_i, y_i)``.

    >>> L = model_objective([1, 2, 3, 4, 5], [2.1, 3.9, 6.1, 8.0, 9.9], "line_origin")
    >>> L.names, round(float(L.value([2.0])), 6)
    (('w',), 0.008)
    """
    if model not in MODELS:
        raise LosslabError(f"model {model!r} is not one of {', '.join(MODELS)}")
    text, loss, title = MODELS[model]
    objective = least_squares(list(x), list(y), model=text, loss=loss)
    objective.title = f"{title}, {loss} over {len(x)} points"
    return objective


# -- what to look at -----------------------------------------------------------------------------
def view_domain(objective: Objective) -> Domain:
    """The objective's own box, or ±5 around the origin when it has none.

    >>> str(view_domain(formula("(w - 3)**2")))
    'w=-5:5'
    """
    return objective.domain if objective.domain is not None else Domain.box(objective.names, -5.0, 5.0)


@dataclass(frozen=True)
class GridValues(Readable):
    """L on a regular grid: a curve (one parameter) or a surface (two).

    Attributes:
        names: the parameters along the axes.
        axes: the coordinates along each axis.
        values: ``(n,)`` for a curve; ``(n_y, n_x)`` for a surface (row j is y = axes[1][j]),
            the layout Plotly's contour and surface traces take.
        extras: other named grids of the same shape (e.g. ``accuracy``).
    """

    names: tuple[str, ...]
    axes: tuple[Tensor, ...]
    values: Tensor
    extras: Mapping[str, Tensor] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        finite = self.values[torch.isfinite(self.values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.numel() else (None, None)
        return {
            "names": list(self.names),
            "axes": [a.tolist() for a in self.axes],
            "values": self.values.tolist(),
            "min": low,
            "max": high,
            "extras": {k: v.tolist() for k, v in self.extras.items()},
        }

    def __str__(self) -> str:
        shape = "×".join(str(len(a)) for a in self.axes)
        return f"L on a {shape} grid over {', '.join(self.names)}"


def grid_values(objective: Objective, domain: Domain | None = None, points: int = 101) -> GridValues:
    """L at every point of a ``points``-per-axis grid over ``domain`` (one or two parameters).

    >>> g = grid_values(formula("x**2 + 2*y**2"), Domain.box(("x", "y"), -1, 1), points=3)
    >>> g.values.tolist()
    [[3.0, 2.0, 3.0], [1.0, 0.0, 1.0], [3.0, 2.0, 3.0]]
    """
    if objective.dim not in (1, 2):
        raise LosslabError(
            f"a curve or surface needs 1 or 2 parameters; '{objective.title}' has {objective.dim}"
            f" ({', '.join(objective.names)})"
        )
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise LosslabError(f"points per axis must be a whole number ≥ 2, got {points!r}")
    box = domain if domain is not None else view_domain(objective)
    axes = tuple(torch.linspace(lo, hi, points, dtype=torch.float64) for _, (lo, hi) in box)
    if objective.dim == 1:
        values = objective.values(axes[0].unsqueeze(-1))
    else:
        x, y = torch.meshgrid(axes[0], axes[1], indexing="xy")  # (n_y, n_x)
        values = objective.values(torch.stack([x, y], dim=-1))
    return GridValues(tuple(objective.names), axes, values.detach())


# -- a data model's fit along a run -------------------------------------------------------------
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

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x.tolist(), "y": self.y.tolist()}

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
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise LosslabError(f"points must be a whole number ≥ 2, got {points!r}")
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


# -- curvature at a point ----------------------------------------------------------------------
@dataclass(frozen=True)
class PointCurvature(Readable):
    """L, ∇L and the Hessian at one point, its eigenvalues and kind, and the Taylor model nearby."""

    names: tuple[str, ...]
    point: Tensor
    value: float
    gradient: Tensor
    hessian: Tensor
    eigenvalues: Tensor
    kind: str
    taylor: GridValues

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "point": self.point.tolist(),
            "value": self.value,
            "gradient": self.gradient.tolist(),
            "gradient_norm": float(torch.linalg.vector_norm(self.gradient)),
            "hessian": self.hessian.tolist(),
            "eigenvalues": self.eigenvalues.tolist(),
            "kind": self.kind,
            "taylor": self.taylor.to_dict(),
        }

    def __str__(self) -> str:
        lam = ", ".join(f"{v:.6g}" for v in self.eigenvalues.tolist())
        return f"at {self.point.tolist()}: L = {self.value:.6g}, λ = [{lam}] ({self.kind} curvature)"


def curvature_at(objective: Objective, at: PointLike, radius: float | None = None, points: int = 31) -> PointCurvature:
    r"""The Hessian at a point, its eigenvalues and kind (:func:`losslab.classify`), and the
    second-order Taylor model :math:`q(\delta) = L + g^\top\delta + \tfrac12\delta^\top H\delta` on a
    ``points``-per-axis grid of half-width ``radius`` (default: a fifth of the view box) around it.

    >>> c = curvature_at(formula("x**2 - y**2"), "x=0,y=0", radius=1.0, points=3)
    >>> c.kind, c.eigenvalues.tolist(), c.taylor.values[0].tolist()
    ('saddle', [-2.0, 2.0], [0.0, -1.0, 0.0])
    """
    theta = objective.point(at)
    value, gradient = objective.value_and_grad(theta)
    hessian = objective.hessian(theta)
    eigenvalues = torch.linalg.eigvalsh(hessian) if torch.isfinite(hessian).all() else torch.full_like(theta, math.nan)
    kind = classify(eigenvalues) if torch.isfinite(eigenvalues).all() else "undefined"
    if radius is None:
        widths = view_domain(objective).upper - view_domain(objective).lower
        radius = float(widths.min()) / 5
    if not (math.isfinite(radius) and radius > 0):
        raise LosslabError(f"radius must be a finite number > 0, got {radius}")
    box = Domain(tuple(objective.names), tuple((float(c) - radius, float(c) + radius) for c in theta))
    model = _TaylorModel(objective.names, theta, value.detach(), gradient.detach(), hessian.detach())
    taylor = grid_values(model, box, points) if objective.dim <= 2 else GridValues((), (), torch.zeros(0))
    return PointCurvature(tuple(objective.names), theta, float(value), gradient, hessian, eigenvalues, kind, taylor)


class _TaylorModel(Objective):
    """The quadratic model of an objective around θ0, itself an objective (so it grids the same way)."""

    def __init__(self, names: Sequence[str], center: Tensor, value: Tensor, g: Tensor, h: Tensor) -> None:
        super().__init__(names=tuple(names), title="second-order Taylor model")
        self.center, self.at_center, self.g, self.h = center, value, g, h

    def _evaluate(self, thetas: Tensor) -> Tensor:
        delta = thetas - self.center
        return self.at_center + delta @ self.g + 0.5 * torch.einsum("...i,ij,...j->...", delta, self.h, delta)


# -- a race of optimizers --------------------------------------------------------------------------
@dataclass(frozen=True)
class Runner:
    """One optimizer in a race: its registry name, hyper-parameters and mini-batch size."""

    optimizer: str
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int | None = None


@dataclass(frozen=True)
class Race(Readable):
    """Several optimizers run from the same start on the same objective."""

    names: tuple[str, ...]
    start: Tensor
    runs: tuple[Trajectory, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "start": self.start.tolist(), "runs": [_run(t) for t in self.runs]}

    def __str__(self) -> str:
        return "\n".join(f"{t.optimizer:>9}: {t.diagnosis.reason}" for t in self.runs)


def _run(t: Trajectory) -> dict[str, Any]:
    return {
        "optimizer": t.optimizer,
        "hyperparameters": plain_hyperparameters(t.hyperparameters),
        "params": t.params.tolist(),
        "losses": t.losses.tolist(),
        "gradients": t.grads.tolist(),
        "lrs": t.lrs.tolist(),
        "gradient_norms": torch.linalg.vector_norm(t.grads, dim=-1).tolist(),
        "diagnosis": t.diagnosis.to_dict(),
        "notes": list(t.notes),
    }


def race(
    objective: Objective,
    start: PointLike,
    runners: Sequence[Runner],
    steps: int = 100,
    *,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> Race:
    """Each runner's descent from ``start``, as :func:`losslab.descend` would run it.

    The full-batch runners step together (:func:`losslab.lockstep.lockstep`: one vectorized
    evaluation per step for all of them); L-BFGS and mini-batch runners run one by one.
    ``should_stop`` is asked between runs and every 64 lock-step steps.

    >>> r = race(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"), "w0=0,w1=0",
    ...          [Runner("gd", {"lr": 0.1}), Runner("adam")], steps=1)
    >>> [round(v, 12) for v in r.runs[0].params[1].tolist()]
    [0.4, 0.6]
    """
    if not runners:
        raise LosslabError("a race needs at least one optimizer")
    theta = objective.point(start)
    together = [i for i, r in enumerate(runners) if shares_steps(objective, r.optimizer, r.batch_size)]
    shared = (
        lockstep(
            objective,
            theta,
            [(runners[i].optimizer, dict(runners[i].hyperparameters)) for i in together],
            steps=steps,
            should_stop=should_stop,
        )
        if together
        else []
    )
    runs: dict[int, Trajectory] = dict(zip(together, shared, strict=True))
    for i, runner in enumerate(runners):
        if i in runs:
            continue
        if should_stop is not None and should_stop():
            raise LosslabError(f"stopped after {len(runs)} of {len(runners)} optimizers: out of time")
        generator = torch.Generator().manual_seed(seed)
        runs[i] = descend(
            objective,
            theta,
            runner.optimizer,
            steps=steps,
            batch_size=runner.batch_size,
            generator=generator,
            **dict(runner.hyperparameters),
        )
    return Race(tuple(objective.names), theta, tuple(runs[i] for i in range(len(runners))))
