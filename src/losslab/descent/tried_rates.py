"""Learning rates that are seen to work: each optimizer's suggested rate, halved until a short run from the
suggested start does not diverge (:func:`tried_rates`).

A rate below 2/λmax at the minimum can still fail on the way there: momentum overshoots out of a log's domain,
a full Newton step leaves it, curvature along the path is higher than at either end. The explorer's defaults must
suit the loss chosen, so each is tried before it is offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losslab.analysis.defaults import Suggestion
from losslab.descent.run import descend
from losslab.errors import LosslabError
from losslab.objectives.objective import Objective

HALVINGS = 6  # at most this many halvings (a 64th of the suggested rate); if all diverge the rule's rate stands


def tried_rates(
    objective: Objective,
    suggestion: Suggestion,
    knobs: Mapping[str, Mapping[str, Any]],
    steps: int = 100,
) -> dict[str, float]:
    """Each optimizer's rate (``suggestion.lr_for``), halved until ``steps`` steps from ``suggestion.start``
    with its other hyper-parameters ``knobs[name]`` end anything but diverged. Where every rate tried diverges
    (Newton on a cone: its step is unbounded where the Hessian is singular along ∇L) the rule's rate stands,
    and the run's diagnosis says why.

    Args:
        objective: the loss.
        suggestion: the start and rates :func:`losslab.analysis.defaults.suggest_defaults` chose.
        knobs: per optimizer name, its other hyper-parameters (momentum, betas...).
        steps: the run's length (the explorer's default race).

    >>> from losslab.analysis.defaults import suggest_defaults
    >>> from losslab.analysis.report import analyze
    >>> from losslab.objectives.objective import formula
    >>> xlogx = formula("x*log(x)")      # L is undefined for x < 0, where momentum overshoots at lr 0.03
    >>> tried_rates(xlogx, suggest_defaults(xlogx, analyze(xlogx)), {"gd": {}, "momentum": {"momentum": 0.9}})
    {'gd': 0.3, 'momentum': 0.0075}
    """
    rates = {}
    for name, given in knobs.items():
        rates[name] = rate = suggestion.lr_for(name, given)
        for lr in (rate / 2**k for k in range(HALVINGS + 1)):
            try:
                run = descend(objective, list(suggestion.start), name, lr=lr, steps=steps, **given)
            except LosslabError:  # a rate or knob the optimizer refuses: nothing to learn by halving it
                break
            if run.diagnosis.status != "diverged":
                rates[name] = lr
                break
    return rates
