"""Learning rates that are seen to work: each optimizer's suggested rate, halved until a short run from the
suggested start does not diverge (:func:`tried_rates`).

A rate below 2/λmax at the minimum can still fail on the way there: momentum overshoots out of a log's domain,
a full Newton step leaves it, curvature along the path is higher than at either end. The explorer's defaults must
suit the loss chosen, so each is tried before it is offered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from losslab.analysis.defaults import LR_RULES, AnalysisFacts, Suggestion, suggest_defaults
from losslab.descent.optimizers import OptimizerSpec
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


def fitted_specs(
    objective: Objective,
    start: Sequence[float],
    specs: Sequence[OptimizerSpec],
    steps: int,
    analysis: AnalysisFacts | None = None,
) -> tuple[list[OptimizerSpec], str | None]:
    """Each spec that names no ``lr`` gets the rate that suits ``objective`` from ``start`` (the explorer's rule:
    :func:`~losslab.analysis.defaults.suggest_defaults`, then :func:`tried_rates` on a run of ``steps``), so that
    a race compares optimizers, not their default rates (gd's 0.1 is 2/λmax on x² + 10y²: it oscillates for
    ever). With the loss's ``analysis`` the rule knows its minima's 2/λmax and its kinks (a cone's tip: a first
    step of a fiftieth of the box, as in the explorer). A spec with ``lr=``, an optimizer class of the user's, or
    a start with no gradient (the rule is not for it) keeps its own.
    Returns the specs and a line saying which rates were fitted (None where none was).

    >>> from losslab.objectives.objective import formula
    >>> specs, said = fitted_specs(formula("x^2 + 10y^2"), [1, 1], [OptimizerSpec("gd"), OptimizerSpec("adam",
    ...     {"lr": 0.1})], steps=100)
    >>> [str(s) for s in specs]
    ['gd:lr=0.05', 'adam:lr=0.1']
    """
    open_ = [s for s in specs if "lr" not in s.hyperparameters and s.name in LR_RULES]
    if not open_:
        return list(specs), None
    try:
        suggestion = suggest_defaults(objective, analysis, start=start)
    except LosslabError:  # no gradient at the start: the rule has nothing to go by
        return list(specs), None
    fitted: list[OptimizerSpec] = []
    said: list[str] = []
    for spec in specs:
        if spec in open_:
            rate = tried_rates(objective, suggestion, {spec.name: spec.hyperparameters}, steps=steps)[spec.name]
            spec = OptimizerSpec(spec.name, {"lr": rate, **spec.hyperparameters})
            said.append(f"{spec.name} {rate:g}")
        fitted.append(spec)
    rule = suggestion.reason.split("; ", 1)[-1]
    return fitted, (
        f"learning rates fitted to this loss from the start: {', '.join(said)} ({rule}); give e.g. gd:lr=0.1 to choose"
    )
