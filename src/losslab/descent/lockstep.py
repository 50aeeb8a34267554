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
:func:`losslab.descent.diagnosis.stop_rule` decides), same :class:`~losslab.descent.trajectory.Trajectory` and
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

from losslab.descent.diagnosis import stop_rule
from losslab.descent.functional_steps import stepper
from losslab.descent.optimizers import OptimizerSpec, entry, parse_optimizer
from losslab.descent.run import OptimizerLike, check_count, check_stop_rules, finish, make_optimizer
from losslab.descent.trajectory import Diagnosis, Trajectory
from losslab.errors import LosslabError
from losslab.objectives.domain import PointLike
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
    objective: Objective,
    start: PointLike,
    optimizers: Sequence[OptimizerLike | tuple[OptimizerLike, dict[str, Any]]],
    *,
    steps: int = 100,
    loss_threshold: float | None = None,
    grad_tol: float | None = None,
    divergence_factor: float = 1e6,
    should_stop: Callable[[], bool] | None = None,
) -> list[Trajectory]:
    """One :class:`Trajectory` per optimizer, all from ``start``, stepped together.

    Args:
        objective: the loss; its ``values`` must accept a stack of points (every objective's does).
        start: θ_0 for every run.
        optimizers: registry names or specs, each optionally paired with hyper-parameters
            (``("adam", {"lr": 0.01})``); each must qualify by :func:`shares_steps`.
        steps, loss_threshold, grad_tol, divergence_factor: as in :func:`losslab.descend`.
        should_stop: asked every 64 steps; when it answers True the race is abandoned with a
            :class:`LosslabError` (the web server's wall-time bound).
    """
    steps = check_count(steps)
    check_stop_rules(loss_threshold, grad_tol, divergence_factor)
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
    rules = (loss_threshold, grad_tol, divergence_factor)
    record, stops = _walk(objective, stack, grads_in, _steppers([b[0] for b in built]), steps, rules, should_stop)
    stacked = tuple(torch.stack(part) for part in record)  # (K+1, R, …)
    return [
        finish(objective, _column(stacked, r, stop, float(opt.param_groups[0]["lr"])), stop, optimizer, name, used)
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
    rules: tuple[float | None, float | None, float],
    should_stop: Callable[[], bool] | None,
) -> tuple[tuple[list[Tensor], list[Tensor], list[Tensor]], list[Diagnosis | None]]:
    """Step every running row until its stop rule fires or the budget ends; the records and each row's stop.

    The stop rules are checked for a block of :data:`CHECK_BLOCK` steps at once
    (:func:`_settle`), not after every step: a row that stopped inside the block is found at
    its first stopping step and its record ends there, while the row itself has moved on a few
    unrecorded steps (rows do not mix: each is its own parameter and its own optimizer state).
    """
    params: list[Tensor] = []
    losses: list[Tensor] = []
    grads: list[Tensor] = []
    stops: list[Diagnosis | None] = [None] * len(stack)
    updates: list[Callable[[], object]] = [opt.step for opt, _ in steppers]
    limit = math.inf
    for k in range(steps + 1):
        if should_stop is not None and k % CHECK_EVERY == CHECK_EVERY - 1 and should_stop():
            raise LosslabError(f"stopped at step {k} of {steps}: out of time")
        theta = stack.clone()
        loss, grad = objective.values_and_grads(theta)
        params.append(theta)
        losses.append(loss)
        grads.append(grad)
        if k == 0:  # every row starts at the same point
            limit = rules[2] * max(1.0, abs(float(loss[0])))
        if k % CHECK_BLOCK == CHECK_BLOCK - 1 or k == steps:
            first = k - k % CHECK_BLOCK
            _settle(stops, first, (params[first:], losses[first:], grads[first:]), losses[0], limit, rules)
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
    return (params, losses, grads), stops


def _settle(
    stops: list[Diagnosis | None],
    first: int,
    block: tuple[list[Tensor], list[Tensor], list[Tensor]],
    loss_0: Tensor,
    limit: float,
    rules: tuple[float | None, float | None, float],
) -> None:
    """Each running row's first stop in the steps ``first, first + 1, …`` of ``block``, in ``stops``.

    A vectorized superset of the steps where a row's rule may fire — a non-finite or too large
    value, L above the divergence limit or at the threshold, ‖∇L‖ near the tolerance — is
    decided step by step by the scalar :func:`~losslab.descent.diagnosis.stop_rule`, as ``descend`` does.
    """
    loss_threshold, grad_tol, _ = rules
    thetas, losses, grads = (torch.stack(part) for part in block)  # (B, R, n), (B, R), (B, R, n)
    size = thetas.abs().sum(-1) + grads.abs().sum(-1)  # below 1e307: every sum of θ and ∇L entries is finite
    flagged = ~(losses.isfinite() & (size < 1e307) & (losses <= limit))
    if loss_threshold is not None:
        flagged |= losses <= loss_threshold
    if grad_tol is not None:  # the row's own norm may round differently: a margin, and stop_rule decides
        flagged |= torch.linalg.vector_norm(grads, dim=-1) <= grad_tol * (1 + 1e-9)
    for b, r in flagged.nonzero().tolist():  # in step order
        if stops[r] is None:
            stops[r] = stop_rule(first + b, losses[b, r], thetas[b, r], grads[b, r], loss_0[r], *rules)


def _column(
    stacked: tuple[Tensor, ...], r: int, stop: Diagnosis | None, lr: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Row r's (params, losses, grads, lrs), up to the step its run ended."""
    end = len(stacked[0]) if stop is None else stop.step + 1
    params, losses, grads = (part[:end, r].clone() for part in stacked)
    return params, losses, grads, torch.full((end - 1,), lr, dtype=torch.float64)
