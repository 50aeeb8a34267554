"""Pictures of surveyed lines and volumes (``losslab landscape --grid 101`` or ``--grid 21x21x21``).

A plane has its contour map and 3-D surface (:mod:`.contours`, :mod:`.surface3d`); a line and a volume had
none, so ``losslab plot-surface`` refused both ("this picture needs 2 axes") — the line between two
checkpoints (``--directions interpolate``, Goodfellow et al.'s picture) among them.

- a **line**: the loss against the coordinate, the band ± its sampling error where the data was streamed,
  the accuracy on a second axis for a classifier, the lowest point marked; as a page, the same with hover;
- a **volume**: three contour maps through its lowest point (a–b at that c, a–c at that b, b–c at that a);
  as a page, nested level surfaces of the loss (plotly isosurfaces) with the lowest point marked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from losslab.errors import LosslabError
from losslab.plot._style import CMAP, MARKERS, legend_below, new_axes, new_figure, parameter_label, source_name
from losslab.plot._ticks import level_formatter
from losslab.plot.grid import SurfaceLike


def line_survey(surface: SurfaceLike, *, title: str | None = None) -> Figure:
    """The loss along a surveyed line, with its sampling error and accuracy where the survey has them.

    >>> from losslab.objectives.grid import Grid
    >>> a = torch.linspace(-1, 1, 5, dtype=torch.float64)
    >>> fig = line_survey(Grid(("a",), (a,), {"loss": a**2}))
    >>> [line.get_gid() for line in fig.axes[0].lines]
    ['loss', 'lowest']
    """
    a, loss = _line(surface)
    ax = new_axes()
    ax.plot(a, loss, color="#1f4e79", linewidth=2.2, label="loss L", gid="loss")
    if "loss_stderr" in surface.values:
        error = surface.values["loss_stderr"].to(torch.float64).numpy()
        ax.fill_between(a, loss - error, loss + error, color="#1f4e79", alpha=0.18, linewidth=0,
                        label="± sampling error (over batches)")  # fmt: skip
    lowest = int(np.nanargmin(loss))
    marker = MARKERS["minimum"]
    ax.plot([a[lowest]], [loss[lowest]], marker.matplotlib, markersize=marker.size, color="white",
            markeredgecolor="black", label=f"lowest surveyed ({a[lowest]:.3g}, {loss[lowest]:.4g})", gid="lowest",
            linestyle="none")  # fmt: skip
    ax.set_xlabel(parameter_label(surface.axis_names[0]))
    ax.set_ylabel("loss L")
    ax.grid(alpha=0.3)
    handles = ax.get_legend_handles_labels()[0]
    if "accuracy" in surface.values:
        twin = ax.twinx()
        accuracy = surface.values["accuracy"].to(torch.float64).numpy()
        (line,) = twin.plot(a, accuracy, color="#e4572e", linewidth=1.4, linestyle="--", label="accuracy",
                            gid="accuracy")  # fmt: skip
        twin.set_ylabel("accuracy")
        handles.append(line)
    ax.set_title(title if title is not None else f"{source_name(surface)} along a line", fontsize=10)
    legend_below(ax, handles)
    return ax.get_figure(root=True)  # type: ignore[return-value]


def interactive_line(surface: SurfaceLike, *, title: str | None = None) -> go.Figure:
    """The loss along a surveyed line as a plotly page (hover gives the coordinate and the loss)."""
    a, loss = _line(surface)
    name = surface.axis_names[0]
    figure = go.Figure(go.Scatter(x=a, y=loss, mode="lines", name="loss L",
                                  hovertemplate=f"{name} = %{{x:.4g}}<br>L = %{{y:.6g}}<extra></extra>"))  # fmt: skip
    if "loss_stderr" in surface.values:
        error = surface.values["loss_stderr"].to(torch.float64).numpy()
        figure.update_traces(error_y={"type": "data", "array": error, "visible": True, "thickness": 0.8})
    if "accuracy" in surface.values:
        figure.add_trace(go.Scatter(x=a, y=surface.values["accuracy"].to(torch.float64).numpy(), name="accuracy",
                                    yaxis="y2", line={"dash": "dash"}))  # fmt: skip
        figure.update_layout(yaxis2={"title": "accuracy", "overlaying": "y", "side": "right"})
    figure.update_layout(title=title or f"{source_name(surface)} along a line", xaxis_title=name, yaxis_title="loss L")
    return figure


def volume_slices(surface: SurfaceLike, *, title: str | None = None, levels: int = 16) -> Figure:
    """Three contour maps of a surveyed volume through its lowest point, with one colour scale.

    >>> from losslab.objectives.grid import Grid
    >>> c = torch.linspace(-1, 1, 5, dtype=torch.float64)
    >>> a, b, z = torch.meshgrid(c, c, c, indexing="ij")
    >>> fig = volume_slices(Grid(("a", "b", "c"), (c, c, c), {"loss": a**2 + 2 * b**2 + 3 * z**2}))
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['a–b at c = 0', 'a–c at b = 0', 'b–c at a = 0']
    """
    loss = _volume(surface)
    lowest = np.unravel_index(int(np.nanargmin(loss)), loss.shape)
    finite = loss[np.isfinite(loss)]
    bounds = np.linspace(float(finite.min()), float(finite.max()), levels + 1)
    figure = new_figure((13.5, 4.6))
    axes = figure.subplots(1, 3)
    coords = [c.to(torch.float64).numpy() for c in surface.coordinates]
    names = surface.axis_names
    filled: Any = None
    for ax, (i, j), k in zip(axes, ((0, 1), (0, 2), (1, 2)), (2, 1, 0), strict=True):
        index: list[int | slice] = [slice(None)] * 3
        index[k] = int(lowest[k])
        plane = loss[tuple(index)]
        filled = ax.contourf(coords[i], coords[j], plane.T, levels=bounds, cmap=CMAP, extend="neither")
        ax.contour(coords[i], coords[j], plane.T, levels=bounds[1:-1], colors="white", linewidths=0.4, alpha=0.6)
        marker = MARKERS["minimum"]
        ax.plot([coords[i][lowest[i]]], [coords[j][lowest[j]]], marker.matplotlib, markersize=marker.size * 0.8,
                color="white", markeredgecolor="black", gid="lowest")  # fmt: skip
        ax.set_xlabel(parameter_label(names[i]))
        ax.set_ylabel(parameter_label(names[j]))
        at = float(coords[k][lowest[k]])
        at = 0.0 if abs(at) < 1e-9 * float(np.ptp(coords[k]) or 1.0) else at  # linspace's 5.55e-17 is 0
        ax.set_title(f"{names[i]}–{names[j]} at {names[k]} = {at:.3g}", fontsize=9)
    figure.colorbar(filled, ax=list(axes), label="loss L", format=FuncFormatter(level_formatter(bounds)))
    figure.suptitle(title if title is not None else f"{source_name(surface)}: a volume through its lowest point",
                    fontsize=10)  # fmt: skip
    return figure


def interactive_volume(surface: SurfaceLike, *, title: str | None = None, levels: int = 6) -> go.Figure:
    """Nested level surfaces of a surveyed volume (plotly isosurfaces) with its lowest point marked."""
    loss = _volume(surface)
    grids = np.meshgrid(*[c.to(torch.float64).numpy() for c in surface.coordinates], indexing="ij")
    finite = loss[np.isfinite(loss)]
    low, high = float(finite.min()), float(np.quantile(finite, 0.9))  # the top decile would wrap the box
    lowest = np.unravel_index(int(np.nanargmin(loss)), loss.shape)
    names = surface.axis_names
    figure = go.Figure(go.Isosurface(
        x=grids[0].ravel(), y=grids[1].ravel(), z=grids[2].ravel(), value=np.nan_to_num(loss, nan=high).ravel(),
        isomin=low, isomax=high, surface_count=levels, colorscale="Viridis", opacity=0.35,
        caps={"x": {"show": False}, "y": {"show": False}, "z": {"show": False}},
        colorbar={"title": {"text": "loss L"}}, name="level surfaces",
    ))  # fmt: skip
    point = [float(g[lowest]) for g in grids]
    figure.add_trace(go.Scatter3d(x=[point[0]], y=[point[1]], z=[point[2]], mode="markers", name="lowest surveyed",
                                  marker={"symbol": "diamond", "size": 6, "color": "white",
                                          "line": {"color": "black", "width": 2}}))  # fmt: skip
    figure.update_layout(title=title or f"{source_name(surface)}: level surfaces of a volume",
                         scene={"xaxis_title": names[0], "yaxis_title": names[1], "zaxis_title": names[2]})  # fmt: skip
    return figure


def _line(surface: SurfaceLike) -> tuple[np.ndarray, np.ndarray]:
    if len(surface.coordinates) != 1:
        raise LosslabError(f"a line picture needs 1 axis; this survey has {len(surface.coordinates)}")
    loss = surface.values["loss"].to(torch.float64).numpy()
    if not np.isfinite(loss).any():
        raise LosslabError("the line has no finite loss to draw (no point computed, or every value NaN/inf)")
    return surface.coordinates[0].to(torch.float64).numpy(), loss


def _volume(surface: SurfaceLike) -> np.ndarray:
    if len(surface.coordinates) != 3:
        raise LosslabError(f"a volume picture needs 3 axes; this survey has {len(surface.coordinates)}")
    loss = surface.values["loss"].to(torch.float64).numpy()
    if not np.isfinite(loss).any():
        raise LosslabError("the volume has no finite loss to draw (no point computed, or every value NaN/inf)")
    return loss
