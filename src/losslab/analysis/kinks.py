r"""Minima and maxima where L is not differentiable — the tip of the cone
:math:`\sqrt{w_0^2 + w_1^2}`, :math:`|x|` at 0, :math:`\sqrt{x}` at the edge of its domain — which
no root search on ∇L can find: ∇L is not zero there but undefined.

They are found by searching L itself, without derivatives: a compass search (each step tries
±step along every axis and two random directions, keeps the best, doubles the step after a
success and halves it after a failure — written here because it must run for hundreds of starts
at once on a batched objective) from the same starts as Newton, downhill for minima and uphill
for maxima. Where it stops, a point is kept when

1. L is not differentiable there: the one-sided differences of each axis disagree or are not
   finite, or ∇L is not finite;
2. L is continuous there (the change of L on a sphere of radius r shrinks with r), so a pole or
   the −∞ of log at 0 is not mistaken for an extremum;
3. L on the sphere around it is everywhere higher or equal (a minimum) or lower or equal (a
   maximum) where it is defined — or both, and 0 lies in the convex hull of the gradients
   around it (a nonsmooth saddle, like :math:`|x| - |y|` at 0).

Kinks of one kind joined by level segments — a crease such as :math:`|x - y|` — are one entry,
as sets of stationary points are in :mod:`~losslab.analysis.continua`.
"""

from __future__ import annotations

import sympy
import torch
from torch import Tensor

from losslab.analysis.continua import describe_set, level_groups, ranges_text, segments_stay
from losslab.analysis.kinds import StationaryPoint, compare_around, distinct_rows, snapped, sphere_directions
from losslab.objectives.domain import Domain
from losslab.objectives.objective import Objective

NONSMOOTH = (sympy.Abs, sympy.Max, sympy.Min, sympy.Heaviside, sympy.sign)
EPS = torch.finfo(torch.float64).eps
NOTES = {
    "minimum": "L is higher all around (a kink or cusp)",
    "maximum": "L is lower all around (a kink or cusp)",
    "saddle": "L is higher in some directions and lower in others, and none descends from here (a nonsmooth saddle)",
}
EDGE_NOTES = {
    "minimum": "the edge of the formula's domain: L is undefined beyond it, higher where it is defined",
    "maximum": "the edge of the formula's domain: L is undefined beyond it, lower where it is defined",
    "saddle": "the edge of the formula's domain: L is undefined beyond it, higher and lower where it is defined",
}


def may_have_kinks(objective: Objective) -> bool:
    """Whether the formula holds something that can break differentiability: abs, max, min, sign
    or a non-integer power (√, ``x**0.5``); False without a formula (data, networks).

    >>> from losslab.objectives.objective import formula
    >>> may_have_kinks(formula("sqrt(w0**2 + w1**2)")), may_have_kinks(formula("exp(x) + x**2"))
    (True, False)
    """
    expr = objective.expr
    if expr is None:
        return False
    return bool(expr.has(*NONSMOOTH)) or any(not p.exp.is_integer for p in expr.atoms(sympy.Pow))


def compass_search(
    objective: Objective, starts: Tensor, box: Domain, sign: float, generator: torch.Generator
) -> Tensor:
    """Where a compass search of ``sign``·L stops from each start (rows of ``starts``), inside the box;
    points where L is not finite count as +∞, so the search stays where the formula is defined."""
    width, n = box.upper - box.lower, objective.dim
    x = starts.clone()
    f = _finite_or_inf(sign * objective.values(x))
    step = torch.full((x.shape[0],), 0.125, dtype=torch.float64)
    axes = torch.cat([torch.eye(n, dtype=torch.float64), -torch.eye(n, dtype=torch.float64)])
    for _ in range(300):
        rows = torch.nonzero(step > 1e-12).reshape(-1)
        if rows.numel() == 0:
            break
        spin = torch.randn(2, n, generator=generator, dtype=torch.float64)
        directions = torch.cat([axes, spin / torch.linalg.vector_norm(spin, dim=-1, keepdim=True)])
        trial = x[rows, None] + step[rows, None, None] * directions[None] * width
        tried = torch.where(box.contains(trial), _finite_or_inf(sign * objective.values(trial)), torch.inf)
        best, which = tried.min(-1)
        better = best < f[rows] - 1e-15 * (1 + f[rows].abs())
        moved = rows[better]
        x[moved], f[moved] = trial[better, which[better]], best[better]
        step[rows] = torch.where(better, (2 * step[rows]).clamp(max=0.25), step[rows] / 2)
    return x


def _finite_or_inf(values: Tensor) -> Tensor:
    return torch.where(torch.isfinite(values), values, torch.inf)


