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

import torch
from torch import Tensor

from losslab.analysis.continua import Projection, describe_set, level_groups, ranges_text, segments_stay
from losslab.analysis.creases import crease_equation, crease_functions, onto_creases
from losslab.analysis.kinds import (
    StationaryPoint,
    compare_around,
    distinct_rows,
    plainest,
    snapped,
    sphere_directions,
)
from losslab.analysis.straight_sets import straight_equation
from losslab.analysis.tracing import trace_curve, widened
from losslab.objectives.domain import Domain
from losslab.objectives.objective import Objective

EPS = torch.finfo(torch.float64).eps
NOTES = {
    "minimum": "L is higher all around (a kink or cusp)",
    "maximum": "L is lower all around (a kink or cusp)",
    "saddle": "L is higher in some directions and lower in others, and none descends from here (a nonsmooth saddle)",
}
SIGNS = {"minimum": 1.0, "maximum": -1.0}  # the search that finds each kind: down L (+1) or up it (−1)
EDGE_NOTES = {
    "minimum": "the edge of the formula's domain: L is undefined beyond it, higher where it is defined",
    "maximum": "the edge of the formula's domain: L is undefined beyond it, lower where it is defined",
    "saddle": "the edge of the formula's domain: L is undefined beyond it, higher and lower where it is defined",
}


def may_have_kinks(objective: Objective) -> bool:
    """Whether the formula holds something that can break differentiability: a crease function
    (:func:`~losslab.analysis.creases.crease_functions`: abs, max, min, sign or a non-integer power of a variable,
    √, ``x**0.5``); False without a formula (data, networks) and for ``2**x`` (smooth: its base is constant).

    >>> from losslab.objectives.objective import formula
    >>> may_have_kinks(formula("sqrt(w0**2 + w1**2)")), may_have_kinks(formula("exp(x) + x**2"))
    (True, False)
    >>> may_have_kinks(formula("2**x + sqrt(2)*y"))
    False
    """
    return objective.expr is not None and bool(crease_functions(objective.expr))


def compass_search(
    objective: Objective,
    starts: Tensor,
    box: Domain,
    sign: float,
    generator: torch.Generator,
    longest: Tensor | float = 0.25,
) -> Tensor:
    """Where a compass search of ``sign``·L stops from each start (rows of ``starts``), inside the box;
    points where L is not finite count as +∞, so the search stays where the formula is defined. Steps are
    at most ``longest`` of the box's width (per row where a tensor: a local search), the first half that."""
    width, n = box.upper - box.lower, objective.dim
    x = starts.clone()
    f = _finite_or_inf(sign * objective.values(x))
    longest = torch.as_tensor(longest, dtype=torch.float64).expand(x.shape[0])
    step = longest / 2
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
        step[rows] = torch.where(better, torch.minimum(2 * step[rows], longest[rows]), step[rows] / 2)
    return x


