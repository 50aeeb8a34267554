"""The shape of a landscape in one picture: the basins coloured on the map, and their merge tree beside it.

Left, the grid's basins (each point in the colour of the minimum it drains to) under the level
curves, each minimum a numbered star and each merge saddle a cross; a 3-D grid is shown by its slice
through the deepest minimum, a 1-D grid as its curve. Right, the merge tree: each basin a vertical
line from its minimum up to the level where it merges, joined there to the basin it merges into —
the height of a line is the basin's persistence. Children are placed right of their parent in the
order they merge, so no joint crosses another line. At most ``most`` basins are drawn, the most
persistent (the rest are folded into their partners, :func:`~losslab.landscape.basins.basins`'s
``min_persistence``).
"""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.errors import check_int
from losslab.landscape.basins import Basin, BasinReport, analysed_key, analysed_values, basins, tree_positions
from losslab.objectives.grid import Grid
from losslab.objectives.objective import Objective
from losslab.plot._style import MARKERS, new_figure, parameter_label

MOST = 20


def basins_figure(grid: Grid, report: BasinReport | None = None, *, most: int = MOST,
                  objective: Objective | None = None, title: str | None = None) -> Figure:  # fmt: skip
    """The basins of ``grid`` on its map (left) and their merge tree (right).

    Args:
        grid: a 1-, 2- or 3-axis grid (a Surface too).
        report: its basins (default: computed here, tightened by ``objective`` when given).
        most: draw at most this many basins, the most persistent.
        title: the figure's title.

    >>> from losslab.objectives.gallery import gallery
    >>> from losslab.objectives.grid import evaluate_grid
    >>> fig = basins_figure(evaluate_grid(gallery("himmelblau"), resolution=61))
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['4 basins', 'merge tree']
    """
    check_int("most", most, least=1)
    report = report if report is not None else basins(grid, objective=objective)
    report = _at_most(grid, report, most, objective)
    figure = new_figure((11.0, 4.8))
    left, right = figure.subplots(1, 2, width_ratios=(1.15, 1.0))
    colours = basin_colours(len(report.basins))
    _map(left, grid, report, colours)
    values = analysed_values(grid, report)
    finite = values[torch.isfinite(values)]
    merge_tree(right, report, colours, ceiling=float(finite.max()) if finite.numel() else None)
    if title:
        figure.suptitle(title, fontsize=11)
    return figure


def basin_colours(count: int) -> list[tuple[float, float, float, float]]:
    """One distinct colour per basin (tab10, then tab20, then evenly around a hue circle)."""
    if count <= 10:
        return [mpl.colormaps["tab10"](i) for i in range(count)]
    if count <= 20:
        return [mpl.colormaps["tab20"](i) for i in range(count)]
    return [mpl.colormaps["hsv"](i / count) for i in range(count)]


def _at_most(grid: Grid, report: BasinReport, most: int, objective: Objective | None) -> BasinReport:
    if len(report.basins) <= most:
        return report
    persistence = sorted((b.persistence for b in report.basins if math.isfinite(b.persistence)), reverse=True)
    threshold = persistence[most - 1] if len(persistence) >= most else 0.0
    return basins(grid, analysed_key(grid, report), min_persistence=threshold, objective=objective)


def _map(ax: Axes, grid: Grid, report: BasinReport, colours: list) -> None:
    values = analysed_values(grid, report).detach().to(torch.float64).numpy()
    labels = report.labels.numpy()
    names = report.axis_names
    if values.ndim == 3:  # the slice through the deepest minimum
        k = int(np.argmin(np.abs(grid.coordinates[2].numpy() - report.basins[0].point[2])))
        values, labels = values[:, :, k], labels[:, :, k]
        count = f"{len(report.basins)} basin{'s' if len(report.basins) != 1 else ''}"
        ax.set_title(f"{count} (the slice {names[2]} = {report.basins[0].point[2]:.3g})")
    else:
        ax.set_title(f"{len(report.basins)} basin{'s' if len(report.basins) != 1 else ''}")
    if values.ndim == 1:
        _curve(ax, grid, report, values, labels, colours)
        return
    x, y = (c.numpy() for c in grid.coordinates[:2])
    painted = np.ones((*labels.T.shape, 4))
    for index, colour in enumerate(colours):
        painted[labels.T == index] = (*colour[:3], 0.55)
    ax.imshow(painted, origin="lower", extent=(x[0], x[-1], y[0], y[-1]), aspect="auto", interpolation="nearest")
    finite = np.ma.masked_invalid(values.T)
    levels = np.quantile(finite.compressed(), np.linspace(0.02, 0.98, 14)) if finite.count() else 10
    ax.contour(x, y, finite, levels=np.unique(levels), colors="#333333", linewidths=0.6, alpha=0.8,
               negative_linestyles="solid")
    _marks(ax, report, colours)
    ax.set_xlabel(parameter_label(names[0]))
    ax.set_ylabel(parameter_label(names[1]))