def not_differentiable(objective: Objective, points: Tensor) -> Tensor:
    """Which rows of ``points`` are not points of differentiability: ∇L not finite, or the
    second-order one-sided differences along some axis not finite or apart by more than rounding
    (the test of :func:`losslab.analysis.derivatives.gradient_report`, for many points at once)."""
    if points.shape[0] == 0:
        return torch.zeros(0, dtype=torch.bool)
    n = objective.dim
    h = EPS ** (1 / 3) * points.abs().clamp(min=1.0)
    shifts = torch.diag_embed(h)
    centre = points[:, None]
    stack = torch.cat([centre, centre + shifts, centre + 2 * shifts, centre - shifts, centre - 2 * shifts], dim=1)
    v = objective.values(stack)
    f0, fp, fpp, fm, fmm = (
        v[:, :1],
        v[:, 1 : n + 1],
        v[:, n + 1 : 2 * n + 1],
        v[:, 2 * n + 1 : 3 * n + 1],
        v[:, 3 * n + 1 :],
    )
    forward, backward = (-3 * f0 + 4 * fp - fpp) / (2 * h), (3 * f0 - 4 * fm + fmm) / (2 * h)
    tol = 1e-6 * (1 + torch.maximum(forward.abs(), backward.abs())) + 1e-8 * f0.abs() / h
    apart = ~torch.isfinite(forward) | ~torch.isfinite(backward) | ((forward - backward).abs() > tol)
    return apart.any(-1) | ~torch.isfinite(objective.grads(points)).all(-1)


def kink_points(
    objective: Objective,
    starts: Tensor,
    box: Domain,
    generator: torch.Generator,
    extra: Tensor,
    spread: float,
    sets: list[Tensor],
) -> list[StationaryPoint]:
    """The minima, maxima and nonsmooth saddles where L is not differentiable: from where a compass
    search for minima and one for maxima stop, and from ``extra`` (points that passed for
    stationary only because autodiff calls the derivative of |x| at 0 zero). Kinks of one kind
    joined by level segments are one entry, a crease (``abs(w2)`` over many parameters); kinks on
    the edge of a set of stationary points found already (``sets``: the points of each; max(x, 0)
    at 0, the rim of a plateau) are that set's. ``spread`` as in
    :func:`losslab.analysis.continua.numeric_sets`."""
    ends = torch.cat([compass_search(objective, starts, box, s, generator) for s in (1.0, -1.0)] + [extra])
    ends = distinct_rows(ends[torch.isfinite(objective.values(ends))])
    ends = ends[not_differentiable(objective, ends)]
    kinds, edges = _kinds(objective, ends)
    width = box.upper - box.lower
    on_face = ((ends - box.lower).abs() <= 1e-6 * width) | ((box.upper - ends).abs() <= 1e-6 * width)
    # where the search stopped only because the box ends, a "saddle" is the box's doing
    kinds = [None if k == "saddle" and bool(face) else k for k, face in zip(kinds, on_face.any(-1), strict=True)]
    kept = [i for i, kind in enumerate(kinds) if kind is not None]
    points = _snapped(objective, ends[kept], [kind for kind in kinds if kind is not None])
    values, found = objective.values(points), []
    rim = _on_a_set(objective, points, values, sets, spread)
    kept = [i for i, on in zip(kept, rim.tolist(), strict=True) if not on]
    points, values = points[~rim], values[~rim]
    for kind in ("minimum", "maximum", "saddle"):
        chosen = [k for k, i in enumerate(kept) if kinds[i] == kind]
        groups = level_groups(objective, points[chosen], values[chosen], spread, smooth=False) if chosen else []
        grouped = {i for g in groups for i in g}
        found += [_crease(objective, points[[chosen[i] for i in g]], kind) for g in groups]
        for k in (chosen[i] for i in range(len(chosen)) if i not in grouped):
            note = (EDGE_NOTES if bool(edges[kept[k]]) else NOTES)[kind]
            found.append(StationaryPoint(points[k], float(values[k]), kind, _NONE, "numeric", 0, (), False, note))
    return found


_NONE = torch.zeros(0, dtype=torch.float64)  # no Hessian eigenvalues where L is not differentiable


def _on_a_set(objective: Objective, points: Tensor, values: Tensor, sets: list[Tensor], spread: float) -> Tensor:
    """Whether each point is joined to the nearest point of one of ``sets`` by a level segment."""
    on = torch.zeros(points.shape[0], dtype=torch.bool)
    for members in sets:
        if points.shape[0]:
            nearest = members[torch.cdist(points, members).argmin(-1)]
            on |= segments_stay(objective, points, nearest, values, spread, smooth=False)
    return on


