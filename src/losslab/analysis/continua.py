r"""Sets of stationary points — a valley floor, a ridge, a flat stretch, all of space for a
constant — as one entry each, not as hundreds of points.

A set known exactly (:class:`~losslab.analysis.exact_roots.ExactSet`, e.g. ``w0 = 0, w1 = 0,
w2 free`` for the cylinder :math:`w_0^2 + w_1^2`) is sampled inside the box for one point to
show and to classify. Stationary points found numerically, where the Hessian has a flat
direction, are joined to their nearest neighbours of the same value when the segment between
them follows a set: a few Newton steps take its quarter points to stationary points at that value
close by (a chord of a curved valley is pulled back onto it; a segment across a barrier, or
between two saddles on a level line, is not). A line, a curve or a flat region becomes one
entry; groups the near-neighbour joins leave apart are bridged at their closest points.

The kind of a set comes from the Hessian across it — its eigenvalues less the ``dimension``
smallest ones, which lie along the set — and where those say nothing (a flat region), from the
values of L close around the set's points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import sympy
import torch
from torch import Tensor

from losslab.analysis.creases import on_creases
from losslab.analysis.exact_roots import ExactSet
from losslab.analysis.kinds import (
    StationaryPoint,
    classify,
    compare_around,
    hessian_eigenvalues,
    is_stationary,
    plainest,
    plainest_index,
    shown_value,
    sphere_directions,
)
from losslab.analysis.newton import newton
from losslab.objectives.domain import Domain
from losslab.objectives.objective import Objective

NEIGHBOURS = 6  # a point is joined to at most this many nearest points of the same value
MAX_BRIDGED = 60  # groups left apart by the near-neighbour joins are bridged when there are at most this many
QUARTERS = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)
# a bridge between two groups is checked at nine points, at irrational fractions: between two lines of a periodic
# family (sin²(x + y): x + y = π and −3π) its quarter points lie on the lines between, and Newton takes points
# near them onto those, but not all of nine spread over the phase of the period
NINTHS = (torch.arange(9, dtype=torch.float64) + 2**-0.5) / 9


def exact_set_points(objective: Objective, box: Domain, family: ExactSet, count: int = 64) -> Tensor:
    """Stationary points of ``family`` inside the box: its free parameters at the box's centre
    (0 where the box holds 0), ±1 from there, at ``count`` Sobol points of their ranges, then at whole values."""
    symbols = list(objective.symbols)
    free = [symbols.index(s) for s in family.free]
    lo, hi = box.lower[free], box.upper[free]
    centre = torch.where((lo <= 0) & (hi >= 0), torch.zeros_like(lo), (lo + hi) / 2)
    unit = torch.quasirandom.SobolEngine(len(free)).draw(count, dtype=torch.float64)
    # whole values of the free parameters too (up to 11 a parameter, 3 free at most): x + y = 2π shown at (4.283, 2)
    whole = [
        torch.arange(math.ceil(a), math.floor(b) + 1, dtype=torch.float64)[:11]
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
    ]
    grid = torch.cartesian_prod(*whole).reshape(-1, len(free)) if 0 < len(free) <= 3 else lo[None][:0]
    rows = []
    for branch in family.branches:  # one, or each branch of an implicit set (a circle's two halves)
        solved = [(symbols.index(s), sympy.lambdify(family.free, e, modules="math")) for s, e in branch]
        starts = torch.cat([centre[None], centre[None] + 1, centre[None] - 1, lo + unit * (hi - lo), grid])
        for values in starts.tolist():
            point = [0.0] * objective.dim
            for i, v in zip(free, values, strict=True):
                point[i] = v
            try:
                for i, f in solved:
                    point[i] = float(f(*values))
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):  # outside the family's real part
                continue
            rows.append(point)
    points = torch.tensor(rows, dtype=torch.float64).reshape(-1, objective.dim) + 0.0  # + 0.0: no -0
    points = points[torch.isfinite(points).all(-1)]
    points = points[box.contains(points)]
    return points[is_stationary(objective, points)]


def on_exact_set(objective: Objective, family: ExactSet, points: Tensor, tol: float = 1e-6) -> Tensor:
    """Which of ``points`` satisfy the family's equations (to ``tol`` of their size): those of any branch."""
    symbols = list(objective.symbols)
    free = [symbols.index(s) for s in family.free]
    on_any = torch.zeros(points.shape[0], dtype=torch.bool)
    for branch in family.branches:
        near = torch.ones(points.shape[0], dtype=torch.bool)
        for s, e in branch:
            f = sympy.lambdify(family.free, e, modules="math")
            for k, p in enumerate(points.tolist()):
                try:
                    expected = float(f(*[p[i] for i in free]))
                except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                    near[k] = False
                    continue
                near[k] &= abs(p[symbols.index(s)] - expected) <= tol * (1 + abs(expected))
        on_any |= near
    return on_any


