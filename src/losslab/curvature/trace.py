r"""The Hessian trace by Hutchinson's estimator and by Hutch++, with a standard error.

Hutchinson (1989): for Rademacher probes :math:`z` (entries ±1), :math:`\mathbb E[z^\top Hz]
= \operatorname{tr} H`, so the mean of m samples estimates the trace with standard error
:math:`s/\sqrt m` (s the sample standard deviation).

Hutch++ (Meyer, Musco, Musco & Woodruff 2021) spends a third of the products on a sketch:
:math:`Q = \operatorname{orth}(HS)` for Rademacher S of width s captures the top of the
spectrum, whose trace :math:`\operatorname{tr}(Q^\top HQ)` is computed exactly (s more
products); Hutchinson only has to estimate what is left,

.. math::
    \operatorname{tr} H \approx \operatorname{tr}(Q^\top H Q)
    + \frac1g \sum_{i=1}^{g} z_i^\top (I - QQ^\top) H (I - QQ^\top) z_i .

Network Hessians have a few large eigenvalues and a bulk near zero, so the remainder's
variance — and the standard error, conditional on Q — is far smaller at equal products.
With ``target_stderr`` both estimators keep drawing probes until the standard error is met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.curvature.hvp import HessianOperator, as_operator
from losslab.errors import LosslabError, check_choice, check_int, not_one_of
from losslab.objectives.domain import PointLike
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

METHODS = ("hutch++", "hutchinson")
CHUNK = 32  # vectors per batched product: bounds memory at 32 vectors of length n


@dataclass
class TraceEstimate(Readable):
    """An estimate of tr H.

    Attributes:
        estimate: the trace estimate.
        stderr: its standard error (for Hutch++, of the stochastic remainder, given the sketch).
        probes: random probe vectors averaged (Hutch++: in the remainder).
        products: Hessian-vector products used in all.
        method: ``hutch++`` or ``hutchinson``.
    """

    estimate: float
    stderr: float
    probes: int
    products: int
    method: str

    def __str__(self) -> str:
        return (
            f"tr H ≈ {self.estimate:.8g} ± {self.stderr:.3g} (standard error; {self.method}, "
            f"{self.probes} probes, {self.products} Hessian-vector products)"
        )


def rademacher(count: int, dim: int, generator: torch.Generator) -> Tensor:
    """``count`` vectors of ±1 entries, float64 on the CPU."""
    return torch.randint(0, 2, (count, dim), generator=generator).to(torch.float64).mul_(2).sub_(1)


def trace(
    objective: Objective | HessianOperator,
    *,
    method: str = "hutch++",
    probes: int = 60,
    generator: torch.Generator | None = None,
    at: PointLike | None = None,
    target_stderr: float | None = None,
    max_products: int = 10_000,
    hvp_method: str = "auto",
) -> TraceEstimate:
    """Estimate tr H(θ) with Hutch++ (default) or Hutchinson.

    Args:
        objective: an Objective (its Hessian at ``at``) or a :class:`HessianOperator`.
        method: ``"hutch++"`` or ``"hutchinson"``.
        probes: Hessian-vector products to spend (Hutch++: a third sketch, a third its
            products, a third remainder probes); at least 2 (Hutchinson) or 4 (Hutch++).
        generator: draws the probes (default: seeded with 0).
        at: the point (default: a network's θ*, or the known global minimum).
        target_stderr: keep adding probes (in batches of the first round's size) until the
            standard error is at most this, or ``max_products`` are spent.
        max_products: the most products when ``target_stderr`` is given.
        hvp_method: how products are made (see :func:`losslab.curvature.hvp.hessian_operator`).

    >>> from losslab.objectives.objective import formula
    >>> round(trace(formula("x**2 + 3*y**2 + x*y"), probes=6, at=[0.0, 0.0]).estimate, 10)
    8.0
    """
    operator = as_operator(objective, at, hvp_method)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    _check(method, probes, target_stderr)
    first = operator.products
    if method == "hutchinson":
        exact, basis, rounds = 0.0, None, probes
    elif method == "hutch++":
        sketch = max(1, probes // 3)
        exact, basis = _sketch(operator, sketch, generator)
        rounds = probes - 2 * sketch
    else:
        raise not_one_of("trace method", method, METHODS)
    samples = _samples(operator, rounds, basis, generator)
    while target_stderr is not None and _stderr(samples) > target_stderr:
        if operator.products - first + rounds > max_products:
            break
        samples = torch.cat([samples, _samples(operator, rounds, basis, generator)])
    estimate = exact + float(samples.mean())
    return TraceEstimate(estimate, _stderr(samples), len(samples), operator.products - first, method)


def _sketch(operator: HessianOperator, width: int, generator: torch.Generator) -> tuple[float, Tensor]:
    """tr(QᵀHQ) and Q (rows orthonormal) for Q = orth(HS)."""
    sketch = _products(operator, rademacher(width, operator.dim, generator).to(operator.device, operator.dtype))
    basis = torch.linalg.qr(sketch.T).Q.T
    return float((basis * _products(operator, basis)).sum()), basis


def _samples(operator: HessianOperator, count: int, basis: Tensor | None, generator: torch.Generator) -> Tensor:
    """zᵢᵀ H zᵢ for Rademacher zᵢ, projected off the sketch when there is one."""
    z = rademacher(count, operator.dim, generator).to(operator.device, operator.dtype)
    if basis is not None:
        z = z - (z @ basis.T) @ basis
    return (z * _products(operator, z)).sum(dim=1).to("cpu", torch.float64)


def _products(operator: HessianOperator, vectors: Tensor) -> Tensor:
    return torch.cat([operator.matmat(chunk) for chunk in vectors.split(CHUNK)])


def _stderr(samples: Tensor) -> float:
    return float(samples.std() / math.sqrt(len(samples))) if len(samples) > 1 else math.inf


def _check(method: str, probes: int, target_stderr: float | None) -> None:
    least = {"hutchinson": 2, "hutch++": 4}
    check_choice("trace method", method, METHODS)
    check_int(f"probes for {method}", probes, least=least[method])
    if target_stderr is not None and not target_stderr > 0:
        raise LosslabError(f"target_stderr = {target_stderr} must be a positive number")