def gradient_sampling(
    objective: Objective, starts: Tensor, box: Domain, sign: float, generator: torch.Generator, iterations: int = 200
) -> Tensor:
    """Where gradient sampling (Burke, Lewis & Overton, *SIAM J. Optim.* 15, 2005) on ``sign``·L stops from each
    row of ``starts``: the least-norm point g of the convex hull of the directions of ∇L at the row and at 2n + 1
    random points within ε of it points the way down (−g; every sampled gradient has a positive part along g),
    even where L has a crease that a compass search, stepping along fixed directions, stalls on: |y − x²| + 0.1x²
    leads it down the parabola to (0, 0). A backtracking step along −g; ε halves when no step descends
    (g is 0 to rounding at a stationary point, or the samples missed one side of a crease) and doubles again
    after a step that does, from 10⁻³ of the box's diagonal down to 10⁻¹⁰ of it."""
    n = objective.dim
    diagonal = float(torch.linalg.vector_norm(box.upper - box.lower))
    x = starts.clone()
    f = _finite_or_inf(sign * objective.values(x))
    radius = torch.full((x.shape[0],), 1e-3 * diagonal, dtype=torch.float64)
    trials = 2.0 ** -torch.arange(-10, 12, dtype=torch.float64)  # step lengths, in units of ε: long ones too
    for _ in range(iterations):
        rows = torch.nonzero((radius > 1e-10 * diagonal) & torch.isfinite(f)).reshape(-1)
        if rows.numel() == 0:
            break
        ball = torch.randn(rows.numel(), 2 * n + 1, n, generator=generator, dtype=torch.float64)
        ball = ball / torch.linalg.vector_norm(ball, dim=-1, keepdim=True)
        ball = ball * torch.rand(rows.numel(), 2 * n + 1, 1, generator=generator, dtype=torch.float64) ** (1 / n)
        near = torch.cat([x[rows, None], x[rows, None] + radius[rows, None, None] * ball], 1)
        gradients = sign * objective.grads(near.reshape(-1, n)).reshape(rows.numel(), -1, n)
        # of the gradients' directions (a cusp's huge gradients, √|x| near 0, would bury the way down along y);
        # 25 Frank–Wolfe steps: a way down, not the exact least norm
        g = least_norm_in_hull(unit_rows(gradients), iterations=25)
        size = torch.linalg.vector_norm(g, dim=-1)
        unknown = ~torch.isfinite(size)  # no finite gradient near: no way down known
        direction = -g / size.clamp(min=1e-300)[:, None]
        candidates = x[rows, None] + (trials[None, :, None] * radius[rows, None, None]) * direction[:, None]
        inside = box.contains(candidates.reshape(-1, n)).reshape(rows.numel(), -1)
        values = _finite_or_inf(sign * objective.values(candidates.reshape(-1, n))).reshape(rows.numel(), -1)
        enough = f[rows, None] - 0.1 * trials[None] * radius[rows, None] * size[:, None]  # Armijo, as in the paper
        ok = inside & (values < enough) & ~unknown[:, None]
        first = torch.where(ok.any(-1), ok.int().argmax(-1), -1)  # the longest step that descends enough
        moved = first >= 0
        chosen = candidates[torch.arange(rows.numel()), first.clamp(min=0)]
        x[rows[moved]] = chosen[moved]
        f[rows[moved]] = values[torch.arange(rows.numel()), first.clamp(min=0)][moved]
        radius[rows[~moved]] /= 2  # a sample that missed one side of a crease costs a little of ε, not all
        radius[rows[moved]] = (2 * radius[rows[moved]]).clamp(max=1e-3 * diagonal)
    return x


def least_norm_in_hull(points: Tensor, iterations: int = 500) -> Tensor:
    """For each stack ``(s, m, n)``, the point of least norm in the convex hull of its finite rows (Frank–Wolfe with
    exact line search, to a duality gap of 1e-12 or ``iterations``; NaN where no row is finite)."""
    finite = torch.isfinite(points).all(-1)
    g = torch.where(finite[..., None], points, 0.0)
    count = finite.sum(-1)
    x = g.sum(1) / count.clamp(min=1)[:, None]
    rows = torch.arange(g.shape[0])
    for _ in range(iterations):
        score = (g @ x[..., None])[..., 0].masked_fill(~finite, torch.inf)
        vertex = g[rows, score.argmin(-1)]
        gap = (x * (x - vertex)).sum(-1)
        if bool((gap <= 1e-12).all()):
            break
        step = (gap / ((vertex - x) ** 2).sum(-1).clamp(min=1e-300)).clamp(0.0, 1.0)
        x = x + torch.where(gap > 1e-12, step, 0.0)[:, None] * (vertex - x)
    return torch.where((count > 0)[:, None], x, torch.nan)