def numeric_sets(
    objective: Objective, points: Tensor, box: Domain, spread: float
) -> tuple[list[list[int]], list[int], list[int]]:
    """Groups (indices into ``points``, two or more each) of stationary points that lie on one
    set, the indices of points that are repeats of another, and those of the points with a flat direction left
    on their own (a set met at one point only may be one: :func:`lone_set`).

    Only points with a flat direction (a Hessian eigenvalue ≈ 0) can lie on a set; they are
    joined by :func:`level_groups`, with ``spread``, the range of L over the box, setting what "the
    same value" means. Flat points of one value closer than 1e-3 of the box to each other are one
    degenerate point found several times (Newton converges slowly there, or not at all on a tail
    that is flat to rounding, exp(1/x) for x → 0⁻): all but the one of least |∇L| are repeats.
    """
    if points.shape[0] == 0:
        return [], [], []
    lam = hessian_eigenvalues(objective.hessians(points)).abs()
    flat = torch.nonzero((lam <= 1e-6 * lam.amax(-1, keepdim=True).clamp(min=1.0)).any(-1)).reshape(-1)
    if flat.numel() < 2:
        return [], [], flat.tolist()
    candidates, values = points[flat], objective.values(points[flat])
    diameter = float(torch.linalg.vector_norm(box.upper - box.lower))
    slopes = torch.linalg.vector_norm(objective.grads(candidates), dim=-1)
    sets, repeats = [], []
    for group in level_groups(objective, candidates, values, spread):
        members = candidates[group]
        if float(torch.linalg.vector_norm(members.amax(0) - members.amin(0))) >= 1e-3 * diameter:
            sets.append(group)
        else:
            repeats += _all_but_best(group, slopes)
    grouped = {i for g in sets for i in g} | set(repeats)
    rest = [i for i in range(len(flat)) if i not in grouped]
    close = torch.cdist(candidates[rest], candidates[rest]) < 1e-3 * diameter
    close &= (values[rest][:, None] - values[rest][None]).abs() <= level_tolerance(values[rest], spread)[:, None]
    for group in _components(len(rest), [(i, j) for i, j in torch.nonzero(close).tolist() if i < j]):
        repeats += _all_but_best([rest[i] for i in group], slopes)
    lone = [i for i in rest if i not in set(repeats)]
    return [[int(flat[i]) for i in g] for g in sets], [int(flat[i]) for i in repeats], [int(flat[i]) for i in lone]


def _all_but_best(group: list[int], slopes: Tensor) -> list[int]:
    best = min(group, key=lambda i: float(slopes[i]))
    return [i for i in group if i != best]


Projection = Callable[[Tensor, Tensor], Tensor]  # (points, how far each may go) → where a search takes them


