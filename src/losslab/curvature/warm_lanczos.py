r"""λmax from a warm start, stopped when the eigenvalue has settled: sharpness at every training step, cheaply.

During training the top eigenvector turns little from one step to the next, so Lanczos started
from the last one has the answer almost at once. The Ritz value :math:`\theta_m` (the largest
eigenvalue of :math:`T_m = Q_m^\top H Q_m`) can only grow with m and approaches λmax much faster
than the residual falls (the error of a Ritz value is of the order of the residual squared over
the gap), so this stops as soon as one more product changes it by at most ``eigenvalue_tol``
relative — with a warm start usually after 2 or 3 products — where a residual test would ask
for many more. The residual reached is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.curvature.hvp import HessianOperator
from losslab.curvature.lanczos import KrylovBasis
from losslab.errors import LosslabError


@dataclass
class SettledEigenvalue:
    """λmax (the settled Ritz value), its Ritz vector, the true residual ‖Hy − θy‖ and the products made."""

    value: float
    vector: Tensor
    residual: float
    products: int


def settled_lambda_max(
    operator: HessianOperator,
    start: Tensor,
    *,
    eigenvalue_tol: float = 1e-3,
    max_iter: int = 50,
    generator: torch.Generator | None = None,
) -> SettledEigenvalue:
    """Lanczos from ``start`` until the top Ritz value changes by at most ``eigenvalue_tol·max(1, |θ|)``.

    >>> from losslab.curvature.hvp import hessian_operator
    >>> from losslab.objectives.objective import formula
    >>> op = hessian_operator(formula("x**2 + 3*y**2 + 10*z**2"), [0.0, 0.0, 0.0])
    >>> r = settled_lambda_max(op, torch.tensor([0.1, 0.1, 1.0], dtype=torch.float64))
    >>> round(r.value, 6), r.products
    (20.0, 3)
    """
    if not eigenvalue_tol > 0 or max_iter < 2:
        raise LosslabError(f"eigenvalue_tol = {eigenvalue_tol}, max_iter = {max_iter}: need tol > 0 and max_iter ≥ 2")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    krylov = KrylovBasis(operator, start, min(operator.dim, 20), generator)
    first, previous = operator.products, None
    while True:
        krylov.expand()
        values, vectors = krylov.ritz()
        theta = float(values[-1])
        used = operator.products - first
        settled = previous is not None and abs(theta - previous) <= eigenvalue_tol * max(1.0, abs(theta))
        if settled or used >= max_iter or krylov.size == operator.dim:
            y, residuals = krylov.pairs(values[-1:], vectors[:, -1:])
            return SettledEigenvalue(theta, y[0], float(residuals[0]), used)
        previous = theta
        if krylov.full:
            krylov.restart(vectors[:, -2:], values[-2:])
