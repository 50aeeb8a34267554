r"""How a descent went: the stop rules checked after every step, and the diagnosis at the end.

A run is ``converged``, ``diverged``, ``oscillating``, ``stalled`` or ``max_steps``, with its
reason in words. A plain-gradient-descent failure is explained by the stability limit
:math:`\eta < 2/\lambda_{\max}` (:func:`losslab.analysis.stability.lambda_max`) at the start or the
last finite point.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from losslab.analysis.stability import lambda_max
from losslab.descent.trajectory import Diagnosis
from losslab.objectives.objective import Objective

WINDOW = 20  # the most steps looked back over to call a run oscillating or stalled
_MAX_HESSIAN_DIM = 500


def stop_rule(
    k: int,
    loss_k: Tensor | float,
    theta: Tensor,
    grad: Tensor,
    loss_0: Tensor | float,
    loss_threshold: float | None,
    grad_tol: float | None,
    divergence_factor: float,
) -> Diagnosis | None:
    """Why the run must stop after step k (non-finite, diverged, or a stop rule met), or None to go on.

    ``loss_k``, ``theta`` and ``grad`` are L, θ and ∇L at step k; ``loss_0`` is L at the start.
    """
    loss = float(loss_k)
    # One reduction instead of two isfinite passes: a nan or inf anywhere makes the sum non-finite.
    if not (math.isfinite(loss) and math.isfinite(float(theta.sum() + grad.sum()))):
        what = f"the loss became {loss}" if not math.isfinite(loss) else "θ or ∇L became non-finite"
        return Diagnosis("diverged", f"{what}", k)
    limit = divergence_factor * max(1.0, abs(float(loss_0)))
    if loss > limit:
        return Diagnosis(
            "diverged",
            f"L = {loss:.4g} exceeded {divergence_factor:g} × max(1, |L0|) = {limit:.4g}",
            k,
        )
    if loss_threshold is not None and loss <= loss_threshold:
        return Diagnosis(
            "converged",
            f"converged at step {k}: L = {loss:.6g} ≤ loss_threshold {loss_threshold:g}",
            k,
        )
    norm = float(torch.linalg.vector_norm(grad))
    if grad_tol is not None and norm <= grad_tol:
        return Diagnosis("converged", f"converged at step {k}: ‖∇L‖ = {norm:.3g} ≤ grad_tol {grad_tol:g}", k)
    return None


def diagnose(
    objective: Objective,
    params: Tensor,
    losses: Tensor,
    grads: Tensor,
    lrs: Tensor,
    stop: Diagnosis | None,
    plain: bool,
) -> Diagnosis:
    """The status and its reason; plain gd/sgd failures are explained by 2/λmax."""
    lr = float(lrs.max()) if lrs.numel() else None
    why = _stability(objective, params, lr, equal_ok=False) if plain and lr is not None else None
    if stop is not None and stop.status == "diverged":
        reason = "; ".join(filter(None, [why, stop.reason]))
        return Diagnosis("diverged", f"diverged at step {stop.step}: {reason}", stop.step)
    if stop is not None:
        return stop
    last = params.shape[0] - 1
    if _negligible(params, grads):
        step = float(torch.linalg.vector_norm(params[-1] - params[-2])) if last else 0.0
        gnorm = float(torch.linalg.vector_norm(grads[-1]))
        return Diagnosis(
            "converged",
            f"converged: steps and gradient became negligible (‖Δθ‖ = {step:.3g}, ‖∇L‖ = {gnorm:.3g} at step {last})",
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
    if window >= 2 and _growing(losses[-window - 1 :]):
        reason = (
            f"diverging: L grew at every one of the last {window} steps, "
            f"from {float(losses[-window - 1]):.6g} to {float(losses[-1]):.6g}"
        )
        return Diagnosis("diverged", "; ".join(filter(None, [reason, why])), last)
    if flat and _alternating(params[-window - 1 :]):
        if plain and lr is not None:
            why = _stability(objective, params, lr, equal_ok=True)
        reason = (
            f"oscillating: over the last {window} steps each step reverses the previous one and L makes "
            f"no new low (L = {float(losses[-1]):.6g}) (θ alternates between {_vec(params[-2])} and {_vec(params[-1])})"
        )
        return Diagnosis("oscillating", "; ".join(filter(None, [reason, why])), last)
    gnorm = float(torch.linalg.vector_norm(grads[-1]))
    if flat:
        reason = f"stalled: L made no new low over the last {window} steps while ‖∇L‖ = {gnorm:.3g} is not small"
        return Diagnosis("stalled", "; ".join(filter(None, [reason, why])), last)
    reason = (
        f"stopped after {last} step{'s' if last != 1 else ''} (the step budget): L went from {float(losses[0]):.6g} to "
        f"{float(losses[-1]):.6g}, ‖∇L‖ = {gnorm:.3g}"
    )
    return Diagnosis("max_steps", "; ".join(filter(None, [reason, why])), last)


def _negligible(params: Tensor, grads: Tensor, rtol: float = 1e-8) -> bool:
    if params.shape[0] < 2:
        return False
    step = float(torch.linalg.vector_norm(params[-1] - params[-2]))
    gnorm = float(torch.linalg.vector_norm(grads[-1]))
    scale_g = max(1.0, float(torch.linalg.vector_norm(grads[0])))
    return gnorm <= rtol * scale_g and step <= rtol * max(1.0, float(torch.linalg.vector_norm(params[-1])))


def _growing(losses: Tensor, factor: float = 10.0) -> bool:
    """L rose at every step of the window and by more than ``factor`` overall."""
    return bool((losses.diff() > 0).all()) and float(losses[-1]) > factor * float(losses[0])


def _alternating(params: Tensor) -> bool:
    moves = params.diff(dim=0)
    return bool(((moves[1:] * moves[:-1]).sum(-1) < 0).all())


def _stability(objective: Objective, params: Tensor, lr: float, *, equal_ok: bool) -> str | None:
    """``"lr … is above 2/λmax = …"`` at the start or the last finite point, when that is why."""
    last = int(torch.isfinite(params).all(dim=-1).nonzero()[-1])  # θ_0 is finite: the start was checked
    for k, where in ((0, "at the start"), (last, f"at step {last}")):
        top = affordable_lambda_max(objective, params[k])
        if top is None or top <= 0:
            continue
        limit = 2.0 / top
        if math.isclose(lr, limit, rel_tol=1e-9) and equal_ok:
            return (
                f"lr {_num(lr)} equals 2/λmax = {_num(limit)}, so each step lands on the mirror image of θ "
                f"across the minimum (λmax = {_num(top)} of the Hessian {where})"
            )
        if lr > limit and not math.isclose(lr, limit, rel_tol=1e-9):
            return f"lr {_num(lr)} is above 2/λmax = {_num(limit)} (λmax = {_num(top)} of the Hessian {where})"
    return None


def affordable_lambda_max(objective: Objective, theta: Tensor) -> float | None:
    """λmax of the Hessian at θ, or None for n > 500 (the full Hessian costs too much) or a non-finite Hessian."""
    return None if objective.dim > _MAX_HESSIAN_DIM else lambda_max(objective, theta)


def _num(x: float) -> str:
    """Four significant digits, written as a float (``1.0``, ``0.09091``, ``22.0``)."""
    return repr(float(f"{x:.4g}"))


def _vec(theta: Tensor) -> str:
    values = [f"{v:.6g}" for v in theta.tolist()]
    return values[0] if len(values) == 1 else f"({', '.join(values)})"
