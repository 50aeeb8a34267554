"""Learning-rate schedulers over ``torch.optim.lr_scheduler``, chosen by name, class or callable.

Text such as ``"step:step_size=10,gamma=0.5"`` names a torch scheduler and its arguments,
read with the same ``name:key=value`` syntax as optimizers; the accepted arguments come
from the torch class signature, so a misspelt or missing one is refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

from losslab.descent.optimizers import parse_spec
from losslab.errors import LosslabError, check_choice

SCHEDULERS: dict[str, type[torch.optim.lr_scheduler.LRScheduler]] = {
    "step": torch.optim.lr_scheduler.StepLR,
    "multistep": torch.optim.lr_scheduler.MultiStepLR,
    "exponential": torch.optim.lr_scheduler.ExponentialLR,
    "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
}
SchedulerLike = str | type[torch.optim.lr_scheduler.LRScheduler] | Callable[[Optimizer], Any]


def make_scheduler(scheduler: SchedulerLike, optimizer: Optimizer) -> Any:
    """An LR scheduler on ``optimizer`` from a name (``"step:step_size=10,gamma=0.5"``), a class or a callable.

    >>> from losslab.descent.optimizers import gd
    >>> opt = gd([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> type(make_scheduler("exponential:gamma=0.9", opt)).__name__
    'ExponentialLR'
    """
    if isinstance(scheduler, str):
        scheduler = _from_text(scheduler)
    elif not callable(scheduler):
        raise LosslabError(f"scheduler {scheduler!r} is not a name, an LRScheduler class or a callable")
    try:
        return scheduler(optimizer)
    except (ValueError, TypeError) as error:
        raise LosslabError(f"scheduler {scheduler!r}: {error}") from None


def _from_text(text: str) -> Callable[[Optimizer], Any]:
    """The scheduler named in ``text``, its arguments checked against the torch class signature."""
    name, values = parse_spec(text, what="scheduler")
    cls = SCHEDULERS[check_choice("scheduler", name, SCHEDULERS)]
    parameters = inspect.signature(cls).parameters
    accepted = [n for n in parameters if n not in ("optimizer", "last_epoch", "verbose")]
    required = [n for n in accepted if parameters[n].default is inspect.Parameter.empty]
    if set(values) - set(accepted) or set(required) - set(values):
        raise LosslabError(
            f"scheduler '{text}' needs {', '.join(required) or 'nothing'}; accepted: {', '.join(accepted)}"
        )
    return _partial(cls, {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()})


def _partial(cls: type, values: dict[str, Any]) -> Callable[[Optimizer], Any]:
    return lambda optimizer: cls(optimizer, **values)
