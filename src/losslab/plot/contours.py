r"""Contour maps and heat maps of a two-parameter loss, with paths, gradients and stationary points.

Filled contours carry labelled level curves. Levels are linear, or log-spaced above the
minimum when the values span a wide range (Rosenbrock's valley is invisible otherwise):
with :math:`z_{\min}` the smallest value and :math:`q` the 10 % quantile of
:math:`z - z_{\min}` where it is above 0 (a flat floor at the minimum is left out), log levels are used
when :math:`(z_{\max} - z_{\min}) / q > 100`, and
then the levels are :math:`z_{\min}` followed by :math:`z_{\min} + r_i` with :math:`r_i`
geometric from :math:`\max(10^{-5} (z_{\max}-z_{\min}), \text{0.1 \% quantile})` to
:math:`z_{\max} - z_{\min}`. Each band gets its own colour (a ``BoundaryNorm``), so log
levels use the whole colour map (resampled to as many colours as there are bands). At most
:data:`MAX_LEVELS` levels are drawn: checked before anything is computed.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, Colormap
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from losslab.analysis.stationary import StationaryPoint
from losslab.errors import LosslabError, check_choice, check_int
from losslab.objectives.domain import Domain
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.plot._marks import (
    REGION_WORDS,
    PointsLike,
    draw_curves,
    draw_stationary,
    found_in,
    marks_of,
    on_level,
    partition,
)
from losslab.plot._paths import Trajectories, as_trajectories, draw_path, mark_divergence, visible_path
from losslab.plot._style import CMAP, figure_of, legend_below, new_axes, parameter_label, source_name
from losslab.plot._ticks import level_formatter
from losslab.plot.grid import DEFAULT_RESOLUTION, TO_SCALE, SurfaceLike, as_surface, frame_of

FIELDS = ("gradient", "descent")
WIDE_RANGE = 100.0
# more bands than this are narrower than a pixel of a saved figure; 10⁸ levels allocated 1.9 GB first
MAX_LEVELS = 1000


def contour_levels(values: np.ndarray, count: int = 20, log: bool | None = None) -> np.ndarray:
    """About ``count`` bands over the finite ``values``: linear (round numbers), or log-spaced above the minimum.

    Log levels are exactly ``count + 1`` boundaries: the minimum and ``count`` geometric steps above it.

    >>> contour_levels(np.array([0.0, 1.0, 10.0, 100.0, 1e4] + [2e4] * 20), count=6, log=True).round(3).tolist()
    [0.0, 1.207, 8.425, 58.808, 410.488, 2865.269, 20000.0]
    >>> contour_levels(np.array([0.0] * 50 + list(np.linspace(0.1, 11, 50))), count=4).tolist()  # a hinge: linear
    [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]
    >>> contour_levels(np.array([0.0, 1.0]), count=100_000_000)
    Traceback (most recent call last):
    losslab.errors.LosslabError: levels must be at most 1000, got 100000000
    """
    check_int("levels", count, least=2, most=MAX_LEVELS)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise LosslabError("the loss is not finite anywhere in the frame; choose another domain")
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.array([low - 0.5, low + 0.5])
    above = finite - low
    above = above[above > 0]  # a flat floor (max(0, 1 − x − y): half the frame at 0) says nothing of the range
    if log is None:
        log = (high - low) / max(float(np.quantile(above, 0.1)), 1e-300) > WIDE_RANGE
    if log:
        smallest = max(1e-5 * (high - low), float(np.quantile(above, 0.001)))
        return np.concatenate([[low], low + np.geomspace(smallest, high - low, count)])
    return np.asarray(MaxNLocator(count + 1).tick_values(low, high))


def contour(
    source: Objective | SurfaceLike | str,
    trajectories: Trajectories | None = (),
    *,
    ax: Axes | None = None,
    domain: Domain | str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    levels: int = 20,
    log: bool | None = None,
    field: str | None = None,
    normalize: bool = True,
    stationary: PointsLike = True,
    title: str | None = None,
    interactive: bool = False,
) -> Figure | go.Figure:
    """Filled contours with labelled level curves, descent paths and stationary points.

    With ``interactive=True`` it returns a plotly ``Figure`` (contours and paths, hover shows
    θ and L) instead of a matplotlib one.

    Args:
        source: a two-parameter :class:`Objective`, or a surface (``Grid``, landscape ``Surface``).
        trajectories: runs to draw (line with step markers, circle at the start), ``gid='path:i'``.
        ax: draw into these axes (default: a new figure).
        domain: the frame (default: the objective's, else around the paths, see :mod:`.grid`).
        resolution: grid points per axis; the grid is one batched ``values`` call.
        levels: number of contour levels, 2 to :data:`MAX_LEVELS`.
        log: force log-spaced (True) or linear (False) levels; None decides from the range.
        field: ``"gradient"`` (arrows along ∇L, normal to the level curves), ``"descent"``
            (along −∇L) or None; needs an objective.
        normalize: draw the field's arrows at equal length (direction only).
        stationary: True marks the objective's known points (else those found by
            ``stationary_points``), False none, or a list of points to mark.
        title: the title (default: the objective's title).

    >>> from losslab.objectives.gallery import gallery
    >>> fig = contour(gallery("himmelblau"), resolution=60)
    >>> sorted(line.get_gid() for line in fig.axes[0].lines if line.get_gid())
    ['stationary:maximum', 'stationary:minimum', 'stationary:saddle']
    """
    source = as_objective(source) if isinstance(source, str) else source
    if interactive:
        from losslab.plot.interactive import interactive_contour

        return interactive_contour(source, trajectories, domain=domain, resolution=resolution, title=title)
    check_int("levels", levels, least=2, most=MAX_LEVELS)  # before the grid is computed
    surface = as_surface(source, domain, resolution=resolution, trajectories=trajectories)
    objective = source if isinstance(source, Objective) else None
    ax = new_axes(ax)
    names = surface.axis_names
    lower, upper = frame_of(surface)
    filled = _filled(ax, surface, levels, log, "contour")
    if field is not None:
        _field(ax, objective, field, normalize, lower, upper)
    _draw_found(ax, surface, found_in(objective, stationary, lower, upper))
    _paths(ax, trajectories, lower, upper)
    ax.set(xlim=(float(lower[0]), float(upper[0])), ylim=(float(lower[1]), float(upper[1])))
    # one unit as long on both axes where the spans are alike: a gradient then looks perpendicular to its level
    # curve and a round bowl round (x² + 10y²'s ellipses were drawn as circles in a wide frame)
    ax.set_aspect("equal" if _similar_spans(lower, upper, TO_SCALE + 1e-9) else "auto")
    ax.set_xlabel(parameter_label(names[0]))
    ax.set_ylabel(parameter_label(names[1]))
    ax.set_title(title if title is not None else _title(source, "contour map"), fontsize=10)
    figure_of(ax).colorbar(filled, ax=ax, label="loss L", format=FuncFormatter(level_formatter(filled.levels)),
                           spacing="uniform")  # fmt: skip
    legend_below(ax)
    return figure_of(ax)


def _draw_found(ax: Axes, surface: SurfaceLike, found: list[Any]) -> None:
    """The stationary points by kind; a flat region hatched where L is at its level and a curve of them drawn
    along it, not marked at one of their points."""
    regions, curves, points = partition(found)
    for region in regions:
        _hatch(ax, surface, region)
    draw_curves(ax, curves)
    draw_stationary(ax, marks_of(points))


def _hatch(ax: Axes, surface: SurfaceLike, region: StationaryPoint) -> None:
    """A flat region of minima (maxima) hatched where the grid is at its level, outlined, with a legend entry."""
    x, y = (c.numpy() for c in surface.coordinates)
    inside = on_level(surface.values["loss"], region.value).numpy().T.astype(float)
    ramp = mpl.colormaps[CMAP]
    ink, ground = ("white", ramp(0.0)) if region.kind == "minimum" else ("black", ramp(1.0))  # seen on its colour
    with mpl.rc_context({"hatch.color": ink, "hatch.linewidth": 1.0}):
        ax.contourf(x, y, inside, levels=[0.5, 1.5], colors="none", hatches=["//"], zorder=3)
        ax.add_patch(Rectangle((float(x[0]), float(y[0])), 0, 0, facecolor=ground, edgecolor=ink, hatch="//",
                               label=REGION_WORDS[region.kind], gid=f"stationary:region:{region.kind}"))  # fmt: skip
    ax.contour(x, y, inside, levels=[0.5], colors=ink, linewidths=1.4, zorder=3)


def heatmap(
    source: Objective | SurfaceLike | str,
    trajectories: Trajectories | None = (),
    *,
    ax: Axes | None = None,
    domain: Domain | str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    field: str | None = "gradient",
    normalize: bool = True,
    stationary: PointsLike = True,
    title: str | None = None,
) -> Figure:
    """The loss as a heat map (continuous colour, no bands), with the gradient field on top.

    >>> from losslab.objectives.gallery import gallery
    >>> fig = heatmap(gallery("cone"), resolution=40)
    >>> len(fig.axes[0].collections) >= 2   # the mesh and the arrows
    True
    """
    source = as_objective(source) if isinstance(source, str) else source
    surface = as_surface(source, domain, resolution=resolution, trajectories=trajectories)
    objective = source if isinstance(source, Objective) else None
    ax = new_axes(ax)
    lower, upper = frame_of(surface)
    x, y = (c.numpy() for c in surface.coordinates)
    mesh = ax.pcolormesh(x, y, np.ma.masked_invalid(surface.values["loss"].numpy().T), cmap=CMAP, shading="auto")
    if field is not None:
        _field(ax, objective, field, normalize, lower, upper)
    _draw_found(ax, surface, found_in(objective, stationary, lower, upper))
    _paths(ax, trajectories, lower, upper)
    ax.set(xlim=(float(lower[0]), float(upper[0])), ylim=(float(lower[1]), float(upper[1])))
    ax.set_xlabel(parameter_label(surface.axis_names[0]))
    ax.set_ylabel(parameter_label(surface.axis_names[1]))
    ax.set_aspect("equal" if _similar_spans(lower, upper) else "auto")
    ax.set_title(title if title is not None else _title(source, "heat map"), fontsize=10)
    figure_of(ax).colorbar(mesh, ax=ax, label="loss L", format="%.3g")
    legend_below(ax)
    return figure_of(ax)


def _filled(ax: Axes, surface: SurfaceLike, count: int, log: bool | None, gid: str) -> ContourSet:
    x, y = (c.numpy() for c in surface.coordinates)
    z = np.ma.masked_invalid(surface.values["loss"].numpy().T)
    levels = contour_levels(np.asarray(z.filled(np.nan)), count, log)
    colours = _colours(len(levels) - 1)
    norm = BoundaryNorm(levels, ncolors=colours.N)
    filled = ax.contourf(x, y, z, levels=levels, cmap=colours, norm=norm, extend="neither")
    filled.set_gid(gid)
    inner = levels[1:-1]
    # light lines on the dark (low) bands, dark ones on the bright (high) bands
    shades = ["white" if i < 0.6 * len(inner) else "#222222" for i in range(len(inner))]
    lines = ax.contour(x, y, z, levels=inner, colors=shades, linewidths=0.5, alpha=0.7)
    ax.clabel(lines, levels=np.asarray(lines.levels)[::2], fmt=level_formatter(levels), fontsize=7)
    return filled


def _colours(bands: int) -> Colormap:
    """The colour map with at least one colour per band (a BoundaryNorm needs as many)."""
    colours = mpl.colormaps[CMAP]
    return colours if bands <= colours.N else colours.resampled(bands)


def _field(ax: Axes, objective: Objective | None, field: str, normalize: bool, lower: torch.Tensor,
           upper: torch.Tensor, arrows: int = 17) -> None:  # fmt: skip
    check_choice("field", field, FIELDS)
    if objective is None:
        raise LosslabError("a gradient field needs the objective, not only its surface")
    axes = [
        torch.linspace(float(lo), float(hi), arrows, dtype=torch.float64)[1:-1]
        for lo, hi in zip(lower, upper, strict=True)
    ]
    points = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 2).to(objective.dtype)
    with torch.no_grad():
        grads = objective.grads(points).to(torch.float64)
    grads = grads if field == "gradient" else -grads
    if normalize:
        grads = grads / torch.linalg.vector_norm(grads, dim=-1, keepdim=True).clamp_min(1e-300)
    keep = torch.isfinite(grads).all(dim=-1)
    p, g = points[keep].to(torch.float64), grads[keep]
    label = ("∇L" if field == "gradient" else "−∇L") + (" (direction)" if normalize else "")
    ax.quiver(p[:, 0].numpy(), p[:, 1].numpy(), g[:, 0].numpy(), g[:, 1].numpy(), color="white", alpha=0.75,
              width=0.003, label=label, zorder=4, gid=f"field:{field}")  # fmt: skip


def _paths(ax: Axes, trajectories: Trajectories | None, lower: torch.Tensor, upper: torch.Tensor) -> None:
    for index, run in enumerate(as_trajectories(trajectories, 2)):
        params = run.params.to(torch.float64)
        shown = visible_path(params, lower, upper)
        draw_path(ax, run, index, params, shown.count)
        mark_divergence(ax, run, shown, params, "white", float(lower[0] + upper[0]) / 2)


def _similar_spans(lower: torch.Tensor, upper: torch.Tensor, ratio: float = 1.5) -> bool:
    spans = (upper - lower).tolist()
    return max(spans) / min(spans) < ratio


def _title(source: object, what: str) -> str:
    name = source_name(source)
    return f"{what} of {name}"
