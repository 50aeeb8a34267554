r"""Defaults that suit a loss, for the explorer and any face that starts a run for a student: a start that is
not a stationary point or a kink, and learning rates below 2/λmax (:func:`suggest_defaults`).

It reads the loss's analysis (:class:`losslab.analysis.report.Analysis`: its stationary points and 2/λmax)
and the objective's own box and known points.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from losslab.errors import LosslabError, not_one_of
from losslab.objectives.domain import Domain
from losslab.objectives.grid import view_domain
from losslab.objectives.objective import Objective
from losslab.serialize import Readable

# where starts are tried, as fractions of the box along each axis (axis i of candidate j takes entry j + i):
# off the diagonals, so that a symmetric bowl's start does not sit on one of its axes
START_FRACTIONS = (0.25, 0.8, 0.7, 0.2, 0.35, 0.65, 0.15, 0.85, 0.3, 0.6, 0.4, 0.75)
CLEARANCE = 0.1  # a start keeps this share of the box's width (on some axis) from every marked point
STEPS_ACROSS = 50  # an adaptive optimizer's step is a fiftieth of the box's narrowest side
FIRST_STEP = 0.5  # gradient descent's first step is at most this share of the box's narrowest side
# how each optimizer's learning rate is read: "gradient" (θ -= lr·g, stable below 2/λmax), "momentum"
# (heavy ball: lr/(1 − β) is the effective gradient step), "adaptive" (a step of about lr per coordinate;
# RMSProp's first step is lr/√(1 − α)), "newton" (lr 1 is the full Newton step)
LR_RULES = {
    "gd": "gradient",
    "sgd": "gradient",
    "momentum": "momentum",
    "nesterov": "momentum",
    "adagrad": "adaptive",
    "rmsprop": "adaptive",
    "adam": "adaptive",
    "adamw": "adaptive",
    "lbfgs": "newton",
    "newton": "newton",
}


class _Point(Protocol):
    @property
    def point(self) -> Tensor | Sequence[float]: ...


class AnalysisFacts(Protocol):
    """What :func:`suggest_defaults` reads of an analysis (:class:`losslab.analysis.report.Analysis` has it)."""

    @property
    def stationary_points(self) -> Sequence[_Point]: ...

    @property
    def max_stable_lr(self) -> float | None: ...


@dataclass(frozen=True)
class Suggestion(Readable):
    """A start and learning rates that suit a loss: the explorer's defaults.

    Attributes:
        start: θ₀, inside the view box, away from every stationary point and kink, where L and
            ∇L are finite and ∇L ≠ 0.
        lr: gradient descent's learning rate, one significant digit at most 1/λmax (half of
            2/λmax, so well inside the stable range), λmax the largest Hessian eigenvalue at the
            reference minimum or at the start, whichever is larger, and small enough that the
            first step crosses at most half the box. Without positive curvature in either
            place, or where the loss has a kink (its curvature is unbounded there): at most the
            rate whose first step has the length ``step``.
        max_stable_lr: 2/λmax at the reference minimum (the analysis's figure), None when unknown.
        step: a step length for the optimizers that move about lr per coordinate (Adam, AdaGrad).
        reason: how the start and the rate were chosen, in words.
    """

    start: tuple[float, ...]
    lr: float
    max_stable_lr: float | None
    step: float
    reason: str

    def lr_for(self, optimizer: str, hyperparameters: Mapping[str, Any] | None = None) -> float:
        """The learning rate for ``optimizer`` (a name of :data:`LR_RULES`) with its other hyper-parameters.

        >>> s = Suggestion((1.0,), lr=0.1, max_stable_lr=1.0, step=0.2, reason="")
        >>> s.lr_for("gd"), s.lr_for("momentum", {"momentum": 0.9}), s.lr_for("adam")
        (0.1, 0.01, 0.2)
        >>> s.lr_for("rmsprop", {"alpha": 0.99}), s.lr_for("newton")  # RMSProp's first step is lr/√(1 − α)
        (0.02, 1.0)
        """
        rule = LR_RULES.get(optimizer)
        given = dict(hyperparameters or {})
        if rule == "gradient":
            return self.lr
        elif rule == "momentum":
            return _round_down(self.lr * (1 - float(given.get("momentum", 0.9))))
        elif rule == "adaptive":
            alpha = float(given.get("alpha", 0.0)) if optimizer == "rmsprop" else 0.0
            return _round_down(self.step * math.sqrt(1 - alpha))
        elif rule == "newton":
            return 1.0
        else:
            raise not_one_of("optimizer", optimizer, LR_RULES)

    def __str__(self) -> str:
        start = ", ".join(f"{v:g}" for v in self.start)
        stable = "unknown" if self.max_stable_lr is None else f"{self.max_stable_lr:.4g}"
        return f"start ({start}), lr {self.lr:g} (2/λmax {stable}), adaptive step {self.step:g}: {self.reason}"


def suggest_defaults(
    objective: Objective,
    analysis: AnalysisFacts | None = None,
    preferred: Sequence[float] | None = None,
    *,
    start: Sequence[float] | None = None,
) -> Suggestion:
    """A start and a learning rate that suit ``objective`` (see :class:`Suggestion` for the rules).

    The start is the first of ``preferred`` (a gallery entry's start), the origin (when it lies
    in the view box :func:`~losslab.objectives.grid.view_domain`) and points at fixed fractions
    of the box that has L and ∇L finite, ∇L ≠ 0, and keeps a tenth of the box from every
    stationary point of ``analysis`` and every known point (kinks included); failing all, the
    valid one farthest from them.

    Args:
        objective: the loss.
        analysis: its stationary points and 2/λmax (an :class:`~losslab.analysis.report.Analysis`).
            Without it, the objective's known points stand in for the stationary points and 2/λmax
            is taken at its known global minimum: enough for a gallery surface (which lists its
            stationary points) and for a convex model on data (its one stationary point is the
            minimum), where an analysis can take seconds.
        preferred: a start to try first.
        start: the start to keep (the user's), the rates fitted to it; it must have L and ∇L finite and ∇L ≠ 0.

    >>> from losslab.objectives.data_models import model_objective
    >>> from losslab.objectives.objective import formula
    >>> suggest_defaults(formula("sqrt(w0**2 + w1**2)")).start   # the cone's tip has no gradient
    (-2.5, 3.0)
    >>> from losslab.analysis.report import analyze
    >>> cone = formula("sqrt(w0**2 + w1**2)")
    >>> suggest_defaults(cone, analyze(cone)).lr   # the analysis finds the kink: a first step of a fiftieth
    0.2
    >>> s = suggest_defaults(model_objective([1, 2, 3, 4, 5], [2.1, 3.9, 6.1, 8.0, 9.9], "line"))
    >>> s.start, s.lr                            # λmax = 23.7 at the minimum: 2/λmax = 0.0845
    ((0.0, 0.0), 0.04)
    """
    box = view_domain(objective)
    marked = [_as_floats(p.point) for p in (analysis.stationary_points if analysis else ())]
    marked += [tuple(p.point) for p in objective.known_points]
    reference = analysis.max_stable_lr if analysis else _known_stable_lr(objective)
    if start is not None:
        best, why = tuple(float(v) for v in start), "start as given"
        if not _moves(objective, best):
            raise LosslabError(f"the start {best} has no finite, non-zero gradient: no learning rate fits it")
    else:
        best, why = _pick_start(objective, box, marked, preferred)
    step = _round_down(min(hi - lo for lo, hi in box.bounds) / STEPS_ACROSS)
    theta = objective.point(list(best))
    curvature = [2 / reference] if reference is not None and reference > 0 and math.isfinite(reference) else []
    at_start = _top_eigenvalue(objective, theta)
    if at_start is not None and at_start > 0:
        curvature.append(at_start)
    slope = float(torch.linalg.vector_norm(objective.grad(theta)))
    found = analysis.stationary_points if analysis else ()
    kinked = any(not getattr(p, "differentiable", True) for p in [*objective.known_points, *found])
    if curvature:
        reach = step if kinked else FIRST_STEP * min(hi - lo for lo, hi in box.bounds)
        lr = _round_down(min(1 / max(curvature), reach / slope))
        why += f"; lr at most 1/λmax (λmax = {max(curvature):.4g}) and a first step of at most {reach:g}"
        why += " (the loss has a kink)" if kinked else ""
    else:
        lr = _round_down(step / slope)
        why += f"; no positive curvature to go by: lr makes a first step of {step:g}"
    return Suggestion(best, lr, reference, step, why)


def _known_stable_lr(objective: Objective) -> float | None:
    """2/λmax at the known global minimum (else the lowest known one), where L is differentiable."""
    minima = [p for p in objective.known_points if p.kind == "minimum" and p.differentiable]
    if not minima:
        return None
    best = next((p for p in minima if p.is_global), min(minima, key=lambda p: p.value))
    top = _top_eigenvalue(objective, objective.point(list(best.point)))
    return 2 / top if top is not None and top > 0 else None


def _top_eigenvalue(objective: Objective, theta: Tensor) -> float | None:
    """The largest Hessian eigenvalue at θ; None where the Hessian is not finite."""
    hessian = objective.hessian(theta)
    if not bool(torch.isfinite(hessian).all()):
        return None
    return float(torch.linalg.eigvalsh(hessian).max())


def _pick_start(
    objective: Objective, box: Domain, marked: list[tuple[float, ...]], preferred: Sequence[float] | None
) -> tuple[tuple[float, ...], str]:
    widths = [hi - lo for lo, hi in box.bounds]

    def clearance(theta: tuple[float, ...]) -> float:
        gaps = [max(abs(t - p) / w for t, p, w in zip(theta, point, widths, strict=True)) for point in marked]
        return min(gaps, default=math.inf)

    fallback: tuple[float, tuple[float, ...]] | None = None
    for theta in _start_candidates(box, preferred):
        if not _moves(objective, theta):
            continue
        gap = clearance(theta)
        if gap >= CLEARANCE:
            return theta, "start away from every stationary point and kink"
        if fallback is None or gap > fallback[0]:
            fallback = (gap, theta)
    if fallback is None:
        raise LosslabError(f"no start in {box} has a finite, non-zero gradient; type a start point")
    return fallback[1], "start as far from the stationary points as the candidates allow"


def _start_candidates(box: Domain, preferred: Sequence[float] | None) -> Iterator[tuple[float, ...]]:
    if preferred:
        yield tuple(float(v) for v in preferred)
    if all(lo <= 0 <= hi for lo, hi in box.bounds):  # a model's natural start: every weight 0
        yield tuple(0.0 for _ in box.bounds)
    n = len(START_FRACTIONS)
    for j in range(n):
        yield tuple(
            float(f"{lo + START_FRACTIONS[(j + i) % n] * (hi - lo):.2g}") for i, (lo, hi) in enumerate(box.bounds)
        )


def _moves(objective: Objective, theta: tuple[float, ...]) -> bool:
    """L and ∇L are finite at θ and ∇L ≠ 0: a descent from there goes somewhere."""
    value, gradient = objective.value_and_grad(list(theta))
    finite = bool(torch.isfinite(value)) and bool(torch.isfinite(gradient).all())
    return finite and float(torch.linalg.vector_norm(gradient)) > 0


def _as_floats(point: Tensor | Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in torch.as_tensor(point).reshape(-1).tolist())


def _round_down(value: float) -> float:
    """``value`` > 0 rounded down to one significant digit (0.0845 → 0.08); inputs ≤ 0 or not finite: 1e-3.

    >>> _round_down(0.0845), _round_down(7.0), _round_down(0.00099)
    (0.08, 7.0, 0.0009)
    """
    if not (value > 0 and math.isfinite(value)):
        return 1e-3
    scale = 10 ** math.floor(math.log10(value))
    return float(f"{math.floor(value / scale + 1e-9) * scale:.1g}")
