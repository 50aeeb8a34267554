r"""Numeric derivatives of an :class:`Objective` by finite differences of its values.

The classical formulas, written by hand because neither torch nor SciPy offers a vectorized
one over an :class:`Objective`:

.. math::

    \partial_i L \approx \frac{L(\theta + h_i e_i) - L(\theta - h_i e_i)}{2 h_i},
    \qquad h_i = \epsilon^{1/3} \max(1, |\theta_i|),

all :math:`2n` shifted points evaluated in one ``objective.values`` call. This module imports only
the objective layer, so objectives themselves (:mod:`losslab.objectives.numeric_gradient`) can use it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.domain import PointLike
from losslab.objectives.objective import Objective

EPS = torch.finfo(torch.float64).eps


def _steps(theta: Tensor, step: float | Tensor | None, power: float) -> Tensor:
    if step is None:
        return EPS**power * theta.abs().clamp(min=1.0)
    steps = torch.as_tensor(step, dtype=theta.dtype).expand_as(theta).clone()
    if not (torch.isfinite(steps).all() and (steps > 0).all()):
        raise LosslabError(f"finite-difference step {step} must be positive and finite")
    return steps


def central_difference_gradient(
    objective: Objective, at: PointLike, step: float | Tensor | None = None
) -> tuple[Tensor, Tensor]:
    r"""∇L(θ) by central differences, all :math:`2n` points in one vectorized call.

    Returns:
        (gradient, steps): the estimate and the step :math:`h_i` used per coordinate
        (default :math:`\epsilon^{1/3}\max(1,|\theta_i|)`, which balances truncation
        :math:`O(h^2)` against rounding :math:`O(\epsilon/h)`).

    >>> from losslab.objectives.objective import formula
    >>> g, h = central_difference_gradient(formula("2*w0**2 + 3*w1**2"), [3.0, 4.0])
    >>> [round(v, 6) for v in g.tolist()]
    [12.0, 24.0]
    """
    theta = objective.point(at)
    h = _steps(theta, step, 1 / 3)
    return central_differences(objective, theta, h), h


def central_differences(objective: Objective, theta: Tensor, h: float | Tensor) -> Tensor:
    r"""The quotients :math:`(L(\theta + h_i e_i) - L(\theta - h_i e_i)) / 2h_i`, 2n points in one call.

    θ is taken as given, unchecked: a non-finite θ gives nan rather than an error, which a
    diverging descent on numeric gradients needs. ``h`` is one step or one per coordinate.
    """
    shifts = torch.diag(torch.as_tensor(h, dtype=theta.dtype).expand_as(theta))
    values = objective.values(torch.cat([theta + shifts, theta - shifts]))
    return (values[: objective.dim] - values[objective.dim :]) / (2 * h)


def one_sided_gradients(
    objective: Objective, at: PointLike, step: float | Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Forward and backward second-order one-sided differences (and the steps).

    :math:`D^\pm_i = \pm\frac{-3L(\theta) + 4L(\theta \pm h e_i) - L(\theta \pm 2h e_i)}{2h}`;
    both approach :math:`\partial_i L` where L is differentiable and disagree at a kink.
    """
    theta = objective.point(at)
    h = _steps(theta, step, 1 / 3)
    shifts = torch.diag(h)
    stack = torch.cat([theta[None], theta + shifts, theta + 2 * shifts, theta - shifts, theta - 2 * shifts])
    v = objective.values(stack)
    n = objective.dim
    f0, fp, fpp, fm, fmm = (
        v[0],
        v[1 : n + 1],
        v[n + 1 : 2 * n + 1],
        v[2 * n + 1 : 3 * n + 1],
        v[3 * n + 1 :],
    )
    return (-3 * f0 + 4 * fp - fpp) / (2 * h), (3 * f0 - 4 * fm + fmm) / (2 * h), h


def central_difference_hessian(objective: Objective, at: PointLike, step: float | Tensor | None = None) -> Tensor:
    r"""The Hessian by central differences of values, :math:`4n^2` points in one call.

    :math:`H_{ij} \approx [L(+_i+_j) - L(+_i-_j) - L(-_i+_j) + L(-_i-_j)] / (4 h_i h_j)`
    with :math:`h_i = \epsilon^{1/4}\max(1,|\theta_i|)`.

    >>> from losslab.objectives.objective import formula
    >>> central_difference_hessian(formula("w0*w1 + w1**2"), [1.0, 2.0]).round(decimals=5).tolist()
    [[0.0, 1.0], [1.0, 2.0]]
    """
    theta = objective.point(at)
    h = _steps(theta, step, 1 / 4)
    shifts = torch.diag(h)
    signs = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=theta.dtype)
    stack = (
        theta + signs[:, 0, None, None, None] * shifts[:, None, :] + signs[:, 1, None, None, None] * shifts[None, :, :]
    )
    v = objective.values(stack)
    return (v[0] - v[1] - v[2] + v[3]) / (4 * h[:, None] * h[None, :])
