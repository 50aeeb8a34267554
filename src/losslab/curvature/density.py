r"""The Hessian's eigenvalue spectral density by stochastic Lanczos quadrature (SLQ).

The spectral density is :math:`\phi(t) = \frac1n \sum_{i=1}^n \delta(t - \lambda_i)`. For a
unit vector v with coordinates :math:`c_i = u_i^\top v` in H's eigenbasis,
:math:`v^\top f(H) v = \sum_i c_i^2 f(\lambda_i)`, and for a random v (Rademacher, scaled to
unit length) :math:`\mathbb E[c_i^2] = 1/n`, so :math:`\mathbb E[v^\top f(H) v] = \int f\phi`.
m steps of Lanczos from v give T with eigenpairs :math:`(\theta_j, s_j)`; Gauss quadrature

.. math::
    v^\top f(H) v \approx \sum_{j=1}^m \tau_j f(\theta_j), \qquad \tau_j = (e_1^\top s_j)^2,

is exact for polynomials of degree ≤ 2m − 1. Averaging the nodes and weights of several runs
and broadening each node with a Gaussian of width σ gives a smooth density (Ghorbani,
Krishnan & Xiao 2019; Lin, Saad & Yang 2016):

.. math::
    \hat\phi(t) = \frac1R \sum_{r=1}^R \sum_{j=1}^m \tau^{(r)}_j\,
    \frac{1}{\sigma\sqrt{2\pi}} e^{-(t - \theta^{(r)}_j)^2 / 2\sigma^2} .

Its moments :math:`\sum_j \tau_j \theta_j^p` estimate :math:`\operatorname{tr}(H^p)/n`
(exactly Hutchinson's estimate for p ≤ 2m − 1), with a standard error over the runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.curvature.hvp import HessianOperator, as_operator
from losslab.curvature.lanczos import KrylovBasis
from losslab.curvature.trace import rademacher
from losslab.errors import LosslabError, check_int
from losslab.objectives.domain import PointLike
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

GRID_POINTS = 1000


@dataclass
class SpectralDensity(Readable):
    """Quadrature nodes and weights per run, the broadened density on a grid, and moments.

    Attributes:
        nodes: per run, the Ritz values θ_j (ascending).
        weights: per run, the weights τ_j (each run's sum to 1).
        grid: points t where the density is evaluated.
        density: the broadened density at ``grid`` (integrates to ≈ 1).
        sigma: the Gaussian broadening width.
        moments: ``{p: estimate of tr(H^p)/n}`` for p = 1, 2.
        moment_stderr: ``{p: standard error over the runs}``.
        products: Hessian-vector products used.
        dim: n, the number of parameters.
    """

    nodes: list[Tensor]
    weights: list[Tensor]
    grid: Tensor
    density: Tensor
    sigma: float
    moments: dict[int, float]
    moment_stderr: dict[int, float]
    products: int
    dim: int

    def __str__(self) -> str:
        low = min(float(n.min()) for n in self.nodes)
        high = max(float(n.max()) for n in self.nodes)
        return (
            f"spectral density by SLQ: {len(self.nodes)} runs, {self.products} Hessian-vector products, "
            f"nodes in [{low:.6g}, {high:.6g}], σ = {self.sigma:.3g}\n"
            f"  tr(H)/n  ≈ {self.moments[1]:.6g} ± {self.moment_stderr[1]:.2g}\n"
            f"  tr(H²)/n ≈ {self.moments[2]:.6g} ± {self.moment_stderr[2]:.2g}"
        )


def density(
    objective: Objective | HessianOperator,
    *,
    runs: int = 4,
    steps: int = 60,
    generator: torch.Generator | None = None,
    at: PointLike | None = None,
    sigma: float | None = None,
    hvp_method: str = "auto",
) -> SpectralDensity:
    """The eigenvalue density of H(θ) by stochastic Lanczos quadrature.

    Args:
        objective: an Objective (its Hessian at ``at``) or a :class:`HessianOperator`.
        runs: independent random start vectors (≥ 2, for the moments' standard error).
        steps: Lanczos steps per run (capped at n).
        generator: draws the start vectors (default: seeded with 0).
        at: the point (default: a network's θ*, or the known global minimum).
        sigma: the broadening width (default: 1% of the span of the nodes).
        hvp_method: how products are made (see :func:`losslab.curvature.hvp.hessian_operator`).

    >>> from losslab.objectives.objective import formula
    >>> d = density(formula("x**2 + 2*y**2"), runs=2, steps=2, at=[0.0, 0.0])
    >>> round(d.moments[1], 10), round(d.moments[2], 10)
    (3.0, 10.0)
    """
    operator = as_operator(objective, at, hvp_method)
    check_int("runs", runs, least=2)
    check_int("steps", steps, least=1)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    first = operator.products
    nodes, weights = zip(*(_quadrature(operator, steps, generator) for _ in range(runs)), strict=True)
    moments, stderr = _moments(list(nodes), list(weights))
    grid, values, width = _broaden(list(nodes), list(weights), sigma)
    return SpectralDensity(
        list(nodes), list(weights), grid, values, width, moments, stderr, operator.products - first, operator.dim
    )


def _quadrature(operator: HessianOperator, steps: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    start = rademacher(1, operator.dim, generator)[0]
    krylov = KrylovBasis(operator, start, min(steps, operator.dim), generator)
    while not krylov.full:
        krylov.expand()
    values, vectors = krylov.ritz()
    return values, vectors[0] ** 2


def _moments(nodes: list[Tensor], weights: list[Tensor]) -> tuple[dict[int, float], dict[int, float]]:
    moments, stderr = {}, {}
    for p in (1, 2):
        per_run = torch.stack([(w * n**p).sum() for n, w in zip(nodes, weights, strict=True)])
        moments[p] = float(per_run.mean())
        stderr[p] = float(per_run.std() / math.sqrt(len(per_run)))
    return moments, stderr


def _broaden(nodes: list[Tensor], weights: list[Tensor], sigma: float | None) -> tuple[Tensor, Tensor, float]:
    every = torch.cat(nodes)
    low, high = float(every.min()), float(every.max())
    width = sigma if sigma is not None else max(0.01 * (high - low), 1e-12 + 1e-6 * max(abs(low), abs(high), 1.0))
    if not (math.isfinite(width) and width > 0):
        raise LosslabError(f"sigma = {sigma} must be a positive number")
    grid = torch.linspace(low - 5 * width, high + 5 * width, GRID_POINTS, dtype=torch.float64)
    gauss = torch.exp(-0.5 * ((grid[:, None] - every[None, :]) / width) ** 2) / (width * math.sqrt(2 * math.pi))
    values = gauss @ torch.cat(weights) / len(nodes)
    return grid, values, width
