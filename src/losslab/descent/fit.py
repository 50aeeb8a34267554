"""Fit a model to data two ways: the closed form (when there is one) and a descent.

This is what ``losslab fit DATA.csv --model "m*x"`` runs; it is also the natural notebook
call for Case Study 1: the exact least-squares answer beside the answer gradient descent
walks to, so the two can be compared.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from losslab.analysis.defaults import LR_RULES, suggest_defaults
from losslab.descent.optimizers import OptimizerSpec, parse_optimizer
from losslab.descent.run import OptimizerLike, check_run, descend
from losslab.descent.trajectory import Trajectory
from losslab.errors import LosslabError
from losslab.objectives.data import DataObjective, closed_form, data_objective
from losslab.objectives.domain import PointLike
from losslab.objectives.linear_fit import ClosedForm
from losslab.serialize import Readable, jsonable


@dataclass(frozen=True)
class FitResult(Readable):
    """The closed-form fit (None when the model is not linear in its parameters) and a descent."""

    objective: DataObjective
    closed_form: ClosedForm | None
    descent: Trajectory
    lr_reason: str | None = None  # how the descent's learning rate was chosen, where the caller gave none
    notes: tuple[str, ...] = ()  # what the fit shows beyond its numbers (separable data: no minimum)

    def to_dict(self) -> dict[str, Any]:
        final = self.descent.final
        return {
            "model": self.objective.model,
            "loss_name": self.objective.loss,
            "samples": self.objective.n_samples,
            "variables": list(self.objective.names),
            "closed_form": None if self.closed_form is None else self.closed_form.to_dict(),
            "descent": {
                "optimizer": self.descent.optimizer,
                "hyperparameters": self.descent.to_dict()["hyperparameters"],
                "steps": self.descent.steps,
                "params": dict(zip(self.objective.names, final.tolist(), strict=True)),
                "loss": float(self.descent.losses[-1]),
                "diagnosis": jsonable(self.descent.diagnosis),
                "lr_reason": self.lr_reason,
            },
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        lines = [f"model {self.objective.model}  ({self.objective.loss} over {self.objective.n_samples} samples)"]
        if self.closed_form is None:
            lines.append("closed form: none (the model is not linear in its parameters, or the loss is bce)")
        else:
            lines.append(str(self.closed_form))
        params = ", ".join(
            f"{n} = {v:.6g}" for n, v in zip(self.objective.names, self.descent.final.tolist(), strict=True)
        )
        steps = self.descent.steps
        lines.append(
            f"descent ({self.descent.optimizer}, {steps} step{'s' if steps != 1 else ''}): {params}, "
            f"L = {float(self.descent.losses[-1]):.6g}"
        )
        if self.lr_reason is not None:
            rate = self.descent.to_dict()["hyperparameters"].get("lr")
            lines.append(f"learning rate {rate:g}: {self.lr_reason}")
        lines.append(f"diagnosis: {self.descent.diagnosis.reason}")  # the reason starts with the status in words
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def fit(
    data: str | os.PathLike[str] | Mapping[str, Any],
    model: str,
    *,
    loss: str = "mse",
    target: str = "y",
    optimizer: OptimizerLike = "gd",
    lr: float | None = None,
    steps: int = 2000,
    start: PointLike | None = None,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> FitResult:
    """Fit ``model`` to ``data``: least squares in closed form where possible, and a descent.

    Args:
        data: a CSV path with a header row, or columns (name → numbers).
        model: e.g. ``"m*x"``, ``"w0 + w1*x"``, ``"sigmoid(w0 + w1*x1 + w2*x2)"``.
        loss: ``mse``, ``sse``, ``half_sse`` or ``bce``.
        target: the predicted column.
        optimizer, lr, steps, batch_size, generator: as in :func:`losslab.descent.run.descend`; the
            optimizer, lr and steps are checked before the data is read.
        start: θ_0 (default: all parameters 0).

    Without ``lr`` (and no ``lr=`` in the optimizer's spec), the descent takes the learning rate the
    explorer suggests (:func:`~losslab.analysis.defaults.suggest_defaults`: for gradient descent at most
    1/λmax, half the stable 2/λmax), not the optimizer's default: gd's 0.1 diverges on Case Study 1's
    five points (2/λmax = 0.0909). :attr:`FitResult.lr_reason` says so.

    >>> r = fit({"x": [1, 2, 3, 4, 5], "y": [2.1, 3.9, 6.1, 8.0, 9.9]}, "m*x", lr=0.01)
    >>> round(float(r.closed_form.params[0]), 6), round(float(r.descent.final[0]), 6)
    (1.994545, 1.994545)
    >>> r = fit({"x": [1, 2, 3, 4, 5], "y": [2.1, 3.9, 6.1, 8.0, 9.9]}, "m*x")
    >>> r.descent.to_dict()["hyperparameters"]["lr"], r.descent.diagnosis.status
    (0.04, 'converged')
    """
    check_run(optimizer, lr, steps, {})  # before the data is read: a bad value costs no load
    optimizer = parse_optimizer(optimizer) if isinstance(optimizer, str) else optimizer  # read once
    objective = data_objective(data, model, loss=loss, target=target)
    theta0 = objective.point(start) if start is not None else torch.zeros(objective.dim, dtype=objective.dtype)
    reason = None
    if lr is None:
        lr, reason = _suggested_lr(objective, theta0, optimizer)
    trajectory = descend(objective, theta0, optimizer, lr=lr, steps=steps, batch_size=batch_size, generator=generator)
    if reason is not None and lr is not None and _plain_gd(optimizer) and batch_size is None:
        trajectory, reason = _without_overshoot(objective, theta0, optimizer, lr, steps, trajectory, reason)
    return FitResult(objective, closed_form(objective), trajectory, reason, _notes(objective, trajectory))


def _notes(objective: DataObjective, trajectory: Trajectory) -> tuple[str, ...]:
    final = trajectory.final
    if not bool(torch.isfinite(final).all()) or not objective.separates(final):
        return ()
    return (
        "the data are separable: at the descent's θ every sample lies on its side of the boundary, and the logit "
        "is linear in θ, so L(c·θ) falls toward 0 as c grows — L has no minimum, and the descent stretches θ "
        "for as many steps as it is given",
    )


MAX_HALVINGS = 12


def _plain_gd(optimizer: OptimizerLike) -> bool:
    return isinstance(optimizer, OptimizerSpec) and optimizer.name == "gd"


def _overshoot(trajectory: Trajectory) -> tuple[int, float, float] | None:
    """The first step at which full-batch gradient descent raised the loss: (step, before, after), or None."""
    losses = trajectory.losses.tolist()
    for step, (before, after) in enumerate(zip(losses, losses[1:], strict=False), start=1):
        if after > before + 1e-12 * max(abs(before), 1.0) or not math.isfinite(after):
            return step, before, after
    return None


def _without_overshoot(
    objective: DataObjective, theta0: Tensor, optimizer: OptimizerLike, lr: float, steps: int,
    trajectory: Trajectory, reason: str,
) -> tuple[Trajectory, str]:  # fmt: skip
    """The suggested rate holds at the start (at most 1/λmax there); a model not linear in its parameters can
    curve more as it moves — a*exp(k*x) on five growth points went from L 4.85 to 538 at step 3 and stalled on a
    plateau at k = -214. Full-batch gd with a rate small enough never raises the loss: halve the rate until
    it does not (or give up after a dozen halvings, the last run kept), and say so."""
    first = _overshoot(trajectory)
    if first is None:
        return trajectory, reason
    rate = lr
    for _ in range(MAX_HALVINGS):
        rate /= 2
        trajectory = descend(objective, theta0, optimizer, lr=rate, steps=steps)
        if _overshoot(trajectory) is None:
            break
    step, before, after = first
    halvings = round(math.log2(lr / rate))
    return trajectory, (
        f"{reason}, halved {halvings} time{'s' if halvings > 1 else ''}: at lr {lr:g} the loss rose at step "
        f"{step} ({before:.4g} → {after:.4g}), the model curving more than at its start"
    )


def _suggested_lr(
    objective: DataObjective, theta0: Tensor, optimizer: OptimizerLike
) -> tuple[float | None, str | None]:
    """The explorer's learning rate for this optimizer from ``theta0``, or (None, None) where the optimizer's
    spec names one or is a class of the user's (its own default then)."""
    if not isinstance(optimizer, OptimizerSpec):
        return None, None
    spec = optimizer
    if "lr" in spec.hyperparameters or spec.name not in LR_RULES:
        return None, None
    try:
        suggestion = suggest_defaults(objective, start=theta0.tolist())
    except LosslabError:  # the start has no gradient: no rate is fitted to it
        return None, None
    return suggestion.lr_for(spec.name, spec.hyperparameters), f"suggested ({suggestion.reason.split('; ', 1)[-1]})"
