"""A learning-rate sweep: the final loss at each learning rate, with the stability limit 2/λmax.

Gradient descent on a quadratic converges iff :math:`\\eta < 2/\\lambda_{\\max}`; the sweep
shows the final loss falling as η grows, then jumping once η crosses the dashed line. Runs
whose final loss is not finite are drawn as red crosses on the top edge.
"""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.descent.trajectory import LrSweep
from losslab.plot._style import figure_of, legend_below, new_axes

STATUS_MARKERS = {
    "converged": "o", "oscillating": "s", "stalled": "D", "max_steps": "v", "diverged": "X", "unbounded": "P",
}  # fmt: skip


def sweep(result: LrSweep, *, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Final loss against learning rate (log axes), markers by status, 2/λmax as a dashed line.

    >>> from losslab.objectives.objective import formula
    >>> from losslab.descent.run import lr_sweep
    >>> fig = sweep(lr_sweep(formula("(w - 3)**2"), "w=0", [0.1, 0.5, 1.0, 2.0], steps=50))
    >>> [line.get_gid() for line in fig.axes[0].lines if line.get_gid() == "max_stable_lr"]
    ['max_stable_lr']
    """
    ax = new_axes(ax, size=(6.4, 4.2))
    finals = [float(v) for v in result.final_losses]
    finite = [v for v in finals if math.isfinite(v) and v > 0]
    floor = min(finite) / 10 if finite else 1e-12
    top = max(finite) * 10 if finite else 1.0
    shown = [max(v, floor) if math.isfinite(v) else top for v in finals]
    ax.plot(result.lrs, shown, "-", color="#888888", linewidth=1, zorder=1, gid="sweep")
    for status, marker in STATUS_MARKERS.items():
        picked = [(lr, y) for lr, y, s in zip(result.lrs, shown, result.statuses, strict=True) if s == status]
        if picked:
            color = "#d62728" if status == "diverged" else "#1f4e79"
            ax.plot(*zip(*picked, strict=True), linestyle="none", marker=marker, markersize=8, color=color,
                    label=status, gid=f"status:{status}")  # fmt: skip
    if result.max_stable_lr is not None:
        ax.axvline(result.max_stable_lr, linestyle="--", color="black", linewidth=1.2, gid="max_stable_lr",
                   label=f"2/λmax = {result.max_stable_lr:.4g}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="learning rate η", ylabel="final loss L(θ_K)", ylim=(floor / 2, top * 2))
    ax.grid(True, which="both", alpha=0.25)
    ax.set_title(title or "final loss vs learning rate", fontsize=10)
    legend_below(ax, columns=3)
    return figure_of(ax)
