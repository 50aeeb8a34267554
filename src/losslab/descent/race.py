"""A race: several optimizers run from the same start on the same objective."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from losslab.descent.lockstep import lockstep, shares_steps
from losslab.descent.run import check_run, descend
from losslab.descent.trajectory import Trajectory, plain_hyperparameters, run_label
from losslab.errors import LosslabError
from losslab.objectives.domain import PointLike
from losslab.objectives.objective import Objective
from losslab.serialize import Readable, jsonable


@dataclass(frozen=True)
class Runner:
    """One optimizer in a race: its registry name, hyper-parameters and mini-batch size."""

    optimizer: str
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int | None = None


@dataclass(frozen=True)
class Race(Readable):
    """Several optimizers run from the same start on the same objective."""

    names: tuple[str, ...]
    start: Tensor
    runs: tuple[Trajectory, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "start": self.start.tolist(), "runs": [_run(t) for t in self.runs]}

    def __str__(self) -> str:
        return "\n".join(f"{t.optimizer:>9}: {t.diagnosis.reason}" for t in self.runs)


def _run(t: Trajectory) -> dict[str, Any]:
    return {
        "optimizer": t.optimizer,
        "label": run_label(t),
        "hyperparameters": plain_hyperparameters(t.hyperparameters),
        "params": t.params.tolist(),
        "losses": t.losses.tolist(),
        "gradients": t.grads.tolist(),
        "lrs": t.lrs.tolist(),
        "gradient_norms": torch.linalg.vector_norm(t.grads, dim=-1).tolist(),
        "diagnosis": jsonable(t.diagnosis),
        "notes": list(t.notes),
    }


def race(
    objective: Objective,
    start: PointLike,
    runners: Sequence[Runner],
    steps: int = 100,
    *,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> Race:
    """Each runner's descent from ``start``, as :func:`losslab.descend` would run it.

    The full-batch runners step together (:func:`losslab.descent.lockstep.lockstep`: one vectorized
    evaluation per step for all of them); L-BFGS and mini-batch runners run one by one. Every
    runner's hyper-parameters are checked before the first one runs.
    ``should_stop`` is asked between runs and every 64 lock-step steps.

    >>> from losslab.objectives.objective import formula
    >>> r = race(formula("0.5*((w0 + w1 - 2)**2 + (w0 + 2*w1 - 2)**2)"), "w0=0,w1=0",
    ...          [Runner("gd", {"lr": 0.1}), Runner("adam")], steps=1)
    >>> [round(v, 12) for v in r.runs[0].params[1].tolist()]
    [0.4, 0.6]
    """
    if not runners:
        raise LosslabError("a race needs at least one optimizer")
    for runner in runners:  # every runner's hyper-parameters, before the first one runs
        check_run(runner.optimizer, None, steps, dict(runner.hyperparameters))
    theta = objective.point(start)
    together = [i for i, r in enumerate(runners) if shares_steps(objective, r.optimizer, r.batch_size)]
    shared = (
        lockstep(
            objective,
            theta,
            [(runners[i].optimizer, dict(runners[i].hyperparameters)) for i in together],
            steps=steps,
            should_stop=should_stop,
        )
        if together
        else []
    )
    runs: dict[int, Trajectory] = dict(zip(together, shared, strict=True))
    for i, runner in enumerate(runners):
        if i in runs:
            continue
        if should_stop is not None and should_stop():
            raise LosslabError(f"stopped after {len(runs)} of {len(runners)} optimizers: out of time")
        generator = torch.Generator().manual_seed(seed)
        runs[i] = descend(
            objective,
            theta,
            runner.optimizer,
            steps=steps,
            batch_size=runner.batch_size,
            generator=generator,
            **dict(runner.hyperparameters),
        )
    return Race(tuple(objective.names), theta, tuple(runs[i] for i in range(len(runners))))
