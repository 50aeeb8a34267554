r"""The curvature at one point: L, ∇L, the Hessian, its eigenvalues and kind, and the second-order
Taylor model :math:`q(\theta + \delta) = L + g^\top\delta + \tfrac12 \delta^\top H \delta` on a small grid around it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.analysis.stationary import classify
from losslab.errors import LosslabError
from losslab.objectives.domain import Domain, PointLike
from losslab.objectives.grid import Grid, evaluate_grid, view_domain
from losslab.objectives.objective import Objective
from losslab.serialize import Readable


@dataclass(frozen=True)
class PointCurvature(Readable):
    """L, ∇L and the Hessian at one point, its eigenvalues and kind, and the Taylor model nearby."""

    names: tuple[str, ...]
    point: Tensor
    value: float
    gradient: Tensor
    gradient_norm: float
    hessian: Tensor
    eigenvalues: Tensor
    kind: str
    taylor: Grid

    def __str__(self) -> str:
        lam = ", ".join(f"{v:.6g}" for v in self.eigenvalues.tolist())
        return f"at {self.point.tolist()}: L = {self.value:.6g}, λ = [{lam}] ({self.kind} curvature)"


def curvature_at(objective: Objective, at: PointLike, radius: float | None = None, points: int = 31) -> PointCurvature:
    r"""The Hessian at a point, its eigenvalues and kind (:func:`losslab.classify`), and the
    second-order Taylor model :math:`q(\delta) = L + g^\top\delta + \tfrac12\delta^\top H\delta` on a
    ``points``-per-axis grid of half-width ``radius`` (default: a fifth of the view box) around it.

    >>> from losslab.objectives.objective import formula
    >>> c = curvature_at(formula("x**2 - y**2"), "x=0,y=0", radius=1.0, points=3)
    >>> c.kind, c.eigenvalues.tolist(), c.taylor.plotly_z()[0].tolist()
    ('saddle', [-2.0, 2.0], [0.0, -1.0, 0.0])
    """
    theta = objective.point(at)
    value, gradient = objective.value_and_grad(theta)
    hessian = objective.hessian(theta)
    eigenvalues = torch.linalg.eigvalsh(hessian) if torch.isfinite(hessian).all() else torch.full_like(theta, math.nan)
    kind = classify(eigenvalues) if torch.isfinite(eigenvalues).all() else "undefined"
    if radius is None:
        box = view_domain(objective)
        widths = box.upper - box.lower
        radius = float(widths.min()) / 5
    if not (math.isfinite(radius) and radius > 0):
        raise LosslabError(f"radius must be a finite number > 0, got {radius}")
    around = Domain(tuple(objective.names), tuple((float(c) - radius, float(c) + radius) for c in theta))
    model = _TaylorModel(objective.names, theta, value.detach(), gradient.detach(), hessian.detach())
    taylor = evaluate_grid(model, around, points) if objective.dim <= 2 else Grid((), (), {"loss": torch.zeros(0)})
    norm = float(torch.linalg.vector_norm(gradient))
    names = tuple(objective.names)
    return PointCurvature(names, theta, float(value), gradient, norm, hessian, eigenvalues, kind, taylor)


class _TaylorModel(Objective):
    """The quadratic model of an objective around θ0, itself an objective (so it grids the same way)."""

    def __init__(self, names: Sequence[str], center: Tensor, value: Tensor, g: Tensor, h: Tensor) -> None:
        super().__init__(names=tuple(names), title="second-order Taylor model")
        self.center, self.at_center, self.g, self.h = center, value, g, h

    def _evaluate(self, thetas: Tensor) -> Tensor:
        delta = thetas - self.center
        return self.at_center + delta @ self.g + 0.5 * torch.einsum("...i,ij,...j->...", delta, self.h, delta)
