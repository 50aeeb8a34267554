"""One curvature report of an objective: top eigenvalues, and optionally trace and density.

What ``losslab hessian`` prints; the command only builds the objective and calls
:func:`curvature_report`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from losslab.curvature.density import SpectralDensity, density
from losslab.curvature.hvp import default_point, hessian_operator
from losslab.curvature.lanczos import EigenResult, top_eigenvalues
from losslab.curvature.trace import TraceEstimate, trace
from losslab.objectives.domain import PointLike
from losslab.objectives.objective import Objective
from losslab.serialize import Readable, jsonable


@dataclass
class CurvatureReport(Readable):
    """Curvature of one objective at one point.

    Attributes:
        title: what was measured (model, data, size).
        dim: the number of parameters.
        loss: the loss at the point.
        eigen: the top (or most negative) eigenvalues.
        trace: the trace estimate, when asked for.
        density: the spectral density, when asked for.
        method: how Hessian-vector products were made.
    """

    title: str
    dim: int
    loss: float
    eigen: EigenResult
    trace: TraceEstimate | None
    density: SpectralDensity | None
    method: str

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "parameters": self.dim,
            "loss": self.loss,
            "top_eigenvalues": self.eigen.eigenvalues.tolist(),
            "residuals": self.eigen.residuals.tolist(),
            "eigen": self.eigen.to_dict(),
            "trace": jsonable(self.trace),
            "density": jsonable(self.density),
            "hvp_method": self.method,
        }

    def __str__(self) -> str:
        parts = [f"Hessian of {self.title} ({self.dim:,} parameters) — loss {self.loss:.6g}", str(self.eigen)]
        if self.trace is not None:
            parts.append(str(self.trace))
        if self.density is not None:
            parts.append(str(self.density))
        return "\n".join(parts)


def curvature_report(
    objective: Objective,
    *,
    top: int = 3,
    which: str = "largest",
    with_trace: bool = False,
    with_density: bool = False,
    at: PointLike | None = None,
    tol: float | None = None,
    probes: int = 60,
    runs: int = 4,
    steps: int = 60,
    generator: torch.Generator | None = None,
    max_iter: int | None = None,
    basis: int | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> CurvatureReport:
    """Top eigenvalues (Lanczos), and the trace (Hutch++) and density (SLQ) when asked, from one operator.

    ``max_iter``, ``basis`` and ``progress`` go to :func:`~losslab.curvature.lanczos.top_eigenvalues`.

    >>> from losslab.objectives.objective import formula
    >>> r = curvature_report(formula("x**2 + 3*y**2"), top=1, with_trace=True, at=[0.0, 0.0])
    >>> r.to_dict()["top_eigenvalues"], r.to_dict()["trace"]["estimate"]
    ([6.0], 8.0)
    """
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    operator = hessian_operator(objective, at)
    loss = float(objective.value(objective._theta(at) if at is not None else default_point(objective)))
    eigen = top_eigenvalues(
        operator, top, which=which, tol=tol, generator=generator, max_iter=max_iter, basis=basis, progress=progress
    )
    estimate = trace(operator, probes=probes, generator=generator) if with_trace else None
    spectrum = density(operator, runs=runs, steps=steps, generator=generator) if with_density else None
    title = objective.title or type(objective).__name__
    return CurvatureReport(title, objective.dim, loss, eigen, estimate, spectrum, operator.method)
