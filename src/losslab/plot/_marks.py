"""Stationary points and kinks on a picture, one marker shape per kind (greyscale-safe).

The shapes are :data:`losslab.plot._style.MARKERS`, the marker language the explorer uses too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from matplotlib import patheffects
from matplotlib.axes import Axes
from torch import Tensor

from losslab.analysis.continua import level_tolerance
from losslab.analysis.stationary import StationaryPoint, stationary_points
from losslab.objectives.domain import Domain
from losslab.objectives.objective import KnownPoint, Objective
from losslab.plot._style import KIND_MARKERS

PointsLike = bool | Sequence[KnownPoint | StationaryPoint]


def stationary_in(
    objective: Objective | None, points: PointsLike, lower: Tensor, upper: Tensor
) -> list[tuple[Tensor, str]]:
    """(point, kind) pairs inside the frame: ``objective.known_points``, else ``stationary_points``.

    ``points`` is True (find them), False (none) or the points to mark. A point without a
    gradient (``differentiable`` False: the tip of a cone) has the kind ``"kink"``.
    """
    return marks_of(found_in(objective, points, lower, upper))


def marks_of(found: Sequence[KnownPoint | StationaryPoint]) -> list[tuple[Tensor, str]]:
    """(point, kind) for each entry, as :func:`draw_stationary` marks them."""
    return [(_coords(p), _kind(p)) for p in found]


def found_in(
    objective: Objective | None, points: PointsLike, lower: Tensor, upper: Tensor
) -> list[KnownPoint | StationaryPoint]:
    """The known or found stationary points (and sets: one entry each) whose point lies inside the frame (a traced
    curve: any of its points)."""
    if points is False or (points is True and objective is None):
        return []
    if points is True and objective is not None:
        if objective.known_points:
            found: list[KnownPoint | StationaryPoint] = list(objective.known_points)
        else:
            box = Domain(tuple(objective.names), tuple(zip(lower.tolist(), upper.tolist(), strict=True)))
            found = list(stationary_points(objective, box))
    elif not isinstance(points, bool):
        found = list(points)
    else:
        return []
    return [p for p in found if _in_frame(p, lower, upper)]


def _in_frame(point: KnownPoint | StationaryPoint, lower: Tensor, upper: Tensor) -> bool:
    """Whether the entry's point lies inside the frame — or, for a traced curve, any point of it does."""
    rows = torch.cat(list(point.curve)) if isinstance(point, StationaryPoint) and point.curve else _coords(point)[None]
    return bool(((rows >= lower) & (rows <= upper)).all(-1).any())


def flat_regions(found: Sequence[KnownPoint | StationaryPoint], dim: int) -> list[StationaryPoint]:
    """The entries that are flat regions of minima or maxima (L constant on a set as wide as the parameters)."""
    return [p for p in found if isinstance(p, StationaryPoint) and p.dimension == dim and
            p.kind in ("minimum", "maximum")]  # fmt: skip


def on_level(values: Tensor, value: float) -> Tensor:
    """Where a grid's ``values`` are at a flat region's ``value``: the analysis's own "same value"
    (:func:`~losslab.analysis.continua.level_tolerance`) over the grid's range."""
    finite = values[torch.isfinite(values)]
    spread = float(finite.max() - finite.min()) if finite.numel() else 0.0
    return (values - value).abs() <= level_tolerance(torch.tensor(value, dtype=values.dtype), spread)


def region_outline(coordinates: Sequence[Tensor], values: Tensor, value: float) -> list[Tensor]:
    """The lines round the grid points at a flat region's ``value`` (:func:`on_level`), as ``(n, 2)`` polylines:
    contourpy's (matplotlib's own contouring) at 0.5 of the on-level mask."""
    import contourpy

    x, y = (c.numpy() for c in coordinates)
    inside = on_level(values, value).numpy().T.astype(float)
    if not inside.any():
        return []
    return [torch.as_tensor(line, dtype=torch.float64) for line in contourpy.contour_generator(x, y, inside).lines(0.5)]


