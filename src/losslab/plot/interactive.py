"""Interactive pictures (plotly): a 3-D surface you can rotate, with the paths on it and the
contour map projected on the floor, saved as one self-contained HTML file.

The HTML embeds the plotly.js that ships inside the installed plotly package
(``include_plotlyjs=True``), never a CDN link, so the file opens with no network.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import torch

from losslab.descent.trajectory import run_label
from losslab.objectives.domain import Domain
from losslab.objectives.grid import plotly_layout
from losslab.objectives.objective import Objective
from losslab.plot._paths import Trajectories, as_trajectories, visible_path
from losslab.plot._style import path_color, source_name
from losslab.plot.grid import SurfaceLike, as_surface, frame_of

INTERACTIVE_RESOLUTION = 120


def interactive_surface(
    source: Objective | SurfaceLike,
    trajectories: Trajectories | None = (),
    *,
    domain: Domain | str | None = None,
    resolution: int = INTERACTIVE_RESOLUTION,
    title: str | None = None,
) -> go.Figure:
    """A plotly 3-D surface (viridis) with contours projected below it and each run as a 3-D line.

    >>> from losslab.objectives.gallery import gallery
    >>> fig = interactive_surface(gallery("himmelblau"), resolution=30)
    >>> [trace.type for trace in fig.data]
    ['surface']
    """
    grid = as_surface(source, domain, resolution=resolution, trajectories=trajectories)
    x, y = (c.tolist() for c in grid.coordinates)
    z = plotly_layout(grid.values["loss"]).tolist()
    figure = go.Figure(
        go.Surface(
            x=x,
            y=y,
            z=z,
            colorscale="Viridis",
            colorbar={"title": {"text": "loss L"}},
            contours={"z": {"show": True, "usecolormap": True, "project": {"z": True}}},
            opacity=0.92,
            name="loss",
        )
    )
    for index, run, params, count in _visible_runs(grid, trajectories):
        figure.add_trace(
            go.Scatter3d(
                x=params[:count, 0].tolist(),
                y=params[:count, 1].tolist(),
                z=run.losses[:count].to(torch.float64).tolist(),
                mode="lines+markers",
                line={"color": path_color(index), "width": 6},
                marker={"size": 3, "color": path_color(index)},
                name=run_label(run),
            )
        )
    names = grid.axis_names
    label = title or f"surface of {source_name(source)}"
    figure.update_layout(
        title={"text": label},
        scene={"xaxis_title": names[0], "yaxis_title": names[1], "zaxis_title": "loss L"},
        legend={"orientation": "h", "y": -0.05},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    return figure


def interactive_contour(
    source: Objective | SurfaceLike,
    trajectories: Trajectories | None = (),
    *,
    domain: Domain | str | None = None,
    resolution: int = INTERACTIVE_RESOLUTION,
    title: str | None = None,
) -> go.Figure:
    """A plotly contour map (viridis, hover shows θ and L) with each run as a line of steps.

    >>> from losslab.objectives.gallery import gallery
    >>> fig = interactive_contour(gallery("himmelblau"), resolution=30)
    >>> [trace.type for trace in fig.data]
    ['contour']
    """
    grid = as_surface(source, domain, resolution=resolution, trajectories=trajectories)
    x, y = (c.tolist() for c in grid.coordinates)
    figure = go.Figure(
        go.Contour(
            x=x,
            y=y,
            z=plotly_layout(grid.values["loss"]).tolist(),
            colorscale="Viridis",
            name="loss",
            colorbar={"title": {"text": "loss L"}},
            contours={"showlabels": True},
        )
    )
    for index, run, params, count in _visible_runs(grid, trajectories):
        figure.add_trace(
            go.Scatter(
                x=params[:count, 0].tolist(),
                y=params[:count, 1].tolist(),
                mode="lines+markers",
                line={"color": path_color(index)},
                marker={"size": 4},
                name=run_label(run),
            )
        )
    names = grid.axis_names
    figure.update_layout(
        title={"text": title or f"contours of {source_name(source)}"},
        xaxis_title=names[0],
        yaxis_title=names[1],
        legend={"orientation": "h", "y": -0.15},
    )
    return figure


def _visible_runs(grid: SurfaceLike, trajectories: Trajectories | None) -> Iterator[tuple[int, Any, torch.Tensor, int]]:
    """Each run with its θ's in float64 and how many steps stay inside the frame."""
    lower, upper = frame_of(grid)
    for index, run in enumerate(as_trajectories(trajectories, 2)):
        params = run.params.to(torch.float64)
        shown = visible_path(params, lower, upper)
        yield index, run, params, shown.count if shown.left_frame_at is None else shown.left_frame_at


def to_html(figure: go.Figure) -> str:
    """One self-contained HTML page with plotly.js embedded inline (no CDN, no network)."""
    return str(figure.to_html(include_plotlyjs=True, full_html=True))


def write_html(figure: go.Figure, path: str | Path) -> Path:
    """Write :func:`to_html` to ``path``."""
    target = Path(path)
    target.write_text(to_html(figure), encoding="utf-8")
    return target
