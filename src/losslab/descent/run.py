r"""Walk down an objective with a real ``torch.optim`` optimizer, and say how it went.

θ is one float64 leaf tensor; each step evaluates :math:`L(\theta_k)` with autograd, records
:math:`(\theta_k, L(\theta_k), \nabla L(\theta_k))` and calls ``optimizer.step()``. The loop
stops at the step budget or as soon as a stop rule holds (:mod:`losslab.descent.stopping`):
divergence (a non-finite value, L above ``divergence_factor`` × max(1, |L_0|), or L growing
by a steady factor), L unbounded below, :math:`L \le` ``loss_threshold`` (Algorithm 3.2,
"while L > threshold"), θ ``within`` a distance of the minimum,
:math:`\lVert\nabla L\rVert \le` ``grad_tol``, or θ no longer changing. The
diagnosis (:mod:`losslab.descent.diagnosis`) explains a plain-gradient-descent failure with
the stability limit :math:`\eta < 2/\lambda_{\max}`.

A run takes at most :data:`MAX_STEPS` = 10⁸ steps. Its record is bounded
(:mod:`losslab.descent.record`: a run of more than 19 999 steps keeps the first 10 000, every
s-th after them and the last), written in place into buffers allocated once, so memory stays flat
however long it runs; the stop rules and the diagnosis still see every step.

>>> from losslab.objectives.objective import formula
>>> t = descend(formula("w**2 - 4*w + 5"), "w=0", lr=0.3, steps=3)
>>> [round(w, 6) for w in t.params[:, 0].tolist()]
[0.0, 1.2, 1.68, 1.872]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from losslab.descent.diagnosis import affordable_lambda_max, diagnose
from losslab.descent.optimizers import (
    Newton,
    OptimizerSpec,
    build,
    check_lr,
    entry,
    parse_optimizer,
    resolve,
    resolve_class,
)
from losslab.descent.record import Recorder, Seen
from losslab.descent.schedules import SchedulerLike, make_scheduler
from losslab.descent.stopping import GROWTH_RISES, Start, StopRules, stop_rule, stop_rules
from losslab.descent.trajectory import Diagnosis, LrSweep, Trajectory
from losslab.errors import LosslabError, check_int, first_line
from losslab.objectives.domain import PointLike
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import KnownPoint, Objective

OptimizerLike = str | OptimizerSpec | type[Optimizer]
DEFAULT_BATCH_SIZE = 32
MAX_STEPS = 10**8  # hours at ~0.1 ms a step on a formula: beyond it a run is a mistake (1e9 typed for 1e5)


def descend(
    objective: Objective | str,
    start: PointLike,
    optimizer: OptimizerLike = "gd",
    *,
    lr: float | None = None,
    steps: int = 100,
    batch_size: int | None = None,
    scheduler: SchedulerLike | None = None,
    generator: torch.Generator | None = None,
    loss_threshold: float | None = None,
    grad_tol: float | None = None,
    divergence_factor: float = 1e6,
    within: float | None = None,
    **hyperparameters: Any,
) -> Trajectory:
    """Run ``optimizer`` on ``objective`` from ``start`` and return the :class:`Trajectory`.

    Args:
        objective: the loss.
        start: θ_0 as text (``"w0=0,w1=0"``), mapping, sequence or tensor.
        optimizer: a registry name (``"adam"``, or ``"adam:lr=0.05"``), an
            :class:`OptimizerSpec`, or any ``torch.optim.Optimizer`` subclass.
        lr: the learning rate (default: the optimizer's).
        steps: the most updates to take, 1 to :data:`MAX_STEPS` (10⁸).
        batch_size: mini-batch size for objectives with data (``sgd`` defaults to 32,
            capped at the number of samples); batches are reshuffled each epoch.
        scheduler: an LR scheduler name (``"step:step_size=10,gamma=0.5"``,
            ``"exponential:gamma=0.9"``, ``"cosine:T_max=100"``), class or callable.
        generator: the random source for mini-batches (seed 0 when None).
        loss_threshold: stop once L ≤ this.
        grad_tol: stop once ‖∇L‖ ≤ this.
        divergence_factor: call it diverged once L > this × max(1, |L_0|), unbounded once
            L < −this × max(1, |L_0|) and still falling (inf: only non-finite values end a run,
            and steady growth does not).
        within: stop once ‖θ − θ*‖ ≤ this, θ* the nearest of the objective's known global minima
            (the gallery's), else of the minima :func:`losslab.analysis.stationary.stationary_points`
            finds; the diagnosis says after how many steps, or how far the run ended.
        **hyperparameters: passed to the optimizer (``momentum=0.5``, ``betas=(0.9, 0.99)``).

    >>> from losslab.objectives.objective import formula
    >>> descend(formula("(w - 3)**2"), "w=0", lr=1.0, steps=20).diagnosis.status
    'oscillating'
    >>> print(descend(formula("w**2 - 4*w + 5"), "w=0", lr=0.05, steps=100, within=0.01).diagnosis.reason)
    within 0.01 of the minimum w = 2 after 51 steps: |w − 2| = 0.00928 (the minimum found by losslab.analysis)
    """
    objective = as_objective(objective)
    steps = check_count(steps)
    theta = objective.point(start).detach().clone().requires_grad_(True)
    current = [objective]  # the (mini-batch) objective the next update uses
    opt, name, hyper, needs_closure, wants_batches = make_optimizer(optimizer, theta, lr, hyperparameters, current)
    rules = stop_rules(objective, loss_threshold, grad_tol, divergence_factor, within)
    notes, batches = _batches(objective, name, wants_batches, batch_size, generator, hyper)
    schedule = make_scheduler(scheduler, opt) if scheduler is not None else None

    def closure() -> Tensor:
        opt.zero_grad()
        loss = current[0].value(theta)
        loss.backward()
        return loss

    recorder = Recorder(objective.dim, theta.dtype, steps)
    recent: deque[float] = deque(maxlen=GROWTH_RISES + 1)  # the last values of L, for the stop rules
    previous = torch.empty_like(theta.detach())  # θ_{k−1}, written in place
    stop: Diagnosis | None = None
    first = Start(0.0, 0.0)  # L_0 and ‖∇L(θ_0)‖, set at step 0
    for k in range(steps + 1):
        current[0] = objective
        loss = closure().detach()
        point = theta.detach()
        grad = theta.grad.detach() if theta.grad is not None else torch.zeros_like(point)
        recorder.add(point, loss, grad)
        recent.append(float(loss))
        if k == 0:
            first = Start(recent[0], float(torch.linalg.vector_norm(grad)))
        stop = stop_rule(k, list(recent), point, previous if k else None, grad, first, rules)
        if stop is not None or k == steps:
            break
        previous.copy_(point)
        if batches is not None:
            current[0] = objective.subset(next(batches))
            if not needs_closure:
                closure()
        recorder.set_lr(float(opt.param_groups[0]["lr"]))
        try:
            opt.step(closure) if needs_closure else opt.step()  # type: ignore[arg-type]
        except IndexError:  # torch's strong-Wolfe search indexes an empty bracket when L is nan along the line
            if not needs_closure:
                raise
            reason = f"stalled at step {k}: the line search met points where L is not defined (nan) and found no step"
            stop = Diagnosis("stalled", reason, k)
            break
        if schedule is not None:
            schedule.step()
    kept = recorder.note()
    return finish(
        objective,
        recorder.record(),
        stop,
        rules,
        optimizer,
        name,
        hyper,
        [*notes, *([kept] if kept else [])],
        seen=recorder.seen(),
        kept_steps=recorder.kept_steps(),
    )


def finish(
    objective: Objective,
    record: tuple[Tensor, Tensor, Tensor, Tensor],
    stop: Diagnosis | None,
    rules: StopRules,
    optimizer: OptimizerLike,
    name: str,
    hyper: dict[str, Any],
    notes: Sequence[str] = (),
    *,
    seen: Seen | None = None,
    kept_steps: Tensor | None = None,
) -> Trajectory:
    """The :class:`Trajectory` of a finished run: its (params, losses, grads, lrs) record and diagnosis.

    ``seen`` is what the diagnosis reads (default: the whole record, every step); ``kept_steps``
    numbers the rows of a thinned record.
    """
    plain = name in ("gd", "sgd") or (optimizer is torch.optim.SGD and not hyper.get("momentum"))
    diagnosis = diagnose(objective, Seen.of(*record) if seen is None else seen, stop, plain, rules,
                         newton=name == "newton")  # fmt: skip
    return Trajectory(
        *record,
        optimizer=name,
        hyperparameters=hyper,
        names=tuple(objective.names),
        diagnosis=diagnosis,
        notes=tuple(notes),
        kept_steps=kept_steps,
    )


def check_count(steps: Any) -> int:
    """``steps`` when it is a whole number from 1 to :data:`MAX_STEPS`; else one LosslabError line.

    >>> check_count(1e8)
    Traceback (most recent call last):
    losslab.errors.LosslabError: steps must be a whole number ≥ 1, got 100000000.0 (a float: write 100000000)
    """
    try:
        return check_int("steps", steps, least=1, most=MAX_STEPS)
    except LosslabError as error:
        if isinstance(steps, float) and steps.is_integer() and 1 <= steps <= MAX_STEPS:
            raise LosslabError(f"{error} (a float: write {int(steps)})") from None
        raise


def check_run(optimizer: OptimizerLike, lr: float | None, steps: int, hyperparameters: dict[str, Any]) -> None:
    """What :func:`descend` checks of a run before it has an objective: the step count and the optimizer's
    hyper-parameters (``fit`` calls it before reading the data, so a bad value costs no load).

    >>> check_run("lbfgs:history_size=0", None, 10, {})
    Traceback (most recent call last):
    losslab.errors.LosslabError: optimizer 'lbfgs': history_size must be a whole number in [1, 1000000], got 0
    """
    check_count(steps)
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        resolve_class(optimizer, hyperparameters if lr is None else {**hyperparameters, "lr": lr})
        return
    spec = parse_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    if not isinstance(spec, OptimizerSpec):
        raise LosslabError(
            f"optimizer {optimizer!r} is not a name, an OptimizerSpec or a torch.optim.Optimizer subclass"
        )
    resolve(spec.name, {**spec.hyperparameters, **hyperparameters, **({} if lr is None else {"lr": lr})})


def make_optimizer(
    optimizer: OptimizerLike,
    theta: Tensor,
    lr: float | None,
    given: dict[str, Any],
    current: list[Objective],
) -> tuple[Optimizer, str, dict[str, Any], bool, bool]:
    """The optimizer, its name and hyper-parameters, whether ``step`` needs a closure, whether it draws batches."""

    def hessian(point: Tensor) -> Tensor:
        return current[0].hessian(point)

    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        hyper = resolve_class(optimizer, given if lr is None else {**given, "lr": check_lr(lr, optimizer.__name__)})
        extra: dict[str, Any] = {"hessian": hessian} if issubclass(optimizer, Newton) else {}
        try:
            opt = optimizer([theta], **hyper, **extra)
        except (ValueError, TypeError) as error:
            raise LosslabError(f"optimizer {optimizer.__name__!r}: {first_line(error)}") from None
        hyper.setdefault("lr", opt.param_groups[0].get("lr"))
        return opt, optimizer.__name__, hyper, True, False
    if isinstance(optimizer, str):
        optimizer = parse_optimizer(optimizer)
    if not isinstance(optimizer, OptimizerSpec):
        raise LosslabError(
            f"optimizer {optimizer!r} is not a name, an OptimizerSpec or a torch.optim.Optimizer subclass"
        )
    spec = entry(optimizer.name)
    chosen = {**optimizer.hyperparameters, **given, **({} if lr is None else {"lr": lr})}
    extra = {"hessian": hessian} if spec.cls is Newton else {}
    opt = build(spec.name, [theta], {**chosen, **extra})
    hyper = {k: opt.defaults[k] for k in spec.accepted if k in opt.defaults}
    return opt, spec.name, hyper, spec.needs_closure, spec.mini_batch


def _batches(
    objective: Objective,
    name: str,
    wants: bool,
    batch_size: int | None,
    generator: torch.Generator | None,
    hyper: dict[str, Any],
) -> tuple[list[str], Iterator[Tensor] | None]:
    """Notes about batching, and the endless stream of mini-batch indices (None: full batch)."""
    n = objective.n_samples
    if batch_size is not None and n is None:
        raise LosslabError(f"batch_size={batch_size} needs an objective with data; '{objective.title}' has none")
    if batch_size is not None and name == "gd":
        raise LosslabError("gd is full-batch gradient descent; use 'sgd' (or another optimizer) with batch_size")
    if n is None or not (wants or batch_size is not None):
        return (
            [f"{name} on an objective without data: every step uses the full loss, as gd does"] if wants else []
        ), None
    size = min(DEFAULT_BATCH_SIZE, n) if batch_size is None else batch_size
    if check_int("batch_size", size, least=1) > n:
        raise LosslabError(f"batch_size must be a whole number from 1 to {n} (the number of samples), got {size!r}")
    hyper["batch_size"] = size
    seeded = generator if generator is not None else torch.Generator().manual_seed(0)
    note = f"mini-batches of {size} of {n} samples, reshuffled each epoch"
    return [note + ("" if generator is not None else " (seed 0: no generator given)")], _epochs(n, size, seeded)


def _epochs(n: int, size: int, generator: torch.Generator) -> Iterator[Tensor]:
    while True:
        yield from torch.randperm(n, generator=generator).split(size)


def multistart(
    objective: Objective | str,
    starts: Sequence[PointLike],
    optimizer: OptimizerLike = "gd",
    *,
    match_tol: float = 1e-3,
    **kwargs: Any,
) -> list[Trajectory]:
    """One descent per start; each tagged (``reached``) with the known minimum its final θ is within ``match_tol`` of.

    >>> from losslab.objectives.objective import formula
    >>> [round(float(t.final[0]), 4) for t in multistart(formula("(w**2 - 1)**2"), ["w=-2", "w=0.5"], lr=0.05)]
    [-1.0, 1.0]
    """
    objective = as_objective(objective)
    minima = [p for p in objective.known_points if p.kind == "minimum"]
    return [_tag(descend(objective, start, optimizer, **kwargs), minima, match_tol) for start in starts]


def _tag(trajectory: Trajectory, minima: list[KnownPoint], tol: float) -> Trajectory:
    final = trajectory.final
    if not minima or not torch.isfinite(final).all():
        return trajectory
    distances = [float(torch.linalg.vector_norm(final - torch.tensor(p.point, dtype=final.dtype))) for p in minima]
    best = min(range(len(minima)), key=distances.__getitem__)
    return replace(trajectory, reached=minima[best]) if distances[best] <= tol else trajectory


def lr_sweep(
    objective: Objective | str,
    start: PointLike,
    lrs: Sequence[float],
    optimizer: OptimizerLike = "gd",
    *,
    steps: int = 100,
    **kwargs: Any,
) -> LrSweep:
    """The same descent at each learning rate: final loss, status, and 2/λmax at the start.

    >>> from losslab.objectives.objective import formula
    >>> sweep = lr_sweep(formula("(w - 3)**2"), "w=0", [0.1, 1.0, 2.0], steps=200)
    >>> sweep.statuses, sweep.max_stable_lr
    (('converged', 'oscillating', 'diverged'), 1.0)
    """
    objective = as_objective(objective)
    if not lrs:
        raise LosslabError("lr_sweep needs at least one learning rate")
    label = optimizer.__name__ if isinstance(optimizer, type) else str(optimizer).partition(":")[0]
    checked = [check_lr(lr, label) for lr in lrs]  # every rate, before the first run
    runs = tuple(descend(objective, start, optimizer, lr=lr, steps=steps, **kwargs) for lr in checked)
    top = affordable_lambda_max(objective, objective.point(start))
    return LrSweep(
        lrs=tuple(float(lr) for lr in lrs),
        final_losses=torch.stack([t.losses[-1] for t in runs]),
        statuses=tuple(t.diagnosis.status for t in runs),
        max_stable_lr=2.0 / top if top is not None and top > 0 else None,
        trajectories=runs,
    )
