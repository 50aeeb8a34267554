"""A connection between two minima in one picture: the loss along the curve and the line, and the map.

Left, the loss (and, for a classifier, the accuracy) against t along the trained curve and along the
straight line, each barrier in the legend. Right, the contour map that holds them: for a
two-parameter formula the formula's own map (with the minimum-energy path, when given); for a
network the plane through the two end points and the curve's middle
(:func:`~losslab.landscape.connect_plane.connection_plane`), drawn by :func:`~losslab.plot.contour`
like every plane, with the curve, its bends and the line on it.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.analysis.energy_path import EnergyPath
from losslab.errors import LosslabError, check_int
from losslab.landscape.connect_plane import ConnectionPlane
from losslab.landscape.connection import Connection
from losslab.objectives.objective import Objective
from losslab.plot._style import OUTLINE, legend_below, new_figure
from losslab.plot.contours import contour

CURVE, LINE, PATH = "#e4572e", "#ffffff", "#33bbee"


def connection_figure(
    connection: Connection,
    *,
    plane: ConnectionPlane | None = None,
    objective: Objective | None = None,
    path: EnergyPath | None = None,
    resolution: int = 41,
    title: str | None = None,
) -> Figure:
    """The loss along ``connection`` (left) and, given ``plane`` (a network) or a two-parameter
    ``objective``, the map with the curve and the line (right).

    >>> from losslab.landscape.connect import connect
    >>> from losslab.objectives.gallery import gallery
    >>> L = gallery("himmelblau")
    >>> c = connect(L, [3.0, 2.0], [-2.805118086952745, 3.131312518250573], epochs=50, points=21)
    >>> fig = connection_figure(c, objective=L, resolution=30)
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['loss along the path', "contour map of Himmelblau's function"]
    """
    check_int("resolution", resolution, least=2)
    if plane is not None and objective is not None:
        raise LosslabError("give the plane of a network or a two-parameter objective, not both")
    if objective is not None and objective.dim != 2:
        raise LosslabError(f"the map needs a two-parameter objective; this one has {objective.dim} (give a plane)")
    maps = plane is not None or objective is not None
    figure = new_figure((11.0, 4.6) if maps else (6.4, 4.6))
    axes = figure.subplots(1, 2, width_ratios=(1.0, 1.1)) if maps else [figure.add_subplot()]
    along_t(axes[0], connection)
    if plane is not None:
        _plane_map(axes[1], connection, plane, resolution)
    elif objective is not None:
        _formula_map(axes[1], connection, objective, path, resolution)
    if title:
        figure.suptitle(title, fontsize=11)
    return figure


def along_t(ax: Axes, connection: Connection) -> None:
    """Loss against t for the curve and the line (accuracy on a second axis for a classifier)."""
    t = connection.t.numpy()
    ax.plot(t, connection.curve_loss.numpy(), color=CURVE, linewidth=2,
            label=f"{connection.curve} curve (barrier {connection.curve_barrier:.3g})")  # fmt: skip
    ax.plot(t, connection.line_loss.numpy(), color="#444444", linewidth=1.5, linestyle="--",
            label=f"straight line (barrier {connection.line_barrier:.3g})")  # fmt: skip
    ax.set_xlabel(r"t  (0: $\theta_a$, 1: $\theta_b$)")
    ax.set_ylabel("loss")
    ax.set_title("loss along the path")
    if connection.curve_accuracy is not None and connection.line_accuracy is not None:
        twin = ax.twinx()
        twin.plot(t, connection.curve_accuracy.numpy(), color=CURVE, linewidth=1, alpha=0.6, linestyle=":")
        twin.plot(t, connection.line_accuracy.numpy(), color="#444444", linewidth=1, alpha=0.6, linestyle=":")
        twin.set_ylabel("accuracy (dotted)")
        twin.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    ax.grid(alpha=0.3)


def _plane_map(ax: Axes, connection: Connection, plane: ConnectionPlane, resolution: int) -> None:
    title = r"the plane through $\theta_a$, $\theta_b$, $\phi(1/2)$"
    contour(plane.objective, ax=ax, resolution=resolution, stationary=False, title=title)
    _draw(ax, plane.curve.numpy(), plane.line.numpy(), plane.bends.numpy())
    legend_below(ax)
    legend = ax.get_legend()
    if legend is not None:
        legend.set_bbox_to_anchor((0.5, -0.17))  # below the axis label
    ax.set_xlabel(r"along $\theta_b - \theta_a$")
    ax.set_ylabel("across, toward the curve")
    ax.set_aspect("equal")


def _formula_map(ax: Axes, connection: Connection, objective: Objective, path: EnergyPath | None,
                 resolution: int) -> None:  # fmt: skip
    contour(objective, ax=ax, resolution=resolution)
    control = connection.control_points.double()
    curve = connection.points(connection.t).double().numpy()
    line = (control[0] + connection.t[:, None] * (control[-1] - control[0])).numpy()
    _draw(ax, curve, line, control[1:-1].numpy())
    if path is not None:
        images = path.images.numpy()
        ax.plot(images[:, 0], images[:, 1], "o-", color=PATH, markersize=3, linewidth=1.5, path_effects=OUTLINE,
                label=f"minimum-energy path (barrier {path.barrier:.4g})", zorder=6)  # fmt: skip
    legend_below(ax)


def _draw(ax: Axes, curve, line, bends) -> None:  # type: ignore[no-untyped-def]
    ax.plot(line[:, 0], line[:, 1], "--", color=LINE, linewidth=1.5, path_effects=OUTLINE, label="line", zorder=5)
    ax.plot(curve[:, 0], curve[:, 1], "-", color=CURVE, linewidth=2.2, path_effects=OUTLINE, label="curve", zorder=6)
    ax.plot(bends[:, 0], bends[:, 1], "s", color=CURVE, markeredgecolor="black", markersize=6, label="bends",
            zorder=7)  # fmt: skip
    ax.plot([line[0, 0], line[-1, 0]], [line[0, 1], line[-1, 1]], "o", color="white", markeredgecolor="black",
            markersize=7, zorder=7)  # fmt: skip
    ax.annotate(r"$\theta_a$", (line[0, 0], line[0, 1]), textcoords="offset points", xytext=(-14, -12), color="white")
    ax.annotate(r"$\theta_b$", (line[-1, 0], line[-1, 1]), textcoords="offset points", xytext=(4, -12), color="white")
