r"""The stop rules a descent checks after every step, and the minimum ``within`` measures against.

After step k, in this order (the first that holds ends the run):

==========================  ===================================================================
status                      rule
==========================  ===================================================================
``diverged``                L, θ or ∇L is NaN or +inf; or L > ``divergence_factor`` ×
                            max(1, |L_0|); or **steady geometric growth**: L rose at each of the
                            last 3 steps, each rise the same factor q ≥ 1.05 times the rise
                            before (the two factors within 0.2 %), and L is now above L_0 — on a
                            quadratic, gd with lr > 2/λmax grows L − min L by exactly
                            :math:`q = (1 - \eta\lambda_{\max})^2` per step
``unbounded``               L = −inf; or L < −``divergence_factor`` × max(1, |L_0|) and still
                            falling (the last two steps both lowered it)
``converged``               L ≤ ``loss_threshold``; θ within ``within`` of the minimum; ‖∇L‖ ≤
                            ``grad_tol``; or **θ stopped changing**: ‖θ_k − θ_{k−1}‖ ≤ 1e-14 ·
                            max(1, ‖θ_k‖) (a few roundings) while ‖∇L‖ ≤ 1e-8 · max(1, ‖∇L(θ_0)‖)
==========================  ===================================================================

Growth is judged on the rises :math:`L_k - L_{k-1}`, not on L itself: their ratio is the growth
factor whatever the minimum's value (L = w² − 4w + 5 at lr 1.5 rises 12, 48, 192 — ×4 each —
while L itself goes 5, 17, 65, 257). A steady ratio, not merely a rise, because a momentum run
climbing the far wall of a valley rises several steps in a row too, but by ratios that shrink
step to step (for rises that grow like k or sin ωk, the ratio changes by at least (ln q)² per
step: more than 0.2 % whenever q ≥ 1.05). Above L_0, because an adaptive method (RMSprop, Adam)
can grow geometrically for a few steps near a minimum while its step-size estimate catches up,
and then settle again: a run still below its start has not diverged. With
``divergence_factor = inf`` only non-finite values end a run.

"θ stopped changing" is the rule a run that converges ends on: its last rows show the minimum
to every printed digit. At the end of the step budget :mod:`losslab.descent.diagnosis` also
calls a run converged under the looser :data:`NEGLIGIBLE` (steps and gradient below 1e-8,
relative). :func:`stop_rule` is the one place these rules are decided; ``descend`` and
``lockstep`` both call it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.descent.trajectory import Diagnosis
from losslab.errors import LosslabError
from losslab.objectives.objective import Objective

GROWTH_RISES = 3  # consecutive rises of L that make steady growth
GROWTH_MIN_FACTOR = 1.05  # the least factor between one rise and the next
GROWTH_STEADY = 2e-3  # how far the two factors may differ, relative
NOISE = 1e-9  # a rise smaller than this × |L| is rounding, not growth
NEGLIGIBLE = 1e-8  # ‖∇L‖ (and, at the budget's end, ‖Δθ‖) below this, relative, is negligible
FROZEN = 1e-14  # a step below this × max(1, ‖θ‖) no longer changes θ beyond a few roundings
MAX_ANALYSED_DIM = 10  # above this, `within` needs an objective with a known minimum


@dataclass(frozen=True)
class Target:
    """The minima ``within`` measures the distance to, and the tolerance.

    Attributes:
        points: ``(m, n)``, one minimum per row; a run is within ``tol`` when it is that close to any.
        tol: the distance, in the Euclidean norm of θ.
        names: parameter names, for the words.
        source: where the minima come from, in words (``"known"`` or ``"found by losslab.analysis"``).
    """

    points: Tensor
    tol: float
    names: tuple[str, ...]
    source: str

    def nearest(self, theta: Tensor) -> tuple[float, int]:
        """The distance from θ to the nearest minimum, and which one it is."""
        distances = torch.linalg.vector_norm(self.points - theta, dim=-1)
        index = int(distances.argmin())
        return float(distances[index]), index

    def describe(self, index: int) -> str:
        """``the minimum w = 2`` or ``the minimum (x, y) = (3, 2)``."""
        values = [f"{v:.6g}" for v in self.points[index].tolist()]
        if len(values) == 1:
            return f"the minimum {self.names[0]} = {values[0]}"
        return f"the minimum ({', '.join(self.names)}) = ({', '.join(values)})"

    def distance_text(self, index: int, distance: float) -> str:
        """``|w − 2| = 0.0095`` or ``‖θ − θ*‖ = 0.0095``."""
        if len(self.names) == 1:
            return f"|{self.names[0]} − {float(self.points[index, 0]):.6g}| = {distance:.3g}"
        return f"‖θ − θ*‖ = {distance:.3g}"


@dataclass(frozen=True)
class StopRules:
    """The stop rules of one run (see the module docstring); ``target`` is set by ``within``."""

    loss_threshold: float | None = None
    grad_tol: float | None = None
    divergence_factor: float = 1e6
    target: Target | None = None


def stop_rules(
    objective: Objective,
    loss_threshold: float | None,
    grad_tol: float | None,
    divergence_factor: float,
    within: float | None,
) -> StopRules:
    """The checked :class:`StopRules`; with ``within`` the minima to measure against are found here."""
    if loss_threshold is not None and not math.isfinite(loss_threshold):
        raise LosslabError(f"loss_threshold must be a finite number, got {loss_threshold}")
    if grad_tol is not None and not (math.isfinite(grad_tol) and grad_tol >= 0):
        raise LosslabError(f"grad_tol must be a finite number ≥ 0, got {grad_tol}")
    if not divergence_factor > 1:  # math.inf is allowed: only non-finite values count as divergence
        raise LosslabError(f"divergence_factor must be a number > 1 (inf to disable), got {divergence_factor}")
    target = None if within is None else find_target(objective, within)
    return StopRules(loss_threshold, grad_tol, divergence_factor, target)


def find_target(objective: Objective, within: float) -> Target:
    """The minima to measure ``within`` against: the objective's known global minima (the gallery's),
    else every minimum :func:`losslab.analysis.stationary.stationary_points` finds.

    >>> from losslab.objectives.objective import formula
    >>> find_target(formula("w**2 - 4*w + 5"), 0.01).describe(0)
    'the minimum w = 2'
    """
    if not (isinstance(within, int | float) and math.isfinite(within) and within > 0):
        raise LosslabError(f"within must be a finite distance > 0 to the minimum, got {within!r}")
    known = [p for p in objective.known_points if p.kind == "minimum"]
    chosen = [p.point for p in known if p.is_global] or [p.point for p in known]
    source = "known"
    if not chosen:
        chosen = [tuple(s.point.tolist()) for s in _analysed_minima(objective, within)]
        source = "found by losslab.analysis"
    points = torch.tensor(chosen, dtype=objective.dtype).reshape(len(chosen), objective.dim)
    return Target(points, float(within), tuple(objective.names), source)


def _analysed_minima(objective: Objective, within: float) -> list:  # type: ignore[type-arg]
    from losslab.analysis.stationary import search_box, stationary_points

    if objective.dim > MAX_ANALYSED_DIM:
        raise LosslabError(
            f"within={within:g} needs a minimum to measure against: '{objective.title}' has no known minimum, "
            f"and stationary points are searched for at most {MAX_ANALYSED_DIM} parameters, not {objective.dim}"
        )
    found = [s for s in stationary_points(objective) if s.kind == "minimum"]
    minima = [s for s in found if getattr(s, "dimension", 0) == 0]  # a line or plane of minima has no one point
    if found and not minima:
        raise LosslabError(
            f"within={within:g} measures the distance to an isolated minimum, and the minima of '{objective.title}' "
            "form a line or surface; use loss_threshold (--loss-threshold) instead"
        )
    if not minima:
        raise LosslabError(
            f"within={within:g} needs a minimum to measure against: '{objective.title}' has no known minimum, and "
            f"losslab.analysis finds none (∇L = 0 with a positive definite Hessian) in {search_box(objective, None)}"
        )
    return minima


@dataclass(frozen=True)
class Start:
    """What the rules need of step 0: L_0 and ‖∇L(θ_0)‖."""

    loss: float
    grad_norm: float


def stop_rule(
    k: int,
    recent: Sequence[float],
    theta: Tensor,
    previous: Tensor | None,
    grad: Tensor,
    start: Start,
    rules: StopRules,
) -> Diagnosis | None:
    """Why the run must stop after step k, or None to go on.

    Args:
        k: the step.
        recent: L at the last steps, oldest first, ending with L_k (up to ``GROWTH_RISES + 1`` values).
        theta: θ_k.
        previous: θ_{k−1} (None at step 0).
        grad: ∇L(θ_k).
        start: L_0 and ‖∇L(θ_0)‖.
        rules: the run's rules.
    """
    loss = recent[-1]
    # One reduction instead of two isfinite passes: a nan or inf anywhere makes the sum non-finite.
    if not (math.isfinite(loss) and math.isfinite(float(theta.sum() + grad.sum()))):
        if loss == -math.inf:
            return Diagnosis("unbounded", f"L fell from {start.loss + 0.0:.6g} to -inf", k)
        what = f"the loss became {loss}" if not math.isfinite(loss) else "θ or ∇L became non-finite"
        why = " (L is not defined there, or values overflowed)" if math.isnan(loss) else ""
        return Diagnosis("diverged", f"{what} at θ = {_point(theta)}{why}", k)
    return _runaway(k, recent, start, rules.divergence_factor) or _converged(
        k, loss, theta, previous, grad, start, rules
    )


def _runaway(k: int, recent: Sequence[float], start: Start, factor: float) -> Diagnosis | None:
    """Diverged (too large, or growing geometrically) or unbounded below, or None."""
    loss, limit = recent[-1], factor * max(1.0, abs(start.loss))
    if loss > limit:
        return Diagnosis("diverged", f"L = {loss:.4g} exceeded {factor:g} × max(1, |L0|) = {limit:.4g}", k)
    if not math.isfinite(factor):
        return None
    growth = steady_growth(recent)
    if growth is not None and loss > start.loss:
        rises = ", ".join(f"{b - a:.6g}" for a, b in zip(recent[:-1], recent[1:], strict=True))
        return Diagnosis(
            "diverged",
            f"L grows geometrically, ×{growth:.4g} per step (it rose by {rises} over steps {k - GROWTH_RISES + 1}–{k})",
            k,
        )
    if loss < -limit and len(recent) >= 3 and recent[-3] > recent[-2] > loss:
        pace = f" (×{loss / recent[-2]:.4g} per step)" if recent[-2] < 0 and math.isfinite(loss) else ""
        return Diagnosis("unbounded", f"L fell from {start.loss + 0.0:.6g} to {loss:.4g} and keeps falling{pace}", k)
    return None


def steady_growth(recent: Sequence[float]) -> float | None:
    """The factor q when the last ``GROWTH_RISES`` rises of L each were q times the one before, else None.

    >>> steady_growth([9.0, 81.0, 729.0, 6561.0])  # (w − 3)² under gd with lr 2: rises 72, 648, 5832
    9.0
    >>> steady_growth([5.0, 17.0, 65.0, 257.0]), steady_growth([0.0, 1.0, 4.0, 9.0])  # w² − 4w + 5 at lr 1.5; k²
    (4.0, None)
    """
    if len(recent) < GROWTH_RISES + 1:
        return None
    values = recent[-GROWTH_RISES - 1 :]
    rises = [b - a for a, b in zip(values[:-1], values[1:], strict=True)]
    if not all(rise > NOISE * max(abs(a), abs(b)) for rise, a, b in zip(rises, values[:-1], values[1:], strict=True)):
        return None
    ratios = [b / a for a, b in zip(rises[:-1], rises[1:], strict=True)]
    steady = max(ratios) - min(ratios) <= GROWTH_STEADY * min(ratios)
    return ratios[-1] if steady and min(ratios) >= GROWTH_MIN_FACTOR else None


def _converged(
    k: int, loss: float, theta: Tensor, previous: Tensor | None, grad: Tensor, start: Start, rules: StopRules
) -> Diagnosis | None:
    if rules.loss_threshold is not None and loss <= rules.loss_threshold:
        return Diagnosis(
            "converged", f"converged at step {k}: L = {loss:.6g} ≤ loss_threshold {rules.loss_threshold:g}", k
        )
    if rules.target is not None:
        distance, index = rules.target.nearest(theta)
        if distance <= rules.target.tol:
            return Diagnosis("converged", within_words(rules.target, k, distance, index), k)
    norm = float(torch.linalg.vector_norm(grad))
    if rules.grad_tol is not None and norm <= rules.grad_tol:
        return Diagnosis("converged", f"converged at step {k}: ‖∇L‖ = {norm:.3g} ≤ grad_tol {rules.grad_tol:g}", k)
    if previous is not None and norm <= NEGLIGIBLE * max(1.0, start.grad_norm):
        size = float(torch.linalg.vector_norm(theta - previous))
        if size <= FROZEN * max(1.0, float(torch.linalg.vector_norm(theta))):
            return Diagnosis(
                "converged",
                f"converged at step {k}: θ stopped changing (‖Δθ‖ = {size:.3g}) "
                f"and ∇L is negligible (‖∇L‖ = {norm:.3g})",
                k,
            )
    return None


def negligible(params: Tensor, grads: Tensor, start_grad_norm: float) -> bool:
    """The last step and gradient below :data:`NEGLIGIBLE` (relative to 1 and to ‖∇L(θ_0)‖): converged, though θ
    still moves a little. ``params`` and ``grads`` end with the run's last steps."""
    if params.shape[0] < 2:
        return False
    size = float(torch.linalg.vector_norm(params[-1] - params[-2]))
    gnorm = float(torch.linalg.vector_norm(grads[-1]))
    small_g = gnorm <= NEGLIGIBLE * max(1.0, start_grad_norm)
    return small_g and size <= NEGLIGIBLE * max(1.0, float(torch.linalg.vector_norm(params[-1])))


def _point(theta: Tensor) -> str:
    values = [f"{v:.6g}" for v in theta.tolist()]
    return values[0] if len(values) == 1 else f"({', '.join(values)})"


def within_words(target: Target, k: int, distance: float, index: int) -> str:
    """``within 0.01 of the minimum w = 2 after 51 steps: |w − 2| = 0.00954``."""
    steps = f"{k} step{'s' if k != 1 else ''}"
    return (
        f"within {target.tol:g} of {target.describe(index)} after {steps}: {target.distance_text(index, distance)}"
        + ("" if target.source == "known" else f" (the minimum {target.source})")
    )
