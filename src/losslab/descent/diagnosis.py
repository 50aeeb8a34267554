r"""How a descent went: the diagnosis at the end, from the stop rule that ended it or the last steps.

A run is ``converged``, ``diverged``, ``unbounded``, ``oscillating``, ``stalled`` or
``max_steps``, with its reason in words. The stop rules themselves live in
:mod:`losslab.descent.stopping`. A plain-gradient-descent failure is explained by the stability
limit :math:`\eta < 2/\lambda_{\max}` (:func:`losslab.analysis.stability.lambda_max`) at the start
or the last finite point; when such a run grows geometrically the reason also gives the factor a
quadratic predicts, :math:`(1 - \eta\lambda_{\max})^2` per step for L − min L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from losslab.analysis.stability import lambda_max
from losslab.analysis.stationary import classify, hessian_eigenvalues
from losslab.descent.record import Seen
from losslab.descent.stopping import StopRules, negligible, steady_growth, within_words
from losslab.descent.trajectory import Diagnosis
from losslab.objectives.objective import Objective

WINDOW = 20  # the most steps looked back over to call a run oscillating or stalled
_MAX_HESSIAN_DIM = 500


@dataclass(frozen=True)
class Stability:
    """Why plain gd failed, in words, and the λmax those words name."""

    words: str
    lr: float
    top: float

    def predicted_growth(self) -> str:
        """What a quadratic with this λmax predicts for the growth of L − min L per gd step."""
        factor = (1 - self.lr * self.top) ** 2
        return (
            "on a quadratic gd multiplies L − min L by (1 − lr·λmax)² = "
            f"(1 − {self.lr:g}·{self.top:.4g})² = {factor:.4g} per step"
        )


def diagnose(
    objective: Objective,
    seen: Seen,
    stop: Diagnosis | None,
    plain: bool,
    rules: StopRules | None = None,
    *,
    newton: bool = False,
) -> Diagnosis:
    """The status and its reason; plain gd/sgd failures are explained by 2/λmax, a Newton step thrown far by a
    singular Hessian by that Hessian (``newton``).

    ``seen`` is the start and the run's last steps, exactly, however much of the run its record
    kept (:class:`losslab.descent.record.Seen`: ``Seen.of(params, losses, grads, lrs)`` for a whole one).
    """
    lr = seen.lr_max
    why = _stability(objective, seen, lr, equal_ok=False) if plain and lr is not None else None
    if stop is not None and stop.status == "diverged":
        reason = _joined(stop.reason, why)
        if why is not None and steady_growth(seen.losses.tolist()) is not None:
            reason += f", and {why.predicted_growth()}"
        if newton:
            reason = _joined(reason, _singular_newton_step(objective, seen))
        return Diagnosis("diverged", f"diverged at step {stop.step}: {reason}", stop.step)
    if stop is not None and stop.status == "unbounded":
        return Diagnosis("unbounded", f"unbounded below at step {stop.step}: {stop.reason}", stop.step)
    found = stop or _from_the_last_steps(objective, seen, lr, plain, why)
    if found.status == "converged":
        found = _not_a_minimum(objective, seen.params[-1], found)
    return _with_distance(found, seen.params[-1], rules)


def _not_a_minimum(objective: Objective, theta: Tensor, found: Diagnosis) -> Diagnosis:
    """A run that stopped moving at a saddle or a maximum (started on its ridge line) says so."""
    if objective.dim > _MAX_HESSIAN_DIM or not torch.isfinite(theta).all():
        return found
    hessian = objective.hessian(theta)
    if not torch.isfinite(hessian).all():
        return found
    eigenvalues = hessian_eigenvalues(hessian)
    kind = classify(eigenvalues)
    if kind not in ("saddle", "maximum"):
        return found
    lowest = float(eigenvalues[0])
    words = (
        f"θ is a {kind}, not a minimum: the Hessian there has the eigenvalue {_num(lowest)} < 0, "
        "and a nudge along its eigenvector would roll downhill"
    )
    return Diagnosis(found.status, f"{found.reason}; {words}", found.step)


def _from_the_last_steps(
    objective: Objective,
    seen: Seen,
    lr: float | None,
    plain: bool,
    why: Stability | None,
) -> Diagnosis:
    """The diagnosis of a run that used its whole step budget: converged, diverging, oscillating, stalled or going."""
    params, losses, grads, last = seen.params, seen.losses, seen.grads, seen.last
    if negligible(params, grads, seen.start_grad_norm):
        size = float(torch.linalg.vector_norm(params[-1] - params[-2]))
        gnorm = float(torch.linalg.vector_norm(grads[-1]))
        return Diagnosis(
            "converged",
            f"converged: by step {last} the steps and the gradient were negligible "
            f"(‖Δθ‖ = {size:.3g}, ‖∇L‖ = {gnorm:.3g})",
            last,
        )
    window = min(WINDOW, last // 2)
    # "Stopped decreasing": the mean loss of the last window is not below that of the window before.
    # Means, not single values, so a momentum spiral that still descends on average is not flat.
    flat = False
    if window >= 2:
        recent, earlier = (
            float(losses[-window:].mean()),
            float(losses[-2 * window : -window].mean()),
        )
        flat = recent >= earlier - 1e-12 * abs(earlier)
    rising = seen.rises
    if window >= 2 and rising >= window and float(losses[-1]) > 10.0 * seen.risen_from:
        every = " (every step of the run)" if rising == last else ""
        reason = (
            f"diverging: L grew at each of the last {rising} steps{every}, "
            f"from {_g(seen.risen_from)} to {_g(float(losses[-1]))}"
        )
        return Diagnosis("diverged", _joined(reason, why), last)
    if flat and _alternating(params[-window - 1 :]):
        if plain and lr is not None:
            why = _stability(objective, seen, lr, equal_ok=True)
        reason = (
            f"oscillating: over the last {window} steps each step reverses the previous one and L makes "
            f"no new low (L = {_g(float(losses[-1]))}; θ alternates between {_vec(params[-2])} and {_vec(params[-1])})"
        )
        if why is None:
            reason = _joined(reason, _kink_between(objective, params[-2], params[-1]))
        return Diagnosis("oscillating", _joined(reason, why), last)
    gnorm = float(torch.linalg.vector_norm(grads[-1]))
    falling = window >= 2 and bool((losses[-window - 1 :].diff() < 0).all())
    if why is None and not falling and last >= 2:  # hopping to and fro across a crease, drifting along it
        why_text = _kink_between(objective, params[-2], params[-1], "its last step crosses a kink")
    else:
        why_text = None
    if flat:
        reason = f"stalled: L made no new low over the last {window} steps while ‖∇L‖ = {gnorm:.3g} is not small"
        return Diagnosis("stalled", _joined(reason, why or why_text), last)
    above = float(losses[-1]) > seen.start_loss  # fell at the end, into a valley higher than the start
    reason = (
        f"stopped after {last} step{'s' if last != 1 else ''} (the step budget)"
        f"{f' with L still falling at each of the last {window} steps' if falling else ''}: L went from "
        f"{_g(seen.start_loss)} to {_g(float(losses[-1]))}{' (above where it started)' if above else ''}, "
        f"‖∇L‖ = {gnorm:.3g}"
    )
    return Diagnosis("max_steps", _joined(reason, why or why_text), last)


def _with_distance(found: Diagnosis, final: Tensor, rules: StopRules | None) -> Diagnosis:
    """A run asked to get ``within`` a minimum and not stopped for that: how far it ended."""
    target = rules.target if rules is not None else None
    if target is None or found.reason.startswith("within") or not torch.isfinite(final).all():
        return found
    distance, index = target.nearest(final)
    if distance <= target.tol:  # the rule is checked at every step; this is a run that began there
        return Diagnosis(
            found.status, f"{found.reason}; {within_words(target, found.step, distance, index)}", found.step
        )
    steps = f"{found.step} step{'s' if found.step != 1 else ''}"
    far = (
        f"not within {target.tol:g} of {target.describe(index)} after {steps}: {target.distance_text(index, distance)}"
    )
    return Diagnosis(found.status, f"{found.reason}; {far}", found.step)


def _joined(reason: str, why: Stability | str | None) -> str:
    """``reason``, then why, where there is one (2/λmax's words, or another explanation's)."""
    if why is None:
        return reason
    return f"{reason}; {why.words if isinstance(why, Stability) else why}"


def _kink_between(
    objective: Objective, a: Tensor, b: Tensor, lead: str = "a kink lies between them"
) -> str | None:
    """Why a run hops between ``a`` and ``b`` for good where no curvature explains it: L's slope along the step
    jumps between them (|x| between 0.1 and −0.2: from −0.3 to +0.3), a kink a fixed step cannot settle on —
    or, ``lead`` saying so, a crease it hops across while drifting along it (|x² + y² − 1|).
    None where the slope passes through 0 smoothly (the 2/λmax oscillation of a smooth loss)."""
    step = b - a
    length = float(torch.linalg.vector_norm(step))
    if not math.isfinite(length) or length == 0.0:
        return None
    t = torch.linspace(0.0, 1.0, 65, dtype=a.dtype)
    slopes = objective.grads(a + t[:, None] * step) @ step
    if not bool(torch.isfinite(slopes).all()):
        return None
    size = float(slopes.abs().max())
    crossings = (slopes[:-1] * slopes[1:] < 0).nonzero().flatten().tolist()
    jumps = [i for i in crossings if min(abs(float(slopes[i])), abs(float(slopes[i + 1]))) >= 0.25 * size]
    if not jumps:
        return None
    left, right = float(slopes[jumps[0]]) / length, float(slopes[jumps[0] + 1]) / length
    return (
        f"{lead}: along the step L's slope jumps from {_g(left)} to {_g(right)} (L is not "
        "differentiable there), so steps of a fixed rate hop across it and never settle; a smaller or decaying "
        "rate ends closer"
    )


def _singular_newton_step(objective: Objective, seen: Seen) -> str | None:
    """Why a Newton run's longest step was long: the Hessian before it is singular (|x| away from its kink has
    none), and Newton divides the gradient by it. None where the Hessian there is regular or out of reach."""
    moves = torch.linalg.vector_norm(seen.params.diff(dim=0), dim=-1)
    finite = torch.isfinite(moves)
    if objective.dim > _MAX_HESSIAN_DIM or not bool(finite.any()):
        return None
    jump = int(torch.where(finite, moves, -1.0).argmax())
    theta = seen.params[jump]
    hessian = objective.hessian(theta)
    if not bool(torch.isfinite(hessian).all()):
        return None
    eigenvalues, vectors = torch.linalg.eigh(0.5 * (hessian + hessian.T))
    scale = max(1.0, float(eigenvalues.abs().max()))
    flat = eigenvalues.abs() <= 1e-8 * scale
    if not bool(flat.any()):
        return None
    along = _vec(vectors[:, int(flat.nonzero()[0])])
    return (
        f"Newton divides the gradient by the curvature, and the Hessian at step {seen.first + jump} is singular "
        f"(eigenvalue 0 along {along}), so the step from there was {float(moves[jump]):.3g} long; "
        f"newton:damping=1 bounds it (the step solves (H + damping·I)·Δθ = −∇L)"
    )


def _alternating(params: Tensor) -> bool:
    moves = params.diff(dim=0)
    return bool(((moves[1:] * moves[:-1]).sum(-1) < 0).all())


def _stability(objective: Objective, seen: Seen, lr: float, *, equal_ok: bool) -> Stability | None:
    """``"lr … is above 2/λmax = …"`` at the start or the last finite point, when that is why.

    A run stops at its first non-finite θ, so the last finite point is among the last steps ``seen`` holds.
    """
    finite = torch.isfinite(seen.params).all(dim=-1).nonzero()
    points = [(seen.start, "at the start")]
    if finite.numel():
        at = int(finite[-1])
        points.append((seen.params[at], f"at step {seen.first + at}"))
    for theta, where in points:
        top = affordable_lambda_max(objective, theta)
        if top is None or top <= 0:
            continue
        limit = 2.0 / top
        if math.isclose(lr, limit, rel_tol=1e-9) and equal_ok:
            words = (
                f"lr {_num(lr)} equals 2/λmax = {_num(limit)}, so each step lands on the mirror image of θ "
                f"across the minimum (λmax = {_num(top)} of the Hessian {where})"
            )
            return Stability(words, lr, top)
        if lr > limit and not math.isclose(lr, limit, rel_tol=1e-9):
            shown_lr, shown_limit = _apart(lr, limit)
            return Stability(
                f"lr {shown_lr} is above 2/λmax = {shown_limit} (λmax = {_num(top)} of the Hessian {where})", lr, top
            )
    return None


def affordable_lambda_max(objective: Objective, theta: Tensor) -> float | None:
    """λmax of the Hessian at θ, or None for n > 500 (the full Hessian costs too much) or a non-finite Hessian."""
    return None if objective.dim > _MAX_HESSIAN_DIM else lambda_max(objective, theta)


def _num(x: float) -> str:
    """Four significant digits, written as a float (``1.0``, ``0.09091``, ``22.0``)."""
    return repr(float(f"{x:.4g}"))


def _apart(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` to four significant digits, or as many more as tell them apart (lr 1.0005 above 2/λmax 1.0).

    >>> _apart(1.0005, 1.0), _apart(1.5, 1.0)
    (('1.0005', '1.0'), ('1.5', '1.0'))
    """
    for digits in range(4, 18):
        shown = repr(float(f"{a:.{digits}g}")), repr(float(f"{b:.{digits}g}"))
        if shown[0] != shown[1]:
            return shown
    return repr(a), repr(b)


def _g(x: float) -> str:
    """Six significant digits; −0 written as 0."""
    return f"{x + 0.0:.6g}"


def _vec(theta: Tensor) -> str:
    values = [_g(v) for v in theta.tolist()]
    return values[0] if len(values) == 1 else f"({', '.join(values)})"
