"""The shared look of losslab's figures, and figures that never touch pyplot's global state.

Every figure is a :class:`matplotlib.figure.Figure` with its own Agg canvas
(``FigureCanvasAgg``), so nothing leaks between figures, nothing needs a display, and a
user's own backend (Jupyter's inline one, say) is left as it is. Colours: ``viridis`` for
surfaces (it reads in greyscale), and path colours drawn with a dark outline so that each
path stands out on light and dark bands alike.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from losslab.errors import LosslabError
from losslab.objectives.spelling import GREEK

CMAP = "viridis"
PATH_COLORS = ("#e4572e", "#33bbee", "#f6ae2d", "#ff66cc", "#9be564", "#b07aa1", "#ffffff")
OUTLINE = [patheffects.withStroke(linewidth=3.2, foreground="#1a1a1a")]


@dataclass(frozen=True)
class Marker:
    """One mark of the marker language: its matplotlib and Plotly symbols, size, and legend words."""

    matplotlib: str
    plotly: str
    size: float  # matplotlib points
    words: str
    glyph: str  # the shape as a character: the mark in Plotly's 3-D scenes, whose markers have no star or triangle


# The one marker language of every picture: the CLI's (matplotlib), the explorer's (Plotly, via
# /api/catalog) and the explorer's legend. The start is a circle with a dark edge (a still picture
# fills it with the run's colour, the explorer white: there every run starts there); a point where
# L has no gradient (the tip of a cone) is a hexagon whatever its kind.
MARKERS: dict[str, Marker] = {
    "start": Marker("o", "circle", 8.0, "start θ₀", "●"),
    "minimum": Marker("*", "star", 16.0, "minimum", "★"),
    "maximum": Marker("^", "triangle-up", 10.0, "maximum", "▲"),
    "saddle": Marker("X", "x", 11.0, "saddle point", "✖"),
    "degenerate": Marker("D", "diamond", 8.0, "degenerate (flat) point", "◆"),
    "kink": Marker("h", "hexagon", 11.0, "no gradient (kink)", "⬢"),
}
KIND_MARKERS: dict[str, tuple[str, float]] = {k: (m.matplotlib, m.size) for k, m in MARKERS.items() if k != "start"}
_SYMBOL = re.compile(r"^([A-Za-z]+)(\d*)$")
# the names the formula parser gives typed Greek letters, as mathtext letters (π is the constant, not a name)
_GREEK_TEX = {name: "\\" + ("lambda" if name == "lam" else name) for name in set(GREEK.values()) - {"pi"}}


def new_axes(ax: Axes | None = None, *, projection: str | None = None, size: tuple[float, float] = (6.4, 5.0)) -> Axes:
    """``ax`` itself, or the one axes of a new constrained-layout figure on an Agg canvas."""
    if ax is not None:
        return ax
    ax = new_figure(size).add_subplot(projection=projection)
    if projection is None:
        from losslab.plot._ticks import FittingLocator

        ax.xaxis.set_major_locator(FittingLocator())  # labels that do not run into each other
    return ax


def new_figure(size: tuple[float, float] = (6.4, 5.0)) -> Figure:
    """A figure on its own Agg canvas (no pyplot)."""
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def fit_titles(figure: Figure) -> None:
    """Wrap every axes title and the figure's title that is wider than the figure onto more lines, at spaces
    (a title naming a model file and its data ran off both edges: ``mymodels.py:dictout on mymodels.py:data:
    filter directions …``; a title centred over an axes that a colour bar pushes left overflows on the left).
    Measured with the figure's own renderer after a layout pass; constrained layout makes room for the lines."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    texts = [t for t in [ax.title for ax in figure.axes] + [getattr(figure, "_suptitle", None)] if t and t.get_text()]
    # a title's width does not depend on the layout: under 45 % of the figure it fits wherever it is centred
    if all(t.get_window_extent(renderer).width <= 0.45 * figure.bbox.width for t in texts):
        return  # (the layout pass below costs as much as drawing the figure: 60–180 ms for a contour map)
    figure.draw_without_rendering()  # the layout places the axes, so their titles' extents are final
    for text in texts:
        extent = text.get_window_extent(renderer)
        width, middle = extent.width, (extent.x0 + extent.x1) / 2
        room = 0.96 * 2 * min(middle, figure.bbox.width - middle)  # centred where it is, within the figure
        if width <= room:
            continue
        lines = text.get_text().split("\n")
        columns = max(12, int(max(len(line) for line in lines) * room / width))
        text.set_text("\n".join(textwrap.fill(line, columns, break_long_words=False) for line in lines))


def source_name(source: object) -> str:
    """What a picture is of, for its default title: an objective's or grid's ``title``, else a surveyed
    surface's model (its provenance), else "the loss"."""
    title = getattr(source, "title", "")
    if title:
        return str(title)
    provenance = getattr(source, "provenance", None)
    model = provenance.get("model") if isinstance(provenance, dict) else None
    return str(model) if model else "the loss"


def figure_of(ax: Axes) -> Figure:
    """The top-level figure an axes belongs to."""
    figure = ax.get_figure(root=True)
    if not isinstance(figure, Figure):
        raise LosslabError("the axes belongs to no figure")
    return figure


def parameter_label(name: str) -> str:
    r"""A parameter name as mathtext: ``w0`` → ``$w_{0}$``, ``m`` → ``$m$``; others unchanged.

    A Greek letter's name, as the formula parser reads a typed letter (``θ₀`` → ``theta0``, ``λ`` → ``lam``), is
    the letter again: ``$\theta_{0}$``.

    >>> parameter_label("w0"), parameter_label("m"), parameter_label("0.weight[3]")
    ('$w_{0}$', '$m$', '0.weight[3]')
    >>> parameter_label("theta0"), parameter_label("lam")
    ('$\\theta_{0}$', '$\\lambda$')
    """
    match = _SYMBOL.match(name)
    if not match:
        return name
    letter = _GREEK_TEX.get(match[1], match[1])
    return f"${letter}_{{{match[2]}}}$" if match[2] else f"${letter}$"


def path_color(index: int) -> str:
    """The colour of the ``index``-th path."""
    return PATH_COLORS[index % len(PATH_COLORS)]


def legend_below(ax: Axes, handles: Sequence[Any] | None = None, columns: int = 3) -> None:
    """A legend under the axes, where it cannot cover a path or a marked point."""
    found, _ = ax.get_legend_handles_labels()
    items = list(handles) if handles is not None else found
    if not items:
        return
    longest = max(len(str(item.get_label())) for item in items)
    ax.legend(
        handles=items,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncols=min(columns if longest < 24 else 2, len(items)),
        fontsize=8,
        frameon=False,
    )