def _curve(ax: Axes, grid: Grid, report: BasinReport, values: np.ndarray, labels: np.ndarray, colours: list) -> None:
    x = grid.coordinates[0].numpy()
    ax.plot(x, values, color="#333333", linewidth=1.0)
    for index, colour in enumerate(colours):
        inside = labels == index
        inside[1:] |= inside[:-1].copy()  # each band reaches the next point: no gap at the boundary
        ax.fill_between(x, np.nanmin(values), values, where=inside, color=colour, alpha=0.45, linewidth=0)
    for b in report.basins:
        ax.plot(b.point[0], b.value, MARKERS["minimum"].matplotlib, color=colours[b.index], markeredgecolor="black",
                markersize=MARKERS["minimum"].size)  # fmt: skip
        ax.annotate(f"#{b.index}", (b.point[0], b.value), textcoords="offset points", xytext=(7, 7), fontsize=8,
                    fontweight="bold")  # fmt: skip
        if b.saddle is not None:
            saddle, level = _saddle(b)
            ax.plot(saddle[0], level, MARKERS["saddle"].matplotlib, color="white", markeredgecolor="black")
    ax.set_xlabel(parameter_label(report.axis_names[0]))
    ax.set_ylabel(report.value_name)


def _marks(ax: Axes, report: BasinReport, colours: list) -> None:
    star, cross = MARKERS["minimum"], MARKERS["saddle"]
    for b in report.basins:
        ax.plot(b.point[0], b.point[1], star.matplotlib, color=colours[b.index], markeredgecolor="black",
                markersize=star.size, zorder=5)  # fmt: skip
        ax.annotate(f"#{b.index}", (b.point[0], b.point[1]), textcoords="offset points", xytext=(6, 6), fontsize=8,
                    fontweight="bold", zorder=6)  # fmt: skip
        if b.saddle is not None:
            saddle, _ = _saddle(b)
            ax.plot(saddle[0], saddle[1], cross.matplotlib, color="white", markeredgecolor="black",
                    markersize=cross.size * 0.8, zorder=5)  # fmt: skip


def _saddle(basin: Basin) -> tuple[tuple[float, ...], float]:
    """Where and at what level a basin merges: the exact saddle where it is known, else the grid's."""
    if basin.exact_saddle is not None and basin.exact_merges_at is not None:
        return basin.exact_saddle, basin.exact_merges_at
    return basin.saddle or (), basin.merges_at


def merge_tree(ax: Axes, report: BasinReport, colours: list | None = None, ceiling: float | None = None) -> None:
    """The merge tree of ``report`` on ``ax``: a vertical line per basin from its value to its merge level
    (a basin that never merges: up to ``ceiling``, the highest value surveyed, when given)."""
    colours = colours or basin_colours(len(report.basins))
    position = tree_positions(report)
    finite = [v for b in report.basins for v in (b.value, b.merges_at) if math.isfinite(v)]
    low, high = min(finite), max(finite)
    top = high + 0.08 * (high - low or 1.0)
    if ceiling is not None and ceiling > high:
        top = min(ceiling, high + (high - low)) if high > low else ceiling
    for b in report.basins:
        x = position[b.index]
        end = _saddle(b)[1] if b.saddle is not None else top
        ax.plot([x, x], [b.value, end], color=colours[b.index], linewidth=3, solid_capstyle="butt")
        ax.plot(x, b.value, MARKERS["minimum"].matplotlib, color=colours[b.index], markeredgecolor="black",
                markersize=MARKERS["minimum"].size * 0.8)  # fmt: skip
        if b.merges_into is not None:
            ax.plot([x, position[b.merges_into]], [end, end], color="#555555", linewidth=1.2)
            ax.plot(x, end, MARKERS["saddle"].matplotlib, color="white", markeredgecolor="black", markersize=7)
    ax.set_xticks(sorted(position.values()), [f"#{i}" for i, _ in sorted(position.items(), key=lambda p: p[1])])
    ax.set_xlim(-0.6, len(report.basins) - 0.4)
    ax.set_ylim(low - 0.05 * (top - low), top)
    ax.set_ylabel(f"{report.value_name} (minimum → merge level)")
    ax.set_title("merge tree")
    ax.grid(axis="y", alpha=0.3)
