"""Interactive pictures (plotly): a 3-D surface you can rotate, with the paths and the stationary points on it
and the contour map projected on the floor, saved as one self-contained HTML file.

Plotly's 3-D markers have no star, triangle or hexagon, so a stationary point is its kind's glyph (★ minimum,
▲ maximum, ✖ saddle, ◆ degenerate, ⬢ kink: :data:`losslab.plot._style.MARKERS`) written at (θ, L(θ)); a traced
curve of them is a line at its level, a flat region's outline is drawn at its level.

The HTML embeds the plotly.js that ships inside the installed plotly package
(``include_plotlyjs=True``), never a CDN link, so the file opens with no network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import torch

from losslab.descent.trajectory import run_label
from losslab.objectives.domain import Domain
from losslab.objectives.from_text import as_objective
from losslab.objectives.grid import plotly_layout
from losslab.objectives.objective import Objective
from losslab.plot._marks import (
    CURVE_WORDS,
    REGION_WORDS,
    PointsLike,
    found_in,
    marks_of,
    partition,
    region_outline,
)
from losslab.plot._paths import Trajectories, as_trajectories, visible_path
from losslab.plot._style import MARKERS, path_color, source_name
from losslab.plot.grid import SurfaceLike, as_surface, frame_of

INTERACTIVE_RESOLUTION = 120
LIFT = 0.015  # marks drawn this share of L's range above the surface (a glyph at L itself sinks into a cone's tip)


def interactive_surface(
    source: Objective | SurfaceLike | str,
    trajectories: Trajectories | None = (),
    *,
    domain: Domain | str | None = None,
    resolution: int = INTERACTIVE_RESOLUTION,
    title: str | None = None,
    stationary: PointsLike = True,
) -> go.Figure:
    """A plotly 3-D surface (viridis) with contours projected below it, each run as a 3-D line and the stationary
    points at their height (``stationary`` as in :func:`~losslab.plot.contours.contour`).

    >>> from losslab.objectives.gallery import gallery
    >>> fig = interactive_surface(gallery("himmelblau"), resolution=30)
    >>> [(trace.type, trace.name) for trace in fig.data]
    [('surface', 'loss'), ('scatter3d', 'minimum'), ('scatter3d', 'maximum'), ('scatter3d', 'saddle point')]
    """
    source = as_objective(source) if isinstance(source, str) else source
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
    lower, upper = frame_of(grid)
    objective = source if isinstance(source, Objective) else None
    marks = stationary_traces3d(grid, found_in(objective, stationary, lower, upper))
    figure.add_traces(marks)
    names = grid.axis_names
    label = title or f"surface of {source_name(source)}"
    figure.update_layout(
        title={"text": label},
        scene={"xaxis_title": names[0], "yaxis_title": names[1], "zaxis_title": "loss L"},
        legend={"orientation": "h", "y": -0.05},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    if marks:  # what each glyph means, in dark ink (a legend would draw the white ones white on white)
        words = "   ".join(dict.fromkeys(str(trace.meta) for trace in marks))
        figure.add_annotation(text=words, xref="paper", yref="paper", x=0, y=1.0, xanchor="left", yanchor="bottom",
                              showarrow=False, font={"size": 13})  # fmt: skip
    return figure


def stationary_traces3d(grid: SurfaceLike, found: list[Any]) -> list[go.Scatter3d]:
    """The stationary points as their kinds' glyphs at (θ, L), white on the dark floor of a minimum and black on
    the bright top of a maximum (else white); a traced curve of them as a line at its level; a flat region of
    minima or maxima outlined at its level (contourpy's line round the grid points at it). Each is drawn
    :data:`LIFT` of L's range above its height, where WebGL's depth test cannot bury it in the surface around
    (the tip of a cone); the hover says L itself."""
    finite = grid.values["loss"][torch.isfinite(grid.values["loss"])]
    lift = LIFT * float(finite.max() - finite.min()) if finite.numel() else 0.0
    regions, curves, points = partition(found)
    traces: list[go.Scatter3d] = []
    for region in regions:
        ink = "white" if region.kind == "minimum" else "black"
        rows = _joined(region_outline(grid.coordinates, grid.values["loss"], region.value))
        traces.append(go.Scatter3d(x=[r[0] for r in rows], y=[r[1] for r in rows], z=[region.value + lift] * len(rows),
                                   mode="lines", line={"color": ink, "width": 6}, name=REGION_WORDS[region.kind],
                                   meta=f"▢ {REGION_WORDS[region.kind]}", showlegend=False,
                                   hoverinfo="skip"))  # fmt: skip
    for entry in curves:
        pieces = _joined(entry.curve)
        traces.append(go.Scatter3d(x=[p[0] for p in pieces], y=[p[1] for p in pieces],
                                   z=[None if p[0] is None else entry.value + lift for p in pieces], mode="lines",
                                   line={"color": "black" if entry.kind == "maximum" else "white", "width": 7,
                                         "dash": "dash" if entry.kind == "degenerate" else "solid"},
                                   name=CURVE_WORDS.get(entry.kind, entry.kind), showlegend=False,
                                   meta=f"━ {CURVE_WORDS.get(entry.kind, entry.kind)}",
                                   hovertemplate=f"{CURVE_WORDS.get(entry.kind, entry.kind)}: L = {entry.value:.6g}"
                                   "<extra></extra>"))  # fmt: skip
    groups: dict[str, list[tuple[Any, float]]] = {}
    for (point, mark), marked in zip(marks_of(points), points, strict=True):
        groups.setdefault(mark, []).append((point, float(marked.value)))
    for mark, members in groups.items():
        marker = MARKERS[mark]
        traces.append(go.Scatter3d(x=[float(p[0]) for p, _ in members], y=[float(p[1]) for p, _ in members],
                                   z=[v + lift for _, v in members], customdata=[v for _, v in members],
                                   mode="text", text=[marker.glyph] * len(members),
                                   textfont={"size": 22, "color": "black" if mark == "maximum" else "white"},
                                   name=marker.words, meta=f"{marker.glyph} {marker.words}", showlegend=False,
                                   hovertemplate=f"{marker.words}: L = %{{customdata:.6g}}<extra></extra>"))
    return traces


def _joined(pieces: Sequence[torch.Tensor]) -> list[list[float | None]]:
    """Polylines ``(k, 2)`` as the rows of one Plotly line, the pieces apart at a row of None."""
    return [row for piece in pieces for row in [*piece.tolist(), [None, None]]]


def interactive_contour(
    source: Objective | SurfaceLike | str,
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
    source = as_objective(source) if isinstance(source, str) else source
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
