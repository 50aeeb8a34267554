"""Matplotlib figures of curvature results: the spectral density and sharpness against 2/lr.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``, no pyplot
state), so they are safe in scripts, servers and tests; save with ``fig.savefig(path)``.
"""

from __future__ import annotations

from typing import Any

from losslab.curvature.density import SpectralDensity
from losslab.curvature.sharpness import SharpnessSeries


def density_figure(density: SpectralDensity, *, title: str = "Hessian eigenvalue density") -> Any:
    """The broadened SLQ density on a log scale, with the quadrature nodes as ticks.

    >>> import torch
    >>> from losslab.curvature.density import density
    >>> from losslab.objectives.objective import formula
    >>> fig = density_figure(density(formula("x**2 + 2*y**2"), runs=2, steps=2, at=[0.0, 0.0]))
    >>> fig.axes[0].get_xlabel()
    'eigenvalue λ'
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    floor = float(density.density.max()) * 1e-7
    ax.semilogy(density.grid, density.density.clamp(min=floor / 10), color="C0", lw=1.5, label="density (Gaussian σ = "
                f"{density.sigma:.2g})")  # fmt: skip
    nodes = [float(n) for run in density.nodes for n in run]
    ax.plot(nodes, [floor] * len(nodes), "|", color="C3", ms=12, label="Lanczos nodes")
    ax.set_ylim(bottom=floor / 3)  # below 1e-7 of the peak is Gaussian tails, not spectrum
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("density (log scale)")
    ax.set_title(f"{title}\n{len(density.nodes)} SLQ runs, {density.products} Hessian-vector products, n = "
                 f"{density.dim}")  # fmt: skip
    ax.legend(loc="upper right")
    return fig


def sharpness_figure(series: SharpnessSeries, *, title: str = "Sharpness during training") -> Any:
    """λmax against the training step, the edge 2/lr dashed, and the loss on a second axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(series.steps, series.lambda_max, "o-", color="C0", ms=3, label="λmax (top Hessian eigenvalue)")
    edges = series.thresholds
    if any(e is not None for e in edges):
        ax.plot(series.steps, [e if e is not None else float("nan") for e in edges], "--", color="k", label="2 / lr")
    ax.set_xlabel("training step")
    ax.set_ylabel("λmax")
    loss_axis = ax.twinx()
    loss_axis.plot(series.steps, series.losses, color="C1", alpha=0.7, label="loss")
    loss_axis.set_ylabel("loss", color="C1")
    ax.set_title(title)
    handles = ax.get_legend_handles_labels()
    extra = loss_axis.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="center right")
    return fig
