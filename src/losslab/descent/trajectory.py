"""What a descent leaves behind: the path θ_0…θ_K, its losses and gradients, and a diagnosis.

The types here only hold and present numbers; :mod:`losslab.descent.run` produces them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from losslab.errors import check_choice
from losslab.objectives.domain import PointLike, as_point
from losslab.objectives.objective import KnownPoint
from losslab.serialize import Readable, jsonable

STATUSES = ("converged", "diverged", "unbounded", "oscillating", "stalled", "max_steps")


@dataclass(frozen=True)
class Diagnosis(Readable):
    """How a descent ended, in words.

    Attributes:
        status: one of ``converged``, ``diverged``, ``unbounded`` (L fell without bound: the
            objective has no minimum that way), ``oscillating``, ``stalled``, ``max_steps``.
        reason: a sentence a learner can read, e.g. ``"diverged at step 3: L grows geometrically,
            ×9 per step (…); lr 2.0 is above 2/λmax = 1.0 (λmax = 2.0 of the Hessian at the start)…"``.
        step: the step the status refers to (where it diverged, converged or stopped).

    >>> Diagnosis("converged", "converged at step 3: ‖∇L‖ = 0 ≤ grad_tol 1e-08", 3).status
    'converged'
    """

    status: str
    reason: str
    step: int

    def __post_init__(self) -> None:
        check_choice("status", self.status, STATUSES)

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"


@dataclass(frozen=True)
class Trajectory(Readable):
    r"""The path of one optimizer run: θ_k, L(θ_k), ∇L(θ_k) for k = 0…K and the lr of each update.

    Non-finite values are kept as they happened. For mini-batch runs ``losses`` and
    ``grads`` are those of the full objective at θ_k; the update used the mini-batch gradient.
    A run of more than 19 999 steps keeps a bounded record (:mod:`losslab.descent.record`): the
    first 10 000 steps, every s-th after them and the last; its rows are then the steps
    ``kept_steps`` and a note says so.

    Attributes:
        params: ``(R, n)``, one row per recorded step, starting point included (R = K+1 when
            every step was kept).
        losses: ``(R,)``.
        grads: ``(R, n)``, the gradient at every recorded θ (the last one too).
        lrs: ``(R-1,)``, the learning rate used by the update that left each recorded step but
            the last (θ_k → θ_{k+1}).
        optimizer: the optimizer's name (registry name or class name).
        hyperparameters: the values it ran with, defaults included.
        names: parameter names.
        diagnosis: how it ended.
        notes: remarks about the run (e.g. ``sgd`` on an objective without data).
        reached: the known minimum the final θ lies near (set by ``multistart``).
        kept_steps: ``(R,)``, the step number of each row when the record was thinned; None when
            row k is step k.
    """

    params: Tensor
    losses: Tensor
    grads: Tensor
    lrs: Tensor
    optimizer: str
    hyperparameters: dict[str, Any]
    names: tuple[str, ...]
    diagnosis: Diagnosis
    notes: tuple[str, ...] = ()
    reached: KnownPoint | None = field(default=None)
    kept_steps: Tensor | None = field(default=None, repr=False)

    @property
    def final(self) -> Tensor:
        """The last θ."""
        return self.params[-1]

    @property
    def steps(self) -> int:
        """The number of updates taken (K)."""
        return self.params.shape[0] - 1 if self.kept_steps is None else int(self.kept_steps[-1])

    @property
    def step_numbers(self) -> Tensor:
        """The step number of each row: ``0, 1, …, K``, or the kept steps of a thinned record."""
        return torch.arange(self.params.shape[0]) if self.kept_steps is None else self.kept_steps

    def row(self, step: int) -> int:
        """The row holding step ``step``, or the last kept step before it (a picture's frame at step k).

        >>> t = Trajectory(torch.zeros(4, 1), torch.zeros(4), torch.zeros(4, 1), torch.ones(3), "gd", {}, ("w",),
        ...     Diagnosis("max_steps", "", 40), kept_steps=torch.tensor([0, 1, 20, 40]))
        >>> [t.row(k) for k in (0, 1, 19, 20, 39, 40, 99)]
        [0, 1, 1, 2, 2, 3, 3]
        """
        if self.kept_steps is None:
            return max(0, min(step, self.steps))
        return max(0, int(torch.searchsorted(self.kept_steps, torch.tensor(step), right=True)) - 1)

    def first_step_within(self, point: PointLike, tol: float) -> int | None:
        r"""The first k with :math:`\lVert\theta_k - p\rVert_2 \le` ``tol``, or None.

        >>> t = Trajectory(torch.tensor([[0.0], [1.5], [1.995]], dtype=torch.float64),
        ...     torch.zeros(3), torch.zeros(3, 1), torch.ones(2), "gd", {}, ("w",),
        ...     Diagnosis("max_steps", "", 2))
        >>> t.first_step_within("w=2", 0.01)
        2
        """
        target = as_point(point, self.names, self.params.dtype)
        close = torch.linalg.vector_norm(self.params - target, dim=-1) <= tol
        hits = torch.nonzero(close).flatten()
        return int(self.step_numbers[hits[0]]) if hits.numel() else None

    def table(self, max_rows: int | None = 40) -> str:
        """The hand-simulation table: step, each parameter, L, each gradient component, lr.

        With more than ``max_rows`` rows the middle is elided.
        """
        header = ["step", *self.names, "L", *(f"dL/d{n}" for n in self.names), "lr"]
        rows = [self._row(i, k) for i, k in enumerate(self.step_numbers.tolist())]
        if max_rows is not None and len(rows) > max_rows:
            half = max_rows // 2
            rows = [*rows[:half], ["…"] * len(header), *rows[-half:]]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
        title = f"{self.optimizer} {_hyper_text(self.hyperparameters)}".rstrip()
        return "\n".join([title, *lines, *self.notes, self.diagnosis.reason])

    def _row(self, i: int, k: int) -> list[str]:
        lr = _num(float(self.lrs[i])) if i < self.lrs.numel() else ""
        return [
            str(k),
            *map(_num, self.params[i].tolist()),
            _num(float(self.losses[i])),
            *map(_num, self.grads[i].tolist()),
            lr,
        ]

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able Python; non-finite floats stay ``inf``/``nan``."""
        steps = [
            {
                "step": k,
                "params": dict(zip(self.names, self.params[i].tolist(), strict=True)),
                "loss": float(self.losses[i]),
                "gradient": dict(zip(self.names, self.grads[i].tolist(), strict=True)),
                "lr": float(self.lrs[i]) if i < self.lrs.numel() else None,
            }
            for i, k in enumerate(self.step_numbers.tolist())
        ]
        reached = (
            None
            if self.reached is None
            else {
                "point": list(self.reached.point),
                "value": self.reached.value,
                "is_global": self.reached.is_global,
            }
        )
        return {
            "names": list(self.names),
            "optimizer": self.optimizer,
            "hyperparameters": plain_hyperparameters(self.hyperparameters),
            "steps": steps,
            "diagnosis": jsonable(self.diagnosis),
            "notes": list(self.notes),
            "reached": reached,
        }


@dataclass(frozen=True)
class LrSweep(Readable):
    """Final loss and status of the same descent at several learning rates.

    Attributes:
        lrs: the learning rates tried.
        final_losses: L(θ_K) for each.
        statuses: the diagnosis status for each.
        max_stable_lr: 2/λmax of the Hessian at the start, when λmax > 0 and n ≤ 500.
        trajectories: the runs themselves.
    """

    lrs: tuple[float, ...]
    final_losses: Tensor
    statuses: tuple[str, ...]
    max_stable_lr: float | None
    trajectories: tuple[Trajectory, ...] = field(repr=False, default=())

    def __str__(self) -> str:
        width = max(len(_num(lr)) for lr in self.lrs)
        lines = [f"{'lr'.rjust(width)}  {'final L':>14}  status"]
        lines += [
            f"{_num(lr).rjust(width)}  {_num(float(loss)):>14}  {status}"
            for lr, loss, status in zip(self.lrs, self.final_losses, self.statuses, strict=True)
        ]
        stable = "unknown" if self.max_stable_lr is None else _num(self.max_stable_lr)
        return "\n".join([*lines, f"2/λmax at the start: {stable}"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "lrs": list(self.lrs),
            "final_losses": self.final_losses.tolist(),
            "statuses": list(self.statuses),
            "max_stable_lr": self.max_stable_lr,
            "reasons": [t.diagnosis.reason for t in self.trajectories],
        }


def _num(x: float) -> str:
    """Eight significant digits, as a person would write them in a table."""
    return f"{x:.10g}" if math.isfinite(x) else str(x)


def plain_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, Sequence) and not isinstance(v, str):
            return [plain(x) for x in v]
        return v if v is None or isinstance(v, bool | int | float | str) else str(v)

    return {k: plain(v) for k, v in values.items()}


def _hyper_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def run_label(run: Trajectory) -> str:
    """How a run is named in every legend, on the page and in pictures: ``gd (lr 0.1)``, with β for the
    momentum methods and the batch size of a mini-batch run, and ``— diverged at step k`` (or
    ``— unbounded below at step k``) when it did.

    >>> from losslab.descent.run import descend
    >>> from losslab.objectives.objective import formula
    >>> run_label(descend(formula("(w - 3)**2"), "w=0", lr=2.0, steps=10))
    'gd (lr 2) — diverged at step 3'
    """
    given = run.hyperparameters
    shown = [f"lr {given['lr']:g}"] if isinstance(given.get("lr"), int | float) else []
    if run.optimizer in ("momentum", "nesterov"):
        shown.append(f"β {given['momentum']:g}")
    if given.get("batch_size"):
        shown.append(f"batch {given['batch_size']}")
    label = f"{run.optimizer} ({', '.join(shown)})" if shown else run.optimizer
    if run.diagnosis.status == "diverged":
        label += f" — diverged at step {run.diagnosis.step}"
    elif run.diagnosis.status == "unbounded":
        label += f" — unbounded below at step {run.diagnosis.step}"
    return label
