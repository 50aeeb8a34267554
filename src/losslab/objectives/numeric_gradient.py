"""An objective whose gradient is taken by central differences instead of autodiff.

Case Study 1's mini-project runs gradient descent with *numeric* partials,
``(L(m + h, b) - L(m - h, b)) / 2h``. Wrapping an objective this way lets every optimizer in
:mod:`losslab.descent.run` (all of them ``torch.optim`` optimizers calling ``backward``) run on
those numeric gradients unchanged: the forward pass is the wrapped loss, the backward pass
evaluates the 2n shifted points in one vectorized ``values`` call.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError
from losslab.objectives.domain import PointLike
from losslab.objectives.finite_differences import central_differences
from losslab.objectives.objective import Objective


class _CentralDifference(torch.autograd.Function):
    """L(θ) forward; backward returns the central-difference gradient times the upstream grad."""

    @staticmethod
    def forward(theta: Tensor, objective: Objective, step: float) -> Tensor:  # type: ignore[override]
        return objective._evaluate(theta.detach())

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        theta, objective, step = inputs
        ctx.save_for_backward(theta)
        ctx.objective, ctx.step = objective, step

    @staticmethod
    def backward(ctx: Any, upstream: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        (theta,) = ctx.saved_tensors
        return upstream * central_differences(ctx.objective, theta, ctx.step), None, None


class NumericGradientObjective(Objective):
    """The same loss as ``base``; its gradient comes from central differences with step ``h``.

    >>> from losslab.objectives.objective import formula
    >>> L = NumericGradientObjective(formula("(w - 3)**2"), step=1e-5)
    >>> round(float(L.grad([0.0])[0]), 6)
    -6.0
    """

    def __init__(self, base: Objective, step: float = 1e-5) -> None:
        if not step > 0:
            raise LosslabError(f"difference step must be > 0, got {step}")
        super().__init__(
            names=base.names,
            title=f"{base.title} (numeric gradient, h={step:g})",
            domain=base.domain,
            known_points=base.known_points,
            dtype=base.dtype,
        )
        self.base, self.step = base, float(step)

    def _evaluate(self, thetas: Tensor) -> Tensor:
        if thetas.dim() == 1:  # a single θ: the one that gets differentiated
            return _CentralDifference.apply(thetas, self.base, self.step)
        return self.base._evaluate(thetas)

    def hessian(self, theta: PointLike) -> Tensor:
        """Differences of the central-difference gradient (step ``max(h, 1e-4)``), symmetrized."""
        theta = self._theta(theta)
        h = max(self.step, 1e-4)
        columns = [
            (
                central_differences(self.base, theta + h * e, self.step)
                - central_differences(self.base, theta - h * e, self.step)
            )
            / (2 * h)
            for e in torch.eye(self.dim, dtype=theta.dtype)
        ]
        matrix = torch.stack(columns, dim=1)
        return (matrix + matrix.T) / 2

    def hessians(self, thetas: Tensor) -> Tensor:
        return torch.stack([self.hessian(t) for t in torch.as_tensor(thetas, dtype=self.dtype)])

    def hvp(self, theta: PointLike, v: Tensor) -> Tensor:
        return self.hessian(theta) @ v.to(self.dtype)

    @property
    def n_samples(self) -> int | None:
        return self.base.n_samples

    def subset(self, indices: Tensor) -> Objective:
        return NumericGradientObjective(self.base.subset(indices), self.step)
