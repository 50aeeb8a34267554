"""What happened step by step: loss, parameters and gradient norm against the step number.

These are the hand-simulation's "plot w vs. step and L(w) vs. step". A diverged (or
unbounded) run is drawn up to the first step that leaves the frame of the runs that did not
diverge, and marked ``diverged`` (``unbounded below``); when every run did, the values axis
becomes symmetric-log so the growth is readable instead of one spike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from losslab.descent.trajectory import Trajectory
from losslab.errors import LosslabError, check_choice
from losslab.plot._paths import RUNAWAY, Trajectories, as_trajectories, draw_path, mark_divergence, visible_path
from losslab.plot._style import figure_of, legend_below, new_axes, parameter_label, path_color

SCALES = ("linear", "log", "auto")


def loss_history(trajectories: Trajectories, *, ax: Axes | None = None, scale: str = "auto",
                 title: str | None = None) -> Figure:  # fmt: skip
    """L(θ_k) against k, one line per run; ``scale`` ``"log"``, ``"linear"`` or ``"auto"``.

    ``auto`` picks log when every loss is positive and they span more than two decades.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.descent.run import descend
    >>> fig = loss_history(descend(gallery("hand_simulation"), "w=0", lr=0.3, steps=8), scale="linear")
    >>> fig.axes[0].lines[0].get_ydata()[:3].round(4).tolist()
    [5.0, 1.64, 1.1024]
    """
    runs = _runs(trajectories)
    values = [run.losses.to(torch.float64) for run in runs]
    return _history(runs, values, "loss L", scale, ax, title or "loss vs step")


def parameter_history(trajectories: Trajectories, *, ax: Axes | None = None, parameter: str | None = None,
                      title: str | None = None) -> Figure:  # fmt: skip
    """θ_k of one parameter (default: the first) against k, one line per run.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.descent.run import descend
    >>> fig = parameter_history(descend(gallery("hand_simulation"), "w=0", lr=0.3, steps=8))
    >>> fig.axes[0].lines[0].get_ydata()[:3].round(4).tolist()
    [0.0, 1.2, 1.68]
    """
    runs = _runs(trajectories)
    name = parameter if parameter is not None else runs[0].names[0]
    check_choice("parameter", name, runs[0].names)
    column = runs[0].names.index(name)
    values = [run.params[:, column].to(torch.float64) for run in runs]
    return _history(runs, values, parameter_label(name), "linear", ax, title or f"{name} vs step")


def gradient_norm_history(trajectories: Trajectories, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """‖∇L(θ_k)‖ against k on a log axis (where it falls to zero, the line ends).

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.descent.run import descend
    >>> fig = gradient_norm_history(descend(gallery("hand_simulation"), "w=0", lr=0.3, steps=2))
    >>> fig.axes[0].lines[0].get_ydata().round(4).tolist()
    [4.0, 1.6, 0.64]
    """
    runs = _runs(trajectories)
    values = [torch.linalg.vector_norm(run.grads.to(torch.float64), dim=-1) for run in runs]
    return _history(runs, values, "‖∇L‖", "log", ax, title or "gradient norm vs step")


def _runs(trajectories: Trajectories) -> list[Trajectory]:
    runs = as_trajectories(trajectories)
    if not runs:
        raise LosslabError("no trajectory to draw; pass one or more runs of losslab.descend")
    return runs


def _history(runs: Sequence[Trajectory], values: Sequence[Tensor], label: str, scale: str, ax: Axes | None,
             title: str) -> Figure:  # fmt: skip
    check_choice("scale", scale, SCALES)
    ax = new_axes(ax, size=(6.4, 4.2))
    if scale == "auto":
        scale = "log" if _spans_decades(values) else "linear"
    low, high = _value_frame(runs, values, log=scale == "log")
    steps = max(run.steps for run in runs)
    lower = torch.tensor([-0.5, low], dtype=torch.float64)
    upper = torch.tensor([steps + 0.5, high], dtype=torch.float64)
    drawn = []
    for index, (run, y) in enumerate(zip(runs, values, strict=True)):
        xy = torch.stack([torch.arange(y.numel(), dtype=torch.float64), y], dim=-1)
        if scale == "log":
            xy = xy[: _positive_prefix(y)]
        shown = visible_path(xy, lower, upper)
        draw_path(ax, run, index, xy, shown.count, markersize=3)
        drawn.append((run, shown, xy))
    if scale == "log":
        ax.set_yscale("log")
    elif all(run.diagnosis.status in RUNAWAY for run in runs):
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set(xlim=(-0.5, steps + 0.5), ylim=(low, high), xlabel="step k", ylabel=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers, also on a short run
    # The frame's vertical centre in data units, whatever the scale: the marks' words go away from the edge.
    middle = float(ax.transData.inverted().transform(ax.transAxes.transform((0.5, 0.5)))[1])
    for index, (run, shown, xy) in enumerate(drawn):
        mark_divergence(ax, run, shown, xy, path_color(index), steps / 2, vertical_middle=middle)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=10)
    legend_below(ax, columns=2)
    return figure_of(ax)


def _spans_decades(values: Sequence[Tensor]) -> bool:
    finite = torch.cat([v[torch.isfinite(v)] for v in values])
    return bool(finite.numel()) and bool((finite > 0).all()) and float(finite.max() / finite.min()) > 100


def _positive_prefix(y: Tensor) -> int:
    bad = torch.nonzero(~(y > 0)).flatten()
    return int(bad[0]) if bad.numel() else y.numel()


def _value_frame(runs: Sequence[Trajectory], values: Sequence[Tensor], log: bool) -> tuple[float, float]:
    """The value range of the runs that did not diverge or fall without bound (all runs when every one did),
    widened a little."""
    kept = [v for run, v in zip(runs, values, strict=True) if run.diagnosis.status not in RUNAWAY] or list(values)
    finite = torch.cat(
        [v[torch.isfinite(v) & ((v > 0) if log else torch.ones_like(v, dtype=torch.bool))] for v in kept]
    )
    if finite.numel() == 0:
        return (1e-3, 1.0) if log else (-1.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if log:
        return low / 2, high * 2
    pad = 0.08 * (high - low) if high > low else max(1.0, abs(high) * 0.1)
    return low - pad, high + pad if math.isfinite(high) else low + 1
