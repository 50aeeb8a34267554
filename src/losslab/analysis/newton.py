r"""Damped Newton on ∇L = 0 for many points at once — the root search behind
:func:`~losslab.analysis.stationary.stationary_points`, and the projection that tells whether a
segment between two stationary points follows a set of them (:mod:`~losslab.analysis.continua`).

The pseudo-inverse takes singular Hessians (a valley floor: the step has no part along it); rows
whose gradient or Hessian is not finite (the tip of a cone, outside a formula's domain) get no
step instead of reaching the SVD, which raises on them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from losslab.objectives.objective import Objective


def newton(objective: Objective, thetas: Tensor, iterations: int) -> Tensor:
    """Damped Newton on ∇L = 0 for all rows at once: pinv for singular Hessians, and per row the
    step fraction 2^-k (k = 0..7) that most reduces |∇L|; a row stays put where every trial has a
    non-finite gradient.

    >>> from losslab.objectives.objective import formula
    >>> newton(formula("(w - 3)**2"), torch.tensor([[0.0]], dtype=torch.float64), 1).tolist()
    [[3.0]]
    >>> newton(formula("sqrt(w0**2 + w1**2)"), torch.zeros(1, 2, dtype=torch.float64), 5).tolist()  # ∇L is nan
    [[0.0, 0.0]]
    """
    fractions = 2.0 ** -torch.arange(8, dtype=torch.float64)
    rows = torch.arange(thetas.shape[0])
    for _ in range(iterations if thetas.shape[0] else 0):
        step = newton_step(objective, thetas)
        trial = thetas[None] - fractions[:, None, None] * step[None]
        norms = torch.linalg.vector_norm(objective.grads(trial.reshape(-1, objective.dim)), dim=-1)
        norms = torch.nan_to_num(norms.reshape(len(fractions), -1), nan=math.inf)
        best = norms.min(0)
        thetas = torch.where(torch.isfinite(best.values)[:, None], trial[best.indices, rows], thetas)
    return thetas


def newton_step(objective: Objective, thetas: Tensor) -> Tensor:
    """H⁺∇L for the rows where ∇L and H are finite (and not astronomically large); 0 elsewhere."""
    g, h = objective.grads(thetas), objective.hessians(thetas)
    usable = torch.isfinite(g).all(-1) & torch.isfinite(h).all(-1).all(-1)
    usable &= (g.abs().amax(-1) < 1e150) & (h.abs().amax(-1).amax(-1) < 1e150)
    step = torch.zeros_like(thetas)
    if usable.any():
        try:
            step[usable] = (torch.linalg.pinv(h[usable]) @ g[usable][..., None])[..., 0]
        except torch.linalg.LinAlgError:  # an SVD that does not converge: no step this round
            pass
    return torch.nan_to_num(step, nan=0.0, posinf=0.0, neginf=0.0)
