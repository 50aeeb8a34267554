"""Tick and level labels that read: x ticks that fit side by side, level labels that differ.

matplotlib's automatic x ticks assume labels about three characters wide; over a narrow range
(a Hessian-extremes plane over ±0.011) its steps of 0.0025 give labels like ``−0.0075`` that run
into each other. And a label of three significant digits names every level of a surface whose
loss spans 1.1757 … 1.1880 "1.18". :class:`FittingLocator` thins the x ticks until their labels fit;
:func:`level_formatter` gives levels the fewest digits that tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib import ticker
from matplotlib.axis import Axis
from matplotlib.font_manager import FontProperties

CHAR_WIDTH = 0.62  # a tick label's digits are about this many font sizes wide each
GAP = 1.5  # and want this many font sizes of space between them


class FittingLocator(ticker.MaxNLocator):
    """matplotlib's automatic ticks (its steps, ``nbins="auto"``), with fewer bins while the
    formatted labels, measured in characters of the tick font, would touch along the axis."""

    def __init__(self) -> None:
        super().__init__(nbins="auto", steps=[1, 2, 2.5, 5, 10])

    def tick_values(self, vmin: float, vmax: float) -> Sequence[float]:
        locations = super().tick_values(vmin, vmax)
        axis = self.axis
        if not isinstance(axis, Axis) or axis.axes is None:  # matplotlib's stand-ins for a colour bar's axis
            return locations
        length = axis.axes.bbox.width * 72 / axis.axes.figure.dpi  # points along the x axis
        size = axis.get_tick_params().get("labelsize", mpl.rcParams["xtick.labelsize"])
        points = FontProperties(size=size).get_size_in_points()
        bins = len(locations)
        while bins > 2 and not _fits(axis.get_major_formatter(), locations, vmin, vmax, length, points):
            bins -= 1
            locations = ticker.MaxNLocator(nbins=bins, steps=[1, 2, 5, 10]).tick_values(vmin, vmax)
        return locations


def _fits(formatter: ticker.Formatter, locations: Sequence[float], vmin: float, vmax: float, length: float,
          points: float) -> bool:  # fmt: skip
    inside = [v for v in locations if min(vmin, vmax) <= v <= max(vmin, vmax)]
    if len(inside) < 2:
        return True
    labels = formatter.format_ticks(inside)
    widest = max(len(label) for label in labels) * CHAR_WIDTH * points
    spacing = length * abs(inside[1] - inside[0]) / abs(vmax - vmin)
    return spacing >= widest + GAP * points


def level_formatter(levels: Iterable[float]) -> Callable[..., str]:
    """The formatter of three significant digits, or of as many more (up to 12) as tell ``levels`` apart.

    >>> level_formatter([1.1757, 1.1762, 1.1767])(1.1762), level_formatter([0.5, 1.0, 1.5])(1.0)
    ('1.1762', '1')
    """
    finite = [float(v) for v in levels if np.isfinite(v)]
    digits = 3
    while digits < 12 and len({f"{v:.{digits}g}" for v in finite}) < len(set(finite)):
        digits += 1
    return lambda value, *_: f"{value:.{digits}g}"
