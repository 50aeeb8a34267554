r"""Analysis of a loss in one bundle: derivatives, stationary points, convexity, conditioning
and the largest stable learning rate — :class:`Analysis` is what the CLI and web print.

The parts live in :mod:`losslab.analysis.stationary`, :mod:`losslab.analysis.convexity` and
:mod:`losslab.analysis.stability`; :func:`analyze` calls each and gathers the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from losslab.analysis.convexity import ConvexityReport, convexity
from losslab.analysis.derivatives import (
    ClairautReport,
    GradientReport,
    TaylorReport,
    as_direction,
    clairaut,
    directional_derivative,
    gradient_report,
    symbolic_gradient,
    symbolic_hessian,
    taylor,
)
from losslab.analysis.stability import reference_curvature
from losslab.analysis.stationary import StationaryPoint, as_floats, search_box, stationary_points
from losslab.errors import LosslabError
from losslab.objectives.domain import Domain, PointLike
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.serialize import Readable, jsonable

# analyze samples the full Hessian at 2000 points for convexity: n² numbers each (100 parameters: 160 MB in
# float64; a 1 508-parameter network asked for 36 GB and was killed)
MAX_ANALYZED_PARAMETERS = 100


@dataclass
class Analysis(Readable):
    """The whole analysis of one objective; ``to_dict()`` is what ``losslab analyze --json`` prints."""

    names: tuple[str, ...]
    title: str
    gradient: tuple[str, ...] | None
    hessian: list[list[str]] | None
    stationary_points: list[StationaryPoint]
    global_minimum: StationaryPoint | None
    convexity: ConvexityReport
    condition_number: float | None
    max_stable_lr: float | None
    notes: list[str] = field(default_factory=list)
    gradient_report: GradientReport | None = None
    at_hessian: Tensor | None = None
    clairaut: ClairautReport | None = None
    taylor: TaylorReport | None = None
    directional: tuple[Tensor, float] | None = None
    curvature_at: str = ""
    lambda_max: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "variables": list(self.names),
            "gradient": None if self.gradient is None else dict(zip(self.names, self.gradient, strict=True)),
            "hessian": self.hessian,
            "stationary_points": [p.to_dict(self.names) for p in self.stationary_points],
            "global_minimum": None if self.global_minimum is None else self.global_minimum.to_dict(self.names),
            "convexity": self.convexity.to_dict(),
            "condition_number": self.condition_number,
            "max_stable_lr": self.max_stable_lr,
            "lambda_max": self.lambda_max,
            "curvature_at": self.curvature_at,
            "notes": list(self.notes),
            "gradient_report": jsonable(self.gradient_report),
            "at_hessian": None if self.at_hessian is None else [as_floats(r) for r in self.at_hessian],
            "clairaut": jsonable(self.clairaut),
            "taylor": None if self.taylor is None else self.taylor.to_dict(),
            "directional_derivative": None
            if self.directional is None
            else {"direction": as_floats(self.directional[0]), "value": self.directional[1]},
        }

    def __str__(self) -> str:
        out = [f"Analysis of {self.title}  (variables: {', '.join(self.names)})"]
        if self.gradient is not None and self.hessian is not None:
            out += ["", "Gradient"] + [f"  ∂L/∂{n} = {g}" for n, g in zip(self.names, self.gradient, strict=True)]
            out += ["Hessian"] + ["  [" + ", ".join(row) + "]" for row in self.hessian]
        out += ["", f"Stationary points ({len(self.stationary_points)})"]
        out += [f"  {p}" for p in self.stationary_points[:20]]
        if len(self.stationary_points) > 20:
            out.append(f"  … and {len(self.stationary_points) - 20} more")
        if self.global_minimum is not None and len(self.stationary_points) > 1:
            out.append(f"Lowest minimum found: {self.global_minimum}")
        out += ["", f"Convexity: {self.convexity}"]
        if self.curvature_at and self.lambda_max is not None:
            out.append(f"Curvature taken {self.curvature_at}: λmax = {self.lambda_max:.6g}")
        lr = "—" if self.max_stable_lr is None else f"{self.max_stable_lr:.6g}"
        out += [f"Condition number: {_kappa(self.condition_number)}", f"Largest stable learning rate 2/λmax: {lr}"]
        out += [f"Note: {n}" for n in self.notes]
        if self.clairaut is not None:
            out += ["", "Mixed partials (Clairaut)", str(self.clairaut)]
        if self.gradient_report is not None:
            out += ["", str(self.gradient_report)]
        if self.at_hessian is not None:
            out += ["Hessian there"] + [
                "  [" + ", ".join(f"{v:.10g}" for v in row) + "]" for row in self.at_hessian.tolist()
            ]
        if self.directional is not None:
            unit = ", ".join(f"{v:.6g}" for v in self.directional[0].tolist())
            out.append(f"Directional derivative along û = ({unit}): {self.directional[1]:.10g}")
        if self.taylor is not None:
            out += ["", "Taylor approximation over the displacement δ", str(self.taylor)]
        return "\n".join(out)


def _kappa(value: float | None) -> str:
    if value is None:
        return "—"
    return "∞ (the Hessian is singular)" if math.isinf(value) else f"{value:.6g}"


def analyze(
    objective: Objective | str,
    domain: Domain | str | None = None,
    at: PointLike | None = None,
    *,
    displacement: PointLike | None = None,
    direction: PointLike | None = None,
    generator: torch.Generator | None = None,
) -> Analysis:
    """Derivatives, stationary points, convexity, conditioning and stability in one bundle.

    The curvature figures (the condition number and 2/λmax) are taken everywhere when the
    Hessian is constant (a quadratic loss), else at the known global minimum, else at the lowest
    minimum found where L is differentiable (a set's point for a valley of minima), else at ``at``.

    >>> from losslab.objectives.objective import formula
    >>> a = analyze(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"), at="w0=0,w1=0")
    >>> a.to_dict()["gradient"], a.convexity.verdict, round(a.max_stable_lr, 6)
    ({'w0': '2*w0 + 3*w1 - 4', 'w1': '3*w0 + 5*w1 - 6'}, 'convex', 0.291796)

    Raises:
        LosslabError: the loss has more than :data:`MAX_ANALYZED_PARAMETERS` parameters (a network: its
            curvature is :mod:`losslab.curvature`'s).
    """
    objective = as_objective(objective)
    if objective.dim > MAX_ANALYZED_PARAMETERS:
        raise LosslabError(
            f"analyze takes a loss of at most {MAX_ANALYZED_PARAMETERS} parameters (full Hessians at thousands of "
            f"points); this one has {objective.dim:,}: for a network use losslab.curvature (top_eigenvalues, "
            "trace, density) and losslab.landscape"
        )
    box = search_box(objective, domain)
    gradient, hessian = symbolic_gradient(objective), symbolic_hessian(objective)
    notes: list[str] = []
    try:
        points = stationary_points(objective, box if domain is not None else None, generator=generator)
    except LosslabError as err:  # e.g. too many parameters for the numeric search
        points = []
        notes.append(str(err))
    minima = [p for p in points if p.kind == "minimum"]
    if at is None and (displacement is not None or direction is not None):
        raise LosslabError("a displacement or direction needs a point: give 'at' (--at) as well")
    theta = None if at is None else objective.point(at)
    curvature = reference_curvature(objective, minima, theta, notes)
    convex = convexity(objective, box, generator=generator)
    if convex.undefined:
        notes.append(
            f"part of the box is outside the formula's domain (L is not finite at {convex.undefined} of the "
            f"convexity samples); the search for stationary points and convexity leaves that part out"
        )
    return Analysis(
        names=tuple(objective.names),
        title=objective.title,
        gradient=None if gradient is None else tuple(str(g) for g in gradient),
        hessian=None if hessian is None else [[str(e) for e in row] for row in hessian.tolist()],
        stationary_points=points,
        global_minimum=minima[0] if minima else None,
        convexity=convex,
        condition_number=curvature.condition_number,
        max_stable_lr=curvature.max_stable_lr,
        notes=notes,
        gradient_report=None if theta is None else gradient_report(objective, theta),
        at_hessian=None if theta is None else objective.hessian(theta),
        clairaut=clairaut(objective, theta) if objective.dim > 1 else None,
        taylor=None if theta is None or displacement is None else taylor(objective, theta, displacement),
        directional=None
        if theta is None or direction is None
        else (as_direction(objective, direction), directional_derivative(objective, theta, direction)),
        curvature_at=curvature.where,
        lambda_max=curvature.lambda_max,
    )