def level_groups(
    objective: Objective,
    points: Tensor,
    values: Tensor,
    spread: float,
    *,
    smooth: bool = True,
    project: Projection | None = None,
) -> list[list[int]]:
    """Groups (two or more indices each) of ``points`` joined through their nearest neighbours of
    the same value by segments that stay level (and stationary when ``smooth``; ``project`` as in
    :func:`segments_stay`)."""
    pairs = _neighbour_pairs(points, values, spread)
    a = torch.tensor([i for i, _ in pairs], dtype=torch.long)
    b = torch.tensor([j for _, j in pairs], dtype=torch.long)
    joined = segments_stay(objective, points[a], points[b], values[a], spread, smooth=smooth, project=project)
    edges = [p for p, ok in zip(pairs, joined.tolist(), strict=True) if ok]
    groups = _components(points.shape[0], edges)
    if 1 < len(groups) <= MAX_BRIDGED:  # near neighbours can miss a gap in a sampled line: bridge the groups
        edges += _bridges(objective, points, values, groups, spread, smooth, project)
        groups = _components(points.shape[0], edges)
    return [g for g in groups if len(g) >= 2]


def _bridges(
    objective: Objective,
    points: Tensor,
    values: Tensor,
    groups: list[list[int]],
    spread: float,
    smooth: bool,
    project: Projection | None,
) -> list[tuple[int, int]]:
    """For each two groups, the segment between their closest points, when it stays."""
    distance = torch.cdist(points, points)
    closest = []
    for k, first in enumerate(groups):
        for second in groups[k + 1 :]:
            gaps = distance[first][:, second]
            i, j = divmod(int(gaps.argmin()), len(second))
            closest.append((first[i], second[j]))
    a = torch.tensor([i for i, _ in closest], dtype=torch.long)
    b = torch.tensor([j for _, j in closest], dtype=torch.long)
    level = level_tolerance(values[a], spread)
    same = (values[a] - values[b]).abs() <= level
    stays = segments_stay(
        objective,
        points[a],
        points[b],
        values[a],
        spread,
        smooth=smooth,
        project=project,
        fractions=NINTHS,
        chained=True,
    )
    stays &= same
    return [pair for pair, ok in zip(closest, stays.tolist(), strict=True) if ok]


def axis_extent(objective: Objective, members: Tensor, box: Domain, spread: float) -> tuple[Tensor, Tensor, Tensor]:
    """The range of each coordinate over a set found numerically: its points' range, pushed along
    each axis (up to the box) as far as L stays at its value with ∇L ≈ 0, from its outermost points and up to
    16 others, for each of the 2n ends at once. A set that leaves along an axis (max(x, 0): x ≤ 0) reaches its
    edge; a curved one (a circle) keeps its points' range; a flat disc reaches near its rim from the
    point nearest each axis through its centre. Also returns the points where a push left the set before the
    box: its edges, where a flat region shows its kind (L rises off a flat bottom)."""
    n = objective.dim
    chosen = torch.cat([members[members.argmax(0)], members[members.argmin(0)], _spread(members)])  # outermost too
    k = chosen.shape[0]
    starts = chosen.repeat(2 * n, 1)  # end e (axis e mod n, + then −) from each chosen point
    axes = torch.cat([torch.eye(n, dtype=torch.float64), -torch.eye(n, dtype=torch.float64)]).repeat_interleave(k, 0)
    reach = torch.cat([box.upper.expand(k, n), -box.lower.expand(k, n)]) - torch.cat([chosen, -chosen])
    reach = reach.reshape(2, k, n).permute(0, 2, 1).reshape(-1).clamp(min=0.0)  # per (end, point), as axes
    value = objective.values(starts[:1]).expand(starts.shape[0])
    # |∇L| small as in is_stationary, with the curvature taken once at the points (Hessians are the costly part)
    curvature = torch.linalg.matrix_norm(torch.nan_to_num(objective.hessians(chosen), nan=0.0), ord=2).repeat(2 * n)

    def stays(distance: Tensor) -> Tensor:
        return on_flat_level(objective, starts + distance[:, None] * axes, value, spread, curvature)

    # the first of 32 even steps out that leaves the set, then 30 bisections before it (a gap, then
    # the set again further out — min(x², 1) between its two flat stretches — does not join them)
    fractions = torch.linspace(0.0, 1.0, 33, dtype=torch.float64)[1:]
    inside = torch.stack([stays(f * reach) for f in fractions])
    first_out = torch.where(inside.all(0), 32, (~inside).int().argmax(0))
    good = torch.where(first_out > 0, fractions[(first_out - 1).clamp(min=0)], 0.0) * reach
    bad = torch.where(first_out < 32, fractions[first_out.clamp(max=31)] * reach, reach)
    for _ in range(30):
        middle = (good + bad) / 2
        ok = stays(middle) & (first_out < 32)
        good, bad = torch.where(ok, middle, good), torch.where(ok | (first_out == 32), bad, middle)
    ends = starts + good[:, None] * axes
    moved = ends.reshape(2, n, k, n)  # [side, axis, point, coordinate]
    diagonal = torch.arange(n)
    upper = torch.maximum(moved[0, diagonal, :, diagonal].amax(-1), members.amax(0))
    lower = torch.minimum(moved[1, diagonal, :, diagonal].amin(-1), members.amin(0))
    return lower, upper, ends[first_out < 32]