def _kinds(objective: Objective, points: Tensor) -> tuple[list[str | None], Tensor]:
    """The kind of each point from L on a small sphere around it (None: not kept), and whether L
    is undefined somewhere on that sphere (the edge of the formula's domain)."""
    n = objective.dim
    directions = sphere_directions(n)
    radius = 1e-5 * points.abs().amax(-1).clamp(min=1.0)
    centre = objective.values(points)
    ring = points[:, None] + radius[:, None, None] * directions[None]
    near = objective.values(ring)
    nearer = objective.values(points[:, None] + radius[:, None, None] / 100 * directions[None])
    jump = _finite_or_zero(near - centre[:, None]).abs().amax(-1)
    small_jump = _finite_or_zero(nearer - centre[:, None]).abs().amax(-1)
    # no value around, or L not continuous here (a pole, log's −∞): not kept
    continuous = torch.isfinite(near).any(-1) & (small_jump <= 0.5 * jump + 1e-12 * (1 + centre.abs()))
    kinds: list[str | None] = [
        compare_around(float(c), row) if ok else None
        for c, row, ok in zip(centre, near, continuous.tolist(), strict=True)
    ]
    saddles = [i for i, kind in enumerate(kinds) if kind == "saddle"]
    if saddles:
        gradients = objective.grads(ring[saddles].reshape(-1, n)).reshape(len(saddles), -1, n)
        for i, critical in zip(saddles, _zero_in_hull(gradients).tolist(), strict=True):
            kinds[i] = "saddle" if critical else None
    return [None if kind == "degenerate" else kind for kind in kinds], ~torch.isfinite(near).all(-1)


def _crease(objective: Objective, members: Tensor, kind: str) -> StationaryPoint:
    """One entry for kinks that lie on one set: its point nearest their centre, its dimension (the
    rank of their spread) and the range of each coordinate over it."""
    members = members[torch.linalg.vector_norm(members - members.mean(0), dim=-1).argsort()]
    extent = torch.linalg.svdvals(members - members.mean(0))
    dimension = max(1, int((extent > 1e-6 * float(extent.max())).sum()))
    ranges = ranges_text(objective.names, members.amin(0), members.amax(0))
    value = float(objective.value(members[0]))
    note = describe_set(objective.dim, dimension, kind, value, "numeric", smooth=False)
    return StationaryPoint(members[0], value, kind, _NONE, "numeric", dimension, ranges, False, note)


def _finite_or_zero(values: Tensor) -> Tensor:
    return torch.where(torch.isfinite(values), values, 0.0)


def _zero_in_hull(gradients: Tensor) -> Tensor:
    """For each stack of gradients ``(s, m, n)``, whether 0 lies (to 0.05) in the convex hull of the
    directions of its finite rows: Frank–Wolfe for the hull's point of least norm, exact line search."""
    finite = torch.isfinite(gradients).all(-1)
    # unit rows: 0 is in the hull of the gradients iff it is in the hull of their directions, and a
    # huge gradient on one side (a cusp) must not make the others look like 0
    size = torch.linalg.vector_norm(torch.where(finite[..., None], gradients, 0.0), dim=-1, keepdim=True)
    g = torch.where(finite[..., None], gradients / size.clamp(min=1e-300), 0.0)
    count = finite.sum(-1)
    x = g.sum(1) / count.clamp(min=1)[:, None]
    rows = torch.arange(g.shape[0])
    for _ in range(500):
        score = (g @ x[..., None])[..., 0].masked_fill(~finite, torch.inf)
        vertex = g[rows, score.argmin(-1)]
        gap = (x * (x - vertex)).sum(-1)
        if bool((gap <= 1e-12).all()):
            break
        step = (gap / ((vertex - x) ** 2).sum(-1).clamp(min=1e-300)).clamp(0.0, 1.0)
        x = x + torch.where(gap > 1e-12, step, 0.0)[:, None] * (vertex - x)
    return (count > 0) & (torch.linalg.vector_norm(x, dim=-1) <= 0.05)


def _snapped(objective: Objective, points: Tensor, kinds: list[str]) -> Tensor:
    """The points with each coordinate rounded where L gets no worse for its kind (lower at a
    minimum, higher at a maximum, the same at a saddle): :func:`~losslab.analysis.kinds.snapped`."""
    if points.shape[0] == 0:
        return points
    before = objective.values(points)
    sign = torch.tensor([{"minimum": 1.0, "maximum": -1.0}.get(k, 0.0) for k in kinds], dtype=torch.float64)

    def worse(trial: Tensor) -> Tensor:
        after = objective.values(trial)
        return torch.where(sign == 0, (after - before).abs(), sign * after)

    return snapped(points, worse)
