"""Descent paths on a picture: which points to draw and where a run diverged (labels: :func:`run_label`).

A diverging run is drawn up to and including the first point outside the frame (so the
line visibly leaves it) and no further; the axes stay on the frame, and the run is marked
``diverged`` (or ``unbounded below``) with a cross at its last point inside, instead of
stretching the axes to 10⁶.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from matplotlib.axes import Axes
from torch import Tensor

from losslab.descent.trajectory import Trajectory, run_label
from losslab.errors import LosslabError
from losslab.plot._style import OUTLINE, path_color

Trajectories = Trajectory | Sequence[Trajectory]
MAX_MARKERS = 40


def as_trajectories(trajectories: Trajectories | None, dim: int | None = None) -> list[Trajectory]:
    """A list of trajectories from one, many or None; each must have ``dim`` parameters."""
    if trajectories is None:
        return []
    runs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    for run in runs:
        if not isinstance(run, Trajectory):
            raise LosslabError(f"expected a Trajectory (from losslab.descend), got {type(run).__name__}")
        if dim is not None and run.params.shape[1] != dim:
            raise LosslabError(f"a {run.params.shape[1]}-parameter trajectory cannot be drawn on a {dim}-D picture")
    return runs


@dataclass(frozen=True)
class VisiblePath:
    """The part of a path to draw: ``points`` (the first ``count`` θ's) and where it left the frame."""

    points: Tensor
    count: int
    left_frame_at: int | None


def visible_path(params: Tensor, lower: Tensor, upper: Tensor) -> VisiblePath:
    """θ_0 … θ_j where θ_j is the first point outside the box ``[lower, upper]`` (all of them if none is).

    Non-finite points are never drawn.

    >>> p = torch.tensor([[0.0], [12.0], [-24.0], [84.0]], dtype=torch.float64)
    >>> v = visible_path(p, torch.tensor([-2.0]), torch.tensor([8.0]))
    >>> v.points[:, 0].tolist(), v.left_frame_at
    ([0.0, 12.0], 1)
    """
    finite = torch.isfinite(params).all(dim=-1)
    outside = ~((params >= lower) & (params <= upper)).all(dim=-1) | ~finite
    hits = torch.nonzero(outside).flatten()
    if hits.numel() == 0:
        return VisiblePath(params, params.shape[0], None)
    first = int(hits[0])
    count = first + 1 if bool(finite[first]) else first
    return VisiblePath(params[:count], count, first)


RUNAWAY = {"diverged": "diverged", "unbounded": "unbounded below"}  # statuses marked where the run went off


def mark_divergence(
    ax: Axes,
    run: Trajectory,
    path: VisiblePath,
    xy: Tensor,
    color: str,
    middle: float,
    *,
    vertical_middle: float | None = None,
) -> None:
    """A red cross at the last point inside the frame and the words ``diverged at step k``
    (``unbounded below at step k``, or ``leaves the frame`` for a run that did neither).

    The words go to the right of the cross when it lies left of ``middle`` (the frame's
    horizontal centre), else to its left; below it when it lies above ``vertical_middle`` (the
    frame's vertical centre, in data units), else above it — so they stay inside the axes and
    off the tick labels. Without ``vertical_middle`` they go below.
    """
    if run.diagnosis.status not in RUNAWAY and path.left_frame_at is None:
        return
    inside = path.count - 1 if path.left_frame_at is None else path.left_frame_at - 1
    if inside < 0:
        return
    x, y = (float(v) for v in xy[inside])
    ax.plot([x], [y], marker="X", markersize=11, color="#d62728", markeredgecolor="white", zorder=6, gid="diverged")
    status = run.diagnosis.status
    words = f"{RUNAWAY[status]} at step {run.diagnosis.step}" if status in RUNAWAY else "leaves the frame"
    below = vertical_middle is None or y >= vertical_middle
    ax.annotate(
        words,
        (x, y),
        xytext=(8 if x < middle else -8, -12 if below else 6),  # the baseline 12 pt below, or 6 pt above
        textcoords="offset points",
        ha="left" if x < middle else "right",
        fontsize=8,
        color=color,
        path_effects=OUTLINE,
        zorder=7,
    )


def draw_path(ax: Axes, run: Trajectory, index: int, xy: Tensor, count: int, *, markersize: float = 3.5) -> None:
    """The path ``xy[:count]`` as a line with step markers, a start circle, and ``gid='path:index'``.

    Every step gets a marker up to ``MAX_MARKERS`` steps; longer paths mark every
    ``count // MAX_MARKERS``-th step, so the markers do not merge into a solid band.
    """
    color = path_color(index)
    data = xy[:count]
    ax.plot(
        data[:, 0].tolist(),
        data[:, 1].tolist(),
        "-o",
        color=color,
        markersize=markersize,
        markevery=max(1, count // MAX_MARKERS),
        linewidth=1.6,
        path_effects=OUTLINE,
        label=run_label(run),
        gid=f"path:{index}",
        zorder=5,
    )
    if count:
        ax.plot([float(data[0, 0])], [float(data[0, 1])], "o", color=color, markersize=8, markeredgecolor="black",
                zorder=6, gid=f"start:{index}")  # fmt: skip