def on_flat_level(objective: Objective, points: Tensor, value: Tensor, spread: float, curvature: Tensor) -> Tensor:
    """Whether L at each point is at ``value`` with ∇L ≈ 0: |∇L| small as in is_stationary, against the
    ``curvature`` (‖H‖₂) of the set where it was taken (Hessians are the costly part)."""
    slope = torch.linalg.vector_norm(objective.grads(points), dim=-1)
    flat = slope < 1e-8 * (curvature * torch.linalg.vector_norm(points, dim=-1).clamp(min=1.0)).clamp(min=1.0)
    return _level_here(objective, points, value, spread) & flat


def flat_dimension(objective: Objective, members: Tensor, box: Domain, spread: float) -> int:
    """The dimension of a set found numerically: the flat directions of the Hessian at its first point, at most
    the rank of its points' spread — unless L stays at its level with ∇L ≈ 0 a little way along every flat
    direction tried (each flat eigenvector both ways, and 8 mixtures of them): few points found inside a ball
    of minima in 3-D (two, max(0, x² + y² + z² − 1)) span a line, and the ball is not a curve."""
    hessian = objective.hessian(members[0])
    lam, vectors = torch.linalg.eigh(0.5 * (hessian + hessian.T))
    flat_mask = lam.abs() <= 1e-6 * max(1.0, float(lam.abs().max()))
    flat = int(flat_mask.sum())
    spread_of_points = torch.linalg.svdvals(members - members.mean(0))
    rank = int((spread_of_points > 1e-6 * max(1e-300, float(spread_of_points.max()))).sum())
    if flat > max(1, rank):
        directions = _flat_directions(vectors[:, flat_mask])
        value = objective.values(members[:1])[0]
        curvature = torch.linalg.matrix_norm(hessian, ord=2)
        width = float((box.upper - box.lower).min())
        if all(
            bool(on_flat_level(objective, members[0] + step * width * directions, value, spread, curvature).all())
            for step in (1e-3, 1e-2)
        ):
            rank = flat
    return max(1, min(flat, rank))


