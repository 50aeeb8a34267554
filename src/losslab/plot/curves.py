r"""One-parameter pictures: the curve L(w), a descent path rolling down it, tangents and chords.

At a point :math:`a` the first- and second-order Taylor approximations are
:math:`T_1(w) = L(a) + L'(a)(w - a)` (the tangent line) and
:math:`T_2(w) = T_1(w) + \tfrac12 L''(a)(w - a)^2`, with :math:`L'` and :math:`L''` from
the objective's autodiff ``grad`` and ``hessian``. A chord joins :math:`A = (a, L(a))` and
:math:`B = (b, L(b))`; :math:`C = \alpha A + (1-\alpha) B` lies on it and :math:`D` on the
curve at the same abscissa (:func:`losslab.analysis.convexity.chord_check`): C above D everywhere
is what convexity means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losslab.analysis.convexity import chord_check
from losslab.errors import LosslabError, not_one_of
from losslab.objectives.domain import Domain
from losslab.objectives.from_text import as_objective
from losslab.objectives.objective import Objective
from losslab.plot._marks import REGION_WORDS, PointsLike, draw_stationary, flat_regions, found_in, marks_of, on_level
from losslab.plot._paths import Trajectories, as_trajectories, draw_path, mark_divergence, visible_path
from losslab.plot._style import OUTLINE, figure_of, legend_below, new_axes, parameter_label, path_color
from losslab.plot.grid import DEFAULT_RESOLUTION, as_surface

MAX_ARROWS = 8
ORDERS = (1, 2)


def curve(
    objective: Objective | str,
    trajectories: Trajectories | None = (),
    *,
    ax: Axes | None = None,
    domain: Domain | str | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    at: float | None = None,
    orders: Sequence[int] = (1,),
    chord: tuple[float, float, float] | None = None,
    stationary: PointsLike = True,
    title: str | None = None,
) -> Figure:
    """The curve L(w) with descent paths (step markers and arrows), tangent/Taylor at ``at``, a chord.

    Args:
        objective: a one-parameter objective.
        trajectories: runs to draw at (θ_k, L(θ_k)); arrows on the first ``MAX_ARROWS`` steps.
        ax: draw into these axes (default: a new figure).
        domain: the w-range (default: the objective's, else around the paths).
        resolution: points on the curve (one batched ``values`` call).
        at: draw the Taylor approximations of ``orders`` at this w (1: tangent, 2: quadratic).
        chord: ``(a, b, alpha)`` — the chord AB and the points C (on it) and D (on the curve).
        stationary: True marks known (or found) stationary points, False none, or a list.
        title: the title (default: the objective's title).

    >>> from losslab.objectives.gallery import gallery
    >>> fig = curve(gallery("hand_simulation"), at=0.0, orders=(1, 2))
    >>> sorted(line.get_gid() for line in fig.axes[0].lines if line.get_gid())
    ['curve', 'stationary:minimum', 'taylor:1', 'taylor:2']
    """
    objective = as_objective(objective) if isinstance(objective, str) else objective
    if objective.dim != 1:
        raise LosslabError(f"a curve needs a one-parameter objective; this one has {objective.dim}: use contour")
    grid = as_surface(objective, domain, resolution=resolution, trajectories=trajectories, dims=(1,))
    w, loss = grid.coordinates[0].to(torch.float64), grid.values["loss"]
    ax = new_axes(ax)
    ax.plot(w.numpy(), loss.numpy(), color="#1f4e79", linewidth=2.2, label="loss L", gid="curve")
    lower, upper = _frame(w, loss)
    found = found_in(objective, stationary, lower[:1], upper[:1])
    regions = flat_regions(found, 1)
    for kind in sorted({region.kind for region in regions}):  # a flat stretch drawn as itself, not as one point
        levels = [region.value for region in regions if region.kind == kind]
        on = torch.stack([on_level(loss, value) for value in levels]).any(0)
        ax.plot(w.numpy(), torch.where(on, loss, torch.nan).numpy(), color="#e15759", linewidth=6, alpha=0.6,
                solid_capstyle="butt", label=REGION_WORDS[kind].replace("region", "stretch"),
                gid=f"stationary:region:{kind}", zorder=7)  # fmt: skip
    marked = marks_of([p for p in found if p not in regions])
    draw_stationary(ax, marked, [float(objective.value(p.to(objective.dtype))) for p, _ in marked])
    if at is not None:
        _taylor(ax, objective, float(at), orders, w)
    if chord is not None:
        _chord(ax, objective, *chord)
    for index, run in enumerate(as_trajectories(trajectories, 1)):
        _descent(ax, run, index, lower, upper)
    ax.set(xlim=(float(lower[0]), float(upper[0])), ylim=(float(lower[1]), float(upper[1])))
    ax.set_xlabel(parameter_label(objective.names[0]))
    ax.set_ylabel("loss L")
    ax.grid(True, alpha=0.3)
    ax.set_title(title if title is not None else f"{objective.title or 'the loss'}", fontsize=10)
    legend_below(ax)
    return figure_of(ax)


def _frame(w: torch.Tensor, loss: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The box (w range) × (curve range + 8 %): the axes stay on the curve, not on a diverging path."""
    finite = loss[torch.isfinite(loss)]
    if finite.numel() == 0:
        raise LosslabError("the loss is not finite anywhere in the frame; choose another domain")
    low, high = float(finite.min()), float(finite.max())
    pad = 0.08 * (high - low) if high > low else 1.0
    return (
        torch.tensor([float(w[0]), low - pad], dtype=torch.float64),
        torch.tensor([float(w[-1]), high + pad], dtype=torch.float64),
    )


def _descent(ax: Axes, run: object, index: int, lower: torch.Tensor, upper: torch.Tensor) -> None:
    from losslab.descent.trajectory import Trajectory

    if not isinstance(run, Trajectory):
        raise LosslabError(f"expected a Trajectory, got {type(run).__name__}")
    xy = torch.stack([run.params[:, 0], run.losses], dim=-1).to(torch.float64)
    shown = visible_path(xy, lower, upper)
    draw_path(ax, run, index, xy, shown.count)
    mark_divergence(ax, run, shown, xy, path_color(index), float(lower[0] + upper[0]) / 2)
    for k in range(min(shown.count - 1, MAX_ARROWS)):
        ax.annotate("", xy=tuple(xy[k + 1].tolist()), xytext=tuple(xy[k].tolist()), zorder=6,
                    arrowprops={"arrowstyle": "-|>", "color": path_color(index), "lw": 1.2, "shrinkA": 3,
                                "shrinkB": 3, "path_effects": OUTLINE})  # fmt: skip


def _taylor(ax: Axes, objective: Objective, at: float, orders: Sequence[int], w: torch.Tensor) -> None:
    point = torch.tensor([at], dtype=objective.dtype)
    value = float(objective.value(point))
    slope = float(objective.grad(point)[0])
    bend = float(objective.hessian(point)[0, 0])
    step = w.numpy() - at
    for order in orders:
        if order == 1:
            ax.plot(w.numpy(), value + slope * step, "--", color="#555555", linewidth=1.4,
                    label=f"tangent at {at:g}: slope {slope:.3g}", gid="taylor:1")  # fmt: skip
        elif order == 2:
            ax.plot(w.numpy(), value + slope * step + 0.5 * bend * step**2, ":", color="#8b0000", linewidth=1.8,
                    label=f"2nd-order Taylor at {at:g}", gid="taylor:2")  # fmt: skip
        else:
            raise not_one_of("Taylor order", order, map(str, ORDERS))
    ax.plot([at], [value], "o", color="black", markersize=6, zorder=7)


def _chord(ax: Axes, objective: Objective, a: float, b: float, alpha: float) -> None:
    check = chord_check(objective, [a], [b], alpha)
    ends = np.array([a, b])
    heights = [float(objective.value([a])), float(objective.value([b]))]
    x = float(check.x[0])
    ax.plot(ends, heights, "-", color="#d95f02", linewidth=1.6, label=f"chord AB ({check.position})", gid="chord")
    ax.plot(ends, heights, "o", color="#d95f02", markersize=6)
    ax.plot([x, x], [check.curve_value, check.chord_value], ":", color="#555555")
    ax.plot([x], [check.chord_value], "s", color="#d95f02", markersize=6, gid="chord:C")
    ax.plot([x], [check.curve_value], "s", color="#1f4e79", markersize=6, gid="chord:D")
    for text, (px, py) in zip("ABCD", [(a, heights[0]), (b, heights[1]), (x, check.chord_value),
                                       (x, check.curve_value)], strict=True):  # fmt: skip
        ax.annotate(text, (px, py), xytext=(5, 5), textcoords="offset points", fontsize=10, fontweight="bold")
