"""A race: several optimizers from the same start, side by side on the map and on the loss axis."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from losslab.errors import LosslabError
from losslab.objectives.domain import Domain
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.plot._paths import Trajectories, as_trajectories
from losslab.plot._style import new_figure
from losslab.plot.contours import contour
from losslab.plot.curves import curve
from losslab.plot.grid import DEFAULT_RESOLUTION
from losslab.plot.history import loss_history


def race(
    objective: Objective | str,
    trajectories: Trajectories,
    *,
    domain: Domain | str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    title: str | None = None,
) -> Figure:
    """Left: the paths on the contour map (the curve in 1-D). Right: loss vs step, log scale when it spans decades.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.descent.run import descend
    >>> L = gallery("rosenbrock")
    >>> fig = race(L, [descend(L, "x=-1.5,y=2", name, steps=20) for name in ("adam", "momentum")], resolution=60)
    >>> len(fig.axes)   # map, its colour bar, loss vs step
    3
    """
    objective = as_objective(objective) if isinstance(objective, str) else objective
    runs = as_trajectories(trajectories, objective.dim)
    if not runs:
        raise LosslabError("a race needs at least one trajectory")
    figure = new_figure((12.0, 5.4))
    engine = figure.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(wspace=0.06)  # room between the colour bar and the loss axis
    left, right = figure.subplots(1, 2, width_ratios=[1.15, 1])
    name = objective.title or "the loss"
    if objective.dim == 1:
        curve(objective, runs, ax=left, domain=domain, resolution=resolution, title=f"paths on {name}")
    else:
        contour(objective, runs, ax=left, domain=domain, resolution=resolution, title=f"paths on {name}")
    loss_history(runs, ax=right, title="loss vs step")
    handles, _ = left.get_legend_handles_labels()
    for ax in (left, right):
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    figure.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize=8, frameon=False)
    figure.suptitle(title or f"optimizer race on {name}", fontsize=12)
    return figure
