r"""Curves between two parameter vectors: Bézier curves and polygonal chains with trainable bends.

With end points :math:`\theta_0 = a`, :math:`\theta_{n} = b` and bends :math:`\theta_1 … \theta_{n-1}`
(``bends = n − 1``, Garipov et al., *Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs*,
NeurIPS 2018, §3):

- ``bezier``: :math:`\phi(t) = \sum_{k=0}^{n} \binom{n}{k} t^k (1-t)^{n-k}\, \theta_k`;
- ``polychain``: straight pieces through :math:`a, \theta_1, …, b`, the k-th piece over
  :math:`t \in [k/n, (k+1)/n]`.

Both pass through ``a`` at ``t = 0`` and ``b`` at ``t = 1`` exactly (the weights there are exactly 1 and
0). Bends start on the straight line at ``t = k/n``, where both curves are the line itself.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_choice, check_int

CURVES = ("bezier", "polychain")
MAX_BENDS = 3


def check_curve(curve: str, bends: int) -> tuple[str, int]:
    """``(curve, bends)`` when the curve is one of :data:`CURVES` and bends is 1 to :data:`MAX_BENDS`.

    >>> check_curve("spline", 1)
    Traceback (most recent call last):
    losslab.errors.LosslabError: curve 'spline' is not one of bezier, polychain
    """
    return check_choice("curve", curve, CURVES), check_int("bends", bends, least=1, most=MAX_BENDS)


def initial_bends(a: Tensor, b: Tensor, bends: int) -> Tensor:
    """``(bends, P)`` points on the segment at ``t = k / (bends + 1)``: the curve starts as the straight line."""
    fractions = torch.arange(1, bends + 1, dtype=a.dtype, device=a.device) / (bends + 1)
    return a + fractions[:, None] * (b - a)


def curve_weights(curve: str, t: Tensor, bends: int) -> Tensor:
    """``(len(t), bends + 2)`` weights of the control points ``a, θ_1 … θ_bends, b`` at each t.

    >>> curve_weights("bezier", torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), 1).tolist()
    [[1.0, 0.0, 0.0], [0.25, 0.5, 0.25], [0.0, 0.0, 1.0]]
    >>> curve_weights("polychain", torch.tensor([0.25, 0.75], dtype=torch.float64), 1).tolist()
    [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]
    """
    n = bends + 1
    t = t.reshape(-1)
    if curve == "bezier":
        k = torch.arange(n + 1, dtype=t.dtype, device=t.device)
        binomial = torch.tensor([math.comb(n, int(i)) for i in k], dtype=t.dtype, device=t.device)
        return binomial * t[:, None] ** k * (1 - t[:, None]) ** (n - k)
    if curve == "polychain":
        piece = torch.clamp((t * n).floor().long(), max=n - 1)
        local = t * n - piece
        weights = torch.zeros(len(t), n + 1, dtype=t.dtype, device=t.device)
        rows = torch.arange(len(t), device=t.device)
        weights[rows, piece] = 1 - local
        weights[rows, piece + 1] = local
        return weights
    raise LosslabError(f"curve {curve!r} is not one of {', '.join(CURVES)}")


def weights_at(curve: str, t: float, bends: int) -> list[float]:
    """The ``bends + 2`` weights at one t as Python floats (a training step's point: no tensors to build).

    >>> weights_at("bezier", 0.5, 1), weights_at("polychain", 0.75, 1)
    ([0.25, 0.5, 0.25], [0.0, 0.5, 0.5])
    """
    n = bends + 1
    if curve == "bezier":
        return [math.comb(n, k) * t**k * (1 - t) ** (n - k) for k in range(n + 1)]
    if curve == "polychain":
        piece = min(int(t * n), n - 1)
        weights = [0.0] * (n + 1)
        weights[piece], weights[piece + 1] = 1 - (t * n - piece), t * n - piece
        return weights
    raise LosslabError(f"curve {curve!r} is not one of {', '.join(CURVES)}")


def point_at(curve: str, a: Tensor, middle: Tensor, b: Tensor, t: float) -> Tensor:
    """φ(t) at one t, differentiable in the bends: ``w_0·a + w_n·b + Σ w_k·θ_k`` as fused adds (a training
    step's point, about a third of the cost of :func:`curve_points` for one t)."""
    weights = weights_at(curve, t, len(middle))
    point = torch.add(a * weights[0], b, alpha=weights[-1])
    for bend, weight in zip(middle, weights[1:-1], strict=True):
        point = point.add(bend, alpha=weight)
    return point


def curve_points(curve: str, a: Tensor, middle: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """``φ(t)`` for each t, ``(len(t), P)``, differentiable in the bends ``middle`` ``(bends, P)``."""
    weights = curve_weights(curve, t.to(a.dtype), len(middle))
    control = torch.cat([a[None], middle, b[None]])
    return weights @ control
