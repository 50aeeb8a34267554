r"""Conditioning and the largest stable learning rate of gradient descent near a minimum.

Gradient descent near a minimum θ* with Hessian eigenvalues :math:`\lambda_i` multiplies
the error along each eigenvector by :math:`1 - \eta\lambda_i` per step, so it converges
iff :math:`0 < \eta < 2/\lambda_{\max}` — exactly for quadratics, locally otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.analysis.derivatives import symbolic_hessian
from losslab.analysis.stationary import StationaryPoint, as_floats, hessian_eigenvalues, stationary_points
from losslab.errors import LosslabError
from losslab.objectives.domain import PointLike
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import KnownPoint, Objective
from losslab.serialize import Readable

PASS_A_POINT = "pass the point to use (--at in the CLI, at= in Python)"
BEHAVIOURS = (
    "converges monotonically",
    "oscillates but converges",
    "oscillates forever",
    "diverges",
    "stalls",
)


def _is_quadratic(objective: Objective) -> bool:
    h = symbolic_hessian(objective)
    return h is not None and not h.free_symbols


def reference_minimum(objective: Objective) -> Tensor:
    """The minimum to linearize at: the known global one, else the lowest minimum found."""
    known = _known_minimum(objective)
    minima = [known] if known is not None else [p for p in stationary_points(objective) if p.kind == "minimum"]
    if not minima:
        raise LosslabError(f"no minimum of '{objective.title}' was found; {PASS_A_POINT}")
    point = objective.point(torch.as_tensor(minima[0].point, dtype=torch.float64).tolist())
    if not minima[0].differentiable:  # |x| at 0: torch's DiracDelta(0) is 0, so a "Hessian" there would be made up
        why = _no_hessian(getattr(minima[0], "dimension", 0))
        raise LosslabError(f"the lowest minimum found, ({_coords(point)}), {why}, so no 2/λmax; {PASS_A_POINT}")
    return point


def _known_minimum(objective: Objective) -> KnownPoint | None:
    known = [k for k in objective.known_points if k.kind == "minimum"]
    return next((k for k in known if k.is_global), min(known, key=lambda k: k.value)) if known else None


def _point(objective: Objective, at: PointLike | None) -> Tensor:
    return reference_minimum(objective) if at is None else objective.point(at)


def _hessian_eigenvalues(objective: Objective, at: PointLike | None) -> tuple[Tensor, Tensor]:
    point = _point(objective, at)
    hessian = objective.hessian(point)
    if not bool(torch.isfinite(hessian).all()):
        raise LosslabError(
            f"the Hessian at ({_coords(point)}) is not finite: L is not twice differentiable there; {PASS_A_POINT}"
        )
    return point, hessian_eigenvalues(hessian)


def condition_number(objective: Objective | str, at: PointLike | None = None) -> float:
    """:math:`\\kappa = |\\lambda|_{\\max} / |\\lambda|_{\\min}` of the Hessian (∞ when singular).

    >>> from losslab.objectives.objective import formula
    >>> round(condition_number(formula("x**2 + 10*y**2"), [0.0, 0.0]), 12)
    10.0
    """
    objective = as_objective(objective)
    lam = _hessian_eigenvalues(objective, at)[1].abs()
    return math.inf if float(lam.min()) == 0 else float(lam.max() / lam.min())


def max_stable_lr(objective: Objective | str, at: PointLike | None = None) -> float | None:
    """The largest learning rate for which gradient descent converges near the minimum,
    :math:`2/\\lambda_{\\max}` (exact for quadratics); None when no eigenvalue is positive
    or the Hessian is not finite.

    >>> from losslab.objectives.objective import formula
    >>> max_stable_lr(formula("(w - 3)**2"))
    1.0
    """
    objective = as_objective(objective)
    top = lambda_max(objective, at)
    return 2 / top if top is not None and top > 0 else None


def lambda_max(objective: Objective, at: PointLike | None = None) -> float | None:
    """The largest Hessian eigenvalue :math:`\\lambda_{\\max}` at ``at`` (default: the reference
    minimum); None where the Hessian there is not finite.

    >>> from losslab.objectives.objective import formula
    >>> lambda_max(formula("x**2 + 10*y**2"), [1.0, 1.0])
    20.0
    """
    hessian = objective.hessian(_point(objective, at))
    return float(hessian_eigenvalues(hessian).max()) if torch.isfinite(hessian).all() else None


@dataclass(frozen=True)
class ReferenceCurvature:
    """Where an analysis takes its curvature figures, and the figures there (None: not defined)."""

    where: str
    lambda_max: float | None
    condition_number: float | None
    max_stable_lr: float | None


def reference_curvature(
    objective: Objective, minima: Sequence[StationaryPoint], at: Tensor | None, notes: list[str]
) -> ReferenceCurvature:
    """λmax, the condition number and 2/λmax: everywhere when the Hessian is constant (a quadratic
    loss), else at the known global minimum, else at the lowest of ``minima`` (a valley of minima:
    at its point) — when L is differentiable there, else at ``at``; what went wrong goes to ``notes``.

    >>> from losslab.objectives.objective import formula
    >>> c = reference_curvature(formula("w0**2 + w1**2", ["w0", "w1", "w2"]), [], None, [])
    >>> c.where, c.lambda_max, c.condition_number, c.max_stable_lr
    ('everywhere (the Hessian is constant)', 2.0, inf, 1.0)
    """
    h = symbolic_hessian(objective)
    if h is not None and not h.free_symbols:
        constant = torch.tensor([[float(v) for v in row] for row in h.tolist()], dtype=torch.float64)
        return _figures(constant, "everywhere (the Hessian is constant)", notes)
    known, dimension = _known_minimum(objective), 0
    if known is not None:
        point, smooth = objective.point(list(known.point)), known.differentiable
        what = f"the known global minimum ({_coords(point)})"
    elif minima:
        point, smooth, what = (
            minima[0].point,
            minima[0].differentiable,
            f"the lowest minimum found, ({_coords(minima[0].point)}),",
        )
        dimension = minima[0].dimension
    else:
        point, smooth, what = None, False, ""
    if point is not None and smooth:
        return _figures(objective.hessian(point), f"at {what.rstrip(',')}", notes)
    if at is not None:
        return _figures(objective.hessian(at), f"at the given point ({_coords(at)})", notes)
    notes.append(
        f"no minimum of '{objective.title}' was found to take the curvature at; {PASS_A_POINT}"
        if point is None
        else f"{what} {_no_hessian(dimension)}, so no condition number or 2/λmax; {PASS_A_POINT}"
    )
    return ReferenceCurvature("", None, None, None)


def _no_hessian(dimension: int) -> str:
    """Why a minimum has no Hessian: a kink (|x| at 0), or a point of a crease (|x·y|'s axes; at their crossing L is
    differentiable, but not twice)."""
    if dimension:
        return "lies on a crease, where L is not differentiable: there is no Hessian on it"
    return "is a point where L is not differentiable: there is no Hessian there"


def _coords(point: Tensor) -> str:
    return ", ".join(f"{v:.6g}" for v in as_floats(point))


def _figures(hessian: Tensor, where: str, notes: list[str]) -> ReferenceCurvature:
    if not bool(torch.isfinite(hessian).all()):
        notes.append(f"the Hessian {where} is not finite: no condition number or 2/λmax there")
        return ReferenceCurvature(where, None, None, None)
    lam = hessian_eigenvalues(hessian)
    top, size = float(lam.max()), lam.abs()
    kappa = None if float(size.max()) == 0 else math.inf if float(size.min()) == 0 else float(size.max() / size.min())
    if top <= 0:
        notes.append(f"λmax = {top:.6g} {where}: no positive curvature, so 2/λmax is not defined")
    return ReferenceCurvature(where, top, kappa, 2 / top if top > 0 else None)


@dataclass
class LrPrediction(Readable):
    """What gradient descent with learning rate ``lr`` does near a point, and why.

    ``factors`` are :math:`1 - \\eta\\lambda_i`, the per-step multipliers of the error along
    each Hessian eigenvector; ``exact`` is True for quadratics.
    """

    lr: float
    behaviour: str
    reason: str
    eigenvalues: Tensor
    factors: Tensor
    max_stable_lr: float | None
    exact: bool
    point: Tensor

    def __str__(self) -> str:
        return f"lr {self.lr:g}: {self.behaviour} — {self.reason}"


def _behaviour(lr: float, lam: Tensor, factors: Tensor, limit: str) -> tuple[str, str]:
    big = float(factors.abs().max())
    if big > 1 + 1e-12:
        if float(lam.min()) < 0:
            return (
                "diverges",
                f"the Hessian has eigenvalue {float(lam.min()):.6g} < 0: "
                f"the point is not a minimum, and descent moves away from it",
            )
        return (
            "diverges",
            f"lr {lr:g} is above {limit}: the factor 1 − lr·λ = {float(factors.min()):.6g} has size > 1, "
            f"so the error grows ×{big:.6g} per step",
        )
    if float(factors.min()) <= -1 + 1e-12:
        return (
            "oscillates forever",
            f"lr {lr:g} equals {limit}: the factor 1 − lr·λmax = −1 flips the error's sign at the same size every step",
        )
    if float(factors.max()) >= 1 - 1e-6:
        return (
            "stalls",
            f"the factor 1 − lr·λmin = {float(factors.max()):.8g} is about 1: "
            f"far below {limit}, progress along the flattest direction is negligible",
        )
    if float(factors.min()) < 0:
        return (
            "oscillates but converges",
            f"lr {lr:g} is between 1/λmax and {limit}: the factor 1 − lr·λmax = {float(factors.min()):.6g} "
            f"lies in (−1, 0), so the error flips sign while shrinking",
        )
    return (
        "converges monotonically",
        f"lr {lr:g} is at most 1/λmax (below {limit}): every factor 1 − lr·λ lies in [0, "
        f"1), so the error shrinks without changing sign (×{big:.6g} per step)",
    )


def predict_gd(objective: Objective | str, lr: float, at: PointLike | None = None) -> LrPrediction:
    """Predict plain gradient descent's behaviour from the factors :math:`1 - \\eta\\lambda_i`.

    >>> from losslab.objectives.objective import formula
    >>> [predict_gd(formula("(w - 3)**2"), lr).behaviour for lr in (0.1, 0.75, 1.0, 2.0)]
    ['converges monotonically', 'oscillates but converges', 'oscillates forever', 'diverges']
    """
    objective = as_objective(objective)
    if not (math.isfinite(lr) and lr > 0):
        raise LosslabError(f"learning rate {lr} must be a positive finite number")
    point, lam = _hessian_eigenvalues(objective, at)
    factors = 1 - lr * lam
    lam_max = float(lam.max())
    stable = 2 / lam_max if lam_max > 0 else None
    limit = f"2/λmax = {stable:.6g}" if stable is not None else "any stable rate (no positive curvature)"
    behaviour, reason = _behaviour(lr, lam, factors, limit)
    exact = _is_quadratic(objective)
    reason += " (exact: the loss is quadratic)" if exact else " (locally, near the minimum)"
    return LrPrediction(lr, behaviour, reason, lam, factors, stable, exact, point)
