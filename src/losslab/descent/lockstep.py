r"""Several ``torch.optim`` optimizers walking one objective in lock-step, sharing each step's evaluation.

A race runs R optimizers from the same start. Run one after the other (:func:`losslab.descend`),
each step pays one forward and one backward pass per optimizer, and on a two-parameter formula
those are a few microseconds of arithmetic under tens of microseconds of per-call overhead. Here
the R current points live in the rows of one (R, n) tensor: step k evaluates
:math:`L(\theta^{(r)}_k)` and its gradient for all rows at once
(:meth:`~losslab.objectives.objective.Objective.values_and_grads`: one backward pass, or for a formula its
compiled symbolic derivatives), then each optimizer takes its own ``step()`` on its row (a view,
so the update lands in the stack; after its first ``step()``, through
:func:`losslab.descent.functional_steps.stepper`, the same update without ``step()``'s per-call wrapping). The
stop rules are checked for all rows and a block of steps at once; a row whose run has ended
stops stepping.

The runs are those :func:`losslab.descend` gives — same optimizers, same stop rules (the scalar
:func:`losslab.descent.stopping.stop_rule` decides), same :class:`~losslab.descent.trajectory.Trajectory` and
diagnosis; tests compare them step for step. Only full-batch optimizers that step without a
closure qualify (:func:`shares_steps`): Newton and L-BFGS re-evaluate inside ``step``, and
mini-batch runs draw their own batches.

>>> from losslab.objectives.objective import formula
>>> runs = lockstep(formula("(w - 3)**2"), "w=0", ["gd:lr=0.25", "adam:lr=0.5"], steps=2)
>>> [[round(w, 4) for w in r.params[:, 0].tolist()] for r in runs]
[[0.0, 1.5, 2.25], [0.0, 0.5, 0.9956]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from losslab.descent.functional_steps import stepper
from losslab.descent.optimizers import OptimizerSpec, entry, parse_optimizer
from losslab.descent.run import OptimizerLike, check_count, finish, make_optimizer
from losslab.descent.stopping import GROWTH_RISES, NEGLIGIBLE, Start, StopRules, stop_rule, stop_rules
from losslab.descent.trajectory import Diagnosis, Trajectory
from losslab.errors import LosslabError
from losslab.objectives.domain import PointLike
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective

CHECK_EVERY = 64  # steps between calls of should_stop
CHECK_BLOCK = 16  # steps whose stop rules are checked together


def shares_steps(objective: Objective, optimizer: OptimizerLike, batch_size: int | None = None) -> bool:
    """Whether ``optimizer`` can run in a lock-step group on ``objective`` (full batch, no closure).

    >>> from losslab.objectives.objective import formula
    >>> [shares_steps(formula("w**2"), name) for name in ("adam", "sgd", "newton", "lbfgs")]
    [True, True, True, False]
    """
    if batch_size is not None:
        return False
    if isinstance(optimizer, str):
        optimizer = parse_optimizer(optimizer)
    if not isinstance(optimizer, OptimizerSpec):
        return False
    spec = entry(optimizer.name)
    return not spec.needs_closure and not (spec.mini_batch and objective.n_samples is not None)


def lockstep(
    objective: Objective | str,
    start: PointLike,
    optimizers: Sequence[OptimizerLike | tuple[OptimizerLike, dict[str, Any]]],
    *,
    steps: int = 100,
    loss_threshold: float | None = None,
    grad_tol: float | None = None,
    divergence_factor: float = 1e6,
    within: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Trajectory]:
    """One :class:`Trajectory` per optimizer, all from ``start``, stepped together.

    Args:
        objective: the loss; its ``values`` must accept a stack of points (every objective's does).
        start: θ_0 for every run.
        optimizers: registry names or specs, each optionally paired with hyper-parameters
            (``("adam", {"lr": 0.01})``); each must qualify by :func:`shares_steps`.
        steps, loss_threshold, grad_tol, divergence_factor, within: as in :func:`losslab.descend`.
        should_stop: asked every 64 steps; when it answers True the race is abandoned with a
            :class:`LosslabError` (the web server's wall-time bound).
    """
    objective = as_objective(objective)
    steps = check_count(steps)
    rules = stop_rules(objective, loss_threshold, grad_tol, divergence_factor, within)
    pairs = [item if isinstance(item, tuple) else (item, {}) for item in optimizers]
    for optimizer, _ in pairs:
        if not shares_steps(objective, optimizer):
            raise LosslabError(
                f"optimizer {optimizer!r} cannot step in lock-step (it needs a closure or draws mini-batches); "
                "run it with descend"
            )
    stack = objective.point(start).detach().expand(len(pairs), -1).clone()
    grads_in = torch.zeros_like(stack)  # what the optimizers read as .grad, refreshed every step
    built = []
    for r, (optimizer, hyper) in enumerate(pairs):
        row = stack[r]
        opt, name, used, _, _ = make_optimizer(optimizer, row, None, dict(hyper), [objective])
        row.grad = grads_in[r]
        built.append((opt, name, used))
    record, stops = _walk(objective, stack, grads_in, _steppers([b[0] for b in built]), steps, rules, should_stop)
    stacked = tuple(torch.stack(part) for part in record)  # (K+1, R, …)
    return [
        finish(
            objective, _column(stacked, r, stop, float(opt.param_groups[0]["lr"])), stop, rules, optimizer, name, used
        )
        for r, ((optimizer, _), (opt, name, used), stop) in enumerate(zip(pairs, built, stops, strict=True))
    ]


Stepper = tuple[torch.optim.Optimizer, list[int]]


def _steppers(opts: list[torch.optim.Optimizer]) -> list[Stepper]:
    """The optimizers to call, each with the rows it moves: one ``torch.optim`` instance per class.

    Runs of the same class (gd, momentum and Nesterov are all ``SGD``) become the parameter groups
    of one instance — each group keeps its own hyper-parameters and state, so the updates are the
    same, and one ``step()`` call replaces several. Other classes (Newton) step alone.
    """
    classes: dict[type, list[int]] = {}
    for r, opt in enumerate(opts):
        classes.setdefault(type(opt), []).append(r)
    steppers: list[Stepper] = []
    for cls, rows in classes.items():
        if len(rows) > 1 and cls.__module__.startswith("torch.optim"):
            steppers.append((cls([opts[r].param_groups[0] for r in rows]), rows))
        else:
            steppers.extend((opts[r], [r]) for r in rows)
    return steppers


def _walk(
    objective: Objective,
    stack: Tensor,
    grads_in: Tensor,
    steppers: list[Stepper],
    steps: int,
    rules: StopRules,
    should_stop: Callable[[], bool] | None,
) -> tuple[tuple[list[Tensor], list[Tensor], list[Tensor]], list[Diagnosis | None]]:
    """Step every running row until its stop rule fires or the budget ends; the records and each row's stop.

    The stop rules are checked for a block of :data:`CHECK_BLOCK` steps at once
    (:func:`_settle`), not after every step: a row that stopped inside the block is found at
    its first stopping step and its record ends there, while the row itself has moved on a few
    unrecorded steps (rows do not mix: each is its own parameter and its own optimizer state).
    """
    record: tuple[list[Tensor], list[Tensor], list[Tensor]] = ([], [], [])
    stops: list[Diagnosis | None] = [None] * len(stack)
    updates: list[Callable[[], object]] = [opt.step for opt, _ in steppers]
    starts: list[Start] = []
    for k in range(steps + 1):
        if should_stop is not None and k % CHECK_EVERY == CHECK_EVERY - 1 and should_stop():
            raise LosslabError(f"stopped at step {k} of {steps}: out of time")
        theta = stack.clone()
        loss, grad = objective.values_and_grads(theta)
        for part, value in zip(record, (theta, loss, grad), strict=True):
            part.append(value)
        if k == 0:
            norms = torch.linalg.vector_norm(grad, dim=-1).tolist()
            starts = [Start(float(v), g) for v, g in zip(loss.tolist(), norms, strict=True)]
        if k % CHECK_BLOCK == CHECK_BLOCK - 1 or k == steps:
            _settle(stops, k - k % CHECK_BLOCK, record, starts, rules)
            if all(stop is not None for stop in stops):
                break
        if k == steps:
            break
        grads_in.copy_(grad)
        for update, (_, rows) in zip(updates, steppers, strict=True):  # a stopped row in a shared instance
            if any(stops[r] is None for r in rows):  # moves on, unrecorded
                update()
        if k == 0:  # the first step() made each optimizer's state: from now on, the update alone
            updates = [stepper(opt) for opt, _ in steppers]
    return record, stops


def _settle(
    stops: list[Diagnosis | None],
    first: int,
    record: tuple[list[Tensor], list[Tensor], list[Tensor]],
    starts: list[Start],
    rules: StopRules,
) -> None:
    """Each running row's first stop in the steps ``first, first + 1, …`` of ``record``, in ``stops``.

    A vectorized superset of the steps where a row's rule may fire (:func:`_candidates`) is
    decided step by step by the scalar :func:`~losslab.descent.stopping.stop_rule`, as ``descend`` does.
    """
    params, losses, grads = record
    for b, r in _candidates(first, record, starts, rules).nonzero().tolist():  # in step order
        if stops[r] is None:
            k = first + b
            recent = [float(losses[j][r]) for j in range(max(0, k - GROWTH_RISES), k + 1)]
            previous = params[k - 1][r] if k else None
            stops[r] = stop_rule(k, recent, params[k][r], previous, grads[k][r], starts[r], rules)


def _candidates(
    first: int, record: tuple[list[Tensor], list[Tensor], list[Tensor]], starts: list[Start], rules: StopRules
) -> Tensor:
    """``(B, R)``: where a row's stop rule may fire in the steps ``first…`` — a non-finite or too large value,
    L beyond ±the divergence limit or at the threshold, three rises in a row, ‖∇L‖ near a tolerance, θ
    near the target. The rows' own norms may round differently: margins, and ``stop_rule`` decides."""
    thetas, losses, grads = (torch.stack(part[first:]) for part in record)  # (B, R, n), (B, R), (B, R, n)
    loss_0 = torch.tensor([s.loss for s in starts], dtype=losses.dtype)
    limit = rules.divergence_factor * loss_0.abs().clamp(min=1.0)
    size = thetas.abs().sum(-1) + grads.abs().sum(-1)  # below 1e307: every sum of θ and ∇L entries is finite
    flagged = ~(losses.isfinite() & (size < 1e307) & (losses <= limit) & (losses >= -limit))
    gnorm = torch.linalg.vector_norm(grads, dim=-1)
    negligible = NEGLIGIBLE * torch.tensor([max(1.0, s.grad_norm) for s in starts], dtype=gnorm.dtype)
    flagged |= gnorm <= negligible * (1 + 1e-9)
    if rules.loss_threshold is not None:
        flagged |= losses <= rules.loss_threshold
    if rules.grad_tol is not None:
        flagged |= gnorm <= rules.grad_tol * (1 + 1e-9)
    if rules.target is not None:
        distances = torch.linalg.vector_norm(thetas.unsqueeze(-2) - rules.target.points, dim=-1).amin(-1)
        flagged |= distances <= rules.target.tol * (1 + 1e-9)
    if math.isfinite(rules.divergence_factor):
        flagged |= _rising(first, record[1])
    return flagged


def _rising(first: int, losses: list[Tensor]) -> Tensor:
    """``(B, R)``: where L rose at each of the last :data:`GROWTH_RISES` steps up to step ``first + b``."""
    low = max(0, first - GROWTH_RISES)
    up = torch.stack(losses[low:]).diff(dim=0) > 0  # up[i]: L rose at step low + i + 1
    streak = up[GROWTH_RISES - 1 :].clone()
    for back in range(1, GROWTH_RISES):
        streak &= up[GROWTH_RISES - 1 - back : up.shape[0] - back]  # streak[j]: rises up to step low + j + 3
    out = torch.zeros((len(losses) - first, up.shape[1]), dtype=torch.bool)
    skip = low + GROWTH_RISES - first  # the block's steps before step GROWTH_RISES have no streak
    if skip >= 0:
        out[skip:] = streak
    else:
        out[:] = streak[-skip:]
    return out


def _column(
    stacked: tuple[Tensor, ...], r: int, stop: Diagnosis | None, lr: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Row r's (params, losses, grads, lrs), up to the step its run ended."""
    end = len(stacked[0]) if stop is None else stop.step + 1
    params, losses, grads = (part[:end, r].clone() for part in stacked)
    return params, losses, grads, torch.full((end - 1,), lr, dtype=torch.float64)