REGION_WORDS = {"minimum": "minima (a flat region)", "maximum": "maxima (a flat region)"}
CURVE_WORDS = {
    kind: f"{plural} (a line or curve)"
    for kind, plural in (("minimum", "minima"), ("maximum", "maxima"), ("saddle", "saddle points"),
                         ("degenerate", "degenerate points"))
}  # fmt: skip


def traced_curves(found: Sequence[KnownPoint | StationaryPoint]) -> list[StationaryPoint]:
    """The entries that are curves of stationary points traced through the box (drawn as curves, not points)."""
    return [p for p in found if isinstance(p, StationaryPoint) and p.dimension == 1 and p.curve]


def draw_curves(ax: Axes, curves: Sequence[StationaryPoint], heights: Sequence[float] | None = None) -> None:
    """Each traced curve of stationary points as a line, ``gid='stationary:curve:kind'``: minima white edged in
    black, maxima black edged in white (greyscale-safe, as the markers), degenerate ones dashed; one legend
    entry per kind. ``heights`` (3-D axes): each curve's L, the height it is drawn at."""
    labelled: set[str] = set()
    for index, entry in enumerate(curves):
        ink, edge = ("black", "white") if entry.kind == "maximum" else ("white", "black")
        style = "--" if entry.kind == "degenerate" else "-"
        for piece in entry.curve:
            label = CURVE_WORDS.get(entry.kind, entry.kind) if entry.kind not in labelled else None
            labelled.add(entry.kind)
            xyz = [piece[:, 0].numpy(), piece[:, 1].numpy()]
            if heights is not None:
                xyz.append(torch.full((len(piece),), float(heights[index]), dtype=torch.float64).numpy())
            ax.plot(*xyz, color=ink, linestyle=style, linewidth=2.2, zorder=7,
                    label=label, gid=f"stationary:curve:{entry.kind}",
                    path_effects=[patheffects.withStroke(linewidth=4.2, foreground=edge)])  # fmt: skip


def partition(
    found: Sequence[KnownPoint | StationaryPoint],
) -> tuple[list[StationaryPoint], list[StationaryPoint], list[KnownPoint | StationaryPoint]]:
    """The entries as a picture of two parameters draws them: its flat regions of minima or maxima, its traced
    curves of stationary points, and the rest, marked one point each."""
    regions, curves = flat_regions(found, 2), traced_curves(found)
    drawn = {id(p) for p in regions + curves}
    return regions, curves, [p for p in found if id(p) not in drawn]


def _kind(point: KnownPoint | StationaryPoint) -> str:
    """The mark of a point: its kind, or ``"kink"`` where L has no gradient (whatever its kind)."""
    return point.kind if getattr(point, "differentiable", True) else "kink"


def _coords(point: KnownPoint | StationaryPoint) -> Tensor:
    return torch.as_tensor(point.point, dtype=torch.float64).reshape(-1)


def draw_stationary(ax: Axes, marked: list[tuple[Tensor, str]], heights: Sequence[float] | None = None) -> None:
    """One marker per kind, ``gid='stationary:kind'``: ★ minimum, ▲ maximum, ✖ saddle, ◆ degenerate, ⬢ kink.

    ``heights`` gives each point's L: its y when the points have one coordinate (a curve), its z when they
    have two (a 3-D surface).
    """
    for kind, (marker, size) in KIND_MARKERS.items():
        chosen = [(i, p) for i, (p, k) in enumerate(marked) if k == kind]
        if not chosen:
            continue
        coords = [[float(p[0]) for _, p in chosen]]
        if heights is None or len(chosen[0][1]) > 1:
            coords.append([float(p[1]) for _, p in chosen])
        if heights is not None:
            coords.append([float(heights[i]) for i, _ in chosen])
        style: dict[str, Any] = {"color": "white", "markeredgecolor": "black", "markeredgewidth": 1.2}
        ax.plot(*coords, linestyle="none", marker=marker, markersize=size, label=kind, gid=f"stationary:{kind}",
                zorder=8, **style)  # fmt: skip