def unit_rows(vectors: Tensor) -> Tensor:
    """Each row over its length (a zero row stays 0, a non-finite one non-finite): 0 is in the hull of gradients
    iff it is in the hull of their directions, and a cusp's huge gradient on one side must not bury the others."""
    return vectors / torch.linalg.vector_norm(vectors, dim=-1, keepdim=True).clamp(min=1e-300)


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
    searched = []
    for sign in (1.0, -1.0):
        stops = compass_search(objective, starts, box, sign, generator)
        stuck = not_differentiable(objective, stops)  # where a crease may have stalled it
        polished = distinct_rows(stops[stuck])  # the cone's 400 stops are one point, polished once
        sought = ["minimum" if sign > 0 else "maximum"] * polished.shape[0]
        polished = gradient_sampling(objective, polished, box, sign, generator)
        # rounded where L is no worse: a search stops some 1e-11 off a cusp (√|x|), which costs √1e-11 in L and
        # hides the way down along y from the sampled gradients; from there the compass search goes down it
        polished = compass_search(objective, _snapped(objective, polished, sought), box, sign, generator)
        searched += [stops[~stuck], _snapped(objective, polished, sought)]
    ends = torch.cat([*searched, extra])
    ends = distinct_rows(ends[torch.isfinite(objective.values(ends))])
    ends = ends[not_differentiable(objective, ends)]
    kinds, edges = _kinds(objective, ends)
    width = box.upper - box.lower
    on_face = ((ends - box.lower).abs() <= 1e-6 * width) | ((box.upper - ends).abs() <= 1e-6 * width)
    # where the search stopped only because the box ends, a "saddle" is the box's doing
    kinds = [None if k == "saddle" and bool(face) else k for k, face in zip(kinds, on_face.any(-1), strict=True)]
    kept = [i for i, kind in enumerate(kinds) if kind is not None]
    chosen_kinds = [kind for kind in kinds if kind is not None]
    signs = torch.tensor([SIGNS.get(kind, 0.0) for kind in chosen_kinds], dtype=torch.float64)
    # onto the creases to rounding first (a search stops ~1e-12 off |sin x| + |cos y|'s minima), then rounded
    points = _snapped(objective, onto_creases(objective, ends[kept], signs), chosen_kinds)
    values, found = objective.values(points), []
    rim = _on_a_set(objective, points, values, sets, spread)
    kept = [i for i, on in zip(kept, rim.tolist(), strict=True) if not on]
    points, values = points[~rim], values[~rim]
    diameter = float(torch.linalg.vector_norm(width))
    for kind in ("minimum", "maximum", "saddle"):
        chosen = [k for k, i in enumerate(kept) if kinds[i] == kind]
        project = _projection(objective, kind)
        groups = (
            level_groups(objective, points[chosen], values[chosen], spread, smooth=False, project=project)
            if chosen
            else []
        )
        # a group within 1e-3 of the box is one point found several times (a search stops only so close to a cusp)
        tiny = [g for g in groups if _extent(points[[chosen[i] for i in g]]) < 1e-3 * diameter]
        groups = [g for g in groups if g not in tiny]
        repeats = {i for g in tiny for i in g if i != _best(g, values[chosen], kind)}
        grouped = {i for g in groups for i in g} | repeats
        for g in groups:  # a crease along the edge of the formula's domain (√(2y − x)) is not traced: L has no
            # lowest point across it to take a step back onto, only the edge, which the search reaches to √rounding
            on_edge = any(bool(edges[kept[chosen[i]]]) for i in g)
            members = points[[chosen[i] for i in g]]
            found.append(_crease(objective, members, kind, box, None if on_edge else project, spread))
        alone = _apart([chosen[i] for i in range(len(chosen)) if i not in grouped], points, values, kind, diameter)
        for k in alone:
            note = (EDGE_NOTES if bool(edges[kept[k]]) else NOTES)[kind]
            found.append(StationaryPoint(points[k], float(values[k]), kind, _NONE, "numeric", 0, (), False, note))
    return found


