"""The loss as a 3-D surface, with descent paths and the stationary points drawn on it.

The stationary points sit at their height L(p) in the marker language of the contour maps (★ minimum, ▲ maximum,
✖ saddle, ◆ degenerate, ⬢ kink); a traced curve of them runs along the surface at its level, and a flat region
is outlined at its level. The default view (elevation 35°, azimuth −60°, matplotlib's own) looks down the bowl from
a corner, so the minimum and the walls are both in sight. Surfaces are evaluated on a
coarser grid than contour maps (``SURFACE_RESOLUTION`` per axis): a 3-D mesh finer than
that only slows the drawing. Paths are drawn at height L(θ_k), up to their last point
inside the frame (3-D axes do not clip).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.descent.trajectory import run_label
from losslab.objectives.domain import Domain, PointLike
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.plot._marks import (
    REGION_WORDS,
    PointsLike,
    draw_curves,
    draw_stationary,
    found_in,
    marks_of,
    partition,
    region_outline,
)
from losslab.plot._paths import Trajectories, as_trajectories, visible_path
from losslab.plot._style import (
    CMAP,
    OUTLINE,
    figure_of,
    legend_below,
    new_axes,
    parameter_label,
    path_color,
    source_name,
)
from losslab.plot.grid import SurfaceLike, as_surface, frame_of

SURFACE_RESOLUTION = 120
DEFAULT_VIEW = (35.0, -60.0)


def surface(
    source: Objective | SurfaceLike | str,
    trajectories: Trajectories | None = (),
    *,
    ax: Axes | None = None,
    domain: Domain | str | None = None,
    resolution: int = SURFACE_RESOLUTION,
    view: tuple[float, float] = DEFAULT_VIEW,
    points: Sequence[PointLike] = (),
    stationary: PointsLike = True,
    title: str | None = None,
    interactive: bool = False,
) -> Figure | go.Figure:
    """A 3-D surface of the loss, with paths drawn on it and the stationary points and ``points`` marked at
    their height.

    With ``interactive=True`` it returns a plotly ``Figure`` instead (rotate it in Jupyter, or
    :func:`losslab.plot.save` it as one self-contained ``.html``).

    Args:
        source: a two-parameter objective or a surface (``Grid``, landscape ``Surface``).
        trajectories: runs drawn at (θ_k, L(θ_k)) as lines with step markers, ``gid='path:i'``.
        ax: 3-D axes to draw into (default: a new figure).
        domain: the frame (default: the objective's, else around the paths).
        resolution: grid points per axis.
        view: (elevation, azimuth) in degrees.
        points: points to mark with a black dot at their loss (needs an objective).
        stationary: as in :func:`~losslab.plot.contours.contour`: True marks the objective's known points (else
            those found by ``stationary_points``), False none, or a list of points to mark.
        title: the title (default: the objective's title).

    >>> from losslab.objectives.gallery import gallery
    >>> fig = surface(gallery("chapter3_bowl"), resolution=20)
    >>> fig.axes[0].name
    '3d'
    """
    source = as_objective(source) if isinstance(source, str) else source
    if interactive:
        from losslab.plot.interactive import interactive_surface

        return interactive_surface(source, trajectories, domain=domain, resolution=resolution, title=title,
                                   stationary=stationary)  # fmt: skip
    grid = as_surface(source, domain, resolution=resolution, trajectories=trajectories)
    ax3d: Any = new_axes(ax, projection="3d", size=(6.8, 5.6))  # an Axes3D: plot_surface, view_init, zlabel
    x, y = np.meshgrid(*(c.numpy() for c in grid.coordinates), indexing="ij")
    z = np.ma.masked_invalid(grid.values["loss"].numpy())
    mesh = ax3d.plot_surface(x, y, z, cmap=CMAP, linewidth=0, antialiased=True, alpha=0.85, rcount=60, ccount=60)
    mesh.set_gid("surface")
    lower, upper = frame_of(grid)
    objective = source if isinstance(source, Objective) else None
    found = found_in(objective, stationary, lower, upper)
    _draw_found3d(ax3d, grid, found)
    runs = as_trajectories(trajectories, 2)
    for index, run in enumerate(runs):
        _path3d(ax3d, run, index, lower, upper)
    if points and isinstance(source, Objective):
        for spec in points:
            p = source.point(spec)
            height = float(source.value(p))
            ax3d.plot([float(p[0])], [float(p[1])], [height], "o", color="black", markersize=6, zorder=10, gid="point")
    ax3d.view_init(elev=view[0], azim=view[1])
    ax3d.set_xlim(float(lower[0]), float(upper[0]))
    ax3d.set_ylim(float(lower[1]), float(upper[1]))
    ax3d.set_xlabel(parameter_label(grid.axis_names[0]))
    ax3d.set_ylabel(parameter_label(grid.axis_names[1]))
    ax3d.set_zlabel("loss L")
    name = source_name(source)
    ax3d.set_title(title if title is not None else f"surface of {name}", fontsize=10)
    if runs or found:
        legend_below(ax3d)
    return figure_of(ax3d)


def _draw_found3d(ax: Any, grid: SurfaceLike, found: Sequence[Any]) -> None:
    """The stationary points at their height L (one marker per kind), a traced curve of them along the surface
    at its level, a flat region's outline at its level (``gid='stationary:region:kind'``)."""
    regions, curves, points = partition(found)
    for region in regions:
        ink, edge = ("white", "black") if region.kind == "minimum" else ("black", "white")
        outline = region_outline(grid.coordinates, grid.values["loss"], region.value)
        for index, piece in enumerate(outline):
            height = torch.full((len(piece),), float(region.value), dtype=torch.float64)
            ax.plot(piece[:, 0].numpy(), piece[:, 1].numpy(), height.numpy(), color=ink, linewidth=2.2, zorder=7,
                    label=REGION_WORDS[region.kind] if index == 0 else None, gid=f"stationary:region:{region.kind}",
                    path_effects=[patheffects.withStroke(linewidth=4.2, foreground=edge)])  # fmt: skip
    draw_curves(ax, curves, heights=[entry.value for entry in curves])
    draw_stationary(ax, marks_of(points), heights=[float(p.value) for p in points])


def _path3d(ax: Axes, run: object, index: int, lower: torch.Tensor, upper: torch.Tensor) -> None:
    from losslab.descent.trajectory import Trajectory

    if not isinstance(run, Trajectory):
        return
    params = run.params.to(torch.float64)
    shown = visible_path(params, lower, upper)
    count = shown.count if shown.left_frame_at is None else shown.left_frame_at
    xs, ys, zs = params[:count, 0].numpy(), params[:count, 1].numpy(), run.losses[:count].to(torch.float64).numpy()
    color = path_color(index)
    ax.plot(xs, ys, zs, "-o", color=color, markersize=3, markevery=max(1, count // 40), markeredgecolor="black",
            linewidth=2, label=run_label(run), zorder=10, gid=f"path:{index}", path_effects=OUTLINE)  # fmt: skip
    if count and shown.left_frame_at is not None:
        ax.plot(xs[-1:], ys[-1:], zs[-1:], "X", color="#d62728", markersize=10, zorder=11, gid="diverged")
