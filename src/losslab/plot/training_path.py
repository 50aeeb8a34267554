"""A training path projected on a surveyed plane, drawn over its contour map (Li et al.'s PCA plots).

The checkpoints' least-squares coordinates on the plane (:func:`losslab.landscape.project`) joined by a line,
a circle at the first and a star at the last; the frame stays the surface's, so a path that leaves it is cut
at its edge. How far the path is from the plane is the projection's ``relative_distance``, said in the
legend: a path far from the plane does not follow the contours drawn under it.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from torch import Tensor

from losslab.errors import LosslabError
from losslab.plot._style import OUTLINE, path_color


def training_path(ax: Axes, coordinates: Tensor, relative_distance: Tensor | None = None) -> Axes:
    """Draw the projected path ``coordinates`` ``(n, 2)`` on ``ax`` (a contour map of the plane); returns ``ax``.

    >>> import torch
    >>> from losslab.plot._style import new_axes
    >>> path = torch.tensor([[-2.0, 1.0], [-1.0, 0.5], [0.0, 0.0]])
    >>> ax = training_path(new_axes(), path, torch.tensor([0.3, 0.1, 0.0]))
    >>> ax.get_legend().get_texts()[0].get_text()
    'training path (3 checkpoints, up to 30% off the plane)'
    """
    if coordinates.dim() != 2 or coordinates.shape[1] != 2:
        raise LosslabError(f"a path on a plane has 2 coordinates a point; got shape {tuple(coordinates.shape)}")
    frame = ax.get_xlim(), ax.get_ylim()
    x, y = coordinates[:, 0].tolist(), coordinates[:, 1].tolist()
    off = "" if relative_distance is None else f", up to {float(relative_distance.max()):.0%} off the plane"
    color = path_color(0)
    ax.plot(x, y, color=color, linewidth=2, path_effects=OUTLINE, zorder=5,
            label=f"training path ({len(x)} checkpoints{off})")  # fmt: skip
    ax.plot(x[:1], y[:1], "o", color=color, markeredgecolor="#1a1a1a", markersize=8, zorder=6)
    ax.plot(x[-1:], y[-1:], "*", color=color, markeredgecolor="#1a1a1a", markersize=14, zorder=6)
    ax.set_xlim(*frame[0])
    ax.set_ylim(*frame[1])
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    return ax