_NONE = torch.zeros(0, dtype=torch.float64)  # no Hessian eigenvalues where L is not differentiable


def _projection(objective: Objective, kind: str) -> Projection | None:
    """For a crease of minima (maxima): :func:`down_to_crease`; none for saddles."""
    sign = SIGNS.get(kind)
    if sign is None:
        return None
    return lambda points, reach: down_to_crease(objective, points, reach, sign)


def down_to_crease(objective: Objective, points: Tensor, reach: Tensor, sign: float = 1.0) -> Tensor:
    """Each point moved down ``sign``·L along −∇L, at most its ``reach``, to the lowest point of that ray: onto the
    crease the slope runs into (|x² + y² − 1| from a chord of its circle: the ray is the radius). 33 even points on
    the ray, then 40 golden-section steps around the best; a point without a finite, non-zero gradient stays."""
    n = objective.dim
    gradient = sign * objective.grads(points)
    size = torch.linalg.vector_norm(gradient, dim=-1)
    usable = torch.isfinite(size) & (size > 0)
    direction = torch.where(usable[:, None], -gradient / size.clamp(min=1e-300)[:, None], 0.0)
    reach = torch.as_tensor(reach, dtype=torch.float64).expand(points.shape[0])

    def along(t: Tensor) -> Tensor:  # sign·L at points + t·direction, t of shape (rows, k)
        trial = points[:, None] + t[..., None] * direction[:, None]
        return _finite_or_inf(sign * objective.values(trial.reshape(-1, n))).reshape(t.shape)

    grid = torch.linspace(0.0, 1.0, 33, dtype=torch.float64)[None] * reach[:, None]
    best = along(grid).argmin(-1)
    spacing = reach / 32
    lo = grid.gather(1, best[:, None])[:, 0] - spacing
    hi = lo + 2 * spacing
    lo = lo.clamp(min=0.0)
    ratio = (5**0.5 - 1) / 2
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        values = along(torch.stack([a, b], -1))
        left = values[:, 0] <= values[:, 1]
        hi, lo = torch.where(left, b, hi), torch.where(left, lo, a)
    t = (lo + hi) / 2
    t = torch.where(along(torch.stack([t, torch.zeros_like(t)], -1)).argmin(-1) == 0, t, 0.0)  # never worse
    return points + t[:, None] * direction


def _apart(indices: list[int], points: Tensor, values: Tensor, kind: str, diameter: float) -> list[int]:
    """The isolated minima (maxima) less those within 1e-3 of the box of a lower (higher) one: a search that
    stalled short of a minimum along a crease with a slight slope (|x² + y² − 1| + 0.1x, 0.006 from (−1, 0)) found
    that minimum again, not another — the same rule as for repeats of a smooth one."""
    sign = SIGNS.get(kind)
    if sign is None or len(indices) < 2:
        return indices
    kept: list[int] = []
    for k in sorted(indices, key=lambda i: sign * float(values[i])):
        if all(float(torch.linalg.vector_norm(points[k] - points[j])) >= 1e-3 * diameter for j in kept):
            kept.append(k)
    return sorted(kept)


def _extent(points: Tensor) -> float:
    return float(torch.linalg.vector_norm(points.amax(0) - points.amin(0)))


def _best(group: list[int], values: Tensor, kind: str) -> int:
    """The member of a group that is most its kind: the lowest for a minimum, the highest for a maximum."""
    sign = SIGNS.get(kind, 0.0)
    return min(group, key=lambda i: sign * float(values[i]))


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