def _flat_directions(basis: Tensor) -> Tensor:
    """Unit directions in the span of the columns of ``basis`` (the flat eigenvectors of a Hessian): each both
    ways, and, where there are several, 8 seeded mixtures of them (the crossing axes of |x·y| are flat along each
    axis, not between them)."""
    flat = basis.shape[1]
    mixtures = torch.randn(8 if flat > 1 else 0, flat, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    directions = torch.cat([torch.eye(flat, dtype=torch.float64), -torch.eye(flat, dtype=torch.float64), mixtures])
    directions = directions @ basis.T
    return directions / torch.linalg.vector_norm(directions, dim=-1, keepdim=True)


def lone_set(objective: Objective, point: Tensor, box: Domain, spread: float) -> Tensor | None:
    """A set found at one point only (a valley line that crosses a corner of the box, met by one search): the
    point and its neighbours 1e-2 and 5e-2 of the box away along the flat directions of its Hessian (each both
    ways, and mixtures of them), when L stays at its level with ∇L ≈ 0 at all of them (as in
    :func:`flat_dimension`; 5e-2 of the box, so that x¹⁰ + y², level to rounding 1e-2 away, is still a point);
    the neighbours inside the box, or None where it is a point.

    >>> from losslab.objectives.objective import formula
    >>> origin, box = torch.zeros(2, dtype=torch.float64), Domain.box(["x", "y"], -5, 5)
    >>> lone_set(formula("(x + y)**2"), origin, box, 50.0).shape  # the point and 4 neighbours along x + y = 0
    torch.Size([5, 2])
    >>> lone_set(formula("x**10 + y**2"), origin, box, 50.0) is None
    True
    """
    hessian = objective.hessian(point)
    if not bool(torch.isfinite(hessian).all()):
        return None
    lam, vectors = torch.linalg.eigh(0.5 * (hessian + hessian.T))
    flat = lam.abs() <= 1e-6 * max(1.0, float(lam.abs().max()))
    if not bool(flat.any()):
        return None
    width = float((box.upper - box.lower).min())
    steps = torch.tensor([1e-2, 5e-2], dtype=torch.float64) * width
    trial = (point + steps[:, None, None] * _flat_directions(vectors[:, flat])[None]).reshape(-1, objective.dim)
    value = objective.values(point[None])[0]
    if not bool(on_flat_level(objective, trial, value, spread, torch.linalg.matrix_norm(hessian, ord=2)).all()):
        return None
    inside = trial[box.contains(trial)]
    return torch.cat([point[None], inside]) if inside.shape[0] else None


def filled_share(objective: Objective, lower: Tensor, upper: Tensor, value: float, spread: float) -> float:
    """The share of the box ``[lower, upper]`` where L is at ``value``: of 256 Sobol points in it. A flat
    region's axis ranges bound it, and 1 says it is that box; max(0, 1 − x − y) is 0 on a half-plane,
    which fills about half of the box its ranges span."""
    unit = torch.quasirandom.SobolEngine(objective.dim, scramble=True, seed=0).draw(256, dtype=torch.float64)
    points = lower + unit * (upper - lower)
    return float(_level_here(objective, points, torch.tensor(value, dtype=torch.float64), spread).double().mean())


def _level_here(objective: Objective, points: Tensor, values: Tensor, spread: float) -> Tensor:
    """Whether L at each point is at ``values``."""
    return (objective.values(points) - values).abs() <= level_tolerance(values, spread)


def level_tolerance(values: Tensor, spread: float) -> Tensor:
    """What counts as "the same value" at ``values``, given the range ``spread`` of L over the box."""
    return 1e-8 * spread + 1e-12 * (1 + values.abs())


def _neighbour_pairs(points: Tensor, values: Tensor, spread: float) -> list[tuple[int, int]]:
    """Each point with its nearest few of the same value, as sorted index pairs."""
    level = level_tolerance(values, spread)
    distance = torch.cdist(points, points)
    distance[(values[:, None] - values[None]).abs() > level[:, None]] = torch.inf
    distance.fill_diagonal_(torch.inf)
    nearest = distance.topk(min(NEIGHBOURS, points.shape[0] - 1), largest=False)
    pairs = set()
    for i, (row, gaps) in enumerate(zip(nearest.indices.tolist(), nearest.values.tolist(), strict=True)):
        pairs |= {(min(i, j), max(i, j)) for j, gap in zip(row, gaps, strict=True) if gap < torch.inf}
    return sorted(pairs)


def segments_stay(
    objective: Objective,
    starts: Tensor,
    ends: Tensor,
    values: Tensor,
    spread: float,
    *,
    smooth: bool = True,
    project: Projection | None = None,
    fractions: Tensor = QUARTERS,
    chained: bool = False,
) -> Tensor:
    """For each segment from a row of ``starts`` to the same row of ``ends``, whether it follows
    a set at level ``values`` (``spread`` as in :func:`numeric_sets`): five Newton steps take each
    quarter point (or each point at ``fractions`` of it) to a stationary point at that level, less than a quarter
    of the segment away —
    a chord of a curved set of minima is pulled back onto it, a segment across a barrier or to
    another point of the same value is not. ``smooth`` False (kinks, no Newton): L stays level at the quarter
    points, or, with ``project`` (a search of L down or up from each point: a curved crease of minima such as
    |x² + y² − 1|), at where it takes them, less than a quarter of the segment away. ``chained``: the points
    they are taken to are joined, each to the next, by segments that stay as well (for long segments: bridges)."""
    if starts.shape[0] == 0:
        return torch.zeros(0, dtype=torch.bool)
    inner = (starts[:, None] + fractions[None, :, None] * (ends - starts)[:, None]).reshape(-1, objective.dim)
    level_values = values.repeat_interleave(len(fractions))
    if not smooth and project is None:
        return _level_here(objective, inner, level_values, spread).reshape(starts.shape[0], -1).all(-1)
    length = torch.linalg.vector_norm(ends - starts, dim=-1).repeat_interleave(len(fractions))
    # a projection goes at most a tenth of the segment: a chord of a crease is that close to it where its ends are
    # near neighbours (the sag of a chord ℓ of a circle of radius R is ℓ²/8R), and no further can it slide along
    # a crease to another point of the same value (|sin x| + |cos y| from (0, −π) down to (0, −π/2))
    reach = 0.25 * length if smooth or project is None else 0.1 * length
    if smooth or project is None:  # a point already stationary stays (on a flat stretch ∇L is rounding noise,
        # which Newton's steps through a Hessian of noise would take far: from θ = −3.03 to −7.03)
        moved = torch.where(is_stationary(objective, inner)[:, None], inner, newton(objective, inner, iterations=5))
    else:
        moved = project(inner, reach)
    near = torch.linalg.vector_norm(moved - inner, dim=-1) <= reach + 1e-12
    level = level_tolerance(level_values, spread)
    same = (objective.values(moved) - level_values).abs() <= level
    stationary = is_stationary(objective, moved) if smooth else torch.ones_like(same)
    kept = (near & same & stationary).reshape(starts.shape[0], -1).all(-1)
    if not chained or not bool(kept.any()):
        return kept
    # a long segment allows long moves, onto any line of a periodic family (|sin(x + y)|: every point lies within
    # π/(2√2) of a crease): the points it reached must be joined, each to the next, by short segments that stay too
    reached = moved.reshape(starts.shape[0], -1, objective.dim)[kept]
    chain = torch.cat([starts[kept, None], reached, ends[kept, None]], 1)
    links = segments_stay(
        objective,
        chain[:, :-1].reshape(-1, objective.dim),
        chain[:, 1:].reshape(-1, objective.dim),
        values[kept].repeat_interleave(chain.shape[1] - 1),
        spread,
        smooth=smooth,
        project=project,
    )
    kept[kept.clone()] = links.reshape(chain.shape[0], -1).all(-1)
    return kept


def _components(count: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in edges:
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def set_entry(
    objective: Objective,
    members: Tensor,
    box: Domain,
    dimension: int,
    equations: tuple[str, ...],
    method: str,
    *,
    linear: bool = False,
    edges: Tensor | None = None,
    spread: float | None = None,
    level: float | None = None,
) -> StationaryPoint:
    """One entry for a set of stationary points: ``members`` (its points found, the first one
    shown), its dimension and equations, its kind and a sentence saying what it is. Where the Hessian
    says nothing, the kind is L's around the members and its ``edges`` (:func:`axis_extent`). A set found
    numerically is shown at its plainest point: at its level, stationary, and joined to the member it was
    rounded from by a segment that follows the set (:func:`segments_stay`, with ``spread`` as there). Either is
    shown at a point where its Hessian means something where it has one (:func:`_special`), an exact one at its
    plainest member (:func:`~losslab.analysis.kinds.plainest_index`). ``level``: L on the set where
    SymPy knows it (0 on sin(x + y) = π, which float64 reads 1.5e-32)."""

    def avoid(rows: Tensor) -> Tensor:
        return _special(objective, rows)

    if method != "numeric":  # x²y²'s axis x = 0 at (0, 1), not at (0, 0) where it crosses the other one
        first = plainest_index(members, avoid)
        members = torch.cat([members[first : first + 1], members[:first], members[first + 1 :]])
    else:
        floor = objective.value(members[0])

        def off(trial: Tensor) -> Tensor:
            return (objective.values(trial) - floor).abs() + torch.linalg.vector_norm(objective.grads(trial), dim=-1)

        def stays(rows: Tensor, rounded: Tensor) -> Tensor:
            return segments_stay(objective, rows, rounded, objective.values(rows), spread or 0.0)

        members = plainest(members, off, stays, avoid=avoid)
    shown = members[0]
    value = float(objective.value(shown)) if level is None else level
    lam, kinds = _kinds_across(objective, members, dimension)
    kind = kinds[0]
    if kind == "degenerate":
        values = _values_around(objective, members, box)
        if edges is not None and edges.numel():
            values = torch.cat([values, _values_around(objective, edges, box)])
        around = compare_around(value, values)
        kind = around if around in ("minimum", "maximum") else "degenerate"
    note = describe_set(objective.dim, dimension, kind, value, method, linear=linear, everything=not equations)
    if {"minimum", "maximum"} <= set(kinds) or ("saddle" in kinds and len(set(kinds) - {"degenerate"}) > 1):
        # (x² + y² − 1)²/(x − y): minima where x > y, maxima where x < y, L = 0 all along the circle
        kind = "degenerate"
        mixed = ", ".join(sorted({PLURALS[k] for k in kinds if k in PLURALS}))
        note = describe_set(objective.dim, dimension, kind, value, method, linear=linear) + f": {mixed} in places"
    return StationaryPoint(shown, value, kind, lam, method, dimension, equations, True, note)


PLURALS = {"minimum": "minima", "maximum": "maxima", "saddle": "saddle points"}


def _special(objective: Objective, rows: Tensor) -> Tensor:
    """Which of a set's points ``rows`` are special, so not the one to show it at: on a crease, where L's Hessian
    is not defined (min(x², y²)'s axis y = 0 at (0, 0): torch reads λ = [1, 1] for the tie), or where the Hessian
    has fewer nonzero eigenvalues than at others of the rows (x²y²'s axis x = 0 at (0, 0), where it crosses y = 0:
    λ = [0, 0], against [0, 2] anywhere else on it, and no 2/λmax from there)."""
    special = on_creases(objective, rows)
    lam = hessian_eigenvalues(objective.hessians(rows))
    finite = torch.isfinite(lam).all(-1)
    size = torch.where(finite[:, None], lam.abs(), 0.0)
    rank = (size > 1e-10 * size.amax(-1, keepdim=True).clamp(min=1.0)).sum(-1)
    rank = torch.where(finite & ~special, rank, -1)  # a crease's made-up Hessian sets no standard
    return special | (rank < rank.max())


def _kinds_across(objective: Objective, members: Tensor, dimension: int) -> tuple[Tensor, list[str]]:
    """The Hessian eigenvalues at the shown point (``members[0]``), and the kind across the set (its
    eigenvalues less the ``dimension`` smallest, which lie along it) at up to 16 of its points, the shown one
    first: a set's points need not all be of one kind."""
    chosen = _spread(members)
    smooth = ~on_creases(objective, chosen)
    smooth[0] = True  # the shown point's own, whatever they are: plainest puts a point off the creases first if any
    chosen = chosen[smooth]  # the others on a crease have no Hessian to read a kind from
    eigenvalues = hessian_eigenvalues(objective.hessians(chosen))
    kinds = []
    for lam in eigenvalues:
        across = lam[lam.abs().argsort()[dimension:]].sort().values
        kinds.append(classify(across) if across.numel() else "degenerate")
    return eigenvalues[0], kinds


def _spread(members: Tensor, most: int = 16) -> Tensor:
    """Up to ``most`` of a set's points, evenly along the order found, the first one first."""
    return members[torch.linspace(0, members.shape[0] - 1, min(most, members.shape[0])).round().long()]


def _values_around(objective: Objective, members: Tensor, box: Domain) -> Tensor:
    """L at points a little way off up to 16 of the set's points, at three distances (1e-3,
    1e-2 and 5e-2 of the box): far enough to step off a flat stretch's end."""
    chosen = _spread(members)
    directions = sphere_directions(objective.dim)
    width = box.upper - box.lower
    steps = torch.tensor([1e-3, 1e-2, 5e-2], dtype=torch.float64)
    offsets = steps[:, None, None] * directions[None] * width
    return objective.values((chosen[:, None, None] + offsets[None]).reshape(-1, objective.dim))


def describe_set(
    n: int,
    dimension: int,
    kind: str,
    value: float,
    method: str,
    *,
    linear: bool = False,
    everything: bool = False,
    smooth: bool = True,
) -> str:
    """A sentence on a set: its shape, what its points are, and how it was found.

    >>> describe_set(3, 1, "minimum", 0.0, "exact", linear=True)
    'a line of minima, none strict: L = 0 all along it'
    """
    value = shown_value(value, method)  # no -0, no rounding noise next to 0, in the words
    if everything:
        return f"L is constant (= {value:.10g}): every point is stationary, a minimum and a maximum, neither strict"
    if dimension == n:
        shape = f"a flat region (dimension {dimension})"
    elif linear:
        shape = {1: "a line", 2: "a plane"}.get(dimension, f"a {dimension}-dimensional plane")
    else:
        shape = {1: "a curve", 2: "a surface"}.get(dimension, f"a {dimension}-dimensional set")
    what = PLURALS.get(kind, "stationary points")
    text = f"{shape} of {what}" + ("" if smooth else " where L is not differentiable (a crease)")
    if kind in ("minimum", "maximum"):
        text += f", none strict: L = {value:.10g} all along it"
    if method == "numeric":
        text += "; found numerically, within the search box"
    return text


def ranges_text(names: Sequence[str], lower: Tensor, upper: Tensor) -> tuple[str, ...]:
    """``name ≈ v`` for a coordinate that does not vary over a set, else ``a ≤ name ≤ b``; an end
    within 1e-8 of the range's size of 0 reads 0.

    >>> ranges_text(["x", "y"], torch.tensor([-5.0, 1.0]), torch.tensor([-1e-12, 1.0]))
    ('-5 ≤ x ≤ 0', 'y ≈ 1')
    """
    rows = []
    for name, a, b in zip(names, lower.tolist(), upper.tolist(), strict=True):
        size = max(1.0, abs(a), abs(b))
        a, b = (0.0 if abs(v) <= 1e-8 * size else v for v in (a, b))
        same = b - a <= 1e-6 * size or f"{a:.6g}" == f"{b:.6g}"
        rows.append(f"{name} ≈ {(a + b) / 2:.6g}" if same else f"{a:.6g} ≤ {name} ≤ {b:.6g}")
    return tuple(rows)