def _crease(
    objective: Objective, members: Tensor, kind: str, box: Domain, project: Projection | None, spread: float
) -> StationaryPoint:
    """One entry for kinks that lie on one set: its point nearest their centre (the lowest of a crease of minima,
    the highest of one of maxima), its dimension (:func:`local_dimension`), the range of each coordinate over it,
    and a curve of minima or maxima traced through the box (:func:`~losslab.analysis.tracing.trace_curve`,
    ``project`` taking its steps back onto it)."""
    members = members[torch.linalg.vector_norm(members - members.mean(0), dim=-1).argsort()]
    sign = SIGNS.get(kind, 0.0)
    if sign:  # shown: the most of its kind (L along a crease of minima is 0 only to the search's rounding)
        members = members[(sign * objective.values(members)).argsort(stable=True)]
    dimension = local_dimension(members)
    level = objective.value(members[0])
    members = plainest(  # at the set's level, on this crease (|sin(x + y)|'s x + y = π not shown at (0, 0))
        members,
        lambda trial: (objective.values(trial) - level).abs(),
        lambda rows, rounded: segments_stay(
            objective, rows, rounded, objective.values(rows), spread, smooth=False, project=project
        ),
    )
    value = float(objective.value(members[0]))
    traced = dimension == 1 < objective.dim and project is not None
    curve = trace_curve(objective, members, box, value, project) if traced else ()
    straight = straight_equation(objective.names, members, curve, box)  # |sin(x + y)|: x + y = π, not the box
    note = describe_set(objective.dim, dimension, kind, value, "numeric", linear=bool(straight), smooth=False)
    ranges = ranges_text(objective.names, *widened(members.amin(0), members.amax(0), curve, box))
    # a crease of a polynomial (|x² + y² − 1|) is that polynomial's zeros: its equation, where the ranges said little
    crease = crease_equation(objective, torch.cat([members, *curve])) if dimension == objective.dim - 1 else ""
    equations = (straight,) if straight else (crease,) if crease else ranges
    return StationaryPoint(members[0], value, kind, _NONE, "numeric", dimension, equations, False, note, curve)


def local_dimension(members: Tensor, most: int = 16) -> int:
    """The dimension of the set that points found on it span: at up to ``most`` of them, the rank of the offsets to
    their 2n + 1 nearest (singular values above a tenth of the largest, so that a curve's bend over a few
    neighbours is no second dimension: the points of a circle span the plane, the circle is a curve), the median
    of those ranks (two lines crossing are lines, though their points near the crossing span the plane)."""
    n = members.shape[-1]
    if members.shape[0] <= 2:
        return 1
    count = min(members.shape[0] - 1, 2 * n + 1)
    chosen = members[torch.linspace(0, members.shape[0] - 1, min(most, members.shape[0])).round().long()]
    nearest = torch.cdist(chosen, members).topk(count + 1, largest=False).indices[:, 1:]
    offsets = members[nearest] - chosen[:, None]
    spans = torch.linalg.svdvals(offsets)
    ranks = (spans > 0.1 * spans[:, :1]).sum(-1).clamp(min=1)
    return int(ranks.median())


def _finite_or_zero(values: Tensor) -> Tensor:
    return torch.where(torch.isfinite(values), values, 0.0)


def _zero_in_hull(gradients: Tensor) -> Tensor:
    """For each stack of gradients ``(s, m, n)``, whether 0 lies (to 0.05) in the convex hull of the
    directions of its finite rows (:func:`least_norm_in_hull` of :func:`unit_rows`)."""
    least = least_norm_in_hull(unit_rows(gradients))
    return torch.isfinite(least).all(-1) & (torch.linalg.vector_norm(least, dim=-1) <= 0.05)


def _snapped(objective: Objective, points: Tensor, kinds: list[str]) -> Tensor:
    """The points with each coordinate rounded where L gets no worse for its kind (lower at a
    minimum, higher at a maximum, the same at a saddle): :func:`~losslab.analysis.kinds.snapped`."""
    if points.shape[0] == 0:
        return points
    before = objective.values(points)
    sign = torch.tensor([SIGNS.get(k, 0.0) for k in kinds], dtype=torch.float64)

    def worse(trial: Tensor) -> Tensor:
        after = objective.values(trial)
        return torch.where(sign == 0, (after - before).abs(), sign * after)

    return snapped(points, worse)
